//! Config files checked against the reference nats-server: every fixture
//! under `tests/configs/` must be accepted by `rnatsd -t -c` exactly when
//! `nats-server -t -c` accepts it. Fixture names say what the reference
//! does: `valid_*` and `credebl_*` are accepted, `invalid_*` rejected.
//! What both print must match too: the errors with their positions, and
//! for a valid file its config digest.
//! Files in subdirectories are only included by other fixtures.

mod common;
use common::{reference_bin, rnatsd_bin, scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(configs_dir())
        .expect("tests/configs")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

/// Environment the fixtures refer to with `$NAME`.
fn fixture_env(cmd: &mut Command) -> &mut Command {
    let certs = configs_dir().join("certs");
    cmd.env("CORPUS_PORT", "4333")
        .env("CORPUS_HTTP_PORT", "8333")
        .env("CORPUS_CERT", certs.join("server-cert.pem"))
        .env("CORPUS_KEY", certs.join("server-key.pem"))
        .env("CORPUS_CA", certs.join("ca.pem"))
        .env_remove("RNATSD_CORPUS_UNDEFINED_VARIABLE")
}

/// Runs `bin -t -c file` from a scratch directory (relative paths in
/// fixtures, like a resolver directory, land there).
fn check(bin: &str, file: &Path, cwd: &Path) -> Output {
    fixture_env(Command::new(bin).args(["-t", "-c"]).arg(file))
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("running {bin}: {e}"))
}

fn text(o: &Output) -> String {
    let mut s = String::from_utf8_lossy(&o.stderr).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stdout));
    s.trim().replace('\n', " | ")
}

#[test]
fn corpus_matches_nats_server() {
    let reference = reference_bin();
    let files = fixtures();
    assert!(files.len() >= 45, "only {} fixtures", files.len());
    let cwd = scratch("corpus");
    let mut problems = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let go = check(&reference, f, &cwd);
        let rn = check(&rnatsd_bin(), f, &cwd);
        let expect_ok = !name.starts_with("invalid_");
        if go.status.success() != expect_ok {
            problems.push(format!(
                "{name}: the reference {} it (fixture name says otherwise): {}",
                if go.status.success() {
                    "accepts"
                } else {
                    "rejects"
                },
                text(&go)
            ));
        }
        // The first message (an error with its position, or the config
        // digest of a valid file) is nats-server's, word for word, except
        // where rnatsd says more on purpose.
        let first = |t: String, prefix: &str| {
            t.split(" | ")
                .next()
                .unwrap_or_default()
                .replace(prefix, "")
        };
        let go_msg = first(text(&go), "nats-server: ");
        let rn_msg = first(text(&rn), "rnatsd: ");
        let own_words = [
            // Syntax errors carry file:line:col in rnatsd, not only a line.
            "invalid_syntax_error.conf",
            "invalid_undefined_variable.conf",
            // The JSON parser's own wording for a truncated operator JWT.
            "invalid_operator_bad_jwt.conf",
        ];
        // nats-server reports a duplicate `store_dir` at either of the two
        // keys, depending on its map order; rnatsd at the second.
        let either_key = (name == "invalid_jetstream_duplicate_store_dir.conf"
            && go_msg.replace(":1:0:", ":2:13:") == rn_msg)
            // The same for an nkey user's password: at the nkey or at the
            // password.
            || (name == "invalid_nkey_with_password.conf"
                && go_msg.replace(":1:26:", ":1:90:") == rn_msg);
        if go.status.success() == rn.status.success()
            && go_msg != rn_msg
            && !either_key
            && !own_words.contains(&name.as_str())
        {
            problems.push(format!(
                "{name}: messages differ\n    nats-server: {go_msg}\n    rnatsd:      {rn_msg}"
            ));
        }
        if go.status.success() != rn.status.success() {
            problems.push(format!(
                "{name}: nats-server {} / rnatsd {}\n    nats-server: {}\n    rnatsd:      {}",
                if go.status.success() {
                    "accepts"
                } else {
                    "rejects"
                },
                if rn.status.success() {
                    "accepts"
                } else {
                    "rejects"
                },
                text(&go),
                text(&rn)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&cwd);
    assert!(
        problems.is_empty(),
        "{} of {} fixtures differ:\n{}",
        problems.len(),
        files.len(),
        problems.join("\n")
    );
}

/// `rnatsd -t` names the file, line and column of each problem, with
/// nats-server's wording.
#[test]
fn error_messages_carry_positions() {
    let cases: &[(&str, &[&str])] = &[
        (
            "invalid_unknown_top_level.conf",
            &["invalid_unknown_top_level.conf:3:1: unknown field \"foo\""],
        ),
        (
            "invalid_port_type.conf",
            &["invalid_port_type.conf:2:1: interface conversion: interface {} is string, not int64"],
        ),
        (
            "invalid_warning_write_deadline.conf",
            &["invalid_warning_write_deadline.conf:1:0: invalid use of field \"write_deadline\": write_deadline should be converted to a duration"],
        ),
        (
            "invalid_cluster_unknown_field.conf",
            &["invalid_cluster_unknown_field.conf:4:3: unknown field \"bogus\""],
        ),
        (
            "invalid_include_bad_value.conf",
            &["inc/bad_value.conf:2:1: interface conversion: interface {} is bool, not int64"],
        ),
        (
            "invalid_tls_unknown_field.conf",
            &["error parsing tls config, unknown field \"cert\""],
        ),
    ];
    let cwd = scratch("positions");
    for (name, wants) in cases {
        let f = configs_dir().join(name);
        let out = check(&rnatsd_bin(), &f, &cwd);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("rnatsd: "), "{name}: {err}");
        for w in *wants {
            assert!(err.contains(w), "{name}: want {w:?} in {err:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&cwd);
}

/// Starts `bin -c file` on a random port; returns whether it got ready
/// (else its exit code and output).
fn start(bin: &str, file: &Path) -> Result<(), (Option<i32>, String)> {
    use std::io::Read;
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(file)
        .args(["-a", "127.0.0.1", "-p", "-1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
            let _ = tx.send(all.clone());
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    loop {
        if let Ok(s) = rx.recv_timeout(Duration::from_millis(50)) {
            seen = s;
        }
        if seen.contains("Server is ready") {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        if let Some(st) = child.try_wait().unwrap() {
            while let Ok(s) = rx.recv_timeout(Duration::from_millis(200)) {
                seen = s;
            }
            return Err((st.code(), seen));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err((None, seen));
        }
    }
}

/// What `-t` rejects is not always what a normal start rejects: warnings
/// (an integer where a duration is expected) fail `-t` but the server
/// starts, printing them; startup checks (max_payload above max_pending,
/// websocket without TLS) pass `-t` but stop the server.
#[test]
fn plain_start_differs_from_check_mode_like_nats_server() {
    let reference = reference_bin();
    let dir = configs_dir();
    let starts = [
        "invalid_warning_write_deadline.conf",
        "invalid_warning_ping_interval.conf",
    ];
    for name in starts {
        let f = dir.join(name);
        for bin in [reference.as_str(), &rnatsd_bin()] {
            match start(bin, &f) {
                Ok(()) => {}
                Err((code, out)) => panic!("{bin} -c {name} should start: {code:?} {out}"),
            }
        }
    }
    let refuses = [
        (
            "valid_startup_max_payload_over_max_pending.conf",
            "max_payload (104857600) cannot be higher than max_pending (67108864)",
        ),
        (
            "valid_startup_websocket_without_tls.conf",
            "websocket requires TLS configuration",
        ),
        (
            "valid_startup_lame_duck_grace.conf",
            "lame duck grace period (50s) should be strictly lower than lame duck duration (40s)",
        ),
        (
            "valid_startup_cluster_compression_mode.conf",
            "unsupported compression mode \"bogus\"",
        ),
        (
            "valid_startup_cluster_compression_rtt_order.conf",
            "RTT threshold values [50ms 10ms] should be in ascending order",
        ),
        (
            "valid_startup_leafnode_compression_rtts.conf",
            "compression mode \"s2_auto\" should have no more than 4 RTT thresholds: [1ms 2ms 3ms 4ms 5ms]",
        ),
    ];
    for (name, msg) in refuses {
        let f = dir.join(name);
        for bin in [reference.as_str(), &rnatsd_bin()] {
            match start(bin, &f) {
                Ok(()) => panic!("{bin} -c {name} should refuse to start"),
                Err((code, out)) => {
                    assert_eq!(code, Some(1), "{bin} {name}: {out}");
                    assert!(out.contains(msg), "{bin} {name}: {out}");
                }
            }
        }
    }
}

/// Command-line flags win over the file.
#[test]
fn flags_override_the_file() {
    let dir = scratch("flags-override");
    let f = dir.join("s.conf");
    std::fs::write(&f, "port: 1\nserver_name: from_file\n").unwrap();
    let mut child = Command::new(rnatsd_bin())
        .arg("-c")
        .arg(&f)
        .args(["-a", "127.0.0.1", "-p", "-1", "-n", "from_flag"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let lines = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut name_ok = false;
    let mut port_ok = false;
    for line in lines.lines() {
        let line = line.unwrap();
        if line.contains("Name:") && line.contains("from_flag") {
            name_ok = true;
        }
        if line.contains("Listening for client connections on 127.0.0.1:") && !line.ends_with(":1")
        {
            port_ok = true;
        }
        if line.contains("Server is ready") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(name_ok && port_ok, "flags override server_name and port");
}

// ---------------------------------------------------------------------
// How the operator-mode fixtures were made: `cargo test -p rnatsd --test
// config_corpus -- --ignored --nocapture print_operator_fixtures` prints a
// fresh operator, system account and app account (keys and signed JWTs,
// as nsc makes them); the fixtures hold one such set as plain text.

fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn sign_jwt(issuer: &nkeys::KeyPair, claims: serde_json::Value) -> String {
    let header = b64url(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let payload = b64url(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let sig = issuer.sign(signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", b64url(&sig))
}

fn account_claims(op: &str, acc: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "jti": format!("{}{}", &acc[1..27], &op[1..27]),
        "iat": 1_700_000_000,
        "iss": op,
        "name": name,
        "sub": acc,
        "nats": {
            "limits": {
                "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                "wildcards": true, "conn": -1, "leaf": -1
            },
            "default_permissions": { "pub": {}, "sub": {} },
            "type": "account",
            "version": 2
        }
    })
}

/// Freshly generated operator, system and app account JWTs (the way the
/// fixtures' set was made) load in both servers, in memory-resolver mode.
#[test]
fn fresh_operator_jwts_load_in_both_servers() {
    let op = nkeys::KeyPair::new_operator();
    let sys = nkeys::KeyPair::new_account();
    let app = nkeys::KeyPair::new_account();
    let (opk, sysk, appk) = (op.public_key(), sys.public_key(), app.public_key());
    let operator = sign_jwt(
        &op,
        serde_json::json!({
            "jti": format!("{}{}", &opk[1..27], &sysk[1..27]),
            "iat": 1_700_000_000,
            "iss": opk,
            "name": "CREDEBL",
            "sub": opk,
            "nats": { "system_account": sysk, "type": "operator", "version": 2 }
        }),
    );
    let sys_jwt = sign_jwt(&op, account_claims(&opk, &sysk, "SYS"));
    let app_jwt = sign_jwt(&op, account_claims(&opk, &appk, "app"));
    let dir = std::env::temp_dir().join(format!("rnatsd-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("operator.conf");
    std::fs::write(
        &file,
        format!(
            "port: 4222\noperator: {operator}\nsystem_account: {sysk}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {sysk}: {sys_jwt}\n  {appk}: {app_jwt}\n}}\n"
        ),
    )
    .unwrap();
    for bin in [reference_bin(), env!("CARGO_BIN_EXE_rnatsd").to_string()] {
        let out = check(&bin, &file, &dir);
        assert!(out.status.success(), "{bin}: {}", text(&out));
    }
    // A JWT signed by another operator is refused by both.
    let other = nkeys::KeyPair::new_operator();
    let forged = sign_jwt(&other, account_claims(&opk, &appk, "app"));
    std::fs::write(
        &file,
        format!(
            "port: 4222\noperator: {operator}\nsystem_account: {sysk}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {sysk}: {sys_jwt}\n  {appk}: {forged}\n}}\n"
        ),
    )
    .unwrap();
    for bin in [reference_bin(), env!("CARGO_BIN_EXE_rnatsd").to_string()] {
        let out = check(&bin, &file, &dir);
        assert!(!out.status.success(), "{bin} accepted a forged account JWT");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
