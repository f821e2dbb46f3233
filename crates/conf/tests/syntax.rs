//! One test per syntax form of the configuration format. Every expectation
//! here was checked against Go's nats-server `conf` package.

use conf::{Map, Value};

fn parse(src: &str) -> Map {
    conf::parse_str(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn get<'a>(m: &'a Map, key: &str) -> &'a Value {
    &m.get(key).unwrap_or_else(|| panic!("missing {key}")).value
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

#[test]
fn key_value_separators() {
    let m = parse("a = 1\nb: 2\nc 3\nd=4\ne:5\n");
    for (k, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)] {
        assert_eq!(get(&m, k), &Value::Int(n), "{k}");
    }
}

#[test]
fn optional_value_terminators() {
    let m = parse("a = 1; b = 2, c = 3\nd = x;\n");
    assert_eq!(m.len(), 4);
    assert_eq!(get(&m, "c"), &Value::Int(3));
    assert_eq!(get(&m, "d"), &s("x"));
}

#[test]
fn nested_maps() {
    let m = parse("m { x = 1 }\nn = { y: 2 }\no: {}\np { q { r: deep } }\n");
    assert_eq!(
        get(&m, "m").as_map().unwrap().get("x").unwrap().value,
        Value::Int(1)
    );
    assert_eq!(
        get(&m, "n").as_map().unwrap().get("y").unwrap().value,
        Value::Int(2)
    );
    assert!(get(&m, "o").as_map().unwrap().is_empty());
    let q = get(&m, "p").as_map().unwrap().get("q").unwrap();
    assert_eq!(q.value.as_map().unwrap().get("r").unwrap().value, s("deep"));
}

#[test]
fn arrays_with_commas_and_newlines() {
    let m = parse("a = [1, 2,\n 3\n 4,]\nb = [ ]\nc = [\n]\nd = [ [x], {k: v}, 'q' ]\n");
    let a: Vec<_> = get(&m, "a")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.value.clone())
        .collect();
    assert_eq!(
        a,
        [Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(4)]
    );
    assert!(get(&m, "b").as_array().unwrap().is_empty());
    assert!(get(&m, "c").as_array().unwrap().is_empty());
    let d = get(&m, "d").as_array().unwrap();
    assert_eq!(d[0].value.as_array().unwrap()[0].value, s("x"));
    assert_eq!(d[1].value.as_map().unwrap().get("k").unwrap().value, s("v"));
    assert_eq!(d[2].value, s("q"));
}

#[test]
fn number_directly_before_closing_bracket_is_not_a_number() {
    // Go quirk: ']' does not end a number, so `[1, 2]` makes the string
    // "2]" and then fails; `[1, 2 ]` and `[1, 2,]` work.
    assert!(conf::parse_str("a = [1, 2]").is_err());
    let m = parse("a = [1, 2 ]\nb = [x, y]\n");
    assert_eq!(get(&m, "a").as_array().unwrap()[1].value, Value::Int(2));
    assert_eq!(get(&m, "b").as_array().unwrap()[1].value, s("y"));
}

#[test]
fn hash_and_slash_comments() {
    let m = parse(
        "# top\n// also top\na = 1 # after value\nb = 2 // after value\n\
         m {\n  # in map\n  c = 3 // trailing\n}\nl = [\n  # in array\n  x // trailing\n]\n",
    );
    assert_eq!(m.len(), 4);
    assert_eq!(get(&m, "b"), &Value::Int(2));
    assert_eq!(get(&m, "l").as_array().unwrap().len(), 1);
}

#[test]
fn comment_markers_inside_unquoted_values_are_text() {
    let m = parse("v = a#b\nw = x//y\n");
    assert_eq!(get(&m, "v"), &s("a#b"));
    assert_eq!(get(&m, "w"), &s("x//y"));
}

#[test]
fn raw_single_quoted_strings() {
    let m = parse("r = 'a\\tb \"q\" $x'\nmulti = 'line one\nline two'\n");
    assert_eq!(get(&m, "r"), &s("a\\tb \"q\" $x"));
    assert_eq!(get(&m, "multi"), &s("line one\nline two"));
}

#[test]
fn double_quoted_string_escapes() {
    let m = parse(r#"e = "a\tb\n\r\"\\\x41\xc3\xa9 $x""#);
    assert_eq!(get(&m, "e"), &s("a\tb\n\r\"\\Aé $x"));
}

#[test]
fn unicode_escapes_are_not_supported_as_in_go() {
    let err = conf::parse_str(r#"u = "\u0041""#).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid escape character 'u'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\."
    );
}

#[test]
fn block_strings() {
    let m = parse("b = (\nline one\n  line two )\n)\nc = (x)\n)\nd = 1\n");
    // Raw text from after '(' up to a ')' alone on its line.
    assert_eq!(get(&m, "b"), &s("\nline one\n  line two )\n"));
    assert_eq!(get(&m, "c"), &s("x)\n"));
    assert_eq!(get(&m, "d"), &Value::Int(1));
}

#[test]
fn unquoted_strings() {
    let m = parse(
        "resolver: MEMORY\nj = <OPERATOR_JWT>\nl = 0.0.0.0:4222\nh = localhost:4222\n\
         u = nats://u:p@h:4222\nm { nkey:UABC }\ns = 1host\n",
    );
    assert_eq!(get(&m, "resolver"), &s("MEMORY"));
    assert_eq!(get(&m, "j"), &s("<OPERATOR_JWT>"));
    assert_eq!(get(&m, "l"), &s("0.0.0.0:4222"));
    assert_eq!(get(&m, "h"), &s("localhost:4222"));
    assert_eq!(get(&m, "u"), &s("nats://u:p@h:4222"));
    assert_eq!(
        get(&m, "m").as_map().unwrap().get("nkey").unwrap().value,
        s("UABC")
    );
    assert_eq!(get(&m, "s"), &s("1host"));
}

#[test]
fn booleans_any_case() {
    let m = parse("a = true\nb = FALSE\nc = Yes\nd = no\ne = ON\nf = off\ng = \"true\"\n");
    let want = [true, false, true, false, true, false];
    for (k, b) in ["a", "b", "c", "d", "e", "f"].iter().zip(want) {
        assert_eq!(get(&m, k), &Value::Bool(b), "{k}");
    }
    assert_eq!(get(&m, "g"), &s("true"));
}

#[test]
fn integers_and_floats() {
    let m = parse("i = 4222\nn = -1\nf = 0.5\ng = -0.25\n");
    assert_eq!(get(&m, "i"), &Value::Int(4222));
    assert_eq!(get(&m, "n"), &Value::Int(-1));
    assert_eq!(get(&m, "f"), &Value::Float(0.5));
    assert_eq!(get(&m, "g"), &Value::Float(-0.25));
}

#[test]
fn size_suffixes() {
    let m = parse(
        "a = 1k\nb = 2m\nc = 3g\nd = 1t\ne = 1kb\nf = 512MB\ng = 1Gb\nh = 2tb\ni = 4ki\n\
         j = 4Mi\nk = 4gi\nl = 4kib\nm = 4MiB\nn = 4GiB\no = 10Gb\np = 4194304\nq = 2K\n",
    );
    let k = 1024i64;
    let want = [
        ("a", 1_000),
        ("b", 2_000_000),
        ("c", 3_000_000_000),
        ("d", 1_000_000_000_000),
        ("e", k),
        ("f", 512 * k * k),
        ("g", k * k * k),
        ("h", 2 * k * k * k * k),
        ("i", 4 * k),
        ("j", 4 * k * k),
        ("k", 4 * k * k * k),
        ("l", 4 * k),
        ("m", 4 * k * k),
        ("n", 4 * k * k * k),
        ("o", 10 * k * k * k),
        ("p", 4194304),
        ("q", 2000),
    ];
    for (key, n) in want {
        assert_eq!(get(&m, key), &Value::Int(n), "{key}");
    }
}

#[test]
fn durations_are_strings_except_bare_size_suffixes() {
    // `2m` unquoted is the integer 2,000,000 (m = mega); quoted it is text.
    // `1s` has no size suffix, so Go keeps it as the string "1s".
    let m = parse("a = 2m\nb = \"2m\"\nc = 1s\nd = \"1.9s\"\ne = 500ms\n");
    assert_eq!(get(&m, "a"), &Value::Int(2_000_000));
    assert_eq!(get(&m, "b"), &s("2m"));
    assert_eq!(get(&m, "c"), &s("1s"));
    assert_eq!(get(&m, "d"), &s("1.9s"));
    assert_eq!(get(&m, "e"), &s("500ms"));
    // An unquoted `1.9s` lexes as the float 1.9 followed by junk.
    let err = conf::parse_str("t = 1.9s").unwrap_err();
    assert_eq!(
        err.to_string(),
        "1:7: Expected a top-level value to end with a new line, comment or EOF, but got 's' instead."
    );
}

#[test]
fn datetimes() {
    let m = parse("now = 2016-05-04T18:53:41Z\n");
    assert_eq!(
        get(&m, "now"),
        &Value::DateTime("2016-05-04T18:53:41Z".into())
    );
    let err = conf::parse_str("bad = 2016-02-30T18:53:41Z\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "1:6: expected Zulu formatted DateTime, but got '2016-02-30T18:53:41Z'"
    );
}

#[test]
fn variables_resolve_from_innermost_scope() {
    let m = parse("x = 1\nm { x = 2, y = $x }\nz = $x\n");
    assert_eq!(
        get(&m, "m").as_map().unwrap().get("y").unwrap().value,
        Value::Int(2)
    );
    assert_eq!(get(&m, "z"), &Value::Int(1));
}

#[test]
fn variables_copy_maps_and_arrays() {
    let m = parse("a = {b = 1}\nl = [x, y ]\nc = $a\nd = [$l, $a]\n");
    assert!(get(&m, "c").equivalent(get(&m, "a")));
    let d = get(&m, "d").as_array().unwrap();
    assert!(d[0].value.equivalent(get(&m, "l")));
    // The copy keeps the positions of the original definition (as Go).
    let b = get(&m, "c").as_map().unwrap().get("b").unwrap();
    assert_eq!((b.pos.line, b.pos.col), (1, 5));
}

#[test]
fn variables_from_environment_are_parsed_as_values() {
    std::env::set_var("RNATSD_CONF_SYNTAX_NUM", "42");
    std::env::set_var("RNATSD_CONF_SYNTAX_LIST", "[1, 2 ]");
    std::env::set_var("RNATSD_CONF_SYNTAX_STR", "'hello world'");
    std::env::set_var("RNATSD_CONF_SYNTAX_BAD", "hello world");
    let m = parse(
        "a = $RNATSD_CONF_SYNTAX_NUM\nb = $RNATSD_CONF_SYNTAX_LIST\nc = $RNATSD_CONF_SYNTAX_STR\n",
    );
    assert_eq!(get(&m, "a"), &Value::Int(42));
    assert_eq!(get(&m, "b").as_array().unwrap().len(), 2);
    assert_eq!(get(&m, "c"), &s("hello world"));
    // The value is parsed as `pk=<value>`, so unquoted text with a space fails.
    let err = conf::parse_str("c = $RNATSD_CONF_SYNTAX_BAD").unwrap_err();
    assert_eq!(
        err.to_string(),
        "1:5: variable reference for 'RNATSD_CONF_SYNTAX_BAD' on line 1 could not be parsed: \
         Parse error on line 1: 'Expected a top-level value to end with a new line, comment or \
         EOF, but got 'w' instead.'"
    );
    // A config variable shadows the environment.
    let m = parse("RNATSD_CONF_SYNTAX_NUM = 7\na = $RNATSD_CONF_SYNTAX_NUM\n");
    assert_eq!(get(&m, "a"), &Value::Int(7));
}

#[test]
fn bcrypt_hashes_are_not_variables() {
    let m = parse("password: $2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG\n");
    assert_eq!(
        get(&m, "password"),
        &s("$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG")
    );
}

#[test]
fn keys_are_case_sensitive_with_case_insensitive_lookup() {
    let m = parse("Port = 1\nhost = h\n");
    assert_eq!(m.get("PORT").unwrap().value, Value::Int(1));
    assert_eq!(m.get("port").unwrap().value, Value::Int(1));
    assert!(m.get_exact("port").is_none());
    assert!(m.get_exact("Port").is_some());
    // Variables match keys exactly.
    assert!(conf::parse_str("Port = 1\nx = $port\n").is_err());
}

#[test]
fn duplicate_keys_later_wins() {
    let m = parse("a = 1\nb = 0\na = 2\nA = 3\n");
    assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "A"]);
    assert_eq!(m.get_exact("a").unwrap().value, Value::Int(2));
    assert_eq!(m.get_exact("a").unwrap().pos.line, 3);
    assert_eq!(m.get_exact("A").unwrap().value, Value::Int(3));
}

#[test]
fn quoted_keys() {
    let m = parse("\"a b\" = 1\n'c d': 2\nm { \"e f\": 3, 'g': 4 }\n");
    assert_eq!(get(&m, "a b"), &Value::Int(1));
    assert_eq!(get(&m, "c d"), &Value::Int(2));
    let inner = get(&m, "m").as_map().unwrap();
    assert_eq!(inner.get("e f").unwrap().value, Value::Int(3));
    assert_eq!(inner.get("g").unwrap().value, Value::Int(4));
    // Positions point inside the quotes, as Go reports them.
    assert_eq!(m.get("a b").unwrap().pos.col, 1);
}

#[test]
fn json_like_top_level_braces() {
    let m =
        parse("{\n  \"port\": 4222,\n  \"debug\": false,\n  \"cluster\": {\"port\": 6222}\n}\n");
    assert_eq!(get(&m, "port"), &Value::Int(4222));
    assert_eq!(get(&m, "debug"), &Value::Bool(false));
    assert!(get(&m, "cluster").as_map().is_some());
    assert!(parse("{}").is_empty());
}

#[test]
fn empty_and_comment_only_sources() {
    assert!(parse("").is_empty());
    assert!(parse("\n\n   \n").is_empty());
    assert!(parse("# nothing\n// here\n").is_empty());
}
