//! `/varz`: the server's identity, options in force, process usage and
//! counters, in nats-server 2.9's field order.

use super::gofmt::{uptime, GoFloat, GoTime};
use super::Monitor;
use crate::config::options::NATS_VERSION;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// nats-server's `Varz`, for the features rnatsd serves. Blocks of
/// features it does not serve (cluster, gateway, leafnodes, MQTT,
/// JetStream) are empty, as nats-server shows them when off.
#[derive(Serialize)]
pub struct Varz {
    server_id: String,
    server_name: String,
    version: &'static str,
    proto: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    git_commit: &'static str,
    go: &'static str,
    host: String,
    port: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
    max_connections: usize,
    #[serde(skip_serializing_if = "is_zero")]
    max_subscriptions: usize,
    ping_interval: u64,
    ping_max: u32,
    http_host: String,
    http_port: i32,
    http_base_path: String,
    https_port: i32,
    auth_timeout: GoFloat,
    max_control_line: usize,
    max_payload: usize,
    max_pending: usize,
    cluster: super::routez::ClusterVarz,
    gateway: Empty,
    leaf: serde_json::Value,
    mqtt: Empty,
    websocket: WebsocketVarz,
    jetstream: serde_json::Value,
    tls_timeout: GoFloat,
    write_deadline: u64,
    start: GoTime,
    now: GoTime,
    uptime: String,
    mem: i64,
    cores: usize,
    gomaxprocs: usize,
    cpu: GoFloat,
    pub(crate) connections: usize,
    pub(crate) total_connections: u64,
    routes: u32,
    remotes: u32,
    leafnodes: u32,
    pub(crate) in_msgs: u64,
    pub(crate) out_msgs: u64,
    pub(crate) in_bytes: u64,
    pub(crate) out_bytes: u64,
    pub(crate) slow_consumers: u64,
    stale_connections: u64,
    stalled_clients: u64,
    pub(crate) subscriptions: u64,
    http_req_stats: BTreeMap<&'static str, u64>,
    config_load_time: GoTime,
    config_digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    system_account: String,
    slow_consumer_stats: ByKind,
    stale_connection_stats: ByKind,
}

/// nats-server's `SlowConsumersStats` and `StaleConnectionStats`: counts
/// by connection kind.
#[derive(Serialize)]
struct ByKind {
    clients: u64,
    routes: u64,
    gateways: u64,
    leafs: u64,
}

/// An options block with nothing set: `{}`.
#[derive(Serialize)]
struct Empty {}

/// nats-server's `WebsocketOptsVarz` (every field omitted when unset).
#[derive(Serialize, Default)]
struct WebsocketVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(skip_serializing_if = "is_zero_i32")]
    port: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    advertise: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    no_auth_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    jwt_cookie: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    handshake_timeout: u64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    auth_timeout: GoFloat,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_tls: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_map: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tls_pinned_certs: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    same_origin: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_origins: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    compression: bool,
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_f64(v: &GoFloat) -> bool {
    v.0 == 0.0
}

/// The websocket block; the port is the bound one (as nats-server).
fn websocket(o: &crate::config::options::WebsocketOpts, bound: Option<u16>) -> WebsocketVarz {
    if o.port == 0 {
        return WebsocketVarz::default();
    }
    let tls = o.tls.as_ref();
    WebsocketVarz {
        host: if o.host.is_empty() {
            "0.0.0.0".into()
        } else {
            o.host.clone()
        },
        port: bound.map(i32::from).unwrap_or(o.port),
        advertise: o.advertise.clone().unwrap_or_default(),
        no_auth_user: o.no_auth_user.clone().unwrap_or_default(),
        jwt_cookie: o.jwt_cookie.clone().unwrap_or_default(),
        handshake_timeout: o.handshake_timeout.map(nanos).unwrap_or(0),
        auth_timeout: GoFloat(o.auth_timeout),
        no_tls: o.no_tls,
        tls_map: tls.map(|t| t.map).unwrap_or(false),
        tls_pinned_certs: tls.map(|t| t.pinned_certs.clone()).unwrap_or_default(),
        same_origin: o.same_origin,
        allowed_origins: o.allowed_origins.clone(),
        compression: o.compression,
    }
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Builds `/varz`.
pub fn varz(m: &Monitor) -> Varz {
    let srv = &m.srv;
    let opts = srv.opts();
    let now = chrono::Utc::now();
    let st = &srv.stats;
    let tls_timeout = opts
        .tls
        .as_ref()
        .map(|t| t.timeout)
        .filter(|t| *t > 0.0)
        .unwrap_or(2.0);
    let (mem, cpu) = m.usage.get();
    let cores = num_cores();
    Varz {
        server_id: srv.id.clone(),
        server_name: srv.name.clone(),
        version: NATS_VERSION,
        proto: 1,
        git_commit: crate::config::options::GIT_COMMIT,
        go: crate::config::options::GO_VERSION,
        host: opts.host.clone(),
        port: srv.client_addr.get().map(|a| a.port()).unwrap_or(0),
        auth_required: opts.auth_required(),
        max_connections: opts.max_connections,
        max_subscriptions: opts.max_subs,
        ping_interval: nanos(opts.ping_interval),
        ping_max: opts.ping_max,
        http_host: opts.http_host.clone(),
        http_port: opts.http_port,
        http_base_path: opts.http_base_path.clone(),
        https_port: opts.https_port,
        auth_timeout: GoFloat(opts.auth_timeout.as_secs_f64()),
        max_control_line: opts.max_control_line,
        max_payload: opts.max_payload,
        max_pending: opts.max_pending,
        cluster: super::routez::cluster_varz(srv),
        gateway: Empty {},
        leaf: super::leafz::leaf_varz(srv),
        mqtt: Empty {},
        websocket: websocket(&opts.websocket, srv.ws_addr.get().map(|a| a.port())),
        jetstream: jetstream_varz(srv),
        tls_timeout: GoFloat(tls_timeout),
        write_deadline: nanos(opts.write_deadline),
        start: GoTime(srv.start_time),
        now: GoTime(now),
        uptime: uptime(srv.start.elapsed()),
        mem,
        cores,
        gomaxprocs: cores,
        cpu: GoFloat(cpu),
        connections: srv.num_clients(),
        total_connections: st.total_connections.load(Ordering::Relaxed),
        routes: srv.routes.num_routes() as u32,
        remotes: srv.routes.num_remotes() as u32,
        leafnodes: srv.leafs.count() as u32,
        in_msgs: st.in_msgs.load(Ordering::Relaxed),
        out_msgs: st.out_msgs.load(Ordering::Relaxed),
        in_bytes: st.in_bytes.load(Ordering::Relaxed),
        out_bytes: st.out_bytes.load(Ordering::Relaxed),
        slow_consumers: st.slow_consumers.load(Ordering::Relaxed),
        stale_connections: st.stale_clients.load(Ordering::Relaxed)
            + st.stale_routes.load(Ordering::Relaxed),
        stalled_clients: st.stalls.load(Ordering::Relaxed),
        // Every account's, the system account's internal ones included.
        subscriptions: srv
            .accounts
            .all()
            .iter()
            .map(|a| a.sublist.read().count())
            .sum(),
        http_req_stats: m.req_stats(),
        config_load_time: GoTime(srv.config_time()),
        config_digest: opts.config_digest.clone(),
        tags: opts.server_tags.clone(),
        system_account: crate::system::get(srv)
            .map(|s| s.account.name.clone())
            .unwrap_or_default(),
        slow_consumer_stats: ByKind {
            clients: st.slow_consumers.load(Ordering::Relaxed),
            routes: 0,
            gateways: 0,
            leafs: 0,
        },
        stale_connection_stats: ByKind {
            clients: st.stale_clients.load(Ordering::Relaxed),
            routes: st.stale_routes.load(Ordering::Relaxed),
            gateways: 0,
            leafs: 0,
        },
    }
}

/// CPUs this process may run on (Go's `runtime.NumCPU`).
pub fn num_cores() -> usize {
    // SAFETY: a zeroed cpu_set_t is valid, and sched_getaffinity writes at
    // most size_of::<cpu_set_t>() bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set);
            if n > 0 {
                return n as usize;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Resident memory and CPU use of the process, sampled as nats-server does
/// (`/proc/self/stat`, CPU averaged over the last second, in percent with
/// one decimal).
pub struct Usage {
    /// CPU in tenths of a percent.
    pcpu: AtomicI64,
    /// (CPU ticks, seconds since process start) at the last sample.
    last: parking_lot::Mutex<(i64, i64)>,
}

struct ProcStat {
    utime: i64,
    stime: i64,
    start: i64,
    rss_pages: i64,
}

fn proc_stat() -> Option<ProcStat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses; the first
    // of them is field 3 (state) of proc(5).
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok());
    Some(ProcStat {
        utime: num(11)?,
        stime: num(12)?,
        start: num(19)?,
        rss_pages: num(21)?,
    })
}

fn ticks_per_second() -> i64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as i64
    } else {
        100
    }
}

fn system_uptime() -> Option<i64> {
    // SAFETY: a zeroed sysinfo is valid and sysinfo fills it.
    unsafe {
        let mut info: libc::sysinfo = std::mem::zeroed();
        (libc::sysinfo(&mut info) == 0).then_some(info.uptime as i64)
    }
}

impl Usage {
    /// No sample yet.
    pub fn new() -> Usage {
        Usage {
            pcpu: AtomicI64::new(0),
            last: parking_lot::Mutex::new((0, 0)),
        }
    }

    /// Takes a CPU sample (called once a second).
    pub fn sample(&self) {
        let (Some(p), Some(up)) = (proc_stat(), system_uptime()) else {
            return;
        };
        let ticks = ticks_per_second();
        let total = p.utime + p.stime;
        let seconds = up - p.start / ticks;
        let mut last = self.last.lock();
        let (lt, ls) = *last;
        *last = (total, seconds);
        let (dt, ds) = (total - lt, seconds - ls);
        if ds > 0 {
            self.pcpu.store((dt * 1000 / ticks) / ds, Ordering::Relaxed);
        }
    }

    /// (resident bytes, CPU percent).
    pub fn get(&self) -> (i64, f64) {
        let rss = proc_stat().map(|p| p.rss_pages << 12).unwrap_or(0);
        (rss, self.pcpu.load(Ordering::Relaxed) as f64 / 10.0)
    }
}

impl Default for Usage {
    fn default() -> Self {
        Self::new()
    }
}

/// The `/varz` JetStream block: `{}` with JetStream off, else its config,
/// statistics and limits as nats-server 2.12.4 shows them.
fn jetstream_varz(srv: &crate::server::Server) -> serde_json::Value {
    let Some(js) = crate::jetstream::get(srv) else {
        return serde_json::json!({});
    };
    serde_json::json!({
        "config": js.config_json(),
        "stats": js.totals().stats_json(),
        "limits": {},
    })
}
