//! The JetStream model, without IO: the API's request and response types with
//! nats-server's JSON names and defaults, its error catalogue, and the stream
//! config rules. The server glues this to the network and to `store`.

mod catalogue;
pub mod config;
pub mod consumer;
pub mod errors;
pub mod headers;
pub mod metadata;
pub mod source;
pub mod stream;
pub mod ttl;
pub mod update;
pub mod validate;

pub use catalogue::ErrorKind;
pub use config::{
    Compression, Discard, ExternalStream, PersistMode, Placement, RePublish, Retention, Storage,
    StreamConfig, StreamConsumerLimits, StreamSource, SubjectTransform,
};
pub use errors::ApiError;
pub use stream::{Outcome, Publish, Stream};
pub use validate::{check_stream_config, CheckContext};

/// Decodes an API request as Go's `encoding/json` does: a `null` member
/// leaves the field at its zero value (here: its default).
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|_, x| !x.is_null());
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(bytes)?;
    if v.is_null() {
        v = serde_json::Value::Object(Default::default());
    }
    strip(&mut v);
    serde_json::from_value(v)
}
