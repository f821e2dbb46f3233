//! Turns a parsed config file (`conf::Map`) into [`Options`], with
//! nats-server's key names, aliases, types and errors.

use crate::options::{Options, User};
use conf::{Map, Spanned, Value};
use std::path::Path;
use std::time::Duration;

/// A config error, rendered as `file:line:col: message`.
#[derive(Debug, Clone)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Top-level keys of features rnatsd does not serve yet: accepted, and
/// reported once as a warning naming the feature.
const NOT_YET: &[(&str, &str)] = &[
    ("cluster", "clustering"),
    ("gateway", "gateways"),
    ("leafnodes", "leafnodes"),
    ("leaf", "leafnodes"),
    ("websocket", "websocket"),
    ("ws", "websocket"),
    ("mqtt", "MQTT"),
    ("jetstream", "JetStream"),
    ("tls", "TLS"),
    ("https", "HTTPS monitoring"),
    ("https_port", "HTTPS monitoring"),
    ("accounts", "accounts"),
    ("operator", "operator mode"),
    ("operators", "operator mode"),
    ("trusted", "operator mode"),
    ("trusted_keys", "operator mode"),
    ("resolver", "account resolver"),
    ("resolver_preload", "account resolver"),
    ("system_account", "system account"),
    ("system", "system account"),
    ("no_system_account", "system account"),
    ("mappings", "subject mappings"),
    ("no_auth_user", "no_auth_user"),
    ("default_js_domain", "JetStream"),
];

/// Keys nats-server accepts that need no action here.
const IGNORED: &[&str] = &[
    "syslog",
    "remote_syslog",
    "logfile_size_limit",
    "log_size_limit",
    "max_traced_msg_len",
    "connect_error_reports",
    "reconnect_error_reports",
    "disable_sublist_cache",
    "no_sublist_cache",
    "nosublistcache",
    "prof_port",
    "http_base_path",
    "no_header_support",
    "no_fast_producer_stall",
    "max_closed_clients",
];

fn err(item: &Spanned, file: &str, msg: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{file}:{}:{}: {msg}", item.pos.line, item.pos.col))
}

/// Loads `path` on top of the defaults.
pub fn load(path: &Path) -> Result<Options, ConfigError> {
    let map = conf::parse_file(path).map_err(|e| ConfigError(e.to_string()))?;
    let mut opts = Options {
        config_file: Some(path.display().to_string()),
        ..Options::default()
    };
    apply(&mut opts, &map, &path.display().to_string())?;
    Ok(opts)
}

fn int(v: &Spanned, file: &str, key: &str) -> Result<i64, ConfigError> {
    match &v.value {
        Value::Int(n) => Ok(*n),
        other => Err(err(
            v,
            file,
            format!(
                "interface conversion: interface {{}} is {}, not int64 (field {key:?})",
                go_type(other)
            ),
        )),
    }
}

fn string(v: &Spanned, file: &str, key: &str) -> Result<String, ConfigError> {
    match &v.value {
        Value::String(s) => Ok(s.clone()),
        other => Err(err(
            v,
            file,
            format!(
                "interface conversion: interface {{}} is {}, not string (field {key:?})",
                go_type(other)
            ),
        )),
    }
}

fn boolean(v: &Spanned, file: &str, key: &str) -> Result<bool, ConfigError> {
    match &v.value {
        Value::Bool(b) => Ok(*b),
        other => Err(err(
            v,
            file,
            format!(
                "interface conversion: interface {{}} is {}, not bool (field {key:?})",
                go_type(other)
            ),
        )),
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::DateTime(_) => "time.Time",
        Value::Array(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// A duration: a Go duration string, or a number of seconds.
fn duration(v: &Spanned, file: &str, key: &str) -> Result<Duration, ConfigError> {
    match &v.value {
        Value::String(s) => crate::util::parse_go_duration(s).ok_or_else(|| {
            err(
                v,
                file,
                format!("error parsing {key}: time: invalid duration {s:?}"),
            )
        }),
        Value::Int(n) if *n >= 0 => Ok(Duration::from_secs(*n as u64)),
        Value::Float(f) if *f >= 0.0 => Ok(Duration::from_secs_f64(*f)),
        other => Err(err(
            v,
            file,
            format!("error parsing {key}: unexpected type {}", go_type(other)),
        )),
    }
}

fn size(v: &Spanned, file: &str, key: &str) -> Result<usize, ConfigError> {
    let n = int(v, file, key)?;
    usize::try_from(n).map_err(|_| err(v, file, format!("invalid value for {key}: {n}")))
}

fn host_port(s: &str) -> Option<(String, i32)> {
    let (h, p) = s.rsplit_once(':')?;
    Some((
        h.trim_start_matches('[').trim_end_matches(']').to_string(),
        p.parse().ok()?,
    ))
}

/// Applies every key of `map` to `opts`.
pub fn apply(opts: &mut Options, map: &Map, file: &str) -> Result<(), ConfigError> {
    for (key, v) in map.iter() {
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "listen" => {
                let s = string(v, file, key)?;
                let (h, p) = host_port(&s)
                    .ok_or_else(|| err(v, file, format!("could not parse address {s:?}")))?;
                opts.host = h;
                opts.port = p;
            }
            "port" => opts.port = int(v, file, key)? as i32,
            "host" | "net" => opts.host = string(v, file, key)?,
            "server_name" => {
                let s = string(v, file, key)?;
                if s.contains(' ') {
                    return Err(err(v, file, "server name cannot contain spaces"));
                }
                opts.server_name = Some(s);
            }
            "client_advertise" => opts.client_advertise = Some(string(v, file, key)?),
            "http" | "monitor" => match &v.value {
                Value::Int(p) => opts.http_port = *p as i32,
                _ => {
                    let s = string(v, file, key)?;
                    let (h, p) = host_port(&s)
                        .ok_or_else(|| err(v, file, format!("could not parse address {s:?}")))?;
                    opts.http_host = h;
                    opts.http_port = p;
                }
            },
            "http_port" | "monitor_port" => opts.http_port = int(v, file, key)? as i32,
            "max_payload" => {
                let n = size(v, file, key)?;
                if n > i32::MAX as usize {
                    return Err(err(
                        v,
                        file,
                        format!("max_payload cannot exceed {}", i32::MAX),
                    ));
                }
                opts.max_payload = n;
            }
            "max_control_line" => opts.max_control_line = size(v, file, key)?,
            "max_connections" | "max_conn" => opts.max_connections = size(v, file, key)?,
            "max_subscriptions" | "max_subs" => opts.max_subs = size(v, file, key)?,
            "max_pending" => opts.max_pending = size(v, file, key)?,
            "ping_interval" => opts.ping_interval = duration(v, file, key)?,
            "ping_max" => opts.ping_max = int(v, file, key)? as u32,
            "write_deadline" => opts.write_deadline = duration(v, file, key)?,
            "lame_duck_duration" => opts.lame_duck_duration = duration(v, file, key)?,
            "lame_duck_grace_period" => opts.lame_duck_grace_period = duration(v, file, key)?,
            "debug" => opts.debug = boolean(v, file, key)?,
            "trace" | "trace_verbose" => opts.trace = boolean(v, file, key)?,
            "logtime" => opts.logtime = boolean(v, file, key)?,
            "log_file" | "logfile" | "log" => opts.log_file = Some(string(v, file, key)?),
            "pid_file" | "pidfile" => opts.pid_file = Some(string(v, file, key)?),
            "ports_file_dir" => opts.ports_file_dir = Some(string(v, file, key)?),
            "authorization" => apply_authorization(opts, v, file)?,
            _ if IGNORED.contains(&k.as_str()) => {}
            _ => match NOT_YET.iter().find(|(name, _)| *name == k) {
                Some((_, feature)) => {
                    if !opts.unsupported.iter().any(|u| u == feature) {
                        opts.unsupported.push(feature.to_string());
                    }
                }
                None => return Err(err(v, file, format!("unknown field {key:?}"))),
            },
        }
    }
    if opts.max_payload > opts.max_pending {
        return Err(ConfigError(format!(
            "{file}: max_payload ({}) cannot be higher than max_pending ({})",
            opts.max_payload, opts.max_pending
        )));
    }
    Ok(())
}

fn apply_authorization(opts: &mut Options, v: &Spanned, file: &str) -> Result<(), ConfigError> {
    let Value::Map(m) = &v.value else {
        return Err(err(v, file, "Expected authorization to be a map/struct"));
    };
    let mut user = None;
    let mut pass = None;
    for (key, item) in m.iter() {
        match key.to_ascii_lowercase().as_str() {
            "user" | "username" => user = Some(string(item, file, key)?),
            "pass" | "password" => pass = Some(string(item, file, key)?),
            "token" => opts.token = Some(string(item, file, key)?),
            "timeout" => {
                opts.auth_timeout = match &item.value {
                    Value::Float(f) => Duration::from_secs_f64(*f),
                    _ => duration(item, file, key)?,
                }
            }
            "users" => {
                let Value::Array(list) = &item.value else {
                    return Err(err(item, file, "Expected users field to be an array"));
                };
                for u in list {
                    let Value::Map(um) = &u.value else {
                        return Err(err(u, file, "Expected user entry to be a map/struct"));
                    };
                    let mut name = None;
                    let mut pw = String::new();
                    for (uk, uv) in um.iter() {
                        match uk.to_ascii_lowercase().as_str() {
                            "user" | "username" => name = Some(string(uv, file, uk)?),
                            "pass" | "password" => pw = string(uv, file, uk)?,
                            "nkey" | "permissions" | "account" | "allowed_connection_types" => {
                                let f = "nkey users and permissions".to_string();
                                if !opts.unsupported.contains(&f) {
                                    opts.unsupported.push(f);
                                }
                            }
                            _ => return Err(err(uv, file, format!("Unknown field {uk:?}"))),
                        }
                    }
                    if let Some(username) = name {
                        opts.users.push(User {
                            username,
                            password: pw,
                        });
                    }
                }
            }
            "permissions" | "default_permissions" => {
                let f = "permissions".to_string();
                if !opts.unsupported.contains(&f) {
                    opts.unsupported.push(f);
                }
            }
            _ => return Err(err(item, file, format!("unknown field {key:?}"))),
        }
    }
    if let Some(u) = user {
        opts.users.push(User {
            username: u,
            password: pass.unwrap_or_default(),
        });
    }
    Ok(())
}
