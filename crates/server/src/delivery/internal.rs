//! Internal clients: connections of the server itself, without a socket.
//! Messages reach them the way they reach any client (encoded into the
//! outbound buffer by the publisher, so the delivery path does not change);
//! instead of a writer task, a task of the server takes the buffer, reads
//! the messages back and hands each to a handler. They subscribe and
//! publish inside any account, and their interest crosses routes like any
//! client's.

use crate::accounts::Account;
use crate::delivery::fanout::Fanout;
use crate::delivery::outbound::{ClientShared, Msg, SubRef, Subscription};
use crate::delivery::writer;
use crate::server::Server;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// One message delivered to an internal client.
#[derive(Debug, Clone, Copy)]
pub struct InternalMsg<'a> {
    /// Subject it was published on.
    pub subject: &'a [u8],
    /// The subscription it matched.
    pub sid: &'a [u8],
    /// Connection id of the publisher (of the route it came on, when it
    /// came from another server).
    pub publisher: u64,
    /// Reply subject.
    pub reply: Option<&'a [u8]>,
    /// The header block (`NATS/1.0` …), when it has one.
    pub headers: Option<&'a [u8]>,
    /// The body.
    pub payload: &'a [u8],
}

/// An internal client.
#[derive(Debug)]
pub struct InternalClient {
    /// Its connection state (no socket; never a slow consumer).
    pub shared: Arc<ClientShared>,
    next_sid: AtomicU64,
    /// The subscriptions the cluster hears of (to announce again when
    /// clustering starts after them).
    routed: parking_lot::Mutex<Vec<Routed>>,
}

/// A routed subscription: its account, subject and queue group.
type Routed = (Arc<Account>, Box<[u8]>, Option<Box<[u8]>>);

impl InternalClient {
    /// A new internal client numbered `cid`, named `name` in logs.
    pub fn new(cid: u64, name: &str) -> InternalClient {
        let shared = ClientShared::new(cid, None, usize::MAX, format!("{name} - cid:{cid}"));
        shared.headers.store(true, Ordering::Relaxed);
        InternalClient {
            shared: Arc::new(shared),
            next_sid: AtomicU64::new(0),
            routed: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// Subscribes to `subject` in `acc`; returns the subscription id its
    /// messages carry. The cluster hears of the interest unless `local`.
    pub fn subscribe(
        &self,
        srv: &Server,
        acc: &Arc<Account>,
        subject: &str,
        local: bool,
    ) -> Box<[u8]> {
        self.subscribe_queue(srv, acc, subject, None, local)
    }

    /// Subscribes to `subject` in `acc` as a member of `queue` (one
    /// member of the group in the cluster gets each message).
    pub fn subscribe_queue(
        &self,
        srv: &Server,
        acc: &Arc<Account>,
        subject: &str,
        queue: Option<&str>,
        local: bool,
    ) -> Box<[u8]> {
        let sid: Box<[u8]> = (self.next_sid.fetch_add(1, Ordering::Relaxed) + 1)
            .to_string()
            .into_bytes()
            .into();
        let sub = Arc::new(Subscription {
            client: self.shared.clone(),
            subject: subject.as_bytes().into(),
            queue: queue.map(|q| q.as_bytes().into()),
            sid: sid.clone(),
            max: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            acc: acc.clone(),
            qw: AtomicU32::new(1),
            deny: None,
            origin: None,
        });
        self.shared.subs.lock().insert(sid.clone(), sub.clone());
        let q = queue.map(str::as_bytes);
        let _ = acc
            .sublist
            .write()
            .insert(subject.as_bytes(), q, SubRef(sub.clone()));
        if !local {
            crate::leafs::interest(srv, &sub, 1);
            self.routed
                .lock()
                .push((acc.clone(), subject.as_bytes().into(), q.map(Into::into)));
        }
        sid
    }

    /// Drops the subscription `sid`, with its interest in the cluster.
    pub fn unsubscribe(&self, srv: &Server, sid: &[u8]) {
        let sub = self.shared.subs.lock().get(sid).cloned();
        if let Some(sub) = sub {
            crate::delivery::fanout::remove_sub(srv, &sub);
            let q = sub.queue.as_deref();
            let mut routed = self.routed.lock();
            if let Some(i) = routed.iter().position(|(a, s, rq)| {
                Arc::ptr_eq(a, &sub.acc) && **s == *sub.subject && rq.as_deref() == q
            }) {
                routed.swap_remove(i);
            }
        }
    }

    /// Records the interest of the routed subscriptions made before
    /// clustering started, so routes hear of it.
    pub fn announce(&self, srv: &Server) {
        for (acc, subject, queue) in self.routed.lock().iter() {
            srv.routes
                .local_interest(acc, subject, queue.as_deref(), 1, None);
        }
    }

    /// Number of subscriptions.
    pub fn num_subs(&self) -> usize {
        self.shared.subs.lock().len()
    }
}

/// Publishes a message from the server in `acc` (to local subscribers,
/// importing accounts and routes); true if anyone had interest.
pub fn publish(
    srv: &Arc<Server>,
    acc: &Arc<Account>,
    from: u64,
    subject: &[u8],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    body: &[u8],
) -> bool {
    Sender::new(srv).publish(acc, from, subject, reply, headers, body)
}

/// Connection id of JetStream's internal client. JetStream hears its own
/// publishes, as nats-server's does: the consumer requests of its sources,
/// its deliveries to them, and its advisories into streams.
pub const JETSTREAM_CID: u64 = 2;

/// A run of internal publishes that wakes each receiver once, at
/// [`Sender::flush`] or when dropped: a batch of JetStream deliveries and
/// acknowledgements costs one write per receiver, not one per message.
pub struct Sender {
    fan: Fanout,
    joined: Vec<u8>,
}

impl Sender {
    /// An empty run for `srv`.
    pub fn new(srv: &Arc<Server>) -> Sender {
        Sender {
            fan: Fanout::new(srv.clone()),
            joined: Vec::new(),
        }
    }

    /// [`publish`] within this run.
    pub fn publish(
        &mut self,
        acc: &Arc<Account>,
        from: u64,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        body: &[u8],
    ) -> bool {
        self.deliver_as(acc, from, subject, subject, reply, headers, body)
    }

    /// Delivers a message with subject `subject` to the subscribers of `to`
    /// in `acc` (JetStream's deliveries: the stored subject, to the
    /// consumer's inbox); true if anyone had interest.
    #[allow(clippy::too_many_arguments)]
    pub fn deliver_as(
        &mut self,
        acc: &Arc<Account>,
        from: u64,
        to: &[u8],
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        body: &[u8],
    ) -> bool {
        let joined = &mut self.joined;
        let (header_len, payload) = match headers {
            Some(h) => {
                joined.clear();
                joined.extend_from_slice(h);
                joined.extend_from_slice(body);
                (Some(h.len()), &joined[..])
            }
            None => (None, body),
        };
        let msg = Msg {
            subject,
            reply,
            header_len,
            payload,
        };
        let echo = from == JETSTREAM_CID;
        if to == subject {
            // A plain publish: responses to service imports, exports and routes too.
            self.fan.publish(acc, &msg, from, echo)
        } else {
            let origin = super::fanout::Origin::Client { cid: from, echo };
            self.fan.route_matching(acc, to, &msg, origin)
        }
    }

    /// Wakes the receivers of what was published so far.
    pub fn flush(&mut self) {
        writer::flush_all(&mut self.fan.flush);
        self.fan.flush_stats();
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Serves an internal client until the server shuts down: every message
/// queued to it goes to `handle`, in order.
pub async fn serve(
    srv: Arc<Server>,
    client: Arc<InternalClient>,
    mut handle: impl FnMut(&Arc<Server>, InternalMsg<'_>) + Send,
) {
    serve_batches(srv, client, move |srv, batch| {
        read_messages(batch, |m| handle(srv, m))
    })
    .await
}

/// Serves an internal client until the server shuts down, handing
/// `batch` everything queued to it since the last batch (the `MSG`/`HMSG`
/// protocol, for [`read_messages`]).
pub async fn serve_batches(
    srv: Arc<Server>,
    client: Arc<InternalClient>,
    mut batch: impl FnMut(&Arc<Server>, &[u8]) + Send,
) {
    let shared = client.shared.clone();
    let mut spare: Vec<u8> = Vec::new();
    let mut stopped = false;
    loop {
        {
            let mut out = shared.out.lock();
            std::mem::swap(&mut out.buf, &mut spare);
            // The next delivery puts this client on its publisher's flush
            // list again (which wakes this task).
            out.signaled = false;
        }
        if !spare.is_empty() {
            batch(&srv, &spare);
            spare.clear();
            continue;
        }
        if stopped {
            return;
        }
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = srv.shutdown.cancelled() => stopped = true,
        }
    }
}

/// Reads the `MSG`/`HMSG` protocol the delivery path wrote; calls `f` for
/// each whole message.
pub fn read_messages(mut buf: &[u8], mut f: impl FnMut(InternalMsg<'_>)) {
    while let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") {
        let line = &buf[..eol];
        let mut parts = line.split(|&b| b == b' ');
        let op = parts.next().unwrap_or_default();
        let args: Vec<&[u8]> = parts.filter(|p| !p.is_empty()).collect();
        let with_headers = op == b"HMSG";
        let n = args.len();
        let sizes = if with_headers { 2 } else { 1 };
        if (op != b"MSG" && !with_headers) || n < 2 + sizes {
            // Anything else (no protocol but messages is queued): skip it.
            buf = &buf[eol + 2..];
            continue;
        }
        let num = |b: &[u8]| proto::parser::parse_size(b);
        let Some(total) = num(args[n - 1]) else {
            return;
        };
        let hdr = if with_headers {
            match num(args[n - 2]) {
                Some(h) if h <= total => h,
                _ => return,
            }
        } else {
            0
        };
        let reply = (n == 3 + sizes).then(|| args[2]);
        let start = eol + 2;
        if buf.len() < start + total + 2 {
            return;
        }
        let body = &buf[start..start + total];
        let (sid, publisher) = match args[1].iter().position(|&b| b == b':') {
            Some(i) => (&args[1][..i], num(&args[1][i + 1..]).unwrap_or(0) as u64),
            None => (args[1], 0),
        };
        f(InternalMsg {
            subject: args[0],
            sid,
            publisher,
            reply,
            headers: with_headers.then(|| &body[..hdr]),
            payload: &body[hdr..],
        });
        buf = &buf[start + total + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_delivery_writes() {
        let buf = b"MSG a.b 1:7 2\r\nhi\r\nMSG c 2 r.1 0\r\n\r\nHMSG d 3 r.2 12 14\r\nNATS/1.0\r\n\r\nok\r\n";
        let mut seen = Vec::new();
        read_messages(buf, |m| {
            assert_eq!(m.publisher, if m.subject == b"a.b" { 7 } else { 0 });
            seen.push((
                String::from_utf8_lossy(m.subject).into_owned(),
                String::from_utf8_lossy(m.sid).into_owned(),
                m.reply.map(|r| String::from_utf8_lossy(r).into_owned()),
                m.headers.map(|h| h.len()),
                String::from_utf8_lossy(m.payload).into_owned(),
            ))
        });
        assert_eq!(
            seen,
            [
                ("a.b".into(), "1".into(), None, None, "hi".into()),
                ("c".into(), "2".into(), Some("r.1".into()), None, "".into()),
                (
                    "d".into(),
                    "3".into(),
                    Some("r.2".into()),
                    Some(12),
                    "ok".into()
                ),
            ]
        );
    }
}
