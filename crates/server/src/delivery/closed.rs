//! Why connections close, in nats-server's words, and the record kept of
//! closed connections for monitoring.

use parking_lot::Mutex;
use std::collections::VecDeque;

/// Why a connection closed. `as_str` gives nats-server's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedReason {
    /// The client closed the connection.
    ClientClosed,
    /// No CONNECT within the auth timeout.
    AuthenticationTimeout,
    /// Bad credentials.
    AuthenticationViolation,
    /// The user's JWT expired while connected.
    AuthenticationExpired,
    /// More than max_pending bytes queued.
    SlowConsumerPendingBytes,
    /// A flush took longer than write_deadline.
    SlowConsumerWriteDeadline,
    /// Writing to the socket failed.
    WriteError,
    /// Reading from the socket failed.
    ReadError,
    /// Malformed input.
    ParseError,
    /// PINGs went unanswered.
    StaleConnection,
    /// A protocol rule was broken.
    ProtocolViolation,
    /// CONNECT asked for an unsupported protocol level.
    BadClientProtocolVersion,
    /// The connection limit was reached.
    MaxConnectionsExceeded,
    /// The account's connection limit (JWT `limits.conn`) was reached.
    MaxAccountConnectionsExceeded,
    /// A JWT's subscription limit left no room.
    MaxSubscriptionsExceeded,
    /// A payload over max_payload was announced.
    MaxPayloadExceeded,
    /// A control line over max_control_line was sent.
    MaxControlLineExceeded,
    /// The server shut down.
    ServerShutdown,
    /// Lame duck mode closed the connection.
    LameDuckMode,
    /// The TLS handshake failed or timed out.
    TlsHandshakeError,
    /// A client dialed the route port.
    WrongPort,
    /// A second route to the same server.
    DuplicateRoute,
    /// The route is no longer configured.
    RouteRemoved,
    /// The remote server belongs to another cluster.
    ClusterNameConflict,
    /// The remote server has this server's name.
    DuplicateServerName,
    /// Closed by a `$SYS.REQ.SERVER.<id>.KICK` request.
    Kicked,
    /// Its user was revoked by an account JWT pushed later.
    Revocation,
    /// A leafnode with this server's cluster name.
    ClusterNamesIdentical,
    /// A gateway dialed the leafnode port.
    WrongGateway,
    /// The account of a leafnode remote does not exist.
    MissingAccount,
    /// The same leafnode connected again.
    DuplicateRemoteLeafnodeConnection,
    /// A leafnode older than `leafnodes { min_version }`.
    MinimumVersionRequired,
}

impl ClosedReason {
    /// nats-server's text for the reason (as shown in `/connz`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedReason::ClientClosed => "Client Closed",
            ClosedReason::AuthenticationTimeout => "Authentication Timeout",
            ClosedReason::AuthenticationViolation => "Authentication Failure",
            ClosedReason::AuthenticationExpired => "Authentication Expired",
            ClosedReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            ClosedReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            ClosedReason::WriteError => "Write Error",
            ClosedReason::ReadError => "Read Error",
            ClosedReason::ParseError => "Parse Error",
            ClosedReason::StaleConnection => "Stale Connection",
            ClosedReason::ProtocolViolation => "Protocol Violation",
            ClosedReason::BadClientProtocolVersion => "Bad Client Protocol Version",
            ClosedReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            ClosedReason::MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
            ClosedReason::MaxSubscriptionsExceeded => "Maximum Subscriptions Exceeded",
            ClosedReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            ClosedReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            ClosedReason::ServerShutdown => "Server Shutdown",
            ClosedReason::LameDuckMode => "Lame Duck Mode",
            ClosedReason::TlsHandshakeError => "TLS Handshake Failure",
            ClosedReason::WrongPort => "Incorrect Port",
            ClosedReason::DuplicateRoute => "Duplicate Route",
            ClosedReason::RouteRemoved => "Route Removed",
            ClosedReason::ClusterNameConflict => "Cluster Name Conflict",
            ClosedReason::DuplicateServerName => "Duplicate Server Name",
            ClosedReason::Kicked => "Kicked",
            ClosedReason::Revocation => "Credentials Revoked",
            ClosedReason::ClusterNamesIdentical => "Cluster Names Identical",
            ClosedReason::WrongGateway => "Wrong Gateway",
            ClosedReason::MissingAccount => "Missing Account",
            ClosedReason::MinimumVersionRequired => "Minimum Version Required",
            ClosedReason::DuplicateRemoteLeafnodeConnection => {
                "Duplicate Remote LeafNode Connection"
            }
        }
    }

    /// True for the two slow consumer reasons.
    pub fn is_slow_consumer(self) -> bool {
        matches!(
            self,
            ClosedReason::SlowConsumerPendingBytes | ClosedReason::SlowConsumerWriteDeadline
        )
    }
}

/// What is remembered of a closed connection.
#[derive(Debug, Clone)]
pub struct ClosedClient {
    /// Connection id.
    pub cid: u64,
    /// Remote address.
    pub addr: String,
    /// Client name from CONNECT.
    pub name: String,
    /// Client language.
    pub lang: String,
    /// Client version.
    pub version: String,
    /// Connection start.
    pub start: chrono::DateTime<chrono::Utc>,
    /// Connection end.
    pub stop: chrono::DateTime<chrono::Utc>,
    /// Why it closed.
    pub reason: ClosedReason,
    /// Messages received.
    pub in_msgs: u64,
    /// Bytes received.
    pub in_bytes: u64,
    /// Messages sent.
    pub out_msgs: u64,
    /// Bytes sent.
    pub out_bytes: u64,
    /// Subscriptions held at close.
    pub num_subs: usize,
    /// Last time the client sent anything (or the start).
    pub last_activity: chrono::DateTime<chrono::Utc>,
    /// Last measured round trip, if any.
    pub rtt: Option<std::time::Duration>,
    /// Bytes still queued when it closed.
    pub pending: usize,
    /// Authenticated user (empty when none).
    pub user: String,
    /// Account name (empty for the global account).
    pub account: String,
    /// The subscriptions it held.
    pub subs: Vec<SubDetail>,
    /// It was a websocket client.
    pub websocket: bool,
}

/// One subscription as monitoring shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubDetail {
    /// Subject (may contain wildcards).
    pub subject: String,
    /// Queue group (empty: none).
    pub queue: String,
    /// The client's subscription id.
    pub sid: String,
    /// Messages delivered.
    pub msgs: u64,
    /// Auto-unsubscribe limit (0: none).
    pub max: u64,
    /// Connection id of the subscriber.
    pub cid: u64,
}

impl SubDetail {
    /// The monitoring view of a live subscription.
    pub fn of(sub: &crate::delivery::outbound::Subscription) -> SubDetail {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        SubDetail {
            subject: text(&sub.subject),
            queue: sub.queue.as_deref().map(text).unwrap_or_default(),
            sid: text(&sub.sid),
            msgs: sub
                .delivered
                .load(std::sync::atomic::Ordering::Relaxed)
                .min(match sub.max.load(std::sync::atomic::Ordering::Relaxed) {
                    0 => u64::MAX,
                    m => m,
                }),
            max: sub.max.load(std::sync::atomic::Ordering::Relaxed),
            cid: sub.client.cid,
        }
    }
}

/// A bounded ring of closed connections.
#[derive(Debug, Default)]
pub struct ClosedRing {
    max: usize,
    items: Mutex<VecDeque<ClosedClient>>,
}

impl ClosedRing {
    /// A ring keeping at most `max` records.
    pub fn new(max: usize) -> Self {
        ClosedRing {
            max,
            items: Mutex::new(VecDeque::new()),
        }
    }

    /// Records a closed connection, dropping the oldest when full.
    pub fn push(&self, c: ClosedClient) {
        if self.max == 0 {
            return;
        }
        let mut items = self.items.lock();
        while items.len() >= self.max {
            items.pop_front();
        }
        items.push_back(c);
    }

    /// A copy of the records, oldest first.
    pub fn snapshot(&self) -> Vec<ClosedClient> {
        self.items.lock().iter().cloned().collect()
    }
}
