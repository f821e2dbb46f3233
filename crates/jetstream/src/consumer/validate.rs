//! Consumer config defaults and checks, in nats-server 2.12.4's order
//! (`setConsumerConfigDefaults`, `checkConsumerCfg`, the create rules and
//! the update rules), with its errors.

use super::config::{AckPolicy, ConsumerConfig, DeliverPolicy, PriorityPolicy};
use crate::config::{Retention, StreamConfig};
use crate::{ApiError, ErrorKind};

const SECOND: i64 = 1_000_000_000;
/// Default ack wait.
pub const ACK_WAIT: i64 = 30 * SECOND;
/// Default pull request queue length.
pub const MAX_WAITING: i64 = 512;
/// Default acks pending at most.
pub const MAX_ACK_PENDING: i64 = 1000;
/// Default inactive threshold of ephemeral consumers.
pub const EPHEMERAL_INACTIVE: i64 = 5 * SECOND;
const PINNED_TTL: i64 = 120 * SECOND;

/// Limits from the server and the account that bound a consumer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// The account's `max_ack_pending` (0: none).
    pub account_max_ack_pending: i64,
}

fn pedantic(text: &str) -> ApiError {
    ApiError::err(ErrorKind::Pedantic, text)
}

/// `setConsumerConfigDefaults`.
pub fn set_defaults(
    c: &mut ConsumerConfig,
    stream: &StreamConfig,
    lim: &Limits,
    ped: bool,
) -> Result<(), ApiError> {
    if c.max_deliver == 0 || c.max_deliver < -1 {
        if ped && c.max_deliver < -1 {
            return Err(pedantic("max_deliver must be set to -1"));
        }
        c.max_deliver = -1;
    }
    if c.max_waiting < 0 {
        if ped {
            return Err(pedantic("max_waiting must not be negative"));
        }
        c.max_waiting = 0;
    }
    if c.max_ack_pending < -1 {
        if ped {
            return Err(pedantic("max_ack_pending must be set to -1"));
        }
        c.max_ack_pending = -1;
    }
    for (v, what) in [
        (&mut c.max_request_batch, "max_batch"),
        (&mut c.max_request_expires, "max_expires"),
        (&mut c.max_request_max_bytes, "max_bytes"),
        (&mut c.heartbeat, "idle_heartbeat"),
        (&mut c.inactive_threshold, "inactive_threshold"),
        (&mut c.pinned_ttl, "priority_timeout"),
    ] {
        if *v < 0 {
            if ped {
                return Err(pedantic(&format!("{what} must not be negative")));
            }
            *v = 0;
        }
    }
    if c.deliver_subject.is_empty() && c.max_waiting == 0 {
        c.max_waiting = MAX_WAITING;
    }
    let acks = matches!(c.ack_policy, AckPolicy::Explicit | AckPolicy::All);
    if c.ack_wait == 0 && acks {
        c.ack_wait = ACK_WAIT;
    }
    if let Some(&first) = c.backoff.first() {
        if ped && c.ack_wait != first {
            return Err(pedantic("first backoff value has to equal batch AckWait"));
        }
        c.ack_wait = first;
    }
    let sl = &stream.consumer_limits;
    if c.max_ack_pending == 0 {
        if ped && sl.max_ack_pending > 0 {
            return Err(pedantic(
                "max_ack_pending must be set if it's configured in stream limits",
            ));
        }
        c.max_ack_pending = sl.max_ack_pending;
    }
    if c.inactive_threshold == 0 {
        if ped && sl.inactive_threshold > 0 {
            return Err(pedantic(
                "inactive_threshold must be set if it's configured in stream limits",
            ));
        }
        c.inactive_threshold = sl.inactive_threshold;
    }
    if acks && c.max_ack_pending == 0 {
        let mut m = MAX_ACK_PENDING;
        if lim.account_max_ack_pending > 0 {
            m = m.min(lim.account_max_ack_pending);
        }
        c.max_ack_pending = m;
    }
    if c.priority_policy == PriorityPolicy::PinnedClient && c.pinned_ttl == 0 {
        c.pinned_ttl = PINNED_TTL;
    }
    Ok(())
}

fn is_valid_group(g: &str) -> bool {
    (1..=16).contains(&g.len())
        && g.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_=-".contains(&b))
}

fn invalid_policy(text: String) -> ApiError {
    ApiError::err(ErrorKind::ConsumerInvalidPolicy, text)
}

/// `checkConsumerCfg`, for a single server (stream replicas 1).
pub fn check(c: &ConsumerConfig, stream: &StreamConfig, lim: &Limits) -> Result<(), ApiError> {
    let stream_r = stream.num_replicas.max(1);
    if c.replicas > 0 && c.replicas > stream_r {
        return Err(ApiError::new(ErrorKind::ConsumerReplicasExceedsStream));
    }
    if c.replicas < 0 {
        return Err(ApiError::new(ErrorKind::ReplicasCountCannotBeNegative));
    }
    if stream.retention != Retention::Limits && c.replicas != 0 && c.replicas != stream_r {
        return Err(ApiError::new(ErrorKind::ConsumerReplicasShouldMatchStream));
    }
    if c.backoff.iter().any(|b| *b < 0) {
        return Err(ApiError::new(ErrorKind::ConsumerBackOffNegative));
    }
    if c.ack_wait < 0 {
        return Err(ApiError::new(ErrorKind::ConsumerAckWaitNegative));
    }
    if !c.backoff.is_empty() && c.max_deliver != -1 && c.backoff.len() as i64 > c.max_deliver {
        return Err(ApiError::new(ErrorKind::ConsumerMaxDeliverBackoff));
    }
    if c.description.len() > 4096 {
        return Err(ApiError::with(
            ErrorKind::ConsumerDescriptionTooLong,
            &[("max", &4096)],
        ));
    }
    if !c.deliver_subject.is_empty() {
        let ds = c.deliver_subject.as_bytes();
        if !sublist::is_literal(ds) {
            return Err(ApiError::new(ErrorKind::ConsumerDeliverToWildcards));
        }
        if !sublist::is_valid_subject(ds) {
            return Err(ApiError::new(ErrorKind::ConsumerInvalidDeliverSubject));
        }
        if stream
            .subjects
            .iter()
            .any(|s| crate::validate::subject_is_subset_match(&c.deliver_subject, s))
        {
            return Err(ApiError::new(ErrorKind::ConsumerDeliverCycle));
        }
        if c.max_waiting != 0 {
            return Err(ApiError::new(ErrorKind::ConsumerPushMaxWaiting));
        }
        if c.max_ack_pending > 0 && c.ack_policy == AckPolicy::None {
            return Err(ApiError::new(
                ErrorKind::ConsumerMaxPendingAckPolicyRequired,
            ));
        }
        if c.heartbeat > 0 && c.heartbeat < 100_000_000 {
            return Err(ApiError::new(ErrorKind::ConsumerSmallHeartbeat));
        }
    } else {
        if c.ack_policy == AckPolicy::None && stream.retention == Retention::WorkQueue {
            return Err(ApiError::new(ErrorKind::ConsumerPullRequiresAck));
        }
        if c.rate_limit > 0 {
            return Err(ApiError::new(ErrorKind::ConsumerPullWithRateLimit));
        }
        if c.max_waiting < 0 {
            return Err(ApiError::new(ErrorKind::ConsumerMaxWaitingNegative));
        }
        if c.heartbeat > 0 {
            return Err(ApiError::new(ErrorKind::ConsumerHBRequiresPush));
        }
        if c.flow_control {
            return Err(ApiError::new(ErrorKind::ConsumerFCRequiresPush));
        }
        if c.max_request_batch < 0 {
            return Err(ApiError::new(ErrorKind::ConsumerMaxRequestBatchNegative));
        }
        if c.max_request_expires != 0 && c.max_request_expires < 1_000_000 {
            return Err(ApiError::new(ErrorKind::ConsumerMaxRequestExpiresTooSmall));
        }
    }
    let sl = &stream.consumer_limits;
    for limit in [lim.account_max_ack_pending, sl.max_ack_pending] {
        if limit > 0 && c.max_ack_pending > limit {
            return Err(ApiError::with(
                ErrorKind::ConsumerMaxPendingAckExcess,
                &[("limit", &limit)],
            ));
        }
    }
    if sl.inactive_threshold > 0 && c.inactive_threshold > sl.inactive_threshold {
        return Err(ApiError::with(
            ErrorKind::ConsumerInactiveThresholdExcess,
            &[("limit", &conf::format_go_duration(sl.inactive_threshold))],
        ));
    }
    if c.direct {
        if c.deliver_subject.is_empty() {
            return Err(ApiError::new(ErrorKind::ConsumerDirectRequiresPush));
        }
        if !c.durable.is_empty() {
            return Err(ApiError::new(ErrorKind::ConsumerDirectRequiresEphemeral));
        }
    }
    if !c.filter_subject.is_empty() && !c.filter_subjects.is_empty() {
        return Err(ApiError::new(ErrorKind::ConsumerDuplicateFilterSubjects));
    }
    let bad_subject = || ApiError::err(ErrorKind::StreamInvalidConfig, "invalid subject");
    if !c.filter_subject.is_empty() && !sublist::is_valid_subject(c.filter_subject.as_bytes()) {
        return Err(bad_subject());
    }
    if c.filter_subjects.iter().any(String::is_empty) {
        return Err(ApiError::new(ErrorKind::ConsumerEmptyFilter));
    }
    let filters = c.filters();
    for (i, f) in filters.iter().enumerate() {
        if !sublist::is_valid_subject(f.as_bytes()) {
            return Err(bad_subject());
        }
        for g in &filters[i + 1..] {
            if sublist::subjects_collide(f.as_bytes(), g.as_bytes()) {
                return Err(ApiError::new(ErrorKind::ConsumerOverlappingSubjectFilters));
            }
        }
    }
    let bad_start = |dp: &str, what: &str| {
        invalid_policy(format!(
            "consumer delivery policy is deliver {dp}, but optional start {what} is also set"
        ))
    };
    let not_set = |dp: &str, what: &str| {
        invalid_policy(format!(
            "consumer delivery policy is deliver {dp}, but optional {what} is not set"
        ))
    };
    let (seq, time) = (c.opt_start_seq > 0, c.opt_start_time.is_some());
    match c.deliver_policy {
        DeliverPolicy::All | DeliverPolicy::Last | DeliverPolicy::New => {
            let dp = c.deliver_policy.as_str();
            if seq {
                return Err(bad_start(dp, "sequence"));
            }
            if time {
                return Err(bad_start(dp, "time"));
            }
        }
        DeliverPolicy::LastPerSubject => {
            if seq {
                return Err(bad_start("last per subject", "sequence"));
            }
            if time {
                return Err(bad_start("last per subject", "time"));
            }
            if filters.is_empty() {
                return Err(not_set("last per subject", "filter subject"));
            }
        }
        DeliverPolicy::ByStartSequence => {
            if !seq {
                return Err(not_set("by start sequence", "start sequence"));
            }
            if time {
                return Err(bad_start("by start sequence", "time"));
            }
        }
        DeliverPolicy::ByStartTime => {
            if !time {
                return Err(not_set("by start time", "start time"));
            }
            if seq {
                return Err(bad_start("by start time", "start sequence"));
            }
        }
    }
    if !c.sample_frequency.is_empty() {
        let s = c.sample_frequency.trim_end_matches('%');
        match s.parse::<i64>() {
            Ok(n) if n >= 0 => {}
            Ok(n) => {
                return Err(ApiError::err(
                    ErrorKind::ConsumerInvalidSampling,
                    format!("sample frequency must be positive: {n}"),
                ))
            }
            Err(_) => {
                return Err(ApiError::err(
                    ErrorKind::ConsumerInvalidSampling,
                    format!("strconv.Atoi: parsing {s:?}: invalid syntax"),
                ))
            }
        }
    }
    if c.flow_control && c.heartbeat == 0 {
        return Err(ApiError::new(
            ErrorKind::ConsumerWithFlowControlNeedsHeartbeats,
        ));
    }
    if !c.durable.is_empty() && !c.name.is_empty() && c.durable != c.name {
        return Err(ApiError::new(
            ErrorKind::ConsumerCreateDurableAndNameMismatch,
        ));
    }
    if let Some(md) = &c.metadata {
        if md.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > 128 * 1024 {
            return Err(ApiError::with(
                ErrorKind::ConsumerMetadataLength,
                &[("limit", &"128KB")],
            ));
        }
    }
    if c.priority_policy != PriorityPolicy::None {
        if !c.deliver_subject.is_empty() {
            return Err(ApiError::new(ErrorKind::ConsumerPushWithPriorityGroup));
        }
        if c.priority_groups.is_empty() {
            return Err(ApiError::new(ErrorKind::ConsumerPriorityPolicyWithoutGroup));
        }
        for g in &c.priority_groups {
            if g.is_empty() {
                return Err(ApiError::new(ErrorKind::ConsumerEmptyGroupName));
            }
            if !is_valid_group(g) {
                return Err(ApiError::new(ErrorKind::ConsumerInvalidGroupName));
            }
        }
    } else {
        if !c.priority_groups.is_empty() {
            return Err(ApiError::new(
                ErrorKind::ConsumerPriorityGroupWithPolicyNone,
            ));
        }
        if c.pinned_ttl > 0 {
            return Err(ApiError::new(
                ErrorKind::ConsumerPinnedTTLWithoutPriorityPolicyNone,
            ));
        }
    }
    if stream
        .placement
        .as_ref()
        .is_some_and(|p| !p.preferred.is_empty())
    {
        return Err(ApiError::err(
            ErrorKind::StreamInvalidConfig,
            "preferred server not permitted in placement",
        ));
    }
    Ok(())
}

/// The workqueue rules for a new consumer; `others` are the filters of the
/// stream's other consumers (empty: unfiltered).
pub fn check_workqueue(c: &ConsumerConfig, others: &[Vec<String>]) -> Result<(), ApiError> {
    if c.ack_policy != AckPolicy::Explicit {
        return Err(ApiError::new(ErrorKind::ConsumerWQRequiresExplicitAck));
    }
    let mine = c.filters();
    if !others.is_empty() {
        if mine.is_empty() {
            return Err(ApiError::new(ErrorKind::ConsumerWQMultipleUnfiltered));
        }
        if !partition_unique(&mine, others) {
            return Err(ApiError::new(ErrorKind::ConsumerWQConsumerNotUnique));
        }
    }
    if c.deliver_policy != DeliverPolicy::All {
        return Err(ApiError::new(ErrorKind::ConsumerWQConsumerNotDeliverAll));
    }
    Ok(())
}

/// Whether `mine` overlaps none of `others` (an unfiltered other overlaps all).
pub fn partition_unique(mine: &[String], others: &[Vec<String>]) -> bool {
    others.iter().all(|o| {
        !o.is_empty()
            && o.iter().all(|f| {
                mine.iter()
                    .all(|m| !sublist::subjects_collide(f.as_bytes(), m.as_bytes()))
            })
    })
}

/// `checkNewConsumerConfig`: what an update may not change.
pub fn check_update(old: &ConsumerConfig, new: &ConsumerConfig) -> Result<(), ApiError> {
    if old == new {
        return Ok(());
    }
    let e = |t: &str| Err(ApiError::err(ErrorKind::ConsumerCreate, t));
    if old.deliver_policy != new.deliver_policy {
        return e("deliver policy can not be updated");
    }
    if old.opt_start_seq != new.opt_start_seq {
        return e("start sequence can not be updated");
    }
    let t = |s: &Option<String>| s.as_deref().and_then(super::parse_time);
    if old.opt_start_time.is_some() != new.opt_start_time.is_some()
        || t(&old.opt_start_time) != t(&new.opt_start_time)
    {
        return e("start time can not be updated");
    }
    if old.ack_policy != new.ack_policy {
        return e("ack policy can not be updated");
    }
    if old.replay_policy != new.replay_policy {
        return e("replay policy can not be updated");
    }
    if old.heartbeat != new.heartbeat {
        return e("heart beats can not be updated");
    }
    if old.flow_control != new.flow_control {
        return e("flow control can not be updated");
    }
    if old.deliver_subject != new.deliver_subject {
        if old.deliver_subject.is_empty() {
            return e("can not update pull consumer to push based");
        }
        if new.deliver_subject.is_empty() {
            return e("can not update push consumer to pull based");
        }
    }
    if old.max_waiting != new.max_waiting {
        return e("max waiting can not be updated");
    }
    if !new.backoff.is_empty()
        && new.max_deliver != -1
        && new.backoff.len() as i64 > new.max_deliver
    {
        return Err(ApiError::new(ErrorKind::ConsumerMaxDeliverBackoff));
    }
    Ok(())
}
