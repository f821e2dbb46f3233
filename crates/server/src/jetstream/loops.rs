//! JetStream's timers: expiry by age and TTL, source set-up, and the
//! lazy sync of `sync_interval`.

use super::{consumers, now_nanos, sources, JetStream, JsAccount};
use crate::accounts::Account;
use crate::delivery::internal;
use crate::server::Server;
use std::sync::Arc;

pub(super) fn sync_all(js: &JetStream) {
    let accounts: Vec<_> = js.accounts.read().values().cloned().collect();
    for jsa in accounts {
        let entries: Vec<_> = jsa.streams.lock().values().cloned().collect();
        for e in entries {
            let mut e = e.lock();
            match e.stream.store.sync() {
                Ok(()) => sources::persist(&mut e),
                Err(err) => crate::error!("JetStream failed to sync a stream: {err}"),
            }
            for ce in e.consumers.values_mut() {
                if let Err(err) = ce.sync() {
                    crate::error!("JetStream failed to sync a consumer: {err}");
                }
            }
        }
    }
}

/// Expires messages past their stream's `max_age` or their own TTL, every
/// 250 ms (nats-server's shortest expiry timer); subject delete markers put
/// in their place reach consumers.
pub(super) async fn age_loop(srv: Arc<Server>, js: Arc<JetStream>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = srv.shutdown.cancelled() => return,
        }
        let accounts: Vec<Arc<JsAccount>> = js.accounts.read().values().cloned().collect();
        let mut outs = Vec::new();
        let mut republish = Vec::new();
        tokio::task::block_in_place(|| {
            for jsa in &accounts {
                let entries: Vec<_> = jsa.streams.lock().values().cloned().collect();
                for e in entries {
                    let mut e = e.lock();
                    let cfg = &e.stream.cfg;
                    if cfg.max_age <= 0 && !cfg.allow_msg_ttl {
                        continue;
                    }
                    let last = e.stream.last_seq();
                    let now = now_nanos();
                    if !matches!(e.stream.expire(now), Ok(n) if n > 0) {
                        continue;
                    }
                    if let Err(err) = e.stream.store.sync() {
                        crate::error!("JetStream failed to sync a stream: {err}");
                        continue;
                    }
                    let rp = std::mem::take(&mut e.stream.republished);
                    republish.extend(rp.into_iter().map(|r| (jsa.account.clone(), r)));
                    if e.stream.last_seq() != last && !e.consumers.is_empty() {
                        let o = consumers::pump_durable(&mut e, &jsa.account, now, true);
                        outs.push((jsa.account.clone(), o));
                    }
                }
            }
        });
        let mut tx = internal::Sender::new(&srv);
        send_republished(&mut tx, &js, republish);
        for (acc, o) in outs {
            o.send_with(&mut tx, &js, &acc);
        }
    }
}

/// Publishes the republished copies of durable messages.
pub(super) fn send_republished(
    tx: &mut internal::Sender,
    js: &JetStream,
    list: Vec<(Arc<Account>, jsmodel::stream::Republished)>,
) {
    let cid = js.client.shared.cid;
    for (acc, r) in list {
        tx.publish(&acc, cid, r.subject.as_bytes(), None, Some(&r.hdr), &r.msg);
    }
}

/// Sets up source consumers when due and watches for silent sources.
pub(super) async fn sources_loop(srv: Arc<Server>, js: Arc<JetStream>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => sources::tick(&srv, &js),
            _ = srv.shutdown.cancelled() => return,
        }
    }
}

/// `sync_interval`: the stores are synced on a timer.
pub(super) async fn sync_loop(srv: Arc<Server>, js: Arc<JetStream>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => tokio::task::block_in_place(|| sync_all(&js)),
            _ = srv.shutdown.cancelled() => return,
        }
    }
}
