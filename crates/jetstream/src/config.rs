//! Stream configuration as the API carries it: nats-server 2.12.4's JSON names,
//! omission rules and enum spellings. Durations are nanoseconds.

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Go's `%q` of the raw JSON of a value, as its enum decoders quote bad input.
pub(crate) fn go_quoted(v: &Value) -> String {
    serde_json::to_string(&v.to_string()).expect("a string serialises")
}

/// Declares a string enum that decodes as nats-server's `UnmarshalJSON` does:
/// exact spellings (or lower-cased ones with `lower`), anything else refused
/// with `can not unmarshal "<raw>"`.
macro_rules! go_enum {
    ($(#[$m:meta])* $name:ident, $lower:expr, { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            /// The JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = Value::deserialize(d)?;
                let text = v.as_str().map(|t| if $lower { t.to_ascii_lowercase() } else { t.to_string() });
                match text.as_deref() {
                    $(Some($text) => Ok($name::$variant),)+
                    _ => Err(de::Error::custom(format!("can not unmarshal {}", $crate::config::go_quoted(&v)))),
                }
            }
        }
    };
}

pub(crate) use go_enum;

go_enum!(
    /// How messages are retained.
    Retention, false, {
        /// Until a limit removes them.
        #[default]
        Limits => "limits",
        /// While some consumer has not acknowledged them.
        Interest => "interest",
        /// Until one consumer acknowledges them.
        WorkQueue => "workqueue",
    }
);

go_enum!(
    /// What happens at a limit.
    Discard, true, {
        /// The oldest messages go.
        #[default]
        Old => "old",
        /// New messages are refused.
        New => "new",
    }
);

go_enum!(
    /// Where messages are kept.
    Storage, false, {
        /// On disk.
        #[default]
        File => "file",
        /// In memory.
        Memory => "memory",
    }
);

/// How a file stream compresses its messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed.
    #[default]
    None,
    /// S2.
    S2,
}

impl Serialize for Compression {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Compression::None => "none",
            Compression::S2 => "s2",
        })
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s == "none" => Ok(Compression::None),
            Value::String(s) if s == "s2" => Ok(Compression::S2),
            Value::String(_) => Err(de::Error::custom("unknown compression algorithm")),
            other => Err(de::Error::custom(format!(
                "json: cannot unmarshal {} into Go value of type string",
                json_kind(&other)
            ))),
        }
    }
}

/// Go's name for the JSON type of a value, as its decoder errors say it.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// When a stored message is made durable (2.12).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PersistMode {
    /// Before the publish is acknowledged.
    #[default]
    Default,
    /// In the background: an acknowledged message can be lost on a crash.
    Async,
}

impl Serialize for PersistMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            PersistMode::Default => "default",
            PersistMode::Async => "async",
        })
    }
}

impl<'de> Deserialize<'de> for PersistMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match v.as_str() {
            Some("default") | Some("") => Ok(PersistMode::Default),
            Some("async") => Ok(PersistMode::Async),
            _ => Err(de::Error::custom(format!(
                "can not unmarshal {}",
                go_quoted(&v)
            ))),
        }
    }
}

pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Where a stream's replicas go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The cluster.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Server tags the replicas need.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The preferred leader.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub preferred: String,
}

/// A subject transform (`src` to `dest`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectTransform {
    /// The subjects it applies to.
    #[serde(default)]
    pub src: String,
    /// What they become.
    #[serde(default)]
    pub dest: String,
}

/// Republishing of stored messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RePublish {
    /// The stored subjects republished.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub src: String,
    /// Where they go.
    #[serde(default)]
    pub dest: String,
    /// Only headers, with the size in `Nats-Msg-Size`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub headers_only: bool,
}

/// The API and delivery prefixes of a stream in another account or domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalStream {
    /// The JetStream API prefix.
    #[serde(default)]
    pub api: String,
    /// The delivery prefix.
    #[serde(default)]
    pub deliver: String,
}

/// A mirror or a source of a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSource {
    /// The origin stream.
    #[serde(default)]
    pub name: String,
    /// Start at this sequence.
    #[serde(default, skip_serializing_if = "is_default")]
    pub opt_start_seq: u64,
    /// Start at this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    /// Only these subjects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    /// Filters with transforms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_transforms: Vec<SubjectTransform>,
    /// Where the origin is, when not in this account and domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
}

/// Defaults for the consumers of a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConsumerLimits {
    /// Inactive threshold in nanoseconds.
    #[serde(default, skip_serializing_if = "is_default")]
    pub inactive_threshold: i64,
    /// Maximum acknowledgements pending.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_ack_pending: i64,
}

/// A stream's configuration, field for field as nats-server 2.12.4 reads and writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// The stream name.
    #[serde(default)]
    pub name: String,
    /// A description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The subjects it captures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// The retention policy.
    #[serde(default)]
    pub retention: Retention,
    /// Maximum consumers, -1 for no limit.
    #[serde(default)]
    pub max_consumers: i64,
    /// Maximum messages, -1 for no limit.
    #[serde(default)]
    pub max_msgs: i64,
    /// Maximum bytes, -1 for no limit.
    #[serde(default)]
    pub max_bytes: i64,
    /// Maximum age in nanoseconds, 0 for no limit.
    #[serde(default)]
    pub max_age: i64,
    /// Maximum messages per subject, -1 for no limit.
    #[serde(default)]
    pub max_msgs_per_subject: i64,
    /// Largest message accepted, -1 for no limit.
    #[serde(default, skip_serializing_if = "is_default")]
    pub max_msg_size: i32,
    /// The discard policy.
    #[serde(default)]
    pub discard: Discard,
    /// The storage.
    #[serde(default)]
    pub storage: Storage,
    /// Replicas.
    #[serde(default)]
    pub num_replicas: i64,
    /// No acknowledgements for publishes.
    #[serde(default, skip_serializing_if = "is_default")]
    pub no_ack: bool,
    /// The (deprecated) template that made it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub template_owner: String,
    /// The window for `Nats-Msg-Id` deduplication, nanoseconds.
    #[serde(default, skip_serializing_if = "is_default")]
    pub duplicate_window: i64,
    /// Placement of replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// The stream it mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSource>,
    /// The streams it sources from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSource>,
    /// Compression of stored messages.
    #[serde(default)]
    pub compression: Compression,
    /// The first sequence.
    #[serde(default, skip_serializing_if = "is_default")]
    pub first_seq: u64,
    /// A transform of incoming subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_transform: Option<SubjectTransform>,
    /// Republishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub republish: Option<RePublish>,
    /// Direct get allowed.
    #[serde(default)]
    pub allow_direct: bool,
    /// Direct get through the mirror's origin.
    #[serde(default)]
    pub mirror_direct: bool,
    /// `discard: new` also per subject.
    #[serde(default, skip_serializing_if = "is_default")]
    pub discard_new_per_subject: bool,
    /// No more changes.
    #[serde(default)]
    pub sealed: bool,
    /// Message deletion refused.
    #[serde(default)]
    pub deny_delete: bool,
    /// Purges refused.
    #[serde(default)]
    pub deny_purge: bool,
    /// `Nats-Rollup` allowed.
    #[serde(default)]
    pub allow_rollup_hdrs: bool,
    /// Defaults for consumers.
    #[serde(default)]
    pub consumer_limits: StreamConsumerLimits,
    /// Per-message TTLs (`Nats-TTL`) allowed.
    #[serde(default)]
    pub allow_msg_ttl: bool,
    /// TTL of the markers left when a subject's last message goes, nanoseconds.
    #[serde(default, skip_serializing_if = "is_default")]
    pub subject_delete_marker_ttl: i64,
    /// Counter messages allowed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub allow_msg_counter: bool,
    /// Atomic batch publishing allowed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub allow_atomic: bool,
    /// Scheduled messages allowed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub allow_msg_schedules: bool,
    /// When stored messages become durable.
    #[serde(default, skip_serializing_if = "is_default")]
    pub persist_mode: PersistMode,
    /// User metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            name: String::new(),
            description: String::new(),
            subjects: Vec::new(),
            retention: Retention::Limits,
            max_consumers: 0,
            max_msgs: 0,
            max_bytes: 0,
            max_age: 0,
            max_msgs_per_subject: 0,
            max_msg_size: 0,
            discard: Discard::Old,
            storage: Storage::File,
            num_replicas: 0,
            no_ack: false,
            template_owner: String::new(),
            duplicate_window: 0,
            placement: None,
            mirror: None,
            sources: Vec::new(),
            compression: Compression::None,
            first_seq: 0,
            subject_transform: None,
            republish: None,
            allow_direct: false,
            mirror_direct: false,
            discard_new_per_subject: false,
            sealed: false,
            deny_delete: false,
            deny_purge: false,
            allow_rollup_hdrs: false,
            consumer_limits: StreamConsumerLimits::default(),
            allow_msg_ttl: false,
            subject_delete_marker_ttl: 0,
            allow_msg_counter: false,
            allow_atomic: false,
            allow_msg_schedules: false,
            persist_mode: PersistMode::Default,
            metadata: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_spellings_and_omissions() {
        let cfg: StreamConfig =
            serde_json::from_str(r#"{"name":"S","subjects":["a.>"],"retention":"workqueue","discard":"NEW","storage":"memory"}"#)
                .unwrap();
        assert_eq!(
            (cfg.retention, cfg.discard, cfg.storage),
            (Retention::WorkQueue, Discard::New, Storage::Memory)
        );
        let out = serde_json::to_string(&cfg).unwrap();
        assert_eq!(
            out,
            r#"{"name":"S","subjects":["a.>"],"retention":"workqueue","max_consumers":0,"max_msgs":0,"max_bytes":0,"max_age":0,"max_msgs_per_subject":0,"discard":"new","storage":"memory","num_replicas":0,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false}"#
        );
        let err = serde_json::from_str::<StreamConfig>(r#"{"retention":"Limits"}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(r#"can not unmarshal "\"Limits\"""#),
            "{err}"
        );
        let err = serde_json::from_str::<StreamConfig>(r#"{"compression":"zstd"}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown compression algorithm"),
            "{err}"
        );
        let cfg: StreamConfig = serde_json::from_str(r#"{"persist_mode":""}"#).unwrap();
        assert_eq!(cfg.persist_mode, PersistMode::Default);
    }
}
