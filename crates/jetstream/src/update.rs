//! The stream update rules (nats-server 2.12.4's `configUpdateCheck`): what
//! an update may change, on a config that already passed the create checks.

use crate::config::{Discard, Retention, StreamConfig};
use crate::{ApiError, ErrorKind};

fn invalid(why: &str) -> ApiError {
    ApiError::err(ErrorKind::StreamInvalidConfig, why)
}

/// Checks `new` (checked and defaulted) against `old`; returns the config
/// to apply (sealing adjusts a few fields, as Go does).
pub fn check_stream_update(
    old: &StreamConfig,
    new: &StreamConfig,
) -> Result<StreamConfig, ApiError> {
    let mut cfg = new.clone();
    if cfg.name != old.name {
        return Err(invalid("stream configuration name must match original"));
    }
    if cfg.max_consumers != old.max_consumers {
        return Err(invalid(
            "stream configuration update can not change MaxConsumers",
        ));
    }
    if cfg.storage != old.storage {
        return Err(invalid(
            "stream configuration update can not change storage type",
        ));
    }
    if cfg.retention != old.retention
        && (old.retention == Retention::WorkQueue || cfg.retention == Retention::WorkQueue)
    {
        return Err(invalid(
            "stream configuration update can not change retention policy to/from workqueue",
        ));
    }
    if !old.template_owner.is_empty() {
        return Err(invalid(
            "stream configuration update not allowed on template owned stream",
        ));
    }
    if !cfg.template_owner.is_empty() {
        return Err(invalid(
            "stream configuration update can not be owned by a template",
        ));
    }
    if !cfg.sealed && old.sealed {
        return Err(invalid(
            "stream configuration update can not unseal a sealed stream",
        ));
    }
    if !cfg.deny_delete && old.deny_delete {
        return Err(invalid(
            "stream configuration update can not cancel deny message deletes",
        ));
    }
    if !cfg.deny_purge && old.deny_purge {
        return Err(invalid(
            "stream configuration update can not cancel deny purge",
        ));
    }
    if cfg.mirror.is_some() && cfg.mirror != old.mirror {
        return Err(ApiError::new(ErrorKind::StreamMirrorNotUpdatable));
    }
    if cfg.discard_new_per_subject {
        if cfg.discard != Discard::New {
            return Err(invalid(
                "discard new per subject requires discard new policy to be set",
            ));
        }
        if cfg.max_msgs_per_subject <= 0 {
            return Err(invalid(
                "discard new per subject requires max msgs per subject > 0",
            ));
        }
    }
    if old.allow_msg_ttl && !cfg.allow_msg_ttl {
        return Err(invalid("message TTL status can not be disabled"));
    }
    if cfg.allow_msg_counter != old.allow_msg_counter {
        return Err(invalid(
            "stream configuration update can not change message counter setting",
        ));
    }
    if old.allow_msg_schedules && !cfg.allow_msg_schedules {
        return Err(invalid("message schedules can not be disabled"));
    }
    if old.persist_mode != cfg.persist_mode {
        return Err(invalid(
            "stream configuration update can not change persist mode",
        ));
    }
    if cfg.sealed {
        cfg.max_age = 0;
        cfg.discard = Discard::New;
        cfg.deny_delete = true;
        cfg.deny_purge = true;
        cfg.allow_rollup_hdrs = false;
    }
    Ok(cfg)
}
