//! Configuration reload (SIGHUP, `--signal reload`), as nats-server does it:
//! the file is read again, command-line flags are applied on top again,
//! and the new options replace the old ones only if every changed option
//! can change at run time. A broken file, or a change to an option that
//! cannot be reloaded (ports, listeners, ...), leaves the server running on
//! the old configuration and logs why. Connections pick up the new options
//! at once: limits apply to them, and clients whose credentials no longer
//! pass are disconnected with `Authorization Violation`.

use crate::config::flags::Flags;
use crate::config::options::Options;
use crate::server::Server;
use std::sync::OnceLock;

static CLI_FLAGS: OnceLock<Flags> = OnceLock::new();

/// Remembers the command-line flags, re-applied on every reload.
pub fn set_cli_flags(f: Flags) {
    let _ = CLI_FLAGS.set(f);
}

/// Reloads the config file of `srv`.
pub fn reload(srv: &std::sync::Arc<Server>) {
    match try_reload(srv) {
        Ok(()) => crate::info!("Reloaded server configuration"),
        Err(e) => crate::error!("Failed to reload server configuration: {e}"),
    }
}

fn try_reload(srv: &std::sync::Arc<Server>) -> Result<(), String> {
    let old = srv.opts();
    let Some(file) = old.config_file.clone() else {
        return Err("no configuration file".into());
    };
    let mut new = crate::config::load(std::path::Path::new(&file)).map_err(|e| e.to_string())?;
    if let Some(f) = CLI_FLAGS.get() {
        new.apply_flags(f)?;
    }
    let changes = diff(&old, &new)?;
    // Certificates are read again: a changed file or tls block applies to
    // new connections.
    let tls = match &new.tls {
        Some(t) => Some(crate::transport::tls::server_config(t)?),
        None => None,
    };
    if changes.logging {
        crate::log::configure(&crate::log::LogConfig {
            debug: new.debug,
            trace: new.trace,
            logtime: new.logtime,
            file: new.log_file.clone(),
        })
        .map_err(|e| format!("cannot open log file: {e}"))?;
    }
    for line in &changes.notes {
        crate::info!("Reloaded: {line}");
    }
    if old.tls != new.tls {
        crate::info!("Reloaded: tls");
    }
    *srv.tls_config.write() = tls;
    let routes = (old.cluster.routes != new.cluster.routes).then(|| new.cluster.routes.clone());
    srv.set_opts(new);
    if let Some(routes) = routes {
        crate::route::apply_routes(srv, &old.cluster.routes, &routes);
    }
    if changes.pool {
        crate::route::apply_pool(srv);
    }
    srv.notify_reload();
    Ok(())
}

/// What a reload changes.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// `Reloaded: ...` notes, one per changed option, in nats-server's words.
    pub notes: Vec<String>,
    /// The logger must be reconfigured.
    pub logging: bool,
    /// Users, tokens or permissions changed: clients are re-checked.
    pub auth: bool,
    /// The route pool size or the pinned accounts changed: the routes are
    /// made again.
    pub pool: bool,
}

/// Compares old and new options. Errors name the first option that cannot
/// change at run time, as nats-server: `config reload not supported for
/// Port: old=4222, new=4333`.
pub fn diff(old: &Options, new: &Options) -> Result<Changes, String> {
    fn opt(v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    macro_rules! fixed {
        ($name:expr, $field:ident) => {
            fixed!($name, $field, |v: &_| format!("{v}"))
        };
        ($name:expr, $field:ident, $show:expr) => {
            if old.$field != new.$field {
                let show = $show;
                return Err(format!(
                    "config reload not supported for {}: old={}, new={}",
                    $name,
                    show(&old.$field),
                    show(&new.$field)
                ));
            }
        };
    }
    let debug = |v: &dyn std::fmt::Debug| format!("{v:?}");
    fixed!("Host", host);
    if new.port != 0 {
        fixed!("Port", port);
    }
    fixed!("ServerName", server_name, opt);
    fixed!("HTTPHost", http_host);
    fixed!("HTTPPort", http_port);
    fixed!("HTTPSPort", https_port);
    fixed!("HTTPBasePath", http_base_path);
    fixed!("Gateway", gateway, |v: &_| debug(v));
    fixed!("LeafNode", leafnode, |v: &_| debug(v));
    fixed!("Websocket", websocket, |v: &_| debug(v));
    fixed!("MQTT", mqtt, |v: &_| debug(v));
    fixed!("JetStream", jetstream, |v: &_| debug(v));
    fixed!("NoAuthUser", no_auth_user, opt);
    // Account structure (exports, imports) is built at start; the users of
    // accounts reload with the other users.
    fixed!("Accounts", accounts, |v: &_| debug(v));
    fixed!("SystemAccount", system_account, opt);
    if old.cluster.host != new.cluster.host {
        return Err(format!(
            "config reload not supported for cluster host: old={}, new={}",
            old.cluster.host, new.cluster.host
        ));
    }
    if old.cluster.port != new.cluster.port {
        return Err(format!(
            "config reload not supported for cluster port: old={}, new={}",
            old.cluster.port, new.cluster.port
        ));
    }
    fixed!("PidFile", pid_file, opt);
    fixed!("PortsFileDir", ports_file_dir, opt);

    let mut c = Changes::default();
    macro_rules! note {
        ($field:ident, $fmt:expr) => {
            if old.$field != new.$field {
                c.notes.push(format!($fmt, new.$field));
            }
        };
    }
    note!(debug, "debug = {}");
    note!(trace, "trace = {}");
    note!(trace_verbose, "trace_verbose = {}");
    note!(logtime, "logtime = {}");
    if old.log_file != new.log_file {
        c.notes.push(format!(
            "log_file = {}",
            new.log_file.as_deref().unwrap_or("")
        ));
    }
    c.logging = old.debug != new.debug
        || old.trace != new.trace
        || old.trace_verbose != new.trace_verbose
        || old.logtime != new.logtime
        || old.log_file != new.log_file;
    note!(max_payload, "max_payload = {}");
    note!(max_control_line, "max_control_line = {}");
    note!(max_connections, "max_connections = {}");
    note!(max_subs, "max_subscriptions = {}");
    note!(max_pending, "max_pending = {}");
    note!(ping_max, "ping_max = {}");
    note!(max_closed_clients, "max_closed_clients = {}");
    if old.ping_interval != new.ping_interval {
        c.notes
            .push(format!("ping_interval = {:?}", new.ping_interval));
    }
    if old.write_deadline != new.write_deadline {
        c.notes
            .push(format!("write_deadline = {:?}", new.write_deadline));
    }
    if old.auth_timeout != new.auth_timeout {
        c.notes.push(format!(
            "authorization timeout = {}",
            new.auth_timeout.as_secs_f64()
        ));
    }
    if old.token != new.token {
        c.notes.push("authorization token".into());
        c.auth = true;
    }
    if old.users != new.users || old.auth_users != new.auth_users {
        c.notes.push("authorization users".into());
        c.auth = true;
    }
    if old.nkeys != new.nkeys {
        c.notes.push("authorization nkey users".into());
        c.auth = true;
    }
    if old.default_permissions != new.default_permissions {
        c.auth = true;
    }
    if old.cluster.routes != new.cluster.routes {
        c.notes.push("cluster routes".into());
    }
    if old.cluster.pool_size != new.cluster.pool_size
        || old.cluster.pinned_accounts != new.cluster.pinned_accounts
    {
        c.notes.push("cluster".into());
        c.pool = true;
    }
    if old.accounts != new.accounts || c.auth {
        c.notes.push("accounts".into());
        c.auth = true;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::options::User;

    #[test]
    fn fixed_options_refuse_reload() {
        let old = Options::default();
        let new = Options {
            port: 4333,
            ..Options::default()
        };
        let e = diff(&old, &new).unwrap_err();
        assert_eq!(
            e,
            "config reload not supported for Port: old=4222, new=4333"
        );
        let new = Options {
            server_name: Some("x".into()),
            ..Options::default()
        };
        let e = diff(&old, &new).unwrap_err();
        assert_eq!(e, "config reload not supported for ServerName: old=, new=x");
    }

    #[test]
    fn limits_and_users_reload() {
        let old = Options::default();
        let new = Options {
            max_payload: 2000,
            users: vec![User {
                username: "a".into(),
                password: "b".into(),
            }],
            debug: true,
            ..Options::default()
        };
        let c = diff(&old, &new).unwrap();
        assert!(c.auth && c.logging);
        assert!(c.notes.contains(&"max_payload = 2000".to_string()));
        assert!(c.notes.contains(&"authorization users".to_string()));
        assert!(c.notes.contains(&"debug = true".to_string()));
        assert_eq!(diff(&old, &old).unwrap(), Changes::default());
    }
}
