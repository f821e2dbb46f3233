// nats.ws under Node.js over wss:// (websocket { tls {} }), certificates
// made at test time with openssl, talking to a TCP client (nats.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { connect as connectTcp, StringCodec } from "nats";
import { startServer } from "./server.mjs";

/** A CA and a server certificate for 127.0.0.1/localhost. */
function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), "rnatsd-wss-"));
  const f = (n) => join(dir, n);
  const ssl = (...args) => execFileSync("openssl", args, { stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
    "-keyout", f("ca-key.pem"), "-out", f("ca.pem"));
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
    "-keyout", f("server-key.pem"), "-out", f("server.csr"));
  writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"),
    "-CAcreateserial", "-days", "2", "-extfile", f("ext.cnf"), "-out", f("server.pem"));
  return { dir, f };
}

test("nats.ws over wss with a TCP peer", async () => {
  const { dir, f } = makeCerts();
  const ca = readFileSync(f("ca.pem"));
  // nats.ws builds `new WebSocket(url)`: trust the test CA for it.
  globalThis.WebSocket = class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { ca });
    }
  };
  const { connect: connectWs } = await import("nats.ws");
  const sc = StringCodec();
  const srv = await startServer(
    `websocket {\n  port: -1\n  tls {\n    cert_file: "${f("server.pem")}"\n    key_file: "${f("server-key.pem")}"\n  }\n}\n`,
  );
  try {
    assert.ok(srv.wsPort > 0);
    const ws = await connectWs({ servers: `wss://127.0.0.1:${srv.wsPort}` });
    const tcp = await connectTcp({ servers: `127.0.0.1:${srv.port}` });
    const s1 = tcp.subscribe("svc");
    (async () => {
      for await (const m of s1) m.respond(sc.encode("tcp:" + sc.decode(m.data)));
    })();
    await tcp.flush();
    const r = await ws.request("svc", sc.encode("wss"), { timeout: 5000 });
    assert.equal(sc.decode(r.data), "tcp:wss");
    const big = new Uint8Array(1000000).map((_, i) => i % 253);
    const s2 = ws.subscribe("big", { max: 1 });
    await ws.flush();
    tcp.publish("big", big);
    for await (const m of s2) {
      assert.equal(m.data.length, big.length);
      assert.deepEqual(m.data.subarray(0, 500), big.subarray(0, 500));
    }
    await ws.close();
    await tcp.close();
  } finally {
    srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
