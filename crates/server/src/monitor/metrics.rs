//! `/metrics`: the `/varz` figures in the Prometheus text exposition
//! format (version 0.0.4), so no separate exporter is needed.

use super::connz::GLOBAL_ACCOUNT;
use super::{varz, Monitor};
use crate::config::options::{NATS_VERSION, RNATSD_VERSION};
use std::fmt::Write;

/// Metric families written one after the other.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP rnatsd_{name} {help}");
        let _ = writeln!(self.0, "# TYPE rnatsd_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.0, "rnatsd_{name}");
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.0, "{k}=\"{v}\"");
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family with one unlabelled sample.
    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// Renders every metric.
pub fn render(m: &Monitor) -> String {
    let v = varz::varz(m);
    let srv = &m.srv;
    let opts = srv.opts();
    let mut e = Exposition(String::with_capacity(4096));
    e.family("info", "gauge", "Server identity; the value is always 1.");
    e.sample(
        "info",
        &[
            ("server_id", &srv.id),
            ("server_name", &srv.name),
            ("version", NATS_VERSION),
            ("rnatsd_version", RNATSD_VERSION),
        ],
        1.0,
    );
    e.one(
        "start_time_seconds",
        "gauge",
        "Start time of the server since the Unix epoch, in seconds.",
        srv.start_time.timestamp_micros() as f64 / 1e6,
    );
    e.one(
        "uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        srv.start.elapsed().as_secs_f64(),
    );
    let counters = [
        (
            "in_msgs_total",
            "Messages received from clients.",
            v.in_msgs,
        ),
        (
            "out_msgs_total",
            "Messages delivered to clients.",
            v.out_msgs,
        ),
        (
            "in_bytes_total",
            "Payload bytes received from clients.",
            v.in_bytes,
        ),
        (
            "out_bytes_total",
            "Payload bytes delivered to clients.",
            v.out_bytes,
        ),
        (
            "slow_consumers_total",
            "Connections closed as slow consumers.",
            v.slow_consumers,
        ),
        (
            "connections_accepted_total",
            "Client connections accepted since start.",
            v.total_connections,
        ),
    ];
    for (name, help, value) in counters {
        e.one(name, "counter", help, value as f64);
    }
    e.family("connections", "gauge", "Open connections by kind.");
    for (kind, n) in [
        ("client", v.connections),
        ("route", 0),
        ("leafnode", 0),
        ("gateway", 0),
    ] {
        e.sample("connections", &[("kind", kind)], n as f64);
    }
    e.one(
        "subscriptions",
        "gauge",
        "Subscriptions in the server.",
        v.subscriptions as f64,
    );
    let pending: usize = {
        let clients: Vec<_> = srv.clients.lock().values().cloned().collect();
        clients.iter().map(|c| c.shared.out.lock().pending()).sum()
    };
    e.one(
        "pending_bytes",
        "gauge",
        "Bytes queued for clients and not yet written.",
        pending as f64,
    );
    account_metrics(&mut e, &v);
    sublist_metrics(m, &mut e);
    let (rss, cpu) = m.usage.get();
    e.one(
        "resident_memory_bytes",
        "gauge",
        "Resident memory of the process.",
        rss as f64,
    );
    e.one(
        "cpu_percent",
        "gauge",
        "CPU use of the process over the last second, in percent.",
        cpu,
    );
    e.one(
        "cores",
        "gauge",
        "CPUs the process may run on.",
        varz::num_cores() as f64,
    );
    e.one(
        "max_connections",
        "gauge",
        "Most client connections allowed.",
        opts.max_connections as f64,
    );
    e.one(
        "max_payload_bytes",
        "gauge",
        "Largest message payload allowed.",
        opts.max_payload as f64,
    );
    e.one(
        "max_pending_bytes",
        "gauge",
        "Bytes that may be queued for one client before it is a slow consumer.",
        opts.max_pending as f64,
    );
    e.family(
        "http_requests_total",
        "counter",
        "Monitoring requests by endpoint (as /varz http_req_stats).",
    );
    for (path, n) in m.req_stats() {
        e.sample("http_requests_total", &[("path", path)], n as f64);
    }
    e.0
}

fn account_metrics(e: &mut Exposition, v: &varz::Varz) {
    let acc = [("account", GLOBAL_ACCOUNT)];
    let per_account = [
        (
            "account_connections",
            "gauge",
            "Client connections by account.",
            v.connections as u64,
        ),
        (
            "account_subscriptions",
            "gauge",
            "Subscriptions by account.",
            v.subscriptions,
        ),
        (
            "account_in_msgs_total",
            "counter",
            "Messages received by account.",
            v.in_msgs,
        ),
        (
            "account_out_msgs_total",
            "counter",
            "Messages delivered by account.",
            v.out_msgs,
        ),
        (
            "account_in_bytes_total",
            "counter",
            "Payload bytes received by account.",
            v.in_bytes,
        ),
        (
            "account_out_bytes_total",
            "counter",
            "Payload bytes delivered by account.",
            v.out_bytes,
        ),
    ];
    for (name, kind, help, value) in per_account {
        e.family(name, kind, help);
        e.sample(name, &acc, value as f64);
    }
}

fn sublist_metrics(m: &Monitor, e: &mut Exposition) {
    let st = m.srv.sublist.read().stats();
    e.one(
        "sublist_cache_entries",
        "gauge",
        "Cached subject match results.",
        st.num_cache as f64,
    );
    e.one(
        "sublist_cache_hit_ratio",
        "gauge",
        "Fraction of subject matches answered from the cache.",
        st.cache_hit_rate,
    );
    e.one(
        "sublist_matches_total",
        "counter",
        "Subject matches performed.",
        st.num_matches as f64,
    );
    e.one(
        "sublist_inserts_total",
        "counter",
        "Subscriptions inserted.",
        st.num_inserts as f64,
    );
    e.one(
        "sublist_removes_total",
        "counter",
        "Subscriptions removed.",
        st.num_removes as f64,
    );
}
