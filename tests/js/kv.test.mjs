// nats.js 2.29 key-value and object store on rnatsd: put, get, create,
// update with revision, delete, purge, keys, history, watch and a bucket
// TTL; an object of 10 MB put, read back, listed and deleted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { connect, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withJetStream(run) {
  const store = mkdtempSync(join(tmpdir(), "rnatsd-js-kv-"));
  const srv = await startServer(`jetstream { store_dir: "${store}" }\n`);
  const nc = await connect({ servers: `127.0.0.1:${srv.port}` });
  try {
    await run(nc.jetstream());
  } finally {
    await nc.close();
    srv.stop();
    rmSync(store, { recursive: true, force: true });
  }
}

test("key-value: put, get, create, update, delete, purge, keys, history, watch, TTL", async () => {
  await withJetStream(async (js) => {
    const kv = await js.views.kv("cfg", { history: 5 });
    const r1 = await kv.put("a", sc.encode("one"));
    assert.equal(r1, 1);
    assert.equal(sc.decode((await kv.get("a")).value), "one");

    // create only when absent; update only at the named revision
    assert.equal(await kv.create("b", sc.encode("bee")), 2);
    await assert.rejects(kv.create("b", sc.encode("again")));
    const r3 = await kv.update("a", sc.encode("two"), r1);
    assert.equal(r3, 3);
    await assert.rejects(kv.update("a", sc.encode("stale"), r1));

    // a watcher sees later changes of its keys
    const watch = await kv.watch({ key: "a" });
    const seen = [];
    const watching = (async () => {
      for await (const e of watch) {
        seen.push(`${e.operation}:${e.revision}`);
        if (e.operation === "DEL") break;
      }
    })();
    await sleep(200);
    await kv.put("a", sc.encode("three"));
    await kv.delete("a");
    await watching;
    watch.stop();
    assert.deepEqual(seen.slice(-2), ["PUT:4", "DEL:5"], `watch saw ${seen}`);

    const deleted = await kv.get("a");
    assert.equal(deleted.operation, "DEL");
    const history = [];
    for await (const e of await kv.history({ key: "a" })) history.push(e.operation);
    assert.deepEqual(history, ["PUT", "PUT", "PUT", "DEL"]);

    await kv.purge("b");
    assert.equal((await kv.get("b")).operation, "PURGE");
    await kv.put("c.1", sc.encode("x"));
    await kv.put("c.2", sc.encode("y"));
    const keys = [];
    for await (const k of await kv.keys()) keys.push(k);
    assert.deepEqual(keys.sort(), ["c.1", "c.2"]);

    // a bucket TTL expires entries
    const short = await js.views.kv("short", { ttl: 1000 });
    await short.put("k", sc.encode("gone soon"));
    assert.ok(await short.get("k"));
    await sleep(2500);
    assert.equal(await short.get("k"), null);
  });
});

test("object store: a 10 MB object put, read back, listed and deleted", async () => {
  await withJetStream(async (js) => {
    const os = await js.views.os("files");
    const data = randomBytes(10 * 1024 * 1024);
    const info = await os.putBlob({ name: "big.bin" }, data);
    assert.equal(info.size, data.length);
    const back = await os.getBlob("big.bin");
    assert.ok(Buffer.from(back).equals(data), "the object comes back unchanged");
    await os.putBlob({ name: "small.txt" }, sc.encode("hello"));
    const names = (await os.list()).map((o) => o.name).sort();
    assert.deepEqual(names, ["big.bin", "small.txt"]);
    await os.delete("big.bin");
    const left = (await os.list()).map((o) => o.name);
    assert.deepEqual(left, ["small.txt"]);
    assert.equal(await os.get("big.bin"), null);
  });
});
