//! Process signals: SIGTERM/SIGINT stop the server, SIGUSR2 starts lame
//! duck mode, SIGHUP reloads the configuration. Also `--signal`, which sends
//! one of these to a running server.

use crate::server::Server;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// The signals the server handles, registered (so none of them kills the
/// process once this returns).
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

/// Registers the handlers; call before announcing "Server is ready".
pub fn install() -> std::io::Result<Signals> {
    Ok(Signals {
        term: signal(SignalKind::terminate())?,
        int: signal(SignalKind::interrupt())?,
        usr2: signal(SignalKind::user_defined2())?,
        hup: signal(SignalKind::hangup())?,
    })
}

/// Waits for signals and acts on them until shutdown.
pub async fn handle(srv: Arc<Server>, signals: Signals) {
    let Signals {
        mut term,
        mut int,
        mut usr2,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => {
                crate::debug!("Trapped \"terminated\" signal");
                srv.shutdown.cancel();
            }
            _ = int.recv() => {
                crate::debug!("Trapped \"interrupt\" signal");
                srv.shutdown.cancel();
            }
            _ = usr2.recv() => {
                if !srv.lame_duck.load(std::sync::atomic::Ordering::Relaxed) {
                    crate::system::events::server_going(&srv, true);
                }
                tokio::spawn(srv.clone().lame_duck());
            }
            _ = hup.recv() => crate::process::reload::reload(&srv),
            _ = srv.shutdown.cancelled() => return,
        }
    }
}

/// Sends the signal named by `--signal cmd[=pid]` to a running server.
pub fn send(cmd: &str, pid_file_from_config: Option<&str>) -> Result<(), String> {
    let (cmd, target) = match cmd.split_once('=') {
        Some((c, t)) => (c, Some(t.to_string())),
        None => (cmd, pid_file_from_config.map(String::from)),
    };
    let sig = match cmd {
        "stop" => libc::SIGKILL,
        "quit" => libc::SIGINT,
        "term" => libc::SIGTERM,
        "reopen" => libc::SIGUSR1,
        "reload" => libc::SIGHUP,
        "ldm" => libc::SIGUSR2,
        other => return Err(format!("unknown signal {other:?}")),
    };
    let pids: Vec<i32> = match target {
        Some(t) => match t.parse::<i32>() {
            Ok(p) => vec![p],
            Err(_) => {
                let s = std::fs::read_to_string(&t)
                    .map_err(|e| format!("could not read pid file {t}: {e}"))?;
                vec![s
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid pid in {t}"))?]
            }
        },
        None => find_servers(),
    };
    match pids.len() {
        0 => return Err("no rnatsd process running".into()),
        1 => {}
        _ => {
            let list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
            return Err(format!(
                "multiple rnatsd processes running:\n{}",
                list.join("\n")
            ));
        }
    }
    // SAFETY: kill(2) with a pid and a valid signal number has no memory effects.
    let rc = unsafe { libc::kill(pids[0], sig) };
    if rc != 0 {
        return Err(format!(
            "failed to signal {}: {}",
            pids[0],
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn find_servers() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            let c = comm.trim();
            if c == "rnatsd" || c == "nats-server" {
                out.push(pid);
            }
        }
    }
    out
}
