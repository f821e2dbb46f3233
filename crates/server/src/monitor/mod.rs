//! HTTP monitoring on the `-m`/`http_port` port, as nats-server serves it:
//! `/varz`, `/connz`, `/subsz`, `/routez`, `/gatewayz`, `/leafz`,
//! `/accountz`, `/accstatz`, `/jsz`, `/healthz` with nats-server 2.9's
//! JSON (field names, order, types and units), query parameters, error
//! texts and JSONP; plus rnatsd's own `/metrics` (Prometheus text format)
//! and `/dashboard` (live charts), linked from the index page at `/`.
//!
//! Handlers read counters with atomic loads and client state under the
//! same short locks the message path takes for one delivery; nothing here
//! holds a lock while formatting or writing.
//!
//! Layer: top. Owns the HTTP monitoring endpoints; may read every layer,
//! and nothing below names it.

/// Unwraps a query parameter, or answers 400 with the parse error.
macro_rules! try_q {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Reply::Bad(e),
        }
    };
}

mod connz;
pub mod gofmt;
mod leafz;
mod metrics;
mod others;
mod pages;
mod routez;
pub mod sys;
mod varz;

use crate::server::Server;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, LOCATION};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The monitoring service shared by its connections.
pub struct Monitor {
    srv: Arc<Server>,
    /// Normalized base path: `/` or `/path` without a trailing slash.
    base: String,
    /// Requests per endpoint, as `http_req_stats` reports them.
    req_stats: Mutex<BTreeMap<&'static str, u64>>,
    usage: varz::Usage,
}

/// What a handler produced.
enum Reply {
    /// A JSON document (JSONP when the request names a callback).
    Json(Vec<u8>),
    /// 400 with nats-server's error text.
    Bad(String),
    /// 503 with a JSON body.
    Unavailable(Vec<u8>),
    /// An HTML page.
    Html(String),
    /// Another document with its content type.
    Other(&'static str, Vec<u8>),
    /// 404 as Go's `http.NotFound`.
    NotFound,
    /// 404 with a plain-text reason (`/raftz` without Raft nodes).
    Missing(&'static str),
}

/// Query parameters with Go's `url.Values.Get` semantics.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string as Go's `url.ParseQuery` (pairs that fail
    /// to decode are dropped).
    fn parse(raw: &str) -> Query {
        let mut pairs = Vec::new();
        for part in raw.split('&') {
            if part.is_empty() || part.contains(';') {
                continue;
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if let (Some(k), Some(v)) = (unescape(k), unescape(v)) {
                pairs.push((k, v));
            }
        }
        Query(pairs)
    }

    /// The first value of `key`, or "".
    pub(crate) fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// A boolean parameter (Go's `decodeBool`).
    pub(crate) fn bool(&self, key: &str) -> Result<bool, String> {
        match self.get(key) {
            "" => Ok(false),
            v => {
                gofmt::parse_bool(v).map_err(|e| format!("Error decoding boolean for '{key}': {e}"))
            }
        }
    }

    /// An integer parameter (Go's `decodeInt`).
    pub(crate) fn int(&self, key: &str) -> Result<i64, String> {
        match self.get(key) {
            "" => Ok(0),
            v => gofmt::atoi(v).map_err(|e| format!("Error decoding int for '{key}': {e}")),
        }
    }

    /// An unsigned parameter (Go's `decodeUint64`).
    pub(crate) fn uint(&self, key: &str) -> Result<u64, String> {
        match self.get(key) {
            "" => Ok(0),
            v => {
                gofmt::parse_uint(v).map_err(|e| format!("Error decoding uint64 for '{key}': {e}"))
            }
        }
    }

    /// `subs=1` or `subs=detail` (Go's `decodeSubs`): (list, detail).
    pub(crate) fn subs(&self) -> Result<(bool, bool), String> {
        if self.get("subs").eq_ignore_ascii_case("detail") {
            return Ok((false, true));
        }
        Ok((self.bool("subs")?, false))
    }
}

/// Percent-decoding with `+` as space; `None` on a bad escape.
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `path.Clean` for request paths, keeping a trailing slash as
/// `http.ServeMux` does.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if p.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// Go's base path normalization: leading slash, cleaned, no trailing
/// slash (except the root).
fn normalize_base(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let c = clean_path(&format!("/{}", p.trim_start_matches('/')));
    match c.trim_end_matches('/') {
        "" => "/".into(),
        s => s.to_string(),
    }
}

/// Binds the monitoring listener, logs as nats-server does and serves
/// until shutdown. The error text is nats-server's.
pub async fn start(
    srv: &Arc<Server>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    let opts = srv.opts();
    let configured = if tls.is_some() {
        opts.https_port
    } else {
        opts.http_port
    };
    let port = if configured < 0 { 0 } else { configured as u16 };
    let host = opts.http_host.trim_start_matches('[').trim_end_matches(']');
    let listener = crate::util::listen(host, port).await.map_err(|e| {
        let hp = crate::util::host_port(&opts.http_host, port);
        let text = e.to_string();
        let text = text.split(" (os error").next().unwrap_or_default();
        let mut chars = text.chars();
        let lower = chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect::<String>())
            .unwrap_or_default();
        std::io::Error::new(
            e.kind(),
            format!("can't listen to the monitor port: listen tcp {hp}: bind: {lower}"),
        )
    })?;
    let addr = listener.local_addr()?;
    let _ = srv.http_addr.set(addr);
    crate::info!(
        "Starting {} monitor on {}",
        if tls.is_some() { "https" } else { "http" },
        crate::util::host_port(&opts.http_host, addr.port())
    );
    let mon = Arc::new(Monitor {
        srv: srv.clone(),
        base: normalize_base(&opts.http_base_path),
        req_stats: Mutex::new(BTreeMap::new()),
        usage: varz::Usage::new(),
    });
    tokio::spawn(mon.clone().usage_sampler());
    tokio::spawn(mon.accept_loop(listener, tls.map(tokio_rustls::TlsAcceptor::from)));
    Ok(())
}

impl Monitor {
    /// A monitor that serves no HTTP: the documents of `$SYS` requests.
    fn internal(srv: Arc<Server>) -> Monitor {
        let base = normalize_base(&srv.opts().http_base_path);
        Monitor {
            srv,
            base,
            req_stats: Mutex::new(BTreeMap::new()),
            usage: varz::Usage::new(),
        }
    }

    async fn accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) {
        let stop = self.srv.shutdown.clone();
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = stop.cancelled() => break,
            };
            let Ok((stream, _)) = accepted else {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let mon = self.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        let hs = tokio::time::timeout(
                            std::time::Duration::from_secs(2),
                            acceptor.accept(stream),
                        );
                        if let Ok(Ok(s)) = hs.await {
                            mon.serve(s).await;
                        }
                    }
                    None => mon.serve(stream).await,
                }
            });
        }
    }

    /// Serves HTTP/1.1 requests on one connection (plain or TLS).
    async fn serve<S>(self: Arc<Self>, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let mon = self;
        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mon = mon.clone();
            async move { Ok::<_, Infallible>(mon.respond(&req)) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .title_case_headers(true)
            .serve_connection(TokioIo::new(stream), svc)
            .await;
    }

    async fn usage_sampler(self: Arc<Self>) {
        let stop = self.srv.shutdown.clone();
        loop {
            self.usage.sample();
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// Counts a request to `path` in `http_req_stats`.
    pub(crate) fn count(&self, path: &'static str) {
        *self.req_stats.lock().entry(path).or_insert(0) += 1;
    }

    /// A copy of the per-endpoint request counts.
    pub(crate) fn req_stats(&self) -> BTreeMap<&'static str, u64> {
        self.req_stats.lock().clone()
    }

    /// `/path` under the base path.
    pub(crate) fn path(&self, p: &str) -> String {
        if self.base == "/" {
            p.to_string()
        } else {
            format!("{}{p}", self.base)
        }
    }

    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        let raw_query = req.uri().query().unwrap_or("");
        let clean = clean_path(path);
        if clean != path {
            let mut to = clean.clone();
            if !raw_query.is_empty() {
                to = format!("{to}?{raw_query}");
            }
            let body = format!("<a href=\"{to}\">Moved Permanently</a>.\n\n");
            let mut r = response(StatusCode::MOVED_PERMANENTLY, body.into_bytes());
            set(&mut r, CONTENT_TYPE, "text/html; charset=utf-8");
            if let Ok(v) = HeaderValue::from_str(&to) {
                r.headers_mut().insert(LOCATION, v);
            }
            return r;
        }
        let q = Query::parse(raw_query);
        let rel = if self.base == "/" {
            Some(path)
        } else if path == self.base {
            Some("/")
        } else {
            path.strip_prefix(self.base.as_str())
                .filter(|r| r.starts_with('/') && *r != "/")
        };
        let reply = match rel {
            Some(rel) => self.route(rel, &q),
            None => Reply::NotFound,
        };
        finish(reply, &q)
    }

    fn route(&self, rel: &str, q: &Query) -> Reply {
        match rel {
            "/" => {
                self.count("/");
                Reply::Html(pages::index(self))
            }
            "/varz" => {
                self.count("/varz");
                Reply::Json(gofmt::json_pretty(&varz::varz(self)))
            }
            "/connz" => connz::handle(self, q),
            "/subsz" | "/subscriptionsz" => others::subsz(self, q),
            "/routez" => routez::routez(self, q),
            "/gatewayz" => others::gatewayz(self, q),
            "/leafz" => leafz::leafz(self, q),
            "/accountz" => others::accountz(self, q),
            "/accstatz" => others::accstatz(self, q),
            "/jsz" => others::jsz(self, q),
            "/healthz" => others::healthz(self, q),
            "/ipqueuesz" => others::ipqueuesz(q),
            "/metrics" => Reply::Other(
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::render(self).into_bytes(),
            ),
            "/dashboard" => Reply::Html(pages::dashboard(self)),
            // No Raft groups run here (JetStream is not clustered).
            "/raftz" => Reply::Missing("No Raft nodes registered"),
            _ => Reply::NotFound,
        }
    }
}

fn response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

fn set(r: &mut Response<Full<Bytes>>, name: hyper::header::HeaderName, v: &'static str) {
    r.headers_mut().insert(name, HeaderValue::from_static(v));
}

/// Go's `ResponseHandler` for JSON (JSONP with `callback=`), and the
/// content types Go's `net/http` gives the other replies.
fn finish(reply: Reply, q: &Query) -> Response<Full<Bytes>> {
    match reply {
        Reply::Json(body) => {
            let callback = q.get("callback");
            if callback.is_empty() {
                let mut r = response(StatusCode::OK, body);
                set(&mut r, CONTENT_TYPE, "application/json");
                set(&mut r, ACCESS_CONTROL_ALLOW_ORIGIN, "*");
                r
            } else {
                let mut b = Vec::with_capacity(body.len() + callback.len() + 2);
                b.extend_from_slice(callback.as_bytes());
                b.push(b'(');
                b.extend_from_slice(&body);
                b.push(b')');
                let mut r = response(StatusCode::OK, b);
                set(&mut r, CONTENT_TYPE, "application/javascript");
                r
            }
        }
        Reply::Bad(text) => {
            let mut r = response(StatusCode::BAD_REQUEST, text.into_bytes());
            set(&mut r, CONTENT_TYPE, "text/plain; charset=utf-8");
            r
        }
        Reply::Unavailable(body) => {
            let mut r = response(StatusCode::SERVICE_UNAVAILABLE, body);
            set(&mut r, CONTENT_TYPE, "application/json");
            set(&mut r, ACCESS_CONTROL_ALLOW_ORIGIN, "*");
            r
        }
        Reply::Html(page) => {
            let mut r = response(StatusCode::OK, page.into_bytes());
            set(&mut r, CONTENT_TYPE, "text/html; charset=utf-8");
            r
        }
        Reply::Other(ctype, body) => {
            let mut r = response(StatusCode::OK, body);
            set(&mut r, CONTENT_TYPE, ctype);
            r
        }
        Reply::Missing(text) => {
            let mut r = response(StatusCode::NOT_FOUND, text.as_bytes().to_vec());
            set(&mut r, CONTENT_TYPE, "text/plain; charset=utf-8");
            r
        }
        Reply::NotFound => {
            let mut r = response(StatusCode::NOT_FOUND, b"404 page not found\n".to_vec());
            set(&mut r, CONTENT_TYPE, "text/plain; charset=utf-8");
            r.headers_mut().insert(
                hyper::header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queries() {
        assert_eq!(clean_path("/mon//varz"), "/mon/varz");
        assert_eq!(clean_path("/a/./b/../c/"), "/a/c/");
        assert_eq!(normalize_base(""), "/");
        assert_eq!(normalize_base("mon/"), "/mon");
        let q = Query::parse("sort=bytes_to&acc=%24G&x=a+b&sort=cid&bad=%zz");
        assert_eq!(q.get("sort"), "bytes_to");
        assert_eq!(q.get("acc"), "$G");
        assert_eq!(q.get("x"), "a b");
        assert_eq!(q.get("bad"), "");
        assert_eq!(
            Query::parse("auth=x").bool("auth").unwrap_err(),
            r#"Error decoding boolean for 'auth': strconv.ParseBool: parsing "x": invalid syntax"#
        );
    }
}
