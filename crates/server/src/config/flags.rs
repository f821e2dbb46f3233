//! Command-line flags with Go's `flag` package semantics: `-name` and
//! `--name` are the same flag, values follow as `-p 4222` or `-p=4222`, and
//! boolean flags take no separate value (`-D`, `--tls=false`).

use std::collections::HashMap;

/// One flag: every spelling, and whether it takes a value.
struct Spec {
    names: &'static [&'static str],
    key: &'static str,
    takes_value: bool,
}

const SPECS: &[Spec] = &[
    spec(&["p", "port"], "port", true),
    spec(&["a", "addr", "net"], "addr", true),
    spec(&["n", "name", "server_name"], "server_name", true),
    spec(&["P", "pid"], "pid", true),
    spec(&["m", "http_port"], "http_port", true),
    spec(&["ms", "https_port"], "https_port", true),
    spec(&["c", "config"], "config", true),
    spec(&["t"], "test", false),
    spec(&["sl", "signal"], "signal", true),
    spec(&["client_advertise"], "client_advertise", true),
    spec(&["ports_file_dir"], "ports_file_dir", true),
    spec(&["l", "log"], "log", true),
    spec(&["T", "logtime"], "logtime", false),
    spec(&["s", "syslog"], "syslog", false),
    spec(&["r", "remote_syslog"], "remote_syslog", true),
    spec(&["D", "debug"], "debug", false),
    spec(&["V", "trace"], "trace", false),
    spec(&["VV"], "trace_verbose", false),
    spec(&["DV"], "debug_trace", false),
    spec(&["DVV"], "debug_trace_verbose", false),
    spec(&["log_size_limit"], "log_size_limit", true),
    spec(&["max_traced_msg_len"], "max_traced_msg_len", true),
    spec(&["js", "jetstream"], "jetstream", false),
    spec(&["sd", "store_dir"], "store_dir", true),
    spec(&["user"], "user", true),
    spec(&["pass"], "pass", true),
    spec(&["auth"], "auth", true),
    spec(&["tls"], "tls", false),
    spec(&["tlscert"], "tlscert", true),
    spec(&["tlskey"], "tlskey", true),
    spec(&["tlsverify"], "tlsverify", false),
    spec(&["tlscacert"], "tlscacert", true),
    spec(&["routes"], "routes", true),
    spec(&["cluster"], "cluster", true),
    spec(&["cluster_name"], "cluster_name", true),
    spec(&["no_advertise"], "no_advertise", false),
    spec(&["cluster_advertise"], "cluster_advertise", true),
    spec(&["connect_retries"], "connect_retries", true),
    spec(&["cluster_listen"], "cluster_listen", true),
    spec(&["profile"], "profile", true),
    spec(&["h", "help"], "help", false),
    spec(&["v", "version"], "version", false),
    spec(&["help_tls"], "help_tls", false),
    spec(&["healthcheck"], "healthcheck", false),
];

const fn spec(names: &'static [&'static str], key: &'static str, takes_value: bool) -> Spec {
    Spec {
        names,
        key,
        takes_value,
    }
}

/// Parsed flags: canonical key → value (`"true"`/`"false"` for booleans),
/// in the order given, plus positional arguments.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    values: HashMap<&'static str, String>,
    /// Arguments after the flags.
    pub rest: Vec<String>,
}

impl Flags {
    /// The value of a flag given on the command line.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// True when a boolean flag was given and not set to false.
    pub fn is_set(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if parse_bool(v) == Some(true))
    }

    /// True when a flag was given at all.
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Parses `args` (without the program name).
pub fn parse(args: &[String]) -> Result<Flags, String> {
    let mut flags = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            flags.rest.extend(args[i..].iter().cloned());
            break;
        }
        let Some(body) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            flags.rest.push(a.clone());
            flags.rest.extend(args[i..].iter().cloned());
            break;
        };
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(format!("bad flag syntax: {a}"));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(s) = SPECS.iter().find(|s| s.names.contains(&name)) else {
            return Err(format!("flag provided but not defined: -{name}"));
        };
        let value = if s.takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let Some(v) = args.get(i) else {
                        return Err(format!("flag needs an argument: -{name}"));
                    };
                    i += 1;
                    v.clone()
                }
            }
        } else {
            match inline {
                Some(v) => match parse_bool(&v) {
                    Some(b) => b.to_string(),
                    None => {
                        return Err(format!(
                            "invalid boolean value {v:?} for -{name}: parse error"
                        ))
                    }
                },
                None => "true".to_string(),
            }
        };
        flags.values.insert(s.key, value);
    }
    Ok(flags)
}

/// The usage text printed by `-h`.
pub const USAGE: &str = "
Usage: rnatsd [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -ms,--https_port <port>          Use port for https monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to rnatsd process (ldm, stop, quit, term, reopen, reload)
                                     pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/nats-server.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --healthcheck [<url>]        Probe a running server and exit 0 if healthy
                                     (default: http://127.0.0.1:8222/healthz, then nats://127.0.0.1:4222)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Flags, String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn go_flag_semantics() {
        let f = p("-p 4333 --addr=127.0.0.1 -DV -c x.conf --logtime=false").unwrap();
        assert_eq!(f.get("port"), Some("4333"));
        assert_eq!(f.get("addr"), Some("127.0.0.1"));
        assert!(f.is_set("debug_trace"));
        assert_eq!(f.get("config"), Some("x.conf"));
        assert!(f.has("logtime") && !f.is_set("logtime"));
        let f = p("-port=1 -server_name abc --jetstream").unwrap();
        assert_eq!(f.get("port"), Some("1"));
        assert_eq!(f.get("server_name"), Some("abc"));
        assert!(f.is_set("jetstream"));
        assert!(p("-bogus").unwrap_err().contains("not defined"));
        assert!(p("-p").unwrap_err().contains("needs an argument"));
        let f = p("-t -c a.conf extra").unwrap();
        assert!(f.is_set("test"));
        assert_eq!(f.rest, vec!["extra".to_string()]);
    }
}
