// nats.ws under Node.js against rnatsd's websocket listener, talking to a
// TCP client (nats.js) both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { connect as connectTcp, headers, StringCodec } from "nats";
import { startServer } from "./server.mjs";

globalThis.WebSocket = WebSocket;
const { connect: connectWs } = await import("nats.ws");
const sc = StringCodec();

for (const compression of [false, true]) {
  test(`websocket <-> tcp request/reply with headers, compression ${compression}`, async () => {
    const srv = await startServer(
      `max_payload: 4194304\nwebsocket {\n  port: -1\n  no_tls: true\n  compression: ${compression}\n}\n`,
    );
    try {
      assert.ok(srv.wsPort > 0);
      const ws = await connectWs({ servers: `ws://127.0.0.1:${srv.wsPort}` });
      const tcp = await connectTcp({ servers: `127.0.0.1:${srv.port}` });
      // TCP responder, websocket requester.
      const s1 = tcp.subscribe("tcp.svc");
      (async () => {
        for await (const m of s1) m.respond(m.data, { headers: m.headers });
      })();
      // Websocket responder, TCP requester.
      const s2 = ws.subscribe("ws.svc");
      (async () => {
        for await (const m of s2) m.respond(sc.encode("ws:" + sc.decode(m.data)));
      })();
      await tcp.flush();
      await ws.flush();
      const h = headers();
      h.set("contextId", "w-1");
      const r1 = await ws.request("tcp.svc", sc.encode("hello"), { timeout: 5000, headers: h });
      assert.equal(sc.decode(r1.data), "hello");
      assert.equal(r1.headers.get("contextId"), "w-1");
      const r2 = await tcp.request("ws.svc", sc.encode("hi"), { timeout: 5000 });
      assert.equal(sc.decode(r2.data), "ws:hi");
      // 4 MB both ways.
      const big = new Uint8Array(4194304).map((_, i) => i % 251);
      const r3 = await ws.request("tcp.svc", big, { timeout: 20000 });
      assert.equal(r3.data.length, big.length);
      assert.deepEqual(r3.data.subarray(0, 1000), big.subarray(0, 1000));
      await ws.close();
      await tcp.close();
    } finally {
      srv.stop();
    }
  });
}
