//! The `_nats.*` keys nats-server keeps in stream metadata.

use crate::config::{PersistMode, StreamConfig};
use std::collections::BTreeMap;

/// The API level a stream needs of a server.
pub const REQUIRED_LEVEL: &str = "_nats.req.level";
/// The version of the server answering (added to responses only).
pub const SERVER_VERSION: &str = "_nats.ver";
/// The API level of the server answering (added to responses only).
pub const SERVER_LEVEL: &str = "_nats.level";

/// Drops the keys a server adds to responses.
fn strip_dynamic(m: &mut BTreeMap<String, String>) {
    m.remove(SERVER_VERSION);
    m.remove(SERVER_LEVEL);
}

/// nats-server's `setStaticStreamMetadata`: records the API level the config needs.
pub fn set_static(cfg: &mut StreamConfig) {
    let mut level = 0;
    if cfg.allow_msg_ttl || cfg.subject_delete_marker_ttl > 0 {
        level = 1;
    }
    if cfg.allow_msg_counter
        || cfg.allow_atomic
        || cfg.allow_msg_schedules
        || cfg.persist_mode == PersistMode::Async
    {
        level = 2;
    }
    let m = cfg.metadata.get_or_insert_with(BTreeMap::new);
    strip_dynamic(m);
    m.insert(REQUIRED_LEVEL.into(), level.to_string());
}

/// nats-server's `setDynamicStreamMetadata`: the config as responses show it.
pub fn with_dynamic(cfg: &StreamConfig, version: &str, level: i32) -> StreamConfig {
    let mut out = cfg.clone();
    let m = out.metadata.get_or_insert_with(BTreeMap::new);
    m.insert(SERVER_VERSION.into(), version.into());
    m.insert(SERVER_LEVEL.into(), level.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let mut c = StreamConfig {
            allow_msg_ttl: true,
            ..StreamConfig::default()
        };
        set_static(&mut c);
        assert_eq!(c.metadata.as_ref().unwrap()[REQUIRED_LEVEL], "1");
        let d = with_dynamic(&c, "2.12.4", 2);
        let keys: Vec<_> = d.metadata.unwrap().into_keys().collect();
        assert_eq!(keys, ["_nats.level", "_nats.req.level", "_nats.ver"]);
    }
}
