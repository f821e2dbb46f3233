// nats.js 2.29.3 — the client CREDEBL's NestJS services run — against rnatsd.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, nkeyAuthenticator, nkeys, headers, JSONCodec, ErrorCode } from "nats";
import { startServer } from "./server.mjs";

const jc = JSONCodec();

test("nkey auth with nkeyAuthenticator, as CREDEBL configures it", async () => {
  const issuance = nkeys.createUser();
  const gateway = nkeys.createUser();
  const stranger = nkeys.createUser();
  const users = [issuance, gateway]
    .map((k) => `    { nkey:${k.getPublicKey()}}`)
    .join(",\n");
  const srv = await startServer(`authorization: {\n  users: [\n${users}\n  ]\n}\n`);
  try {
    const svc = await connect({
      servers: `127.0.0.1:${srv.port}`,
      authenticator: nkeyAuthenticator(issuance.getSeed()),
      name: "issuance",
    });
    const sub = svc.subscribe('{"cmd":"issue-credential"}', { queue: "issuance" });
    (async () => {
      for await (const m of sub) {
        const h = headers();
        h.set("contextId", m.headers?.get("contextId") ?? "");
        m.respond(jc.encode({ ok: true, got: jc.decode(m.data) }), { headers: h });
      }
    })();
    await svc.flush();
    const api = await connect({
      servers: `127.0.0.1:${srv.port}`,
      authenticator: nkeyAuthenticator(gateway.getSeed()),
      maxReconnectAttempts: 120,
      reconnectTimeWait: 5000,
    });
    const h = headers();
    h.set("contextId", "ctx-9");
    const reply = await api.request('{"cmd":"issue-credential"}', jc.encode({ id: 7 }), {
      timeout: 5000,
      headers: h,
    });
    assert.deepEqual(jc.decode(reply.data), { ok: true, got: { id: 7 } });
    assert.equal(reply.headers.get("contextId"), "ctx-9");
    await assert.rejects(
      connect({
        servers: `127.0.0.1:${srv.port}`,
        authenticator: nkeyAuthenticator(stranger.getSeed()),
        maxReconnectAttempts: 0,
      }),
      (e) => e.code === ErrorCode.AuthorizationViolation,
    );
    await api.close();
    await svc.close();
  } finally {
    srv.stop();
  }
});

test("no_responders fails a request at once", async () => {
  const srv = await startServer("");
  try {
    const nc = await connect({ servers: `127.0.0.1:${srv.port}` });
    const t = Date.now();
    await assert.rejects(nc.request("nobody", jc.encode({}), { timeout: 10000 }), (e) => e.code === ErrorCode.NoResponders);
    assert.ok(Date.now() - t < 2000);
    await nc.close();
  } finally {
    srv.stop();
  }
});

test("payload over max_payload is refused, 4 MB accepted (seed config)", async () => {
  const srv = await startServer("max_payload: 4194304\n");
  try {
    const nc = await connect({ servers: `127.0.0.1:${srv.port}` });
    assert.equal(nc.info.max_payload, 4194304);
    const sub = nc.subscribe("big", { max: 1 });
    const got = (async () => {
      for await (const m of sub) return m.data.length;
    })();
    nc.publish("big", new Uint8Array(4194304));
    assert.equal(await got, 4194304);
    assert.throws(() => nc.publish("big", new Uint8Array(4194305)), (e) => e.code === ErrorCode.MaxPayloadExceeded);
    await nc.close();
  } finally {
    srv.stop();
  }
});
