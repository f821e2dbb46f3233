//! Errors carry a position and Go's wording. Columns follow Go: 0-based on
//! line 1, 1-based (bytes after the previous '\n') on later lines.

use std::path::PathBuf;

fn err(src: &str) -> String {
    match conf::parse_str(src) {
        Ok(m) => panic!("{src:?} parsed: {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unterminated_strings_point_at_their_start() {
    assert_eq!(err("x = 1\na = \"abc\n\nb = 2\n"), "2:6: Unexpected EOF.");
    assert_eq!(err("x = 1\na = 'abc\n"), "2:6: Unexpected EOF.");
    assert_eq!(
        err("x = 1\nb = (\n  text\n"),
        "2:6: Unexpected EOF processing block."
    );
    assert_eq!(
        err("m {\n  'key = 1\n}\n"),
        "2:4: Unexpected EOF processing quoted map key."
    );
}

#[test]
fn unbalanced_braces_and_brackets() {
    assert_eq!(err("a {\n  b = 1\n"), "3:1: Unexpected EOF processing map.");
    assert_eq!(
        err("a {\n  b = [1, 2 }\n"),
        "2:13: Expected an array value terminator \",\" or an array terminator \"]\", but got '}' instead."
    );
    assert_eq!(
        err("a = [\n  1,\n"),
        "3:1: Expected an array value terminator \",\" or an array terminator \"]\", but got '\0' instead."
    );
    assert_eq!(
        err("a { b = 1 ]\n"),
        "1:10: Expected a map value terminator \",\" or a map terminator \"}\", but got ']' instead."
    );
}

#[test]
fn missing_variable() {
    let e = conf::parse_str("a = 1\nb = $nope\n").unwrap_err();
    assert_eq!(
        e.message,
        "variable reference for 'nope' on line 2 can not be found"
    );
    let pos = e.pos.clone().unwrap();
    assert_eq!((pos.line, pos.col), (2, 6));
    assert_eq!(
        e.to_string(),
        "2:6: variable reference for 'nope' on line 2 can not be found"
    );
}

#[test]
fn variables_are_not_visible_before_definition() {
    assert_eq!(
        err("a = $b\nb = 1\n"),
        "1:5: variable reference for 'b' on line 1 can not be found"
    );
}

#[test]
fn include_of_a_missing_file() {
    let dir = std::env::temp_dir().join(format!("rnatsd-conf-{}-errors", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let main: PathBuf = dir.join("main.conf");
    std::fs::write(&main, "port = 1\n  include   missing.conf\n").unwrap();
    let e = conf::parse_file(&main).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:13: error parsing include file 'missing.conf', open {}: no such file or directory",
            main.display(),
            dir.join("missing.conf").display()
        )
    );
}

#[test]
fn environment_variable_cycles() {
    std::env::set_var("RNATSD_CONF_ERR_SELF", "$RNATSD_CONF_ERR_SELF");
    assert_eq!(
        err("x = 1\na = $RNATSD_CONF_ERR_SELF\n"),
        "2:6: variable reference for 'RNATSD_CONF_ERR_SELF' on line 2 could not be parsed: \
         variable reference for 'RNATSD_CONF_ERR_SELF' on line 1 could not be parsed: \
         variable reference cycle for 'RNATSD_CONF_ERR_SELF'"
    );
    std::env::set_var("RNATSD_CONF_ERR_A", "$RNATSD_CONF_ERR_B");
    std::env::set_var("RNATSD_CONF_ERR_B", "[1, $RNATSD_CONF_ERR_A ]");
    let e = err("a = $RNATSD_CONF_ERR_A");
    assert!(
        e.starts_with("1:5: variable reference for 'RNATSD_CONF_ERR_A' on line 1"),
        "{e}"
    );
    assert!(
        e.ends_with("variable reference cycle for 'RNATSD_CONF_ERR_A'"),
        "{e}"
    );
}

#[test]
fn go_lexer_messages() {
    assert_eq!(
        err("a = 1 b = 2\n"),
        "1:6: Expected a top-level value to end with a new line, comment or EOF, but got 'b' instead."
    );
    assert_eq!(err("a = \n"), "1:4: Expected value but found new line");
    assert_eq!(err("a = .5\n"), "1:4: Floats must start with a digit");
    assert_eq!(
        err("a = 1.x\n"),
        "1:6: Floats must have a digit after the '.', but got 'x' instead."
    );
    assert_eq!(
        err("a = 2016-05\n"),
        "1:11: Expected '-' in ISO8601 datetime, but found '\\n' instead."
    );
    assert_eq!(
        err("a = 20-1\n"),
        "1:6: All ISO8601 dates must be in full Zulu form."
    );
    assert_eq!(
        err("a = \"\\xZZ\"\n"),
        "1:7: Expected two hexadecimal digits after '\\x', but got 'ZZ'"
    );
    assert_eq!(err("= 1\n"), "1:0: Unexpected key separator '='");
    assert_eq!(
        err("include [a]\n"),
        "1:8: Expected include value but found start of an array"
    );
    assert_eq!(
        err("a = [,]\n"),
        "1:5: Unexpected array value terminator ','."
    );
    assert_eq!(
        err("a { b = , }\n"),
        "1:8: Unexpected map value terminator \",\"."
    );
}

#[test]
fn numbers_out_of_range() {
    assert_eq!(
        err("a = 99999999999999999999\n"),
        "1:4: integer '99999999999999999999' is out of the range"
    );
    let big = format!("a = {}.0\n", "9".repeat(400));
    assert!(err(&big).ends_with("is out of the range"));
}

#[test]
fn key_without_value_is_invalid() {
    // Go: "config is invalid (:1:41)".
    assert_eq!(err(&"a".repeat(41)), "1:41: config is invalid");
    assert_eq!(err("\n   a,a,a\n   "), "3:4: config is invalid");
    // A stray trailing '}' is accepted (JSON-like files).
    assert!(conf::parse_str("a { b = 1 }\n}\n").is_ok());
}

#[test]
fn errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("rnatsd-conf-{}-file", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.conf");
    std::fs::write(&path, "port = 4222\nhost = $missing\n").unwrap();
    let e = conf::parse_file(&path).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:9: variable reference for 'missing' on line 2 can not be found",
            path.display()
        )
    );
}

#[test]
fn nesting_depth_is_limited() {
    let deep = format!("a = {}{}", "[".repeat(300), "]".repeat(300));
    let e = err(&deep);
    assert!(e.contains("nested deeper than 256"), "{e}");
    let ok = format!("a = {} 1 {}", "[".repeat(255), " ]".repeat(255));
    assert!(conf::parse_str(&ok).is_ok());
}
