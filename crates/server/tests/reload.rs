//! Config reload on a running server, compared with nats-server.

mod common;
use common::{reference_bin, ServerProc};
use std::process::Command;
use std::time::Duration;

fn config(pw_a: &str, max_payload: usize) -> String {
    format!(
        "max_payload: {max_payload}\nauthorization {{ users: [ {{user: a, password: {pw_a}}}, {{user: b, password: pwb}} ] }}\n"
    )
}

fn login(srv: &ServerProc, user: &str, pass: &str) -> common::Raw {
    let mut r = srv.raw();
    r.send(
        format!(
            "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\nPING\r\n"
        )
        .as_bytes(),
    );
    r
}

fn sighup(srv: &ServerProc) {
    let st = Command::new("kill")
        .args(["-HUP", &srv.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Password of `a` and max_payload change: `a`'s old connection is closed
/// with Authorization Violation, `b`'s keeps working under the new limit,
/// new connections see the new password.
#[test]
fn reload_users_and_limits_like_nats_server() {
    for bin in [common::rnatsd_bin(), reference_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&config("pw1", 1000)), &[]);
        let mut a = login(&srv, "a", "pw1");
        a.expect(b"PONG\r\n");
        let mut b = login(&srv, "b", "pwb");
        b.expect(b"PONG\r\n");
        std::fs::write(srv.dir.join("server.conf"), config("pw2", 2000)).unwrap();
        sighup(&srv);
        assert!(
            srv.wait_log("Reloaded server configuration", Duration::from_secs(5))
                .is_some(),
            "{bin}"
        );
        a.expect(b"-ERR 'Authorization Violation'\r\n");
        a.expect_closed();
        let mut big = b"PUB foo 1500\r\n".to_vec();
        big.extend_from_slice(&[b'x'; 1500]);
        big.extend_from_slice(b"\r\nPING\r\n");
        b.send(&big);
        b.expect(b"PONG\r\n");
        let new_a = login(&srv, "a", "pw2");
        assert!(
            new_a.info.contains("\"max_payload\":2000"),
            "{bin}: {}",
            new_a.info
        );
        let mut new_a = new_a;
        new_a.expect(b"PONG\r\n");
        let mut old_pw = login(&srv, "a", "pw1");
        old_pw.expect(b"-ERR 'Authorization Violation'\r\n");
    }
}

/// A change nats-server cannot apply at run time, or a broken file, leaves
/// the old configuration in force.
#[test]
fn unsupported_or_broken_reload_keeps_the_old_config() {
    for bin in [common::rnatsd_bin(), reference_bin()] {
        let srv = ServerProc::start_bin(&bin, Some("max_payload: 1000\n"), &[]);
        std::fs::write(
            srv.dir.join("server.conf"),
            "max_payload: 2000\nserver_name: renamed\n",
        )
        .unwrap();
        sighup(&srv);
        let line = srv
            .wait_log("config reload not supported for", Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{bin}: no refusal logged"));
        assert!(
            line.contains("[ERR] Failed to reload server configuration: config reload not supported for ServerName: old=, new=renamed"),
            "{line}"
        );
        assert!(srv.raw().info.contains("\"max_payload\":1000"), "{bin}");
        std::fs::write(srv.dir.join("server.conf"), "max_payload: {\n").unwrap();
        sighup(&srv);
        assert!(
            srv.wait_log("[ERR]", Duration::from_secs(5)).is_some(),
            "{bin}"
        );
        assert!(srv.raw().info.contains("\"max_payload\":1000"), "{bin}");
    }
}

/// `--signal reload=<pid>` sends the reload.
#[test]
fn signal_flag_reloads() {
    let srv = ServerProc::start(Some("max_payload: 1000\n"));
    std::fs::write(srv.dir.join("server.conf"), "max_payload: 3000\n").unwrap();
    let st = Command::new(common::rnatsd_bin())
        .args(["--signal", &format!("reload={}", srv.child.id())])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(srv
        .wait_log("Reloaded: max_payload = 3000", Duration::from_secs(5))
        .is_some());
    assert!(srv.raw().info.contains("\"max_payload\":3000"));
}

#[test]
fn reload_adds_and_removes_routes_like_nats_server() {
    let free = common::free_port;
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let (ca, cb) = (free(), free());
        let b = ServerProc::start_bin(
            &common::rnatsd_bin(),
            Some(&format!(
                "cluster {{ name: T, listen: 127.0.0.1:{ca_b} }}\n",
                ca_b = cb
            )),
            &[],
        );
        let conf = |routes: &str| {
            format!("http: 127.0.0.1:-1\ncluster {{ name: T, listen: 127.0.0.1:{ca}, routes: [{routes}] }}\n")
        };
        let a = ServerProc::start_bin(&bin, Some(&conf("")), &[]);
        let routes = |srv: &ServerProc| {
            common::http_json(srv.http_port, "/routez")["num_routes"]
                .as_u64()
                .unwrap()
        };
        let wait = |want: u64| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while routes(&a) != want {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{bin}: routes != {want}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        assert_eq!(routes(&a), 0);
        std::fs::write(
            a.dir.join("server.conf"),
            conf(&format!("\"nats://127.0.0.1:{cb}\"")),
        )
        .unwrap();
        sighup(&a);
        // A pool of three and the system account's pinned connection.
        wait(4);
        std::fs::write(a.dir.join("server.conf"), conf("")).unwrap();
        sighup(&a);
        wait(0);
        // A changed cluster port is refused, as nats-server does.
        std::fs::write(
            a.dir.join("server.conf"),
            format!(
                "http: 127.0.0.1:-1\ncluster {{ name: T, listen: 127.0.0.1:{} }}\n",
                free()
            ),
        )
        .unwrap();
        sighup(&a);
        let line = a
            .wait_log(
                "config reload not supported for cluster port",
                Duration::from_secs(5),
            )
            .unwrap_or_else(|| panic!("{bin}: no refusal"));
        assert!(line.contains(&format!("old={ca}")), "{line}");
        drop(b);
    }
}
