//! The Docker image and compose files, tested without a Docker engine:
//! the static binary the Dockerfile builds (same flags, read from the
//! Dockerfile) links no shared library and serves the seed's config; the
//! compose files parse with the compose client; `--healthcheck` tells a
//! healthy server from a dead port; the Dockerfile has what the image needs.

mod common;
use common::free_port;
use common::{reference_bin, rnatsd_bin, scratch, Raw};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// A server process with every log line it printed up to "Server is ready".
struct Proc {
    child: Child,
    port: u16,
    startup: Vec<String>,
    log: mpsc::Receiver<String>,
}

impl Proc {
    fn start(bin: &Path, args: &[&str]) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut startup = Vec::new();
        let mut port = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!("{} did not become ready: {startup:#?}", bin.display());
            };
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest.rsplit(':').next().unwrap().trim().parse().unwrap();
            }
            let ready = line.contains("Server is ready");
            startup.push(line);
            if ready {
                break;
            }
        }
        assert!(port > 0, "no listen line in {startup:#?}");
        Proc {
            child,
            port,
            startup,
            log: rx,
        }
    }

    fn logged(&self, needle: &str) -> bool {
        self.startup.iter().any(|l| l.contains(needle))
    }

    /// Waits for a later log line containing `needle` (nats-server 2.12
    /// logs the route listener after "Server is ready").
    fn wait_log(&mut self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(line) = self
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            let hit = line.contains(needle);
            self.startup.push(line);
            if hit {
                return true;
            }
        }
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `bin --healthcheck [url]`; returns the exit code and the output.
fn healthcheck(bin: &Path, url: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(bin);
    cmd.arg("--healthcheck");
    if let Some(u) = url {
        cmd.arg(u);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

// ---- The Dockerfile, read as instructions ----

/// The Dockerfile's instructions: keyword (upper case) and arguments, with
/// continuation lines joined and comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        let (k, v) = cur.split_once(char::is_whitespace).unwrap_or((&cur, ""));
        out.push((k.to_ascii_uppercase(), v.trim().to_string()));
        cur.clear();
    }
    out
}

/// `KEY=value` pairs of the build stage's `ENV` instructions.
fn build_env(ins: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let stage = ins
        .iter()
        .skip_while(|(k, _)| k != "FROM")
        .skip(1)
        .take_while(|(k, _)| k != "FROM");
    for (_, args) in stage.filter(|(k, _)| k == "ENV") {
        let mut rest = args.trim();
        while let Some((key, after)) = rest.split_once('=') {
            let (value, next) = if let Some(q) = after.strip_prefix('"') {
                let end = q.find('"').expect("closing quote");
                (&q[..end], &q[end + 1..])
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            env.push((key.trim().to_string(), value.to_string()));
            rest = next.trim();
        }
    }
    env
}

/// The arguments of the Dockerfile's `cargo build` (up to the next `&&`).
fn cargo_build_args(ins: &[(String, String)]) -> Vec<String> {
    let run = ins
        .iter()
        .find(|(k, v)| k == "RUN" && v.contains("cargo build"))
        .map(|(_, v)| v.clone())
        .expect("a RUN with cargo build");
    let after = run.split("cargo build").nth(1).unwrap();
    let cmd = after.split("&&").next().unwrap();
    cmd.split_whitespace().map(String::from).collect()
}

/// True when the ELF file has no program interpreter (nothing to load
/// shared libraries).
fn elf_has_interpreter(bytes: &[u8]) -> bool {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not ELF64");
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

/// Builds rnatsd as the Dockerfile does, into `target/static` (kept
/// between runs, so only changes are rebuilt).
fn build_static() -> PathBuf {
    let ins = dockerfile();
    let args = cargo_build_args(&ins);
    let target = args
        .iter()
        .position(|a| a == "--target")
        .map(|i| args[i + 1].clone())
        .expect("cargo build --target in the Dockerfile");
    let target_dir = root().join("target/static");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "10"])
        .arg(&cargo)
        .arg("build")
        .args(&args)
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(root())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    let env = build_env(&ins);
    assert!(
        env.iter()
            .any(|(k, v)| k == "RUSTFLAGS" && v.contains("+crt-static")),
        "the Dockerfile links statically: {env:?}"
    );
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let st = cmd.status().expect("running cargo build");
    assert!(st.success(), "static build failed");
    let bin = target_dir.join(&target).join("release/rnatsd");
    assert!(bin.exists(), "{}", bin.display());
    bin
}

fn info_json(r: &Raw) -> serde_json::Value {
    let json = r.info.strip_prefix("INFO ").expect("INFO line");
    serde_json::from_str(json).expect("INFO JSON")
}

#[test]
fn static_binary_links_nothing_and_serves_the_seed_config() {
    let bin = build_static();

    // No shared libraries: the image has none.
    let out = Command::new("ldd").arg(&bin).output().expect("running ldd");
    let ldd = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        ldd.contains("statically linked") || ldd.contains("not a dynamic executable"),
        "ldd: {ldd}"
    );
    assert!(!ldd.contains("=>"), "ldd lists libraries: {ldd}");
    assert!(!elf_has_interpreter(&std::fs::read(&bin).unwrap()));

    // As /nats-server in the image: a link named nats-server.
    let dir = scratch("docker-static");
    let link = dir.join("nats-server");
    std::os::unix::fs::symlink(&bin, &link).unwrap();
    let out = Command::new(&link).arg("-v").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("nats-server: v2.12.4"));

    // The compose command, `-c /nats-server.conf` with the seed's config,
    // on free ports (the websocket port 443 needs privileges).
    let seed = read("deploy/nats-server.conf");
    let ws_port = free_port();
    let conf = seed.replace("  port: 443\n", &format!("  port: {ws_port}\n"));
    assert_ne!(conf, seed, "the websocket port line of the seed config");
    let conf_path = dir.join("nats-server.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let conf_arg = conf_path.to_str().unwrap();
    let srv = Proc::start(&link, &["-c", conf_arg, "-a", "127.0.0.1", "-p", "-1"]);
    assert!(srv.logged("Using configuration file"), "{:#?}", srv.startup);
    if srv.logged("Listening for websocket clients") {
        assert!(srv.logged(&format!(":{ws_port}")), "{:#?}", srv.startup);
        std::net::TcpStream::connect(("127.0.0.1", ws_port)).expect("websocket port");
    } else {
        assert!(srv.logged("websocket"), "{:#?}", srv.startup);
    }
    let mut r = Raw::connect(srv.port);
    r.info = r.read_line();
    let info = info_json(&r);
    assert_eq!(info["max_payload"], 4194304, "{}", r.info);
    assert_eq!(info["port"], srv.port);

    // A 4 MB message goes through; one byte more is refused.
    r.send(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB big 1\r\n");
    let payload = vec![b'x'; 4194304];
    let mut msg = b"PUB big 4194304\r\n".to_vec();
    msg.extend_from_slice(&payload);
    msg.extend_from_slice(b"\r\n");
    r.send(&msg);
    let got = r.sync();
    assert!(
        got.starts_with(b"MSG big 1 4194304\r\n"),
        "{:?}",
        &got[..40.min(got.len())]
    );
    assert_eq!(got.len(), "MSG big 1 4194304\r\n".len() + 4194304 + 2);
    r.send(b"PUB big 4194305\r\n");
    let rest = String::from_utf8_lossy(&r.read_quiet(Duration::from_millis(500))).into_owned();
    assert!(
        rest.contains("-ERR 'Maximum Payload Violation'\r\n"),
        "{rest:?}"
    );

    // The health check of the image, by the static binary: the seed's
    // config has no monitoring port, so the client port answers.
    let (code, text) = healthcheck(&bin, Some(&format!("nats://127.0.0.1:{}", srv.port)));
    assert_eq!(code, 0, "{text}");
    drop(srv);

    // The image's default config, on free ports: clients, and monitoring
    // once rnatsd serves it.
    let m = free_port();
    let cluster = format!("nats://127.0.0.1:{}", free_port());
    let image_conf = root().join("deploy/image.conf");
    let mut srv = Proc::start(
        &bin,
        &[
            "-c",
            image_conf.to_str().unwrap(),
            "-a",
            "127.0.0.1",
            "-p",
            "-1",
            "-m",
            &m.to_string(),
            "--cluster",
            &cluster,
        ],
    );
    assert!(
        srv.logged("Listening for route connections")
            || srv.wait_log("Listening for route connections"),
        "{:#?}",
        srv.startup
    );
    let url = if srv.logged("Starting http monitor") {
        format!("http://127.0.0.1:{m}/healthz")
    } else {
        format!("nats://127.0.0.1:{}", srv.port)
    };
    let (code, text) = healthcheck(&bin, Some(&url));
    assert_eq!(code, 0, "{url}: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deploy_configs_are_valid_for_both_servers() {
    let mut files = vec![
        root().join("deploy/nats-server.conf"),
        root().join("deploy/image.conf"),
    ];
    for i in 1..=3 {
        files.push(root().join(format!("deploy/cluster/nats-{i}.conf")));
    }
    for f in &files {
        for bin in [rnatsd_bin(), reference_bin()] {
            let out = Command::new(&bin)
                .arg("-t")
                .arg("-c")
                .arg(f)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{bin} -t -c {}: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The seed's config, exactly.
    let seed = read("deploy/nats-server.conf");
    let lines: Vec<&str> = seed.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "port: 4222",
            "max_payload: 4194304 # 4 MB in bytes",
            "websocket {",
            "port: 443",
            "no_tls: true",
            "}"
        ]
    );
    // The cluster example: the seed's ports, routes to the two others.
    for i in 1..=3 {
        let c = read(&format!("deploy/cluster/nats-{i}.conf"));
        assert!(c.contains("port: 4222") && c.contains("http_port: 8222"));
        assert!(c.contains("port: 6222") && c.contains("name: credebl"));
        for j in (1..=3).filter(|j| *j != i) {
            assert!(c.contains(&format!("nats-route://nats-{j}:6222")), "{c}");
        }
    }
}

/// The compose client: `docker compose` (v2) or `docker-compose` (v1).
fn compose() -> Command {
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if v2 {
        let mut c = Command::new("docker");
        c.arg("compose");
        return c;
    }
    let v1 = Command::new("docker-compose")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        v1,
        "no compose client: install docker-compose (scripts/test.sh does)"
    );
    Command::new("docker-compose")
}

fn compose_config(file: &Path) -> Result<String, String> {
    let out = compose()
        .arg("-f")
        .arg(file)
        .arg("config")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn compose_files_parse_and_keep_the_seed() {
    let file = root().join("deploy/docker-compose.yml");
    let cfg = compose_config(&file).unwrap_or_else(|e| panic!("compose config: {e}"));
    for want in [
        "container_name: nats",
        "image: rnatsd",
        "/nats-server.conf",
        "4222",
        "6222",
        "8222",
        "443",
    ] {
        assert!(cfg.contains(want), "{want} in\n{cfg}");
    }
    assert!(
        cfg.contains(&format!("{}", root().canonicalize().unwrap().display())),
        "build context is the repository:\n{cfg}"
    );
    // The seed's lines, unchanged but for the image (and the build).
    let text = read("deploy/docker-compose.yml");
    for seed_line in [
        "version: '3'",
        "container_name: nats",
        "command: [\"-c\", \"/nats-server.conf\"]",
        "- '4222:4222'",
        "- '6222:6222'",
        "- '8222:8222'",
        "- ./nats-server.conf:/nats-server.conf:ro",
    ] {
        assert!(
            text.lines().any(|l| l.trim().starts_with(seed_line)),
            "{seed_line}"
        );
    }
    let cluster = root().join("deploy/cluster/docker-compose.yml");
    let cfg = compose_config(&cluster).unwrap_or_else(|e| panic!("compose config: {e}"));
    for i in 1..=3 {
        assert!(cfg.contains(&format!("container_name: nats-{i}")), "{cfg}");
        assert!(cfg.contains(&format!("nats-{i}.conf")), "{cfg}");
    }
    // The client really validates: a broken file is refused.
    let dir = scratch("docker-compose-bad");
    let bad = dir.join("docker-compose.yml");
    std::fs::write(
        &bad,
        "version: '3'\nservices:\n  nats:\n    image: rnatsd\n    ports: 4222\n",
    )
    .unwrap();
    assert!(
        compose_config(&bad).is_err(),
        "a broken compose file parses"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn healthcheck_against_servers_and_dead_ports() {
    let bin = PathBuf::from(rnatsd_bin());
    let dead = free_port();
    let (code, text) = healthcheck(&bin, Some(&format!("http://127.0.0.1:{dead}/healthz")));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("unhealthy"), "{text}");
    let (code, text) = healthcheck(&bin, Some(&format!("nats://127.0.0.1:{dead}")));
    assert_eq!(code, 1, "{text}");
    let (code, text) = healthcheck(&bin, Some("not-a-url"));
    assert_eq!(code, 1, "{text}");

    // The reference nats-server with monitoring.
    let m = free_port();
    let reference = Proc::start(
        Path::new(&reference_bin()),
        &["-a", "127.0.0.1", "-p", "-1", "-m", &m.to_string()],
    );
    let (code, text) = healthcheck(&bin, Some(&format!("http://127.0.0.1:{m}/healthz")));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\"status\":\"ok\""), "{text}");
    // A monitoring endpoint that is not /healthz is not taken for healthy.
    let (code, text) = healthcheck(&bin, Some(&format!("http://127.0.0.1:{m}/varz")));
    assert_eq!(code, 1, "{text}");
    let (code, text) = healthcheck(&bin, Some(&format!("nats://127.0.0.1:{}", reference.port)));
    assert_eq!(code, 0, "{text}");
    // The HTTP check pointed at a client port is unhealthy.
    let (code, text) = healthcheck(
        &bin,
        Some(&format!("http://127.0.0.1:{}/healthz", reference.port)),
    );
    assert_eq!(code, 1, "{text}");
    drop(reference);

    // rnatsd itself, with monitoring when it serves it.
    let m = free_port();
    let srv = Proc::start(&bin, &["-a", "127.0.0.1", "-p", "-1", "-m", &m.to_string()]);
    let (code, text) = healthcheck(&bin, Some(&format!("nats://127.0.0.1:{}", srv.port)));
    assert_eq!(code, 0, "{text}");
    if srv.logged("Starting http monitor") {
        let (code, text) = healthcheck(&bin, Some(&format!("http://127.0.0.1:{m}/healthz")));
        assert_eq!(code, 0, "{text}");
    } else {
        eprintln!("rnatsd serves no monitoring port yet: /healthz not checked against it");
    }
}

#[test]
fn dockerfile_has_what_the_image_needs() {
    let ins = dockerfile();
    let froms: Vec<&str> = ins
        .iter()
        .filter(|(k, _)| k == "FROM")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(
        froms[0].to_ascii_lowercase().contains(" as build"),
        "a named build stage: {froms:?}"
    );
    let last = *froms.last().unwrap();
    assert!(
        last == "scratch" || last.contains("distroless"),
        "minimal final image: {last}"
    );
    // Instructions of the final stage.
    let start = ins.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let fin = &ins[start..];
    let get = |k: &str| -> Vec<&str> {
        fin.iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let expose: Vec<&str> = get("EXPOSE")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .collect();
    for p in ["4222", "6222", "8222"] {
        assert!(expose.contains(&p), "EXPOSE {p}: {expose:?}");
    }
    let hc = get("HEALTHCHECK");
    assert_eq!(hc.len(), 1);
    assert!(
        hc[0].contains("CMD [\"/rnatsd\", \"--healthcheck\""),
        "{}",
        hc[0]
    );
    let ep = get("ENTRYPOINT");
    assert_eq!(ep, ["[\"/nats-server\"]"]);
    let cmd = get("CMD");
    assert_eq!(cmd, ["[\"--config\", \"/nats-server.conf\"]"]);
    // /rnatsd, /nats-server and /nats-server.conf come from the build stage.
    let copies = get("COPY");
    assert!(
        copies.iter().any(|c| c.starts_with("--from=build")),
        "{copies:?}"
    );
    let build_run = ins
        .iter()
        .find(|(k, v)| k == "RUN" && v.contains("cargo build"))
        .unwrap();
    for want in ["/out/rnatsd", "ln -s rnatsd /out/nats-server"] {
        assert!(build_run.1.contains(want), "{want}: {}", build_run.1);
    }
    assert!(ins
        .iter()
        .any(|(k, v)| k == "COPY" && v.contains("deploy/image.conf /out/nats-server.conf")));
    // What the build stage copies is not ignored.
    let ignore = read(".dockerignore");
    for keep in [
        "!Cargo.toml",
        "!Cargo.lock",
        "!crates/",
        "!deploy/image.conf",
    ] {
        assert!(ignore.lines().any(|l| l.trim() == keep), "{keep}");
    }
    // The linter (scripts/test.sh installs it).
    let out = Command::new("hadolint")
        .arg(root().join("Dockerfile"))
        .output()
        .expect("hadolint is not installed: run scripts/test.sh, which installs it");
    assert!(
        out.status.success(),
        "hadolint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
