//! The JetStream model, without IO: the API's request and response types with
//! nats-server's JSON names and defaults, its error catalogue, and the stream
//! config rules. The server glues this to the network and to `store`.

mod catalogue;
pub mod config;
pub mod errors;
pub mod headers;
pub mod stream;
pub mod validate;

pub use catalogue::ErrorKind;
pub use config::{
    Compression, Discard, ExternalStream, PersistMode, Placement, RePublish, Retention, Storage,
    StreamConfig, StreamConsumerLimits, StreamSource, SubjectTransform,
};
pub use errors::ApiError;
pub use stream::{Outcome, Publish, Stream};
pub use validate::{check_stream_config, CheckContext};
