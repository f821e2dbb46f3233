//! rnatsd: a NATS server, drop-in compatible with nats-server.
//!
//! Module map (layers bottom up; `docs/ARCHITECTURE.md` has the rules,
//! `tests/layers.rs` checks them): [`config`] builds
//! [`config::options::Options`] from flags and the config file; [`auth`]
//! checks credentials and permissions, [`accounts`] holds the subject
//! spaces, [`transport`] does TLS and websocket framing; [`delivery`] is
//! the message path; [`server`] owns the shared state and the listener;
//! [`client`] serves one client's input and [`route`] one route's;
//! [`system`] runs the system account (its `$SYS` requests and events);
//! [`monitor`] serves HTTP monitoring and [`process`] signals, reloads and
//! the health probe. [`log`] and [`util`] serve every layer.

pub mod accounts;
pub mod auth;
pub mod client;
pub mod cluster;
pub mod config;
pub mod delivery;
pub mod jetstream;
pub mod leaf;
pub mod leafs;
pub mod log;
pub mod monitor;
pub mod process;
pub mod route;
pub mod server;
pub mod system;
pub mod transport;
pub mod util;

use client::ws_listen;
use config::options::{Options, NATS_VERSION, RNATSD_VERSION};
use delivery::closed;
use process::signals;
use std::sync::Arc;
use transport::tls;

/// Starts the server and serves until it shuts down.
pub async fn serve(opts: Options) -> std::io::Result<()> {
    let srv = server::Server::new(opts);
    let opts = srv.opts();
    if opts.cluster.port != 0 {
        route::name_cluster(&srv);
    }
    info!("Starting nats-server");
    info!("  Version:  {NATS_VERSION}");
    let git = if config::options::GIT_COMMIT.is_empty() {
        "not set"
    } else {
        config::options::GIT_COMMIT
    };
    info!("  Git:      [{git}]");
    info!("  rnatsd:   {RNATSD_VERSION}");
    if opts.cluster.port != 0 {
        info!("  Cluster:  {}", srv.routes.name());
    }
    info!("  Name:     {}", srv.name);
    if opts.jetstream.enabled {
        info!("  Node:     {}", system::requests::server_hash(&srv.name));
    }
    info!("  ID:       {}", srv.id);
    if plaintext_passwords(&opts) {
        warn!("Plaintext passwords detected, use nkeys or bcrypt");
    }
    if let Some(f) = &opts.config_file {
        info!("Using configuration file: {f} ({})", opts.config_digest);
    }
    for feature in &opts.unsupported {
        // JetStream is served on a single server; `jetstream::start` says why when not.
        if feature == "JetStream" && opts.jetstream.enabled {
            continue;
        }
        warn!("The configuration enables {feature}, which rnatsd does not serve yet: ignored");
    }
    if opts.http_port != 0 && opts.https_port != 0 {
        let e = format!(
            "can't specify both HTTP ({}) and HTTPs ({}) ports",
            opts.http_port, opts.https_port
        );
        fatal!("Can't start monitoring: {e}");
        return Err(std::io::Error::other(e));
    }
    if opts.http_port != 0 || opts.https_port != 0 {
        // HTTPS monitoring uses the client TLS certificate, without asking
        // for client certificates (as nats-server).
        let tls = match (opts.https_port != 0, &opts.tls) {
            (false, _) => None,
            (true, None) => {
                let e = "TLS cert and key required for HTTPS";
                fatal!("Can't start monitoring: {e}");
                return Err(std::io::Error::other(e));
            }
            (true, Some(t)) => {
                let mut t = t.clone();
                t.verify = false;
                t.map = false;
                match tls::server_config(&t) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        fatal!("Can't start monitoring: {e}");
                        return Err(std::io::Error::other(e));
                    }
                }
            }
        };
        if let Err(e) = monitor::start(&srv, tls).await {
            fatal!("Can't start monitoring: {e}");
            return Err(e);
        }
    }
    if let Some(t) = &opts.tls {
        match tls::server_config(t) {
            Ok(c) => {
                *srv.tls_config.write() = Some(c);
            }
            Err(e) => {
                fatal!("{e}");
                return Err(std::io::Error::other(e));
            }
        }
    }
    // nats-server starts JetStream before its listeners.
    jetstream::start(&srv);
    let ws_listener = match ws_listen::bind(&srv).await {
        Ok(l) => l,
        Err(e) => {
            fatal!("Unable to listen for websocket connections: {e}");
            return Err(e);
        }
    };
    let listener = match srv.bind().await {
        Ok(l) => l,
        Err(e) => {
            let addr = util::host_port(&opts.host, opts.port.max(0) as u16);
            fatal!("Error listening on port: {addr}, {e:?}");
            return Err(e);
        }
    };
    if let Some(pid) = &opts.pid_file {
        std::fs::write(pid, std::process::id().to_string())?;
    }
    let ports_file = write_ports_file(&srv, &opts)?;
    // Signals are trapped from the moment the server says it is ready.
    let trapped = match signals::install() {
        Ok(s) => Some(s),
        Err(e) => {
            error!("Could not install signal handlers: {e}");
            None
        }
    };
    // The system account serves from the start (monitoring already counts
    // its subscriptions).
    system::start(&srv);
    monitor::sys::register(&srv);
    // Routes first, so interest of the first clients reaches the cluster;
    // nats-server logs the route listener after "Server is ready".
    info!("Server is ready");
    if opts.cluster.port != 0 {
        route::start(&srv).await?;
        // The system account's interest, now that routes can hear of it.
        system::announce(&srv);
    }
    leaf::start(&srv).await?;
    tokio::spawn(client::accept_loop(srv.clone(), listener));
    if let Some(l) = ws_listener {
        tokio::spawn(ws_listen::accept_loop(srv.clone(), l));
    }
    if let Some(s) = trapped {
        tokio::spawn(signals::handle(srv.clone(), s));
    }
    srv.shutdown.cancelled().await;
    info!("Initiating Shutdown...");
    system::events::server_going(&srv, false);
    srv.close_all(closed::ClosedReason::ServerShutdown);
    srv.routes.close_all(closed::ClosedReason::ServerShutdown);
    for l in srv.leafs.links() {
        l.shared
            .mark_closed(closed::ClosedReason::ServerShutdown, false);
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while srv.num_clients() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    if let Some(p) = ports_file {
        let _ = std::fs::remove_file(p);
    }
    if let Some(pid) = &opts.pid_file {
        let _ = std::fs::remove_file(pid);
    }
    info!("Server Exiting..");
    Ok(())
}

fn write_ports_file(srv: &Arc<server::Server>, opts: &Options) -> std::io::Result<Option<String>> {
    let Some(dir) = &opts.ports_file_dir else {
        return Ok(None);
    };
    let exe = std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "rnatsd".into());
    let path = format!("{dir}/{exe}_{}.ports", std::process::id());
    let port = srv.client_addr.get().map(|a| a.port()).unwrap_or(0);
    let doc = serde_json::json!({
        "nats": [format!("nats://{}", util::host_port(&opts.host, port))],
    });
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap_or_default())?;
    Ok(Some(path))
}

/// nats-server's start-up check: a password of the single user or of any
/// user that is not bcrypt (users of `tls { verify_and_map }` without a
/// password excepted).
fn plaintext_passwords(opts: &Options) -> bool {
    let bcrypt = |p: &str| p.starts_with("$2");
    if opts
        .password
        .as_deref()
        .is_some_and(|p| !p.is_empty() && !bcrypt(p))
    {
        return true;
    }
    let tls_map = opts.tls.as_ref().is_some_and(|t| t.map);
    opts.auth_users
        .iter()
        .any(|u| !(bcrypt(&u.password) || u.password.is_empty() && tls_map))
}
