//! Consumer configuration and the consumer API's request types, with
//! nats-server 2.12.4's JSON names, omissions and enum spellings.

use crate::config::{go_enum, is_default};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

go_enum!(
    /// Where a consumer starts.
    DeliverPolicy, false, {
        /// From the first message.
        #[default]
        All => "all",
        /// From the last message.
        Last => "last",
        /// Only messages stored after creation.
        New => "new",
        /// From `opt_start_seq`.
        ByStartSequence => "by_start_sequence",
        /// From `opt_start_time`.
        ByStartTime => "by_start_time",
        /// From the last message of each subject.
        LastPerSubject => "last_per_subject",
    }
);

go_enum!(
    /// How deliveries are acknowledged.
    AckPolicy, false, {
        /// Not at all (the default: a request without `ack_policy`).
        #[default]
        None => "none",
        /// One ack covers every earlier delivery.
        All => "all",
        /// Each delivery on its own.
        Explicit => "explicit",
    }
);

go_enum!(
    /// How fast stored messages are replayed.
    ReplayPolicy, false, {
        /// As fast as possible.
        #[default]
        Instant => "instant",
        /// At the pace they were stored.
        Original => "original",
    }
);

/// How the clients of a priority group are chosen (2.11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PriorityPolicy {
    /// No policy.
    #[default]
    None,
    /// Clients get messages past thresholds they name.
    Overflow,
    /// One client at a time.
    PinnedClient,
    /// The lowest priority first.
    Prioritized,
}

impl Serialize for PriorityPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            PriorityPolicy::None => "none",
            PriorityPolicy::Overflow => "overflow",
            PriorityPolicy::PinnedClient => "pinned_client",
            PriorityPolicy::Prioritized => "prioritized",
        })
    }
}

impl<'de> Deserialize<'de> for PriorityPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match v.as_str() {
            Some("none") => Ok(PriorityPolicy::None),
            Some("overflow") => Ok(PriorityPolicy::Overflow),
            Some("pinned_client") => Ok(PriorityPolicy::PinnedClient),
            Some("prioritized") => Ok(PriorityPolicy::Prioritized),
            _ => Err(de::Error::custom(format!("unknown priority policy: {v}"))),
        }
    }
}

/// What a create request asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Action {
    /// Create, or update when it exists.
    #[default]
    CreateOrUpdate,
    /// Only update an existing consumer.
    Update,
    /// Only create a new consumer.
    Create,
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match v.as_str() {
            Some("") => Ok(Action::CreateOrUpdate),
            Some("update") => Ok(Action::Update),
            Some("create") => Ok(Action::Create),
            _ => Err(de::Error::custom(format!("unknown consumer action: {v}"))),
        }
    }
}

/// A consumer's configuration, field for field as nats-server 2.12.4 has it.
/// Durations are nanoseconds; times RFC 3339.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    /// The durable name (durable consumers).
    #[serde(
        default,
        rename = "durable_name",
        skip_serializing_if = "String::is_empty"
    )]
    pub durable: String,
    /// The name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// A description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where it starts.
    #[serde(default)]
    pub deliver_policy: DeliverPolicy,
    /// The start sequence of `by_start_sequence`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub opt_start_seq: u64,
    /// The start time of `by_start_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    /// How deliveries are acknowledged.
    #[serde(default)]
    pub ack_policy: AckPolicy,
    /// How long a delivery waits for its ack before redelivery.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ack_wait: i64,
    /// Deliveries of one message at most, -1 for no limit.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_deliver: i64,
    /// Redelivery delays by delivery count.
    #[serde(default, rename = "backoff", skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<i64>,
    /// Only this subject.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    /// Only these subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter_subjects: Vec<String>,
    /// The replay pace.
    #[serde(default)]
    pub replay_policy: ReplayPolicy,
    /// Delivery rate limit, bits per second.
    #[serde(default, rename = "rate_limit_bps", skip_serializing_if = "is_default")]
    pub rate_limit: u64,
    /// The sampling of ack advisories, as `"<n>%"`.
    #[serde(
        default,
        rename = "sample_freq",
        skip_serializing_if = "String::is_empty"
    )]
    pub sample_frequency: String,
    /// Pull requests waiting at most.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_waiting: i64,
    /// Deliveries waiting for their acks at most.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_ack_pending: i64,
    /// Flow control of push deliveries.
    #[serde(default, skip_serializing_if = "is_default")]
    pub flow_control: bool,
    /// Deliver headers only, with the size in `Nats-Msg-Size`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub headers_only: bool,
    /// The largest batch of a pull request.
    #[serde(default, rename = "max_batch", skip_serializing_if = "is_default")]
    pub max_request_batch: i64,
    /// The longest expiry of a pull request.
    #[serde(default, rename = "max_expires", skip_serializing_if = "is_default")]
    pub max_request_expires: i64,
    /// The largest `max_bytes` of a pull request.
    #[serde(default, rename = "max_bytes", skip_serializing_if = "is_default")]
    pub max_request_max_bytes: i64,
    /// Where a push consumer delivers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deliver_subject: String,
    /// The queue group of a push consumer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deliver_group: String,
    /// Idle heartbeat interval of a push consumer.
    #[serde(default, rename = "idle_heartbeat", skip_serializing_if = "is_default")]
    pub heartbeat: i64,
    /// Removed after this long without activity.
    #[serde(default, skip_serializing_if = "is_default")]
    pub inactive_threshold: i64,
    /// Replicas (0: as the stream).
    #[serde(default, rename = "num_replicas")]
    pub replicas: i64,
    /// Kept in memory whatever the stream's storage.
    #[serde(default, rename = "mem_storage", skip_serializing_if = "is_default")]
    pub memory_storage: bool,
    /// A server-internal direct consumer.
    #[serde(default, skip_serializing_if = "is_default")]
    pub direct: bool,
    /// User metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Paused until this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_until: Option<String>,
    /// The priority groups' policy (written before the groups, as
    /// nats-server 2.12.4 writes it).
    #[serde(default, skip_serializing_if = "is_default")]
    pub priority_policy: PriorityPolicy,
    /// Priority groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_groups: Vec<String>,
    /// How long a pinned client keeps its pin without pulling.
    #[serde(
        default,
        rename = "priority_timeout",
        skip_serializing_if = "is_default"
    )]
    pub pinned_ttl: i64,
}

impl ConsumerConfig {
    /// Whether it is a pull consumer.
    pub fn is_pull(&self) -> bool {
        self.deliver_subject.is_empty()
    }

    /// Its filters: `filter_subjects`, else `filter_subject`, else none.
    pub fn filters(&self) -> Vec<String> {
        if !self.filter_subjects.is_empty() {
            self.filter_subjects.clone()
        } else if !self.filter_subject.is_empty() {
            vec![self.filter_subject.clone()]
        } else {
            Vec::new()
        }
    }
}

/// `$JS.API.CONSUMER.CREATE…` and `CONSUMER.DURABLE.CREATE…` bodies.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateRequest {
    /// The stream.
    #[serde(default)]
    pub stream_name: String,
    /// The configuration.
    #[serde(default)]
    pub config: ConsumerConfig,
    /// Create, update or either.
    #[serde(default)]
    pub action: Action,
    /// No defaults applied silently.
    #[serde(default)]
    pub pedantic: bool,
}

/// A pull request (`$JS.API.CONSUMER.MSG.NEXT…`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NextRequest {
    /// When the request ends, nanoseconds from now.
    #[serde(default)]
    pub expires: i64,
    /// Messages wanted.
    #[serde(default)]
    pub batch: i64,
    /// Bytes wanted at most.
    #[serde(default)]
    pub max_bytes: i64,
    /// Answer now, without waiting.
    #[serde(default)]
    pub no_wait: bool,
    /// Heartbeat interval while waiting.
    #[serde(default)]
    pub idle_heartbeat: i64,
    /// Priority group.
    #[serde(default)]
    pub group: String,
    /// Pinned client id.
    #[serde(default)]
    pub id: String,
    /// Overflow: messages pending at least.
    #[serde(default)]
    pub min_pending: i64,
    /// Overflow: acks pending at least.
    #[serde(default)]
    pub min_ack_pending: i64,
    /// Priority (prioritized policy).
    #[serde(default)]
    pub priority: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names_and_omissions() {
        let c: ConsumerConfig = serde_json::from_str(
            r#"{"durable_name":"D","ack_policy":"explicit","max_deliver":4,"ack_wait":30000000000}"#,
        )
        .unwrap();
        assert_eq!(c.durable, "D");
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"durable_name":"D","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":4,"replay_policy":"instant","num_replicas":0}"#
        );
        let e = serde_json::from_str::<ConsumerConfig>(r#"{"ack_policy":"Explicit"}"#).unwrap_err();
        assert!(e
            .to_string()
            .starts_with(r#"can not unmarshal "\"Explicit\"""#));
        let r: CreateRequest = serde_json::from_str(r#"{"action":"create"}"#).unwrap();
        assert_eq!(r.action, Action::Create);
    }
}
