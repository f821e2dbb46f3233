//! NATS over WebSocket: frame-level tests over raw TCP, and real clients
//! (async-nats over ws:// next to a TCP client).

mod common;
use common::ws::{frame, WsRaw};
use common::ServerProc;
use futures::StreamExt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SEED: &str = "port: 4222\nmax_payload: 4194304\nwebsocket {\n  port: -1\n  no_tls: true\n}\n";

fn ws_port(srv: &ServerProc) -> u16 {
    srv.logged_port("Listening for websocket clients on ws://")
        .expect("websocket listener logged")
}

#[test]
fn seed_config_serves_websocket_and_tcp() {
    let srv = ServerProc::start(Some(SEED));
    let port = ws_port(&srv);
    let (mut ws, head) = WsRaw::connect(port, "");
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    let info = ws.read_until("\r\n");
    assert!(info.starts_with("INFO {"), "{info}");
    assert!(info.contains("\"max_payload\":4194304"), "{info}");
    assert!(
        info.contains(&format!("\"port\":{port}")),
        "ws INFO names the websocket port: {info}"
    );
    // Protocol split over fragments, with a ping between them.
    ws.send(&frame(
        false,
        1,
        b"CONNECT {\"verbose\":false}\r\nSUB fo",
        true,
    ));
    ws.send(&frame(true, 9, b"hb", true));
    ws.send(&frame(true, 0, b"o 1\r\nPING\r\n", true));
    let (b0, p) = ws.next_frame().unwrap();
    assert_eq!(
        (b0, p.as_slice()),
        (0x8A, &b"hb"[..]),
        "pong echoes the ping"
    );
    assert!(ws.read_until("PONG\r\n").ends_with("PONG\r\n"));
    // A TCP client publishes; the websocket client receives.
    let mut tcp = srv.raw();
    tcp.send(b"CONNECT {\"verbose\":false}\r\nSUB bar 1\r\nPUB foo 5\r\nhello\r\nPING\r\n");
    tcp.expect(b"PONG\r\n");
    assert_eq!(ws.read_until("hello\r\n"), "MSG foo 1 5\r\nhello\r\n");
    // And the other way round.
    ws.send(&frame(true, 2, b"PUB bar 2\r\nhi\r\n", true));
    tcp.expect(b"MSG bar 1 2\r\nhi\r\n");
    // A clean close is answered with a close frame.
    ws.send(&frame(true, 8, &1000u16.to_be_bytes(), true));
    let (b0, p) = ws.next_frame().unwrap();
    assert_eq!(b0, 0x88);
    assert_eq!(&p[..2], &1000u16.to_be_bytes());
}

#[test]
fn frame_errors_and_limits() {
    let srv = ServerProc::start(Some(
        "max_payload: 100\nwebsocket { port: -1, no_tls: true }\n",
    ));
    let port = ws_port(&srv);
    // Unmasked client frames are a protocol error: close 1002.
    let (mut ws, _) = WsRaw::connect(port, "");
    ws.read_until("\r\n");
    ws.send(&frame(true, 2, b"PING\r\n", false));
    let (b0, p) = ws.next_frame().expect("close frame");
    assert_eq!(b0, 0x88);
    assert_eq!(&p[..2], &1002u16.to_be_bytes());
    // An oversized payload is refused as over TCP.
    let (mut ws, _) = WsRaw::connect(port, "");
    ws.read_until("\r\n");
    ws.send(&frame(true, 2, b"PUB foo 101\r\n", true));
    assert_eq!(
        ws.read_until("\r\n"),
        "-ERR 'Maximum Payload Violation'\r\n"
    );
    // A bad upgrade gets an HTTP error.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 400 Bad Request"), "{resp}");
}

#[test]
fn origin_checks() {
    let srv = ServerProc::start(Some(
        "websocket { port: -1, no_tls: true, allowed_origins: [\"https://wallet.example.com\"] }\n",
    ));
    let port = ws_port(&srv);
    let (_, head) = WsRaw::connect(port, "Origin: https://wallet.example.com\r\n");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (_, head) = WsRaw::connect(port, "Origin: https://evil.example.com\r\n");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let (_, head) = WsRaw::connect(port, "");
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "no Origin is accepted: {head}"
    );
    let srv = ServerProc::start(Some(
        "websocket { port: -1, no_tls: true, same_origin: true }\n",
    ));
    let port = ws_port(&srv);
    let (_, head) = WsRaw::connect(port, &format!("Origin: http://127.0.0.1:{port}\r\n"));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (_, head) = WsRaw::connect(port, "Origin: http://127.0.0.1:1\r\n");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[test]
fn compression_when_offered() {
    let srv = ServerProc::start(Some(
        "websocket { port: -1, no_tls: true, compression: true }\n",
    ));
    let port = ws_port(&srv);
    let (mut ws, head) = WsRaw::connect(
        port,
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    );
    assert!(head.contains("permessage-deflate"), "{head}");
    let (b0, _) = ws.next_frame().expect("INFO frame");
    assert_eq!(b0, 0x80 | 0x40 | 2, "INFO arrives deflated");
    // Without the offer, frames stay plain.
    let (mut ws, head) = WsRaw::connect(port, "");
    assert!(!head.contains("permessage-deflate"));
    let (b0, _) = ws.next_frame().unwrap();
    assert_eq!(b0, 0x82);
}

async fn tcp_and_ws(srv: &ServerProc) -> (async_nats::Client, async_nats::Client) {
    let port = ws_port(srv);
    let tcp = async_nats::connect(srv.url()).await.unwrap();
    let ws = async_nats::connect(format!("ws://127.0.0.1:{port}"))
        .await
        .unwrap();
    (tcp, ws)
}

async fn sync(c: &async_nats::Client) {
    c.flush().await.unwrap();
    let _ = c.request("_rnatsd_test.sync", "".into()).await;
}

#[tokio::test]
async fn async_nats_over_websocket_with_tcp_peers() {
    for compression in [false, true] {
        let srv = ServerProc::start(Some(&format!(
            "max_payload: 4194304\nwebsocket {{ port: -1, no_tls: true, compression: {compression} }}\n"
        )));
        let (tcp, ws) = tcp_and_ws(&srv).await;
        // Request/reply with headers, websocket requester, TCP responder.
        let mut svc = tcp.subscribe("svc.echo").await.unwrap();
        sync(&tcp).await;
        let responder = tcp.clone();
        let task = tokio::spawn(async move {
            while let Some(m) = svc.next().await {
                let mut h = async_nats::HeaderMap::new();
                let ctx = m
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("contextId"))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                h.insert("contextId", ctx.as_str());
                responder
                    .publish_with_headers(m.reply.unwrap(), h, m.payload)
                    .await
                    .unwrap();
            }
        });
        let mut h = async_nats::HeaderMap::new();
        h.insert("contextId", "c-1");
        let resp = ws
            .send_request(
                "svc.echo",
                async_nats::Request::new().payload("ping".into()).headers(h),
            )
            .await
            .unwrap();
        assert_eq!(resp.payload, "ping");
        assert_eq!(
            resp.headers.unwrap().get("contextId").unwrap().as_str(),
            "c-1"
        );
        // TCP requester, websocket responder, with a 4 MB payload.
        let mut wsvc = ws.subscribe("wsvc").await.unwrap();
        sync(&ws).await;
        let ws2 = ws.clone();
        let task2 = tokio::spawn(async move {
            if let Some(m) = wsvc.next().await {
                ws2.publish(m.reply.unwrap(), m.payload).await.unwrap();
                ws2.flush().await.unwrap();
            }
        });
        let big: bytes::Bytes = (0..4_194_304u32)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<_>>()
            .into();
        let resp = tokio::time::timeout(Duration::from_secs(20), tcp.request("wsvc", big.clone()))
            .await
            .expect("in time")
            .unwrap();
        assert!(
            resp.payload == big,
            "4 MB payload intact (compression {compression})"
        );
        task.abort();
        task2.await.unwrap();
    }
}

/// `websocket { authorization { ... } }` applies to websocket clients only;
/// TCP clients keep the server-wide users.
#[test]
fn websocket_authorization_block() {
    let srv = ServerProc::start(Some(
        "authorization { token: s3cr3t }\nwebsocket {\n  port: -1\n  no_tls: true\n  authorization { user: wallet, password: w }\n}\n",
    ));
    let port = ws_port(&srv);
    let (mut ws, _) = WsRaw::connect(port, "");
    assert!(ws.read_until("\r\n").contains("\"auth_required\":true"));
    ws.send(&frame(
        true,
        2,
        b"CONNECT {\"verbose\":false,\"user\":\"wallet\",\"pass\":\"w\"}\r\nPING\r\n",
        true,
    ));
    assert_eq!(ws.read_until("PONG\r\n"), "PONG\r\n");
    let (mut ws, _) = WsRaw::connect(port, "");
    ws.read_until("\r\n");
    ws.send(&frame(
        true,
        2,
        b"CONNECT {\"verbose\":false,\"auth_token\":\"s3cr3t\"}\r\n",
        true,
    ));
    assert_eq!(ws.read_until("\r\n"), "-ERR 'Authorization Violation'\r\n");
    let mut tcp = srv.raw();
    tcp.send(b"CONNECT {\"verbose\":false,\"auth_token\":\"s3cr3t\"}\r\nPING\r\n");
    tcp.expect(b"PONG\r\n");
}

/// The INFO a websocket client of the server on websocket port `port`
/// receives first.
fn ws_info(port: u16) -> serde_json::Value {
    let (mut w, head) = WsRaw::connect(port, "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let info = w.read_until("\r\n");
    let json = info.trim().strip_prefix("INFO ").unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {info}"))
}

#[test]
fn websocket_clients_learn_other_members_websocket_urls() {
    let free = common::free_port;
    let (ca, cb) = (free(), free());
    let a = ServerProc::start(Some(&format!(
        "websocket {{ port: -1, no_tls: true }}\ncluster {{ name: T, listen: 127.0.0.1:{ca} }}\n"
    )));
    let b = ServerProc::start(Some(&format!(
        "websocket {{ port: -1, no_tls: true, advertise: \"ws-b.example:8443\" }}\ncluster {{ name: T, listen: 127.0.0.1:{cb}, routes: [\"nats://127.0.0.1:{ca}\"] }}\n"
    )));
    let a_ws = ws_port(&a);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = ws_info(a_ws);
        let urls: Vec<String> =
            serde_json::from_value(info["connect_urls"].clone()).unwrap_or_default();
        if !urls.is_empty() {
            // Websocket clients get websocket URLs, this server's first.
            assert_eq!(urls[0], format!("127.0.0.1:{a_ws}"), "{info}");
            assert!(urls.contains(&"ws-b.example:8443".to_string()), "{info}");
            assert!(info.get("ws_connect_urls").is_none(), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "no connect_urls: {info}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // TCP clients get the client URLs.
    let raw = a.raw();
    let info: serde_json::Value =
        serde_json::from_str(raw.info.trim().strip_prefix("INFO ").unwrap()).unwrap();
    let urls: Vec<String> = serde_json::from_value(info["connect_urls"].clone()).unwrap();
    assert!(urls.contains(&format!("127.0.0.1:{}", b.port)), "{info}");
}
