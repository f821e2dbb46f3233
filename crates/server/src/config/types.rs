//! Typed options of the config blocks (`cluster`, `gateway`, `leafnodes`,
//! `websocket`, `mqtt`, `jetstream`, `tls`, `accounts`, operator mode,
//! users and permissions), as nats-server's `Options` holds them.
//!
//! Durations given in seconds as floats (auth and TLS timeouts) stay `f64`
//! as in nats-server; 0 means "use the default".

use std::time::Duration;

/// A `tls { ... }` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOpts {
    /// Certificate chain file (PEM).
    pub cert_file: Option<String>,
    /// Private key file (PEM).
    pub key_file: Option<String>,
    /// CA bundle used to verify peers (PEM).
    pub ca_file: Option<String>,
    /// Skip verification of the peer's certificate (client side).
    pub insecure: bool,
    /// Require and verify client certificates.
    pub verify: bool,
    /// Map the client certificate's identity to a user (`verify_and_map`).
    pub map: bool,
    /// `verify_cert_and_check_known_urls` (routes and gateways).
    pub check_known_urls: bool,
    /// Cipher suite names (empty: nats-server's defaults).
    pub cipher_suites: Vec<String>,
    /// Curve names (empty: nats-server's defaults).
    pub curve_preferences: Vec<String>,
    /// Handshake timeout in seconds (0: default of 2s).
    pub timeout: f64,
    /// New TLS connections per second (0: no limit).
    pub rate_limit: i64,
    /// Accepted certificates: lower-case hex SHA-256 of the SubjectPublicKeyInfo.
    pub pinned_certs: Vec<String>,
    /// `handshake_first`: the TLS handshake comes before INFO.
    pub handshake_first: bool,
    /// With `handshake_first`, how long to wait for the client's handshake
    /// before falling back to sending INFO first (`auto`: 50ms).
    pub handshake_first_fallback: Option<Duration>,
    /// `min_version`: lowest TLS version accepted ("1.2" or "1.3").
    pub min_version: Option<String>,
    /// `allow_insecure_cipher_suites`.
    pub allow_insecure_ciphers: bool,
    /// `certs`: further certificate/key pairs, picked by server name.
    pub certs: Vec<(String, String)>,
    /// `ocsp_peer`: check the peer's certificate status (`verify`).
    pub ocsp_peer: Option<bool>,
}

/// Allow and deny lists for one direction (publish or subscribe).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectPermission {
    /// Allowed subjects; `None` allows everything not denied, an empty list
    /// allows nothing.
    pub allow: Option<Vec<String>>,
    /// Denied subjects.
    pub deny: Option<Vec<String>>,
}

/// `allow_responses`: a client may publish to reply subjects of requests
/// it received.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsePermission {
    /// Responses allowed per request (negative: unlimited).
    pub max_msgs: i64,
    /// How long the permission lasts (`None`: no expiry).
    pub expires: Option<Duration>,
}

impl Default for ResponsePermission {
    fn default() -> Self {
        ResponsePermission {
            max_msgs: 1,
            expires: Some(Duration::from_secs(120)),
        }
    }
}

/// A user's (or account's default) permissions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    /// What the user may publish to.
    pub publish: Option<SubjectPermission>,
    /// What the user may subscribe to.
    pub subscribe: Option<SubjectPermission>,
    /// Dynamic permission to answer requests.
    pub response: Option<ResponsePermission>,
}

/// Route permissions (`cluster { permissions }`): import is what this
/// server accepts from routes, export what it sends to them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutePermissions {
    /// Subjects accepted from the route (the `publish`/`import` list).
    pub import: Option<SubjectPermission>,
    /// Subjects sent to the route (the `subscribe`/`export` list).
    pub export: Option<SubjectPermission>,
}

/// A username/password user with everything nats-server attaches to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserEntry {
    /// Username.
    pub username: String,
    /// Password, plain or bcrypt (`$2a$...`).
    pub password: String,
    /// Account the user belongs to (`None`: the global account).
    pub account: Option<String>,
    /// Permissions (own, or the account's/authorization's defaults).
    pub permissions: Option<Permissions>,
    /// Allowed connection types, upper case (`STANDARD`, `WEBSOCKET`, ...).
    pub allowed_connection_types: Option<Vec<String>>,
}

/// A user identified by an nkey (public key starting with `U`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NkeyUser {
    /// The user's public nkey.
    pub nkey: String,
    /// Account the user belongs to (`None`: the global account).
    pub account: Option<String>,
    /// Permissions (own, or the defaults).
    pub permissions: Option<Permissions>,
    /// Allowed connection types, upper case.
    pub allowed_connection_types: Option<Vec<String>>,
}

/// `authorization { auth_callout { ... } }`: users are authorized by a
/// service in `account` (nats-server's `AuthCallout`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthCallout {
    /// Account public key that signs the responses.
    pub issuer: String,
    /// Account the callout service runs in (`$G` by default).
    pub account: String,
    /// Users that bypass the callout (the service's own).
    pub auth_users: Vec<String>,
    /// x25519 public key to encrypt requests with.
    pub xkey: Option<String>,
    /// Accounts the callout may place users in.
    pub allowed_accounts: Vec<String>,
}

/// `compression` of routes and leafnodes (nats-server's `CompressionOpts`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompressionOpts {
    /// The mode as written (`off`, `accept`, `s2_fast`, ..., `on`'s choice).
    pub mode: String,
    /// `rtt_thresholds` of `s2_auto`.
    pub rtt_thresholds: Vec<Duration>,
}

/// Write and connect settings that routes, gateways and leafnodes share.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkOpts {
    /// `write_deadline`.
    pub write_deadline: Option<Duration>,
    /// `write_timeout`: `default`, `close` or `retry`.
    pub write_timeout: Option<String>,
    /// `connect_backoff`.
    pub connect_backoff: bool,
}

/// `cluster { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterOpts {
    /// Cluster name.
    pub name: Option<String>,
    /// Route listen host (empty: the default).
    pub host: String,
    /// Route listen port (0: no cluster listener, -1: random).
    pub port: i32,
    /// Username routes must present.
    pub username: Option<String>,
    /// Password routes must present.
    pub password: Option<String>,
    /// Route auth timeout in seconds (0: default).
    pub auth_timeout: f64,
    /// Import/export permissions.
    pub permissions: Option<RoutePermissions>,
    /// Route TLS.
    pub tls: Option<TlsOpts>,
    /// Advertised route URL.
    pub advertise: Option<String>,
    /// Do not advertise cluster members to clients.
    pub no_advertise: bool,
    /// Connect attempts for implicit routes.
    pub connect_retries: i64,
    /// Routes to solicit.
    pub routes: Vec<String>,
    /// `pool_size` (nats-server 2.10); accepted, not used.
    pub pool_size: i64,
    /// `accounts`: accounts with a dedicated (pinned) route.
    pub pinned_accounts: Vec<String>,
    /// `compression`.
    pub compression: Option<CompressionOpts>,
    /// `ping_interval` of routes.
    pub ping_interval: Option<Duration>,
    /// `ping_max` of routes.
    pub ping_max: Option<i64>,
    /// The shared link settings (`write_deadline`, `write_timeout`,
    /// `connect_backoff`).
    pub link: LinkOpts,
}

/// One entry of `gateway { gateways: [...] }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteGatewayOpts {
    /// Name of the remote cluster.
    pub name: String,
    /// TLS towards it.
    pub tls: Option<TlsOpts>,
    /// Its URLs.
    pub urls: Vec<String>,
}

/// `gateway { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayOpts {
    /// Name of this cluster.
    pub name: Option<String>,
    /// Listen host.
    pub host: String,
    /// Listen port (0: none).
    pub port: i32,
    /// Username gateways must present.
    pub username: Option<String>,
    /// Password gateways must present.
    pub password: Option<String>,
    /// Auth timeout in seconds (0: default).
    pub auth_timeout: f64,
    /// Gateway TLS.
    pub tls: Option<TlsOpts>,
    /// Advertised URL.
    pub advertise: Option<String>,
    /// Connect attempts.
    pub connect_retries: i64,
    /// Remote gateways.
    pub gateways: Vec<RemoteGatewayOpts>,
    /// Reject gateways of unknown clusters.
    pub reject_unknown: bool,
    /// `write_deadline`, `write_timeout`, `connect_backoff`.
    pub link: LinkOpts,
}

/// A user of `leafnodes { authorization { users } }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafUser {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Local account the leafnode is bound to.
    pub account: Option<String>,
}

/// One entry of `leafnodes { remotes: [...] }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteLeafOpts {
    /// Local account bound to the connection.
    pub local_account: Option<String>,
    /// Try URLs in order.
    pub no_randomize: bool,
    /// Remote URLs.
    pub urls: Vec<String>,
    /// Credentials file.
    pub credentials: Option<String>,
    /// TLS towards the remote.
    pub tls: Option<TlsOpts>,
    /// Act as the hub side.
    pub hub: bool,
    /// Subjects not imported.
    pub deny_imports: Vec<String>,
    /// Subjects not exported.
    pub deny_exports: Vec<String>,
    /// Websocket compression.
    pub ws_compression: bool,
    /// Websocket frames without masking.
    pub ws_no_masking: bool,
    /// `jetstream_cluster_migrate`.
    pub jetstream_cluster_migrate: bool,
    /// `nkey` (or `seed`): a user seed to sign the hub's nonce with.
    pub nkey: Option<String>,
    /// `isolate_leafnode_interest`.
    pub isolate: bool,
    /// `request_isolation`.
    pub request_isolation: bool,
    /// `compression`.
    pub compression: Option<CompressionOpts>,
    /// `first_info_timeout`.
    pub first_info_timeout: Option<Duration>,
    /// `disabled`: the remote is not dialed.
    pub disabled: bool,
    /// `proxy { url }`: an HTTP proxy for websocket remotes.
    pub proxy_url: Option<String>,
}

/// `leafnodes { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafNodeOpts {
    /// Listen host.
    pub host: String,
    /// Listen port (0: no listener).
    pub port: i32,
    /// Username leafnodes must present.
    pub username: Option<String>,
    /// Password leafnodes must present.
    pub password: Option<String>,
    /// Account for leafnodes that authenticate with username/password.
    pub account: Option<String>,
    /// Leafnode users.
    pub users: Vec<LeafUser>,
    /// Auth timeout in seconds (0: default).
    pub auth_timeout: f64,
    /// Listener TLS.
    pub tls: Option<TlsOpts>,
    /// Advertised URL.
    pub advertise: Option<String>,
    /// Do not advertise.
    pub no_advertise: bool,
    /// Reconnect interval for remotes (`None`: default of 1s).
    pub reconnect_interval: Option<Duration>,
    /// Remotes to connect to.
    pub remotes: Vec<RemoteLeafOpts>,
    /// Lowest version of a leafnode accepted.
    pub min_version: Option<String>,
    /// `compression`.
    pub compression: Option<CompressionOpts>,
    /// `isolate_leafnode_interest`.
    pub isolate: bool,
    /// `write_deadline`, `write_timeout`.
    pub link: LinkOpts,
}

/// `websocket { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebsocketOpts {
    /// Listen host (empty: the default).
    pub host: String,
    /// Listen port (0: websocket off).
    pub port: i32,
    /// Advertised URL.
    pub advertise: Option<String>,
    /// Serve without TLS.
    pub no_tls: bool,
    /// TLS.
    pub tls: Option<TlsOpts>,
    /// Only accept the server's own origin.
    pub same_origin: bool,
    /// Accepted origins.
    pub allowed_origins: Vec<String>,
    /// Handshake timeout (`None`: default).
    pub handshake_timeout: Option<Duration>,
    /// permessage-deflate.
    pub compression: bool,
    /// Username websocket clients must present.
    pub username: Option<String>,
    /// Password websocket clients must present.
    pub password: Option<String>,
    /// Token websocket clients must present.
    pub token: Option<String>,
    /// Auth timeout in seconds (0: default).
    pub auth_timeout: f64,
    /// Cookie carrying a JWT.
    pub jwt_cookie: Option<String>,
    /// User for clients without credentials.
    pub no_auth_user: Option<String>,
    /// `headers`: extra headers of the upgrade response.
    pub headers: Vec<(String, String)>,
    /// `ping_interval` of websocket clients.
    pub ping_interval: Option<Duration>,
}

/// `mqtt { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MqttOpts {
    /// Listen host.
    pub host: String,
    /// Listen port (0: MQTT off).
    pub port: i32,
    /// TLS.
    pub tls: Option<TlsOpts>,
    /// Username MQTT clients must present.
    pub username: Option<String>,
    /// Password MQTT clients must present.
    pub password: Option<String>,
    /// Token MQTT clients must present.
    pub token: Option<String>,
    /// Auth timeout in seconds (0: default).
    pub auth_timeout: f64,
    /// User for clients without credentials.
    pub no_auth_user: Option<String>,
    /// Redelivery delay (`None`: default).
    pub ack_wait: Option<Duration>,
    /// Most unacknowledged QoS 1 messages per subscription.
    pub max_ack_pending: u16,
    /// JetStream domain for MQTT state.
    pub js_domain: Option<String>,
    /// Replicas of the MQTT streams.
    pub stream_replicas: i64,
    /// Replicas of the MQTT consumers.
    pub consumer_replicas: i64,
    /// Keep consumers in memory.
    pub consumer_memory_storage: bool,
    /// Inactivity after which consumers are deleted (`None`: default).
    pub consumer_inactive_threshold: Option<Duration>,
}

/// `jetstream { limits { ... } }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsLimitOpts {
    /// Most messages in one pull request.
    pub max_request_batch: i64,
    /// Most pending acks per consumer.
    pub max_ack_pending: i64,
    /// Most clustered assets.
    pub max_ha_assets: i64,
    /// Longest duplicate window.
    pub duplicate_window: Option<Duration>,
}

/// `jetstream`: a boolean, `enabled`/`disabled`, or a block.
#[derive(Debug, Clone, PartialEq)]
pub struct JetStreamOpts {
    /// JetStream on.
    pub enabled: bool,
    /// Storage directory (also top-level `store_dir`).
    pub store_dir: Option<String>,
    /// Memory storage limit in bytes (-1: dynamic).
    pub max_memory: i64,
    /// File storage limit in bytes (-1: dynamic).
    pub max_store: i64,
    /// JetStream domain.
    pub domain: Option<String>,
    /// Encryption key.
    pub key: Option<String>,
    /// Encryption cipher (`chachapoly` or `aes`).
    pub cipher: Option<String>,
    /// `extension_hint`.
    pub extension_hint: Option<String>,
    /// `unique_tag`, lower-cased.
    pub unique_tag: Option<String>,
    /// `max_outstanding_catchup` in bytes.
    pub max_catchup: Option<i64>,
    /// Server-wide limits.
    pub limits: JsLimitOpts,
    /// `strict` (default true): API requests are checked strictly.
    pub strict: bool,
    /// `sync_interval`: how often the file store syncs (`always`: every write).
    pub sync_interval: Option<Duration>,
    /// `sync_interval: always`.
    pub sync_always: bool,
    /// `max_buffered_size` in bytes.
    pub max_buffered_size: Option<i64>,
    /// `max_buffered_msgs`.
    pub max_buffered_msgs: Option<i64>,
    /// `request_queue_limit`: pending API requests before new ones are dropped.
    pub request_queue_limit: Option<i64>,
    /// Previous encryption key (`prev_key`), for key rotation.
    pub prev_key: Option<String>,
    /// `meta_compact`: meta layer entries before a snapshot.
    pub meta_compact: Option<u64>,
    /// `meta_compact_size` in bytes.
    pub meta_compact_size: Option<u64>,
}

impl Default for JetStreamOpts {
    fn default() -> Self {
        JetStreamOpts {
            enabled: false,
            store_dir: None,
            max_memory: -1,
            max_store: -1,
            domain: None,
            key: None,
            cipher: None,
            extension_hint: None,
            unique_tag: None,
            max_catchup: None,
            limits: JsLimitOpts::default(),
            strict: true,
            sync_interval: None,
            sync_always: false,
            max_buffered_size: None,
            max_buffered_msgs: None,
            request_queue_limit: None,
            prev_key: None,
            meta_compact: None,
            meta_compact_size: None,
        }
    }
}

/// JetStream limits of one account (-1: unlimited).
#[derive(Debug, Clone, PartialEq)]
pub struct JsAccountLimits {
    /// Memory storage in bytes.
    pub max_memory: i64,
    /// File storage in bytes.
    pub max_store: i64,
    /// Streams.
    pub max_streams: i64,
    /// Consumers.
    pub max_consumers: i64,
    /// Streams must declare max bytes.
    pub max_bytes_required: bool,
    /// Largest memory stream in bytes.
    pub memory_max_stream_bytes: i64,
    /// Largest file stream in bytes.
    pub store_max_stream_bytes: i64,
    /// Most pending acks per consumer.
    pub max_ack_pending: i64,
}

impl Default for JsAccountLimits {
    fn default() -> Self {
        JsAccountLimits {
            max_memory: -1,
            max_store: -1,
            max_streams: -1,
            max_consumers: -1,
            max_bytes_required: false,
            memory_max_stream_bytes: -1,
            store_max_stream_bytes: -1,
            max_ack_pending: -1,
        }
    }
}

/// `accounts { X { limits { ... } } }` (-1: unlimited).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountLimits {
    /// Connections.
    pub max_connections: i64,
    /// Subscriptions.
    pub max_subscriptions: i64,
    /// Payload size.
    pub max_payload: i64,
    /// Leafnode connections.
    pub max_leafnodes: i64,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            max_connections: -1,
            max_subscriptions: -1,
            max_payload: -1,
            max_leafnodes: -1,
        }
    }
}

/// One destination of a subject mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct MapDest {
    /// Destination subject (may use `$1` or `{{wildcard(1)}}` etc.).
    pub subject: String,
    /// Weight in percent.
    pub weight: u8,
    /// Only applies in this cluster.
    pub cluster: Option<String>,
}

/// A subject mapping (`mappings { src: dest }`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Source subject.
    pub source: String,
    /// Destinations.
    pub destinations: Vec<MapDest>,
}

/// Whether an export or import is a stream or a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// Messages flow to importers.
    Stream,
    /// Requests flow to the exporter.
    Service,
}

/// Service response type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    /// One response.
    #[default]
    Singleton,
    /// A stream of responses.
    Streamed,
    /// A chunked response.
    Chunked,
}

/// Service latency tracking.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Subject the samples are published to.
    pub subject: String,
    /// Percentage sampled (0: when the request carries tracing headers).
    pub sampling: u8,
}

/// An account export.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Stream or service.
    pub kind: ExportKind,
    /// Exported subject.
    pub subject: String,
    /// Accounts allowed to import (`None`: public).
    pub accounts: Option<Vec<String>>,
    /// Service response type.
    pub response_type: ResponseType,
    /// Service latency tracking.
    pub latency: Option<Latency>,
    /// Service response threshold.
    pub response_threshold: Option<Duration>,
    /// Token position that must equal the importing account's name (0: none).
    pub account_token_position: u32,
}

/// An account import.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Stream or service.
    pub kind: ExportKind,
    /// Exporting account.
    pub account: String,
    /// Subject in the exporting account.
    pub subject: String,
    /// Local subject (`to`).
    pub to: Option<String>,
    /// Stream prefix.
    pub prefix: Option<String>,
    /// Share latency information with the exporter.
    pub share: bool,
}

/// An account of `accounts { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountOpts {
    /// Name.
    pub name: String,
    /// Public account nkey.
    pub nkey: Option<String>,
    /// JetStream limits (`None`: JetStream off for the account).
    pub jetstream: Option<JsAccountLimits>,
    /// Default permissions of its users.
    pub default_permissions: Option<Permissions>,
    /// Subject mappings.
    pub mappings: Vec<Mapping>,
    /// Limits.
    pub limits: AccountLimits,
    /// Exports.
    pub exports: Vec<Export>,
    /// Imports.
    pub imports: Vec<Import>,
}

/// An operator JWT (`operator: file-or-jwt`), decoded and verified.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperatorJwt {
    /// The JWT text.
    pub jwt: String,
    /// Operator public key (`sub`).
    pub subject: String,
    /// Operator name.
    pub name: String,
    /// System account declared by the operator.
    pub system_account: Option<String>,
    /// Additional signing keys.
    pub signing_keys: Vec<String>,
    /// Account server URL.
    pub account_server_url: Option<String>,
    /// Lowest server version the operator requires.
    pub assert_server_version: Option<String>,
    /// Only signing keys may sign accounts.
    pub strict_signing_key_usage: bool,
}

/// The account resolver (`resolver`).
#[derive(Debug, Clone, PartialEq)]
pub enum ResolverOpts {
    /// `MEMORY`: accounts come from `resolver_preload`.
    Memory,
    /// `URL("...")`: an account server.
    Url(String),
    /// `{ type: full, dir: ... }`: the NATS-based resolver keeping every JWT.
    Full {
        /// Storage directory.
        dir: String,
        /// Most JWTs stored (0: no limit).
        limit: i64,
        /// Sync interval (`None`: default of 1m).
        interval: Option<Duration>,
        /// Accept deletions.
        allow_delete: bool,
        /// Fetch timeout.
        timeout: Option<Duration>,
    },
    /// `{ type: cache, dir: ... }`: the NATS-based caching resolver.
    Cache {
        /// Storage directory.
        dir: String,
        /// Most JWTs cached (0: default of 1000).
        limit: i64,
        /// Time to live of cached JWTs.
        ttl: Option<Duration>,
        /// Fetch timeout.
        timeout: Option<Duration>,
    },
}

/// OCSP stapling mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OcspMode {
    /// Staple when the certificate asks for it.
    #[default]
    Auto,
    /// Always staple.
    Always,
    /// Staple and shut down when revoked.
    Must,
    /// Never staple.
    Never,
}

/// `ocsp`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OcspOpts {
    /// Mode.
    pub mode: OcspMode,
    /// Responder URLs overriding the certificate's.
    pub urls: Vec<String>,
}
