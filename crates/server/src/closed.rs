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
    /// A payload over max_payload was announced.
    MaxPayloadExceeded,
    /// A control line over max_control_line was sent.
    MaxControlLineExceeded,
    /// The server shut down.
    ServerShutdown,
    /// Lame duck mode closed the connection.
    LameDuckMode,
}

impl ClosedReason {
    /// nats-server's text for the reason (as shown in `/connz`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedReason::ClientClosed => "Client Closed",
            ClosedReason::AuthenticationTimeout => "Authentication Timeout",
            ClosedReason::AuthenticationViolation => "Authentication Failure",
            ClosedReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            ClosedReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            ClosedReason::WriteError => "Write Error",
            ClosedReason::ReadError => "Read Error",
            ClosedReason::ParseError => "Parse Error",
            ClosedReason::StaleConnection => "Stale Connection",
            ClosedReason::ProtocolViolation => "Protocol Violation",
            ClosedReason::BadClientProtocolVersion => "Bad Client Protocol Version",
            ClosedReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            ClosedReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            ClosedReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            ClosedReason::ServerShutdown => "Server Shutdown",
            ClosedReason::LameDuckMode => "Lame Duck Mode",
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
