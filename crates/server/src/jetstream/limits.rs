//! Account and server resource limits, as nats-server 2.12.4 checks them on
//! a single server: at stream create, the stream's `max_bytes` against what
//! the account's other streams reserve and against the server's own store
//! (10028 memory, 10047 storage), and `max_consumers` against the account's;
//! at publish, the bytes the account holds plus the message against the
//! account's limits (10002).

use super::{JetStream, JsAccount};
use jsmodel::config::{Storage, StreamConfig};
use jsmodel::{ApiError, ErrorKind};

/// What the streams of `jsa` with `storage` reserve (`max_bytes`), but `except`.
fn reserved(jsa: &JsAccount, storage: Storage, except: &str) -> i64 {
    jsa.streams
        .lock()
        .iter()
        .filter(|(name, _)| name.as_str() != except)
        .map(|(_, e)| {
            let e = e.lock();
            let c = &e.stream.cfg;
            if c.storage == storage && c.max_bytes > 0 {
                c.num_replicas.max(1) * c.max_bytes
            } else {
                0
            }
        })
        .sum()
}

/// Go's `checkAllLimits` for a new stream.
pub fn check_create(js: &JetStream, jsa: &JsAccount, cfg: &StreamConfig) -> Result<(), ApiError> {
    let l = &jsa.limits;
    if cfg.max_consumers > 0 && l.max_consumers > 0 && cfg.max_consumers > l.max_consumers {
        return Err(ApiError::new(ErrorKind::MaximumConsumersLimit));
    }
    let add = if cfg.max_bytes < 0 { 1 } else { cfg.max_bytes };
    let current = reserved(jsa, cfg.storage, &cfg.name);
    let server_reserved: i64 = js
        .accounts
        .read()
        .values()
        .map(|a| reserved(a, cfg.storage, ""))
        .sum();
    let (account_max, server_max, kind) = match cfg.storage {
        Storage::Memory => (
            l.max_memory,
            js.max_memory,
            ErrorKind::MemoryResourcesExceeded,
        ),
        Storage::File => (
            l.max_store,
            js.max_storage,
            ErrorKind::StorageResourcesExceeded,
        ),
    };
    if account_max >= 0 && current + add > account_max {
        return Err(ApiError::new(kind));
    }
    if server_reserved + add > server_max {
        return Err(ApiError::new(kind));
    }
    Ok(())
}

/// The bytes a message takes in a store, by nats-server's formulas.
fn msg_size(storage: Storage, subject: &str, hdr: &[u8], msg: &[u8]) -> i64 {
    let base = (subject.len() + hdr.len() + msg.len()) as i64;
    match storage {
        Storage::Memory => base + 16,
        Storage::File if hdr.is_empty() => base + 30,
        Storage::File => base + 34,
    }
}

/// Whether storing a message in a stream with `storage` would take the
/// account past its limits (Go's `wouldExceedLimits`). Free when the
/// account has none. Call without holding any stream's lock.
pub fn would_exceed(
    jsa: &JsAccount,
    storage: Storage,
    subject: &str,
    hdr: &[u8],
    msg: &[u8],
) -> bool {
    let l = &jsa.limits;
    let (max, max_stream) = match storage {
        Storage::Memory => (l.max_memory, l.memory_max_stream_bytes),
        Storage::File => (l.max_store, l.store_max_stream_bytes),
    };
    if max < 0 && max_stream <= 0 {
        return false;
    }
    let used: i64 = jsa
        .streams
        .lock()
        .values()
        .map(|e| {
            let e = e.lock();
            if e.stream.cfg.storage == storage {
                e.stream.store.fast_state().bytes as i64
            } else {
                0
            }
        })
        .sum();
    let total = used + msg_size(storage, subject, hdr, msg);
    (max_stream > 0 && total > max_stream) || (max >= 0 && total > max)
}
