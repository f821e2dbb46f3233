//! The route `INFO` this server sends, and the lame duck announcement
//! that carries it.

use super::{split_host_port, Routes};
use crate::server::Server;

impl Routes {
    /// Tells the other servers this one is in lame duck mode.
    pub fn announce_lame_duck(&self, srv: &Server) {
        if !self.enabled() {
            return;
        }
        let mut info = self.info(srv);
        info.ldm = true;
        let mut buf = Vec::new();
        proto::encode::info(&mut buf, &serde_json::to_vec(&info).unwrap_or_default());
        self.broadcast(&buf, None);
    }

    /// This server's route `INFO`.
    pub(crate) fn info(&self, srv: &Server) -> proto::ServerInfo {
        let opts = srv.opts();
        let c = &opts.cluster;
        let (host, port, ip) = match c.advertise.as_deref().and_then(split_host_port) {
            Some((h, p)) => (
                h.clone(),
                p,
                format!("nats-route://{}/", crate::util::host_port(&h, p)),
            ),
            None => (
                c.host.clone(),
                self.addr.get().map(|a| a.port()).unwrap_or(0),
                String::new(),
            ),
        };
        let perms = c.permissions.as_ref();
        proto::ServerInfo {
            server_id: srv.id.clone(),
            server_name: srv.name.clone(),
            version: crate::config::options::NATS_VERSION.to_string(),
            proto: 2,
            go: crate::config::options::GO_VERSION.to_string(),
            host,
            port,
            headers: true,
            auth_required: c.username.is_some(),
            tls_required: self.tls.get().is_some(),
            tls_verify: self.tls.get().is_some(),
            max_payload: opts.max_payload as i64,
            ip,
            cluster: self.name(),
            cluster_dynamic: self.dynamic(),
            connect_urls: if c.no_advertise {
                Vec::new()
            } else {
                self.own_urls.get().cloned().unwrap_or_default()
            },
            ws_connect_urls: if c.no_advertise {
                Vec::new()
            } else {
                self.own_ws_urls.get().cloned().unwrap_or_default()
            },
            import: perms
                .and_then(|p| p.import.as_ref())
                .map(crate::auth::perms::perm_json),
            export: perms
                .and_then(|p| p.export.as_ref())
                .map(crate::auth::perms::perm_json),
            lnoc: true,
            lnocu: true,
            route_pool_size: self.pool_size() as i32,
            compression: "off".into(),
            ..Default::default()
        }
    }
}
