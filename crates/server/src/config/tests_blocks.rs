//! Unit tests of the typed parsing of blocks: accounts, mappings,
//! cluster, gateway, leafnodes, websocket, MQTT, JetStream, TLS, operator
//! mode; startup checks and the two load modes.

use super::tests::{first_error, ok, parse_text};
use super::types::*;
use super::*;
use crate::config::options::User;
use std::time::Duration;

const OPERATOR_FIXTURE: &str = include_str!("../../tests/configs/valid_operator_inline.conf");

#[test]
fn accounts_users_exports_imports() {
    let o = ok(r#"
        accounts {
          A: {
            users: [ { user: a, password: pa } ]
            exports: [ { stream: "pub.>" }, { service: "svc", accounts: [B], response: chunked } ]
            jetstream: { max_mem: 1MB, max_streams: 2 }
            limits: { max_conn: 5 }
            mappings: { "x": "y" }
          }
          B: {
            users: [ { user: b, password: pb } ]
            imports: [
              { stream: { account: A, subject: "pub.>" }, prefix: "a" }
              { service: { account: A, subject: "svc" }, to: "a.svc" }
            ]
            jetstream: enabled
          }
        }
    "#);
    assert_eq!(o.accounts.len(), 2);
    assert_eq!(o.users.len(), 2);
    assert_eq!(o.auth_users[0].account.as_deref(), Some("A"));
    assert_eq!(o.auth_users[1].account.as_deref(), Some("B"));
    let a = &o.accounts[0];
    assert_eq!(a.exports.len(), 2);
    assert_eq!(a.exports[1].kind, ExportKind::Service);
    assert_eq!(a.exports[1].response_type, ResponseType::Chunked);
    assert_eq!(a.exports[1].accounts.as_deref().unwrap(), ["B"]);
    assert_eq!(a.jetstream.as_ref().unwrap().max_memory, 1024 * 1024);
    assert_eq!(a.jetstream.as_ref().unwrap().max_streams, 2);
    assert_eq!(a.limits.max_connections, 5);
    assert_eq!(a.mappings[0].destinations[0].subject, "y");
    let b = &o.accounts[1];
    assert_eq!(b.imports[0].prefix.as_deref(), Some("a"));
    assert_eq!(b.imports[1].to.as_deref(), Some("a.svc"));
    assert_eq!(b.jetstream, Some(JsAccountLimits::default()));
    assert!(
        !o.unsupported.contains(&"accounts".to_string()),
        "accounts are served"
    );

    assert!(first_error(
        "accounts { A: { exports: [ { service: s, accounts: [C] } ] }, B: { imports: [ { service: { account: A, subject: s } } ] }, C: {} }\n"
    )
    .ends_with("Error adding service import \"s\": service import not authorized"));
    assert!(first_error(
        "accounts { B: { imports: [ { stream: { account: X, subject: s } } ] } }\n"
    )
    .ends_with("\"X\" account not defined for stream import"));
    assert!(first_error("accounts { \"$G\": {} }\n").ends_with("\"$G\" is a Reserved Account"));
    assert!(
        first_error("accounts { A: { users: [{user: a}] }, B: { users: [{user: a}] } }\n")
            .ends_with("Duplicate user \"a\" detected")
    );
    assert!(
        first_error("authorization { token: t }\naccounts { A: { users: [{user: a}] } }\n")
            .ends_with("Can not have a token and accounts")
    );
    let o = ok("accounts: [x, y]\n");
    assert_eq!(
        o.accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["x", "y"]
    );
}

#[test]
fn subject_mappings() {
    let o = ok(r#"
        mappings {
          "a.*": "b.{{wildcard(1)}}"
          "c": [ { destination: "d", weight: 40% }, { destination: "e", weight: "60%", cluster: x } ]
        }
    "#);
    assert_eq!(o.mappings.len(), 2);
    assert_eq!(o.mappings[1].destinations[1].weight, 60);
    assert_eq!(o.mappings[1].destinations[1].cluster.as_deref(), Some("x"));
    // 2.12: only imports must use every wildcard.
    ok("mappings { \"a.*\": \"b\" }\n");
    assert!(first_error("mappings { \"a.*\": \"b.{{wildcard(2)}}\" }\n")
        .contains("wildcard index out of range"));
    assert!(
        first_error("mappings { a: [ { destination: b, weight: 101 } ] }\n")
            .contains("Invalid weight 101 for mapping destination")
    );
    assert!(first_error(
        "mappings { a: [ { destination: b, weight: 60 }, { destination: c, weight: 60 } ] }\n"
    )
    .ends_with("Error adding mapping for \"a\" : total weight needs to be <= 100"));
    assert!(first_error("mappings { \"a.*\": \"b.{{foo(1)}}\" }\n").contains("unknown function"));
}

#[test]
fn cluster_gateway_leafnodes() {
    let o = ok(r#"
        cluster {
          name: c1
          listen: "0.0.0.0:6222"
          authorization { user: r, password: p, timeout: 2 }
          routes: [ "nats://r:p@127.0.0.1:6223" ]
          no_advertise: true
          permissions: { import: "a.>", export: { deny: "b" } }
        }
        gateway { name: c1, port: 7222, gateways: [ { name: c2, urls: ["nats://h:7223"] } ] }
        leafnodes {
          port: 7422
          remotes: [ { urls: ["nats://h:7422"], account: "$G", deny_imports: "x" } ]
          reconnect: "3s"
        }
    "#);
    assert_eq!(o.cluster.name.as_deref(), Some("c1"));
    assert_eq!(o.cluster.port, 6222);
    assert_eq!(o.cluster.username.as_deref(), Some("r"));
    assert_eq!(o.cluster.auth_timeout, 2.0);
    assert_eq!(o.cluster.routes, ["nats://r:p@127.0.0.1:6223"]);
    let perms = o.cluster.permissions.as_ref().unwrap();
    assert_eq!(
        perms.import.as_ref().unwrap().allow.as_deref().unwrap(),
        ["a.>"]
    );
    assert_eq!(
        perms.export.as_ref().unwrap().deny.as_deref().unwrap(),
        ["b"]
    );
    assert_eq!(o.gateway.gateways[0].urls, ["nats://h:7223"]);
    assert_eq!(o.leafnode.port, 7422);
    assert_eq!(o.leafnode.reconnect_interval, Some(Duration::from_secs(3)));
    assert_eq!(o.leafnode.remotes[0].deny_imports, ["x"]);
    assert!(o.unsupported.contains(&"gateways".to_string()));
    // Leafnodes are served.
    assert!(!o.unsupported.contains(&"leafnodes".to_string()));
    assert!(!o.unsupported.contains(&"clustering".to_string()));
    let (_, e, w) = parse_text("cluster { routes: [\"nats://h:1\", \"nats://h:1\"] }\n");
    assert!(e.is_empty());
    assert_eq!(
        w,
        ["1:34: invalid use of field \"nats://h:1\": Duplicate route entry detected"]
    );
    assert!(first_error("cluster { authorization { token: t } }\n")
        .ends_with("Cluster authorization does not support tokens"));
    assert!(first_error("leafnodes { min_version: \"2.7.9\" }\n")
        .ends_with("the minimum version should be at least 2.8.0"));
    // 2.12: a duration string; an integer number of seconds is warned about.
    assert_eq!(
        ok("leafnodes { reconnect: \"1s\" }\n")
            .leafnode
            .reconnect_interval,
        Some(Duration::from_secs(1))
    );
}

#[test]
fn websocket_mqtt_jetstream() {
    let o = ok(r#"
        server_name: s
        websocket { listen: "127.0.0.1:8080", no_tls: true, compression: true,
                    allowed_origins: "http://x", handshake_timeout: 3,
                    authorization { user: w, password: p } }
        mqtt { port: 1883, ack_wait: "10s", max_ack_pending: 10 }
        jetstream { store_dir: "/tmp/js", max_mem: 1G, max_file: "2G", domain: d,
                    limits { duplicate_window: "1m" } }
    "#);
    assert_eq!(
        (o.websocket.host.as_str(), o.websocket.port),
        ("127.0.0.1", 8080)
    );
    assert!(o.websocket.compression);
    assert_eq!(o.websocket.allowed_origins, ["http://x"]);
    assert_eq!(o.websocket.handshake_timeout, Some(Duration::from_secs(3)));
    assert_eq!(o.websocket.username.as_deref(), Some("w"));
    assert_eq!(o.mqtt.ack_wait, Some(Duration::from_secs(10)));
    assert_eq!(o.mqtt.max_ack_pending, 10);
    assert!(o.jetstream.enabled);
    assert_eq!(o.jetstream.max_memory, 1_000_000_000);
    assert_eq!(o.jetstream.max_store, 2 << 30);
    assert_eq!(o.jetstream.domain.as_deref(), Some("d"));
    assert_eq!(
        o.jetstream.limits.duplicate_window,
        Some(Duration::from_secs(60))
    );
    assert!(validate(&o).is_ok());
    let o = ok("jetstream: disabled\n");
    assert!(!o.jetstream.enabled && !o.unsupported.contains(&"JetStream".to_string()));
    assert!(first_error("jetstream { max_file: \"10X\" }\n")
        .ends_with("max_file_store sizes defined as strings must end in K, M, G, T"));
    assert!(first_error("store_dir: a\njetstream { store_dir: b }\n")
        .ends_with("Duplicate 'store_dir' configuration"));
    assert!(first_error("mqtt { max_inflight: -1 }\n")
        .ends_with("invalid value -1, should in [0..65535] range"));
    assert!(first_error("websocket { port: 1, origin: [1, a] }\n")
        .ends_with("error parsing allowed origins: unsupported type in array int64"));
}

#[test]
fn tls_blocks() {
    let dir = std::env::temp_dir().join(format!("rnatsd-cfg-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/configs/certs");
    let o = ok(&format!(
        "tls {{ cert_file: \"{certs}/server-cert.pem\", key_file: \"{certs}/server-key.pem\", \
         ca_file: \"{certs}/ca.pem\", verify_and_map: true, timeout: \"1.5s\", \
         pinned_certs: [\"{}\"] }}\n",
        "AB".repeat(32)
    ));
    let t = o.tls.as_ref().unwrap();
    assert!(t.verify && t.map);
    assert_eq!(t.timeout, 1.5);
    assert_eq!(t.pinned_certs, ["ab".repeat(32)]);
    assert_eq!(
        o.auth_timeout,
        Duration::from_millis(2500),
        "TLS timeout + 1s"
    );
    assert!(
        !o.unsupported.contains(&"TLS".to_string()),
        "client TLS is served"
    );
    let not_pem = dir.join("x.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let p = not_pem.display();
    assert!(first_error(&format!(
        "tls {{ cert_file: \"{p}\", key_file: \"{p}\" }}\n"
    ))
    .ends_with("tls: failed to find any PEM data in certificate input"));
    assert!(first_error(&format!("tls {{ ca_file: \"{p}\" }}\n"))
        .ends_with("failed to parse root ca certificate"));
    assert!(
        first_error("tls { key_file: k }\n").ends_with("missing 'cert_file' in TLS configuration")
    );
    assert!(first_error("tls { verify: 1 }\n")
        .ends_with("error parsing tls config, expected 'verify' to be a boolean"));
    assert!(
        first_error("cluster { tls { verify_cert_and_check_known_urls: true, foo: 1 } }\n")
            .contains("unknown field \"foo\"")
    );
    assert!(
        first_error("tls { verify_cert_and_check_known_urls: true }\n")
            .ends_with("verify_cert_and_check_known_urls not supported in this context")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn operator_mode() {
    let o = ok(OPERATOR_FIXTURE);
    assert_eq!(o.operators.len(), 1);
    let op = &o.operators[0];
    assert!(op.subject.starts_with('O'));
    assert_eq!(op.name, "CREDEBL");
    assert_eq!(o.system_account, op.system_account);
    assert_eq!(o.resolver, Some(ResolverOpts::Memory));
    assert_eq!(o.resolver_preload.len(), 2);
    assert!(validate(&o).is_ok());
    // A tampered JWT fails its signature check.
    let jwt = o.resolver_preload[0].1.clone();
    let mut bad = jwt.clone();
    bad.insert(bad.len() - 5, 'A');
    bad.truncate(jwt.len());
    let (_, e, _) = parse_text(&format!(
        "resolver: MEM\nresolver_preload {{ X: \"{bad}\" }}\n"
    ));
    assert_eq!(e.len(), 1);
    assert!(e[0].ends_with("invalid account JWT"));
    // An operator needs a resolver when starting, not for -t.
    let jwt = &op.jwt;
    let (o2, e, _) = parse_text(&format!("operator: {jwt}\n"));
    assert!(e.is_empty());
    assert!(validate(&o2)
        .unwrap_err()
        .0
        .contains("operators require an account resolver"));
    assert!(first_error("operator: [a]\n")
        .ends_with("error parsing operators: unsupported type []interface {}"));
    assert!(first_error("resolver: nowhere\n").contains("should be MEM or  URL(\"url\")"));
    let o = ok("resolver: URL(\"http://127.0.0.1:9090/jwt/v1\")\n");
    assert_eq!(
        o.resolver,
        Some(ResolverOpts::Url("http://127.0.0.1:9090/jwt/v1".into()))
    );
    assert!(first_error("resolver { type: full }\n")
        .ends_with("dir has no value and needs to point to a directory"));
    assert!(
        first_error("resolver { type: cache, dir: \"/tmp\", interval: \"1m\" }\n")
            .ends_with("CACHE does not accept sync")
    );
    assert!(
        first_error("trusted: \"Obad\"\n").contains("required to be a valid public operator nkey")
    );
}

#[test]
fn startup_checks() {
    let o = ok("max_payload: 100MB\n");
    assert_eq!(
        validate(&o).unwrap_err().0,
        "max_payload (104857600) cannot be higher than max_pending (67108864)"
    );
    let o = ok("websocket { port: 1 }\n");
    assert_eq!(
        validate(&o).unwrap_err().0,
        "websocket requires TLS configuration"
    );
    let o = ok("lame_duck_duration: \"40s\"\nlame_duck_grace_period: \"50s\"\n");
    assert_eq!(
        validate(&o).unwrap_err().0,
        "lame duck grace period (50s) should be strictly lower than lame duck duration (40s)"
    );
    let o = ok("no_auth_user: x\n");
    assert!(validate(&o)
        .unwrap_err()
        .0
        .contains("users are not defined"));
    let o = ok("gateway { name: g }\n");
    assert!(validate(&o)
        .unwrap_err()
        .0
        .contains("has no port specified"));
    let o = ok("mqtt { port: 1883 }\n");
    assert_eq!(
        validate(&o).unwrap_err().0,
        "mqtt requires server name to be explicitly set"
    );
    let o = ok("leafnodes { remotes: [ { url: \"nats://h:1\", account: NOPE } ] }\n");
    assert!(validate(&o)
        .unwrap_err()
        .0
        .contains("cannot find local account \"NOPE\" specified in leafnode remote"));
}

#[test]
fn check_mode_and_start_mode() {
    let dir = std::env::temp_dir().join(format!("rnatsd-cfg-modes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let warn = dir.join("warn.conf");
    std::fs::write(&warn, "write_deadline: 5\n").unwrap();
    let e = load_checked(&warn).unwrap_err().0;
    assert!(e.ends_with("warn.conf:1:0: invalid use of field \"write_deadline\": write_deadline should be converted to a duration"), "{e}");
    assert_eq!(load(&warn).unwrap().write_deadline, Duration::from_secs(5));
    let startup = dir.join("startup.conf");
    std::fs::write(&startup, "max_payload: 100MB\n").unwrap();
    assert!(load_checked(&startup).is_ok());
    assert!(load(&startup)
        .unwrap_err()
        .0
        .contains("cannot be higher than max_pending"));
    let inc = dir.join("inc.conf");
    std::fs::write(&inc, "port: 4333\n").unwrap();
    let main = dir.join("main.conf");
    std::fs::write(&main, "include ./inc.conf\nA: 1\nmax_subs: $A\n").unwrap();
    let o = load_checked(&main).unwrap();
    assert_eq!((o.port, o.max_subs), (4333, 1));
    assert_eq!(o.config_file.as_deref(), Some(main.to_str().unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flags_override_config() {
    let o =
        ok("port: 4333\nserver_name: file\ndebug: true\nauthorization { user: a, password: b }\n");
    let mut o2 = o.clone();
    let f = crate::config::flags::parse(
        &[
            "-p", "0", "-n", "flag", "-D=false", "--user", "u", "--pass", "p",
        ]
        .map(String::from),
    )
    .unwrap();
    o2.apply_flags(&f).unwrap();
    assert_eq!(o2.port, 4222, "-p 0 means the default port");
    assert_eq!(o2.server_name.as_deref(), Some("flag"));
    assert!(!o2.debug);
    assert_eq!(
        o2.users,
        [User {
            username: "u".into(),
            password: "p".into()
        }]
    );
}
