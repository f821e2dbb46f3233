//! Protocol trace lines (`-V`/`-DV`) for what a client sends and gets.

use super::*;

impl Conn {
    pub(super) fn trace_in(&self, op: &ClientOp<'_>) {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let line = match op {
            ClientOp::Connect(j) => format!("CONNECT {}", crate::auth::redact(&s(j))),
            ClientOp::Pub(p) => format!(
                "{} {}{} {}",
                if p.header_len.is_some() {
                    "HPUB"
                } else {
                    "PUB"
                },
                s(p.subject),
                p.reply.map(|r| format!(" {}", s(r))).unwrap_or_default(),
                p.payload.len()
            ),
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => format!(
                "SUB {}{} {}",
                s(subject),
                queue.map(|q| format!(" {}", s(q))).unwrap_or_default(),
                s(sid)
            ),
            ClientOp::Unsub { sid, max } => format!(
                "UNSUB {}{}",
                s(sid),
                max.map(|m| format!(" {m}")).unwrap_or_default()
            ),
            ClientOp::Ping => "PING".into(),
            ClientOp::Pong => "PONG".into(),
            ClientOp::Info(j) => format!("INFO {}", s(j)),
            ClientOp::Ok => "+OK".into(),
            ClientOp::Err(e) => format!("-ERR {}", s(e)),
        };
        crate::trace!("{} - <<- [{line}]", self.shared.log_prefix);
    }

    pub(super) fn trace_out_bytes(&self, op: &str, json: &[u8]) {
        if self.shared.trace.load(Ordering::Relaxed) {
            crate::trace!(
                "{} - ->> [{op} {}]",
                self.shared.log_prefix,
                String::from_utf8_lossy(json)
            );
        }
    }
}
