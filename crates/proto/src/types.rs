//! The JSON documents of the handshake: the server's `INFO` and the
//! client's `CONNECT`. Field names and defaults follow nats-server.

use serde::{Deserialize, Serialize};

/// What a client sends in `CONNECT`. Missing fields keep nats-server's
/// defaults: verbose, pedantic and echo are on until the client says otherwise.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConnectOptions {
    /// Acknowledge every op with `+OK`.
    pub verbose: bool,
    /// Extra subject checks on publish.
    pub pedantic: bool,
    /// Client wants TLS.
    pub tls_required: bool,
    /// Public nkey of the user.
    pub nkey: Option<String>,
    /// User JWT.
    pub jwt: Option<String>,
    /// Signature of the server nonce.
    pub sig: Option<String>,
    /// Token authentication.
    pub auth_token: Option<String>,
    /// Username.
    pub user: Option<String>,
    /// Password.
    pub pass: Option<String>,
    /// Client name, shown in monitoring.
    pub name: Option<String>,
    /// Client library language.
    pub lang: Option<String>,
    /// Client library version.
    pub version: Option<String>,
    /// Protocol level: 0 (original) or 1 (async INFO).
    pub protocol: i64,
    /// Deliver the client's own messages back to it.
    pub echo: bool,
    /// Client understands HPUB/HMSG.
    pub headers: bool,
    /// Client wants 503 status messages when a request reaches nobody.
    pub no_responders: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            verbose: true,
            pedantic: true,
            tls_required: false,
            nkey: None,
            jwt: None,
            sig: None,
            auth_token: None,
            user: None,
            pass: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            headers: false,
            no_responders: false,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The server's `INFO` document, in nats-server's field order. Routes
/// exchange the same document with route-specific fields set.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct ServerInfo {
    /// Server id: an nkey-style public key starting with `N`.
    pub server_id: String,
    /// Server name (the id unless configured).
    pub server_name: String,
    /// The nats-server version whose behaviour is implemented.
    pub version: String,
    /// Protocol level (1).
    pub proto: i32,
    /// Git commit of the build.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    /// Toolchain string (nats-server reports its Go version here).
    pub go: String,
    /// Listen host.
    pub host: String,
    /// Listen port.
    pub port: u16,
    /// Headers are supported.
    pub headers: bool,
    /// Authentication is required.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// TLS is required.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Client certificates are verified.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// TLS is available.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tls_available: bool,
    /// Largest payload accepted.
    pub max_payload: i64,
    /// JetStream is enabled.
    #[serde(default, skip_serializing_if = "is_false")]
    pub jetstream: bool,
    /// Route URL to reach the server described (routes only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// Connection id of the receiving client.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub client_id: u64,
    /// Address of the receiving client.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    /// Nonce to sign for nkey/JWT authentication.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// Cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// The cluster name was generated, not configured.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// JetStream domain.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// Other servers' client URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// Other servers' websocket URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    /// Lame duck mode.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// Negotiated compression (routes and leafnodes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// This INFO answers the client's CONNECT (sent after the first PONG).
    #[serde(default, skip_serializing_if = "is_false")]
    pub connect_info: bool,
    /// The account the receiving connection is bound to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    /// That account is the system account.
    #[serde(default, skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    /// JetStream API level.
    #[serde(default, skip_serializing_if = "is_zero_i")]
    pub api_lvl: i32,
    /// Route import permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<serde_json::Value>,
    /// Route export permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<serde_json::Value>,
    /// Understands leafnode-origin messages (routes only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Understands leafnode-origin unsubscribes (routes only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub lnocu: bool,
    /// The sender answers a route CONNECT with an INFO (routes only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub info_on_connect: bool,
    /// Size of the sender's route pool (routes only).
    #[serde(default, skip_serializing_if = "is_zero_i")]
    pub route_pool_size: i32,
    /// Index of this route in the pool (routes only).
    #[serde(default, skip_serializing_if = "is_zero_i")]
    pub route_pool_idx: i32,
    /// The account a pinned route carries (routes only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub route_account: String,
    /// Request id of a pinned-account route addition (routes only).
    #[serde(
        default,
        rename = "route_acc_add_reqid",
        skip_serializing_if = "String::is_empty"
    )]
    pub route_acc_add_reqid: String,
    /// Gossip mode of an implicit route (routes only).
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub gossip_mode: u8,
    /// Leafnode URLs of the sender's cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leafnode_urls: Vec<String>,
    /// The server's x25519 public key (for encrypted auth callouts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

fn is_zero_i(n: &i32) -> bool {
    *n == 0
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

/// The `CONNECT` a server sends on a route it opened, in nats-server's
/// field order.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct RouteConnect {
    /// Always true.
    pub echo: bool,
    /// Always false.
    pub verbose: bool,
    /// Always false.
    pub pedantic: bool,
    /// Route user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Route password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// The route runs over TLS.
    pub tls_required: bool,
    /// Headers are supported.
    pub headers: bool,
    /// The sending server's id.
    pub name: String,
    /// The sending server's cluster name.
    pub cluster: String,
    /// The cluster name was generated.
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// Understands leafnode-origin messages.
    #[serde(skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Set by clients (never by servers): a client dialed the route port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Set by gateways: a gateway dialed the route port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// The `CONNECT` a leafnode sends to its hub, in nats-server's field
/// order (`leafConnectInfo`).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct LeafConnect {
    /// The sender's version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// A user nkey (with `sig`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nkey: String,
    /// A user JWT (with `sig`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    /// The nonce signed by the user's key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sig: String,
    /// User.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pass: String,
    /// Token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_token: String,
    /// The sender's server id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_id: String,
    /// The sender's JetStream domain.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// The sender's server name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The sender is the hub of this connection (`hub: true` remote).
    #[serde(skip_serializing_if = "is_false")]
    pub is_hub: bool,
    /// The sender's cluster name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Headers are supported.
    #[serde(skip_serializing_if = "is_false")]
    pub headers: bool,
    /// The bound account has JetStream on the sender.
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    /// Subjects the sender will not take (its `deny_imports`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_pub: Vec<String>,
    /// `request_isolation`.
    #[serde(skip_serializing_if = "is_false")]
    pub isolate: bool,
    /// Compression mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compress_mode: String,
    /// Set by gateways that dialed the leafnode port.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// The account the sender binds the connection to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    /// Protocol version.
    #[serde(skip_serializing_if = "is_zero_i")]
    pub protocol: i32,
    /// Set by clients (never by servers): a client dialed the leafnode port.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_defaults_survive_partial_json() {
        let c: ConnectOptions = serde_json::from_str(r#"{"headers":true}"#).unwrap();
        assert!(c.verbose && c.pedantic && c.echo && c.headers);
        let c: ConnectOptions =
            serde_json::from_str(r#"{"verbose":false,"echo":false,"name":"x","lang":"go"}"#)
                .unwrap();
        assert!(!c.verbose && !c.echo && c.pedantic);
        assert_eq!(c.name.as_deref(), Some("x"));
    }

    #[test]
    fn info_field_order_matches_go() {
        let i = ServerInfo {
            server_id: "NABC".into(),
            server_name: "NABC".into(),
            version: "2.12.4".into(),
            proto: 1,
            git_commit: "672e699".into(),
            go: "go1.25.6".into(),
            host: "0.0.0.0".into(),
            port: 4222,
            headers: true,
            max_payload: 1048576,
            client_id: 5,
            client_ip: "127.0.0.1".into(),
            api_lvl: 2,
            xkey: "XA".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&i).unwrap(),
            r#"{"server_id":"NABC","server_name":"NABC","version":"2.12.4","proto":1,"git_commit":"672e699","go":"go1.25.6","host":"0.0.0.0","port":4222,"headers":true,"max_payload":1048576,"client_id":5,"client_ip":"127.0.0.1","api_lvl":2,"xkey":"XA"}"#
        );
    }
}
