//! Server options: nats-server's defaults, overridden by the config file,
//! then by command-line flags.

use crate::config::flags::Flags;
use std::time::Duration;

pub use crate::config::types::{
    AccountLimits, AccountOpts, ClusterOpts, Export, ExportKind, GatewayOpts, Import,
    JetStreamOpts, JsAccountLimits, JsLimitOpts, Latency, LeafNodeOpts, LeafUser, MapDest, Mapping,
    MqttOpts, NkeyUser, OcspMode, OcspOpts, OperatorJwt, Permissions, RemoteGatewayOpts,
    RemoteLeafOpts, ResolverOpts, ResponsePermission, ResponseType, RoutePermissions,
    SubjectPermission, TlsOpts, UserEntry, WebsocketOpts,
};

/// The nats-server release whose behaviour rnatsd implements; clients gate
/// features on it, so INFO and `-v` carry it.
pub const NATS_VERSION: &str = "2.12.4";
/// The toolchain string nats-server 2.12.4 reports in INFO and `/varz`.
pub const GO_VERSION: &str = "go1.25.6";
/// JetStream API level of nats-server 2.12.4 (INFO `api_lvl`).
pub const JS_API_LEVEL: i32 = 2;
/// The build's git commit (7 hex digits), empty when built outside git.
pub const GIT_COMMIT: &str = env!("RNATSD_GIT_COMMIT");
/// rnatsd's own version.
pub const RNATSD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A user allowed to connect (`authorization { users: [...] }`, `--user`).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Username.
    pub username: String,
    /// Password, plain or bcrypt (`$2a$...`).
    pub password: String,
}

/// Everything that configures a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Config file the options came from.
    pub config_file: Option<String>,
    /// nats-server's digest of the parsed config file (`sha256:…`), empty
    /// without one.
    pub config_digest: String,
    /// Client listen host.
    pub host: String,
    /// Client listen port (0 or -1: pick a free one).
    pub port: i32,
    /// Server name (defaults to the id).
    pub server_name: Option<String>,
    /// URL advertised to clients of other servers.
    pub client_advertise: Option<String>,
    /// Monitoring host (the client host unless `http`/`https` name one).
    pub http_host: String,
    /// Monitoring port (0: off).
    pub http_port: i32,
    /// Monitoring base path.
    pub http_base_path: String,
    /// Largest message payload.
    pub max_payload: usize,
    /// Largest control line argument.
    pub max_control_line: usize,
    /// Most client connections.
    pub max_connections: usize,
    /// Most subscriptions per connection (0: no limit).
    pub max_subs: usize,
    /// Most bytes queued for one client before it is a slow consumer.
    pub max_pending: usize,
    /// Interval between server PINGs.
    pub ping_interval: Duration,
    /// Unanswered PINGs before `Stale Connection`.
    pub ping_max: u32,
    /// How long one flush to a client may block.
    pub write_deadline: Duration,
    /// Time a client has to send CONNECT when auth is required.
    pub auth_timeout: Duration,
    /// Required token.
    pub token: Option<String>,
    /// Allowed users.
    pub users: Vec<User>,
    /// Debug log lines.
    pub debug: bool,
    /// Protocol trace.
    pub trace: bool,
    /// Timestamps in the log.
    pub logtime: bool,
    /// Log file.
    pub log_file: Option<String>,
    /// PID file.
    pub pid_file: Option<String>,
    /// Directory for the ports file.
    pub ports_file_dir: Option<String>,
    /// Lame duck mode: time over which clients are closed.
    pub lame_duck_duration: Duration,
    /// Lame duck mode: wait before closing the first clients.
    pub lame_duck_grace_period: Duration,
    /// Closed connections remembered for monitoring.
    pub max_closed_clients: usize,
    /// Features present in the config that rnatsd does not serve yet.
    pub unsupported: Vec<String>,

    /// Trace the system account too (`trace_verbose`).
    pub trace_verbose: bool,
    /// Log to syslog.
    pub syslog: bool,
    /// Remote syslog address.
    pub remote_syslog: Option<String>,
    /// Log file size that triggers rotation (0: none).
    pub log_size_limit: i64,
    /// Longest traced message (0: no limit).
    pub max_traced_msg_len: i64,
    /// HTTPS monitoring port (0: off).
    pub https_port: i32,
    /// Profiling port (0: off).
    pub prof_port: i32,
    /// Disable the subscription match cache.
    pub no_sublist_cache: bool,
    /// Do not offer headers to clients.
    pub no_header_support: bool,
    /// Most tokens in a subscription subject (0: no limit).
    pub max_sub_tokens: u8,
    /// Connect errors logged once per this many attempts (0: default).
    pub connect_error_reports: i64,
    /// Reconnect errors logged once per this many attempts (0: default).
    pub reconnect_error_reports: i64,
    /// Accept plain connections on a TLS listener.
    pub allow_non_tls: bool,
    /// Server tags.
    pub server_tags: Vec<String>,
    /// Single user of the `authorization` block or `--user` (it is also in
    /// `users`).
    pub username: Option<String>,
    /// Password of that single user.
    pub password: Option<String>,
    /// Every user of `authorization { users }` and of the accounts, with
    /// account and permissions (`users` holds their credentials).
    pub auth_users: Vec<UserEntry>,
    /// Users identified by nkey.
    pub nkeys: Vec<NkeyUser>,
    /// Permissions of the `authorization` block (defaults of its users).
    pub default_permissions: Option<Permissions>,
    /// User for clients that present no credentials.
    pub no_auth_user: Option<String>,
    /// System account name.
    pub system_account: Option<String>,
    /// `authorization { auth_callout }`.
    pub auth_callout: Option<crate::config::types::AuthCallout>,
    /// `write_timeout`: what a write past `write_deadline` does.
    pub write_timeout: Option<String>,
    /// `no_fast_producer_stall`: publishers are not paused for slow
    /// receivers (they are closed as slow consumers instead).
    pub no_fast_producer_stall: bool,
    /// No system account.
    pub no_system_account: bool,
    /// Accounts.
    pub accounts: Vec<AccountOpts>,
    /// Subject mappings of the global account.
    pub mappings: Vec<Mapping>,
    /// Client TLS.
    pub tls: Option<TlsOpts>,
    /// OCSP stapling.
    pub ocsp: Option<OcspOpts>,
    /// Clustering (routes).
    pub cluster: ClusterOpts,
    /// Gateways.
    pub gateway: GatewayOpts,
    /// Leafnodes.
    pub leafnode: LeafNodeOpts,
    /// Websocket listener.
    pub websocket: WebsocketOpts,
    /// MQTT listener.
    pub mqtt: MqttOpts,
    /// JetStream.
    pub jetstream: JetStreamOpts,
    /// Trusted operators.
    pub operators: Vec<OperatorJwt>,
    /// Trusted operator public keys.
    pub trusted_keys: Vec<String>,
    /// Account resolver.
    pub resolver: Option<ResolverOpts>,
    /// TLS towards a URL resolver.
    pub resolver_tls: Option<TlsOpts>,
    /// Account JWTs preloaded into the resolver: (public key, JWT).
    pub resolver_preload: Vec<(String, String)>,
    /// Accounts allowed to connect when pinned.
    pub resolver_pinned_accounts: Vec<String>,
    /// Default JetStream domain per account: (account, domain).
    pub default_js_domain: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: None,
            config_digest: String::new(),
            host: "0.0.0.0".into(),
            port: 4222,
            server_name: None,
            client_advertise: None,
            http_host: "0.0.0.0".into(),
            http_port: 0,
            http_base_path: String::new(),
            max_payload: 1024 * 1024,
            max_control_line: 4096,
            max_connections: 64 * 1024,
            max_subs: 0,
            max_pending: 64 * 1024 * 1024,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            write_deadline: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(2),
            token: None,
            users: Vec::new(),
            debug: false,
            trace: false,
            logtime: true,
            log_file: None,
            pid_file: None,
            ports_file_dir: None,
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
            max_closed_clients: 10_000,
            unsupported: Vec::new(),
            trace_verbose: false,
            syslog: false,
            remote_syslog: None,
            log_size_limit: 0,
            max_traced_msg_len: 0,
            https_port: 0,
            prof_port: 0,
            no_sublist_cache: false,
            no_header_support: false,
            max_sub_tokens: 0,
            connect_error_reports: 0,
            reconnect_error_reports: 0,
            allow_non_tls: false,
            server_tags: Vec::new(),
            username: None,
            password: None,
            auth_users: Vec::new(),
            nkeys: Vec::new(),
            default_permissions: None,
            no_auth_user: None,
            system_account: None,
            auth_callout: None,
            write_timeout: None,
            no_fast_producer_stall: false,
            no_system_account: false,
            accounts: Vec::new(),
            mappings: Vec::new(),
            tls: None,
            ocsp: None,
            cluster: ClusterOpts::default(),
            gateway: GatewayOpts::default(),
            leafnode: LeafNodeOpts::default(),
            websocket: WebsocketOpts::default(),
            mqtt: MqttOpts::default(),
            jetstream: JetStreamOpts::default(),
            operators: Vec::new(),
            trusted_keys: Vec::new(),
            resolver: None,
            resolver_tls: None,
            resolver_preload: Vec::new(),
            resolver_pinned_accounts: Vec::new(),
            default_js_domain: Vec::new(),
        }
    }
}

impl Options {
    /// The system account's name: `system_account`, else `$SYS` unless
    /// `no_system_account`.
    pub fn system_account_name(&self) -> Option<String> {
        match &self.system_account {
            Some(s) => Some(s.clone()),
            None if self.no_system_account => None,
            None => Some("$SYS".to_string()),
        }
    }

    /// True when clients must authenticate: a token, users or nkey users
    /// are configured.
    pub fn auth_required(&self) -> bool {
        self.token.is_some()
            || !self.users.is_empty()
            || !self.nkeys.is_empty()
            || self.operator_mode()
    }

    /// Operator mode: clients authenticate with user JWTs.
    pub fn operator_mode(&self) -> bool {
        !self.operators.is_empty() || !self.trusted_keys.is_empty()
    }

    /// `--cluster`/`--cluster_listen`, `--routes`, `--cluster_name`,
    /// `--cluster_advertise`, `--no_advertise`, `--connect_retries`, with
    /// nats-server's rules (a `--cluster` URL without credentials clears the
    /// configured ones; an empty one disables clustering).
    fn apply_cluster_flags(&mut self, f: &Flags) -> Result<(), String> {
        let listen = f.get("cluster").or_else(|| f.get("cluster_listen"));
        if let Some(l) = listen {
            let l = l.trim();
            if l.is_empty() {
                self.cluster.port = 0;
            } else {
                let u = crate::config::route_url::RouteUrl::parse(l)
                    .filter(|_| l.contains(':'))
                    .ok_or_else(|| format!("invalid cluster URL {l:?}"))?;
                if u.user.is_some() && u.pass.is_none() {
                    return Err("expected cluster password to be set".into());
                }
                self.cluster.host = u.host;
                self.cluster.port = i32::from(u.port);
                self.cluster.username = u.user;
                self.cluster.password = u.pass;
            }
        }
        if let Some(r) = f.get("routes") {
            self.cluster.routes = r
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(n) = f.get("cluster_name") {
            self.cluster.name = Some(n.to_string());
        }
        if let Some(a) = f.get("cluster_advertise") {
            self.cluster.advertise = Some(a.to_string());
        }
        if f.has("no_advertise") {
            self.cluster.no_advertise = f.is_set("no_advertise");
        }
        if let Some(v) = f.get("connect_retries") {
            self.cluster.connect_retries = v.parse().map_err(|_| {
                format!("invalid value {v:?} for flag -connect_retries: parse error")
            })?;
        }
        Ok(())
    }

    /// Applies command-line flags on top of the current options.
    pub fn apply_flags(&mut self, f: &Flags) -> Result<(), String> {
        let int = |key: &str| -> Result<Option<i64>, String> {
            match f.get(key) {
                None => Ok(None),
                Some(v) => v
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| format!("invalid value {v:?} for flag -{key}: parse error")),
            }
        };
        if let Some(p) = int("port")? {
            // As nats-server: 0 is the default port, -1 a random one.
            self.port = if p == 0 { 4222 } else { p as i32 };
        }
        if let Some(a) = f.get("addr") {
            // The monitoring host follows the client host unless the file
            // named its own.
            if self.http_host == self.host {
                self.http_host = a.to_string();
            }
            self.host = a.to_string();
        }
        if let Some(n) = f.get("server_name") {
            self.server_name = Some(n.to_string());
        }
        if let Some(p) = int("http_port")? {
            self.http_port = p as i32;
        }
        if let Some(v) = f.get("client_advertise") {
            self.client_advertise = Some(v.to_string());
        }
        if let Some(v) = f.get("ports_file_dir") {
            self.ports_file_dir = Some(v.to_string());
        }
        if let Some(v) = f.get("pid") {
            self.pid_file = Some(v.to_string());
        }
        if let Some(v) = f.get("log") {
            self.log_file = Some(v.to_string());
        }
        if f.has("logtime") {
            self.logtime = f.is_set("logtime");
        }
        if f.has("debug") {
            self.debug = f.is_set("debug");
        }
        if f.has("trace") {
            self.trace = f.is_set("trace");
        }
        if f.is_set("trace_verbose") {
            self.trace = true;
            self.trace_verbose = true;
        }
        if f.is_set("debug_trace") || f.is_set("debug_trace_verbose") {
            self.debug = true;
            self.trace = true;
        }
        if f.is_set("debug_trace_verbose") {
            self.trace_verbose = true;
        }
        if let Some(v) = f.get("auth") {
            self.token = Some(v.to_string());
        }
        if let Some(u) = f.get("user") {
            let p = f.get("pass").unwrap_or_default();
            self.username = Some(u.to_string());
            self.password = Some(p.to_string());
            self.users = vec![User {
                username: u.to_string(),
                password: p.to_string(),
            }];
        }
        // --tls, --tlscert, --tlskey, --tlsverify, --tlscacert (nats-server's
        // rules: any of them turns TLS on; --tlsverify also verifies).
        if ["tls", "tlscert", "tlskey", "tlsverify", "tlscacert"]
            .iter()
            .any(|k| f.has(k))
        {
            let mut t = self.tls.clone().unwrap_or_default();
            if let Some(c) = f.get("tlscert") {
                t.cert_file = Some(c.to_string());
            }
            if let Some(k) = f.get("tlskey") {
                t.key_file = Some(k.to_string());
            }
            if let Some(ca) = f.get("tlscacert") {
                t.ca_file = Some(ca.to_string());
            }
            if f.is_set("tlsverify") {
                t.verify = true;
            }
            self.tls = Some(t);
        }
        self.apply_cluster_flags(f)?;
        if let Some(p) = int("https_port")? {
            self.https_port = p as i32;
        }
        if f.has("jetstream") {
            self.jetstream.enabled = true;
            if !self.unsupported.iter().any(|u| u == "JetStream") {
                self.unsupported.push("JetStream".to_string());
            }
        }
        if let Some(sd) = f.get("store_dir") {
            self.jetstream.store_dir = Some(sd.to_string());
        }
        Ok(())
    }
}
