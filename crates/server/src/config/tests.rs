//! Unit tests of the typed config parsing.

use super::golang::split_host_port;
use super::types::*;
use super::value::{go_duration, go_duration_string, go_url_ok, referenced_vars, Ctx};
use super::*;
use crate::config::options::User;
use std::time::Duration;

/// Interprets config text: (options, errors, warnings).
pub(super) fn parse_text(text: &str) -> (Options, Vec<String>, Vec<String>) {
    let map = conf::parse_str(text).expect("syntax");
    let mut cx = Ctx {
        used_vars: referenced_vars(text),
        ..Ctx::default()
    };
    let mut opts = Options::default();
    apply_map(&mut opts, &map, &mut cx);
    (opts, cx.errors, cx.warnings)
}

pub(super) fn ok(text: &str) -> Options {
    let (o, e, w) = parse_text(text);
    assert!(e.is_empty() && w.is_empty(), "errors {e:?} warnings {w:?}");
    o
}

pub(super) fn first_error(text: &str) -> String {
    let (_, e, _) = parse_text(text);
    assert!(!e.is_empty(), "expected an error for {text:?}");
    e[0].clone()
}

#[test]
fn seed_websocket_config() {
    let o = ok("port: 4222\nmax_payload: 4194304\nwebsocket {\n port: 443\n no_tls: true\n}\n");
    assert_eq!(o.port, 4222);
    assert_eq!(o.max_payload, 4_194_304);
    assert_eq!(o.websocket.port, 443);
    assert!(o.websocket.no_tls);
    assert!(o.unsupported.is_empty(), "websocket is served");
    assert!(validate(&o).is_ok());
}

#[test]
fn main_keys_and_aliases() {
    let o = ok(r#"
        NET: 127.0.0.1
        Port: 4333
        server_name: "a_b"
        monitor_port: 8222
        http_base_path: /nats
        max_conn: 10
        max_subs: 5
        max_pending: 10MB
        max_control_line: 1KB
        ping_interval: "30s"
        ping_max: 4
        write_deadline: "1.5s"
        lame_duck_duration: "1m"
        lame_duck_grace_period: "5s"
        trace_verbose: true
        logfile: /tmp/x.log
        pidfile: /tmp/x.pid
        log_size_limit: 1MB
        server_tags: [a, b]
    "#);
    assert_eq!(o.host, "127.0.0.1");
    assert_eq!(o.port, 4333);
    assert_eq!(o.server_name.as_deref(), Some("a_b"));
    // 2.12 refuses a name with a space.
    assert_eq!(
        first_error("server_name: \"a b\"\n"),
        "1:0: server name cannot contain spaces"
    );
    assert_eq!(o.http_port, 8222);
    assert_eq!(o.http_base_path, "/nats");
    assert_eq!((o.max_connections, o.max_subs), (10, 5));
    assert_eq!(o.max_pending, 10 * 1024 * 1024);
    assert_eq!(o.max_control_line, 1024);
    assert_eq!(o.ping_interval, Duration::from_secs(30));
    assert_eq!(o.ping_max, 4);
    assert_eq!(o.write_deadline, Duration::from_millis(1500));
    assert_eq!(o.lame_duck_duration, Duration::from_secs(60));
    assert_eq!(o.lame_duck_grace_period, Duration::from_secs(5));
    assert!(o.trace && o.trace_verbose);
    assert_eq!(o.log_file.as_deref(), Some("/tmp/x.log"));
    assert_eq!(o.pid_file.as_deref(), Some("/tmp/x.pid"));
    assert_eq!(o.log_size_limit, 1024 * 1024);
    assert_eq!(o.server_tags, ["a", "b"]);
}

#[test]
fn listen_forms_and_zero_defaults() {
    let o = ok("listen: \"[::1]:4333\"\nhttp: \"127.0.0.1:8333\"\n");
    assert_eq!((o.host.as_str(), o.port), ("::1", 4333));
    assert_eq!((o.http_host.as_str(), o.http_port), ("127.0.0.1", 8333));
    let o = ok("listen: 4555\nport: 0\nmax_payload: 0\nping_max: 0\n");
    assert_eq!(o.port, 4222, "0 is the default port");
    assert_eq!(o.max_payload, 1024 * 1024);
    assert_eq!(o.ping_max, 2);
    let o = ok("port: -1\n");
    assert_eq!(o.port, -1);
    assert!(first_error("listen: \"localhost\"\n")
        .contains("could not parse address string \"localhost\""));
    assert!(first_error("listen: true\n").contains("expected port or host:port, got bool"));
}

#[test]
fn wrong_types_read_like_go() {
    assert_eq!(
        first_error("port: \"4222\"\n"),
        "1:0: interface conversion: interface {} is string, not int64"
    );
    assert!(first_error("debug: 1\n").ends_with("is int64, not bool"));
    assert!(first_error("server_name: [a]\n").ends_with("is []interface {}, not string"));
    assert!(first_error("max_payload: 1.5\n").ends_with("is float64, not int64"));
    assert_eq!(
        first_error("max_payload: 3GB\n"),
        "1:0: max_payload value is too big"
    );
    assert_eq!(
        first_error("max_sub_tokens: 0\n"),
        "1:0: max_sub_tokens value can not be negative"
    );
}

#[test]
fn duration_warnings_and_errors() {
    let (o, e, w) = parse_text("write_deadline: 5\nping_interval: 60\n");
    assert!(e.is_empty());
    assert_eq!(
        w,
        [
            "1:0: invalid use of field \"write_deadline\": write_deadline should be converted to a duration",
            "2:1: invalid use of field \"ping_interval\": ping_interval should be converted to a duration",
        ]
    );
    assert_eq!(o.write_deadline, Duration::from_secs(5));
    assert_eq!(o.ping_interval, Duration::from_secs(60));
    assert_eq!(
        first_error("ping_interval: \"2 minutes\"\n"),
        "1:0: error parsing ping_interval: time: unknown unit \" minutes\" in duration \"2 minutes\""
    );
    assert_eq!(
        first_error("lame_duck_duration: \"10s\"\n"),
        "1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds"
    );
    assert!(first_error("lame_duck_duration: 60\n").ends_with("is int64, not string"));
}

#[test]
fn go_durations() {
    assert_eq!(go_duration("2m"), Ok(120_000_000_000));
    assert_eq!(go_duration("1h30m"), Ok(5_400_000_000_000));
    assert_eq!(go_duration("1.5s"), Ok(1_500_000_000));
    assert_eq!(go_duration(".5s"), Ok(500_000_000));
    assert_eq!(go_duration("100ms"), Ok(100_000_000));
    assert_eq!(go_duration("-1s"), Ok(-1_000_000_000));
    assert_eq!(go_duration("0"), Ok(0));
    assert_eq!(go_duration("1µs"), Ok(1_000));
    assert_eq!(
        go_duration("10"),
        Err("time: missing unit in duration \"10\"".into())
    );
    assert_eq!(go_duration(""), Err("time: invalid duration \"\"".into()));
    assert_eq!(go_duration("."), Err("time: invalid duration \".\"".into()));
    assert!(go_duration("9999999999h").is_err());
    assert_eq!(go_duration_string(1_500_000_000), "1.5s");
    assert_eq!(go_duration_string(120_000_000_000), "2m0s");
    assert_eq!(go_duration_string(5_400_000_000_000), "1h30m0s");
    assert_eq!(go_duration_string(2_000_000), "2ms");
    assert_eq!(go_duration_string(50_000_000_000), "50s");
}

#[test]
fn host_ports_and_urls() {
    assert_eq!(split_host_port("a:1"), Ok(("a".into(), "1".into())));
    assert_eq!(split_host_port("[::1]:1"), Ok(("::1".into(), "1".into())));
    assert!(split_host_port("::1:1").is_err());
    assert!(split_host_port("a").is_err());
    for good in [
        "nats://127.0.0.1:4222",
        "nats://u:p@host:4222",
        "nats://[::1]:4222",
        "host:4222",
        "",
        "ws://h/path?x=1",
        "nats://h",
        "nats://<HOST>:4222",
    ] {
        assert!(go_url_ok(good), "{good}");
    }
    for bad in [
        "nats://a:b",
        "nats://a b:4",
        "nats://h:4/%zz",
        ":foo",
        "nats://[::1:4222",
        "nats://h{x}:1",
    ] {
        assert!(!go_url_ok(bad), "{bad}");
    }
}

#[test]
fn unknown_fields_and_used_variables() {
    let (_, e, _) = parse_text("foo: 1\ncluster { port: 1, bar: 2 }\n");
    assert_eq!(
        e,
        ["1:0: unknown field \"foo\"", "2:20: unknown field \"bar\""]
    );
    let o = ok("TOK: abc\nX: 1\nauthorization { token: $TOK, timeout: $X }\ncluster { port: 1, W: w, authorization { user: $W } }\n");
    assert_eq!(o.token.as_deref(), Some("abc"));
    // A key whose value is a reference is not itself referenced.
    assert_eq!(
        first_error("X: 1\ncluster { Y: $X }\n"),
        "2:11: unknown field \"Y\""
    );
    let vars = referenced_vars("a: $B # $C\nd: \"$E\" f: [$G, $H]\n// $I\n");
    let mut v: Vec<_> = vars.into_iter().collect();
    v.sort();
    assert_eq!(v, ["B", "G", "H"]);
}

#[test]
fn authorization_fills_credentials() {
    let o = ok("authorization { user: a, password: b, timeout: 0.5 }\n");
    assert_eq!(
        o.users,
        [User {
            username: "a".into(),
            password: "b".into()
        }]
    );
    assert_eq!(o.username.as_deref(), Some("a"));
    assert_eq!(o.auth_timeout, Duration::from_millis(500));
    assert!(o.auth_required());
    let o = ok("authorization { token: t }\n");
    assert_eq!(o.token.as_deref(), Some("t"));
    assert_eq!(o.auth_timeout, Duration::from_secs(2));
    let o = ok("authorization { token: t, timeout: \"5s\" }\n");
    assert_eq!(
        o.auth_timeout,
        Duration::from_secs(1),
        "Go: non-numeric timeout is 1s"
    );
    assert_eq!(
        first_error("authorization { user: a, token: t }\n"),
        "1:0: Cannot have a user/pass and token"
    );
    assert!(first_error("authorization { user: a, users: [] }\n")
        .ends_with("Can not have a single user/pass and a users array"));
    assert!(
        first_error("authorization { users: [{user: a}, {user: a}] }\n")
            .ends_with("Duplicate user \"a\" detected")
    );
    assert!(first_error("authorization { users: [{password: a}] }\n")
        .ends_with("User entry requires a user"));
    assert!(first_error("authorization: 1\n").ends_with("is int64, not map[string]interface {}"));
}

#[test]
fn users_with_permissions() {
    let o = ok(r#"
        authorization {
          default_permissions: { subscribe: ">" }
          users: [
            { user: a, password: b, permissions: {
                publish: { allow: ["x.*"], deny: "x.secret" }
                allow_responses: { max: 3, expires: "1m" } } }
            { user: c, password: d, permissions: { pub: "p", sub: ["s", "q.> workers"], allow_responses: true } }
            { user: e, password: f, allowed_connection_types: ["websocket", "STANDARD"] }
          ]
        }
    "#);
    assert_eq!(o.users.len(), 3);
    let a = &o.auth_users[0];
    let p = a.permissions.as_ref().unwrap();
    let publish = p.publish.as_ref().unwrap();
    assert_eq!(publish.allow.as_deref(), Some(&["x.*".to_string()][..]));
    assert_eq!(publish.deny.as_deref(), Some(&["x.secret".to_string()][..]));
    assert_eq!(
        p.response,
        Some(ResponsePermission {
            max_msgs: 3,
            expires: Some(Duration::from_secs(60))
        })
    );
    let c = o.auth_users[1].permissions.as_ref().unwrap();
    assert_eq!(c.response, Some(ResponsePermission::default()));
    assert_eq!(
        c.subscribe.as_ref().unwrap().allow.as_deref().unwrap(),
        ["s", "q.> workers"]
    );
    // Users without permissions get the defaults.
    let e = &o.auth_users[2];
    assert_eq!(
        e.permissions
            .as_ref()
            .unwrap()
            .subscribe
            .as_ref()
            .unwrap()
            .allow
            .as_deref()
            .unwrap(),
        [">"]
    );
    assert_eq!(
        e.allowed_connection_types.as_deref().unwrap(),
        ["WEBSOCKET", "STANDARD"]
    );
    assert!(
        !o.unsupported.contains(&"permissions".to_string()),
        "permissions are served"
    );
    // allow_responses alone turns off the blanket publish allow.
    let o = ok("authorization { users: [ {user: a, password: b, permissions: { allow_responses: true } } ] }\n");
    let p = o.auth_users[0].permissions.as_ref().unwrap();
    assert_eq!(p.publish.as_ref().unwrap().allow.as_deref(), Some(&[][..]));
    assert_eq!(
        first_error(
            "authorization { users: [ {user: a, permissions: { publish: \"a..b\" } } ] }\n"
        ),
        "subject \"a..b\" is not a valid subject"
    );
    assert!(first_error("authorization { users: [ {user: a, permissions: { publish: { allow: \"a\", x: 1 } } } ] }\n")
        .contains("Unknown field name \"x\" parsing subject permissions"));
    assert!(
        first_error("authorization { users: [ {user: a, clients: [\"FOO\"]} ] }\n")
            .ends_with("invalid connection types [\"FOO\"]")
    );
}

#[test]
fn nkey_users() {
    let u = nkeys::KeyPair::new_user().public_key();
    let o = ok(&format!(
        "authorization {{ users: [ {{ nkey: {u}, permissions: {{ publish: \"a\" }} }} ] }}\n"
    ));
    assert_eq!(o.nkeys.len(), 1);
    assert_eq!(o.nkeys[0].nkey, u);
    assert!(o.nkeys[0].permissions.is_some());
    assert!(o.users.is_empty());
    assert!(
        !o.unsupported.contains(&"nkey users".to_string()),
        "nkey users are served"
    );
    let acc = nkeys::KeyPair::new_account().public_key();
    assert!(first_error(&format!(
        "authorization {{ users: [ {{ nkey: {acc} }} ] }}\n"
    ))
    .ends_with("Not a valid public nkey for a user"));
    assert!(first_error(&format!(
        "authorization {{ users: [ {{ nkey: {u}, user: x }} ] }}\n"
    ))
    .ends_with("Nkey users do not take usernames or passwords"));
}
