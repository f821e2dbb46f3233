// nats.js 2.29 JetStream as CREDEBL's notification service drives it: a
// workqueue stream with a durable pull consumer read with consume(),
// nak(delay) and max_deliver, ack subjects parked in a KV bucket and acked
// later by plain publishes, and a kill -9 of the server mid-run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, nanos, StringCodec } from "nats";
import { RNATSD } from "./server.mjs";

const sc = StringCodec();

/** Starts rnatsd with JetStream in `dir` on `port` (-1: any). Resolves to { port, child }. */
function start(dir, port) {
  const child = spawn(RNATSD, ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((ok, fail) => {
    let log = "";
    const timer = setTimeout(() => fail(new Error("rnatsd did not start:\n" + log)), 15000);
    child.stderr.on("data", (d) => {
      log += d.toString();
      const m = log.match(/Listening for client connections on [^\s]+:(\d+)/);
      if (m && log.includes("Server is ready")) {
        clearTimeout(timer);
        ok({ port: Number(m[1]), child });
      }
    });
    child.on("exit", (code, sig) => {
      if (!log.includes("Server is ready")) fail(new Error(`rnatsd exited ${code} ${sig}:\n${log}`));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reads from consume() until `done(m)` says stop or `quiet` ms pass without a message. */
async function drain(consumer, handle, quiet = 1500) {
  const iter = await consumer.consume({ max_messages: 10, expires: 2000 });
  let last = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - last > quiet) iter.stop();
  }, 100);
  try {
    for await (const m of iter) {
      last = Date.now();
      if ((await handle(m)) === false) break;
    }
  } finally {
    clearInterval(timer);
    iter.stop();
  }
}

test("workqueue, durable pull consume, nak(delay), max_deliver, KV-parked acks, kill -9", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rnatsd-js-js-"));
  let srv = await start(dir, -1);
  const port = srv.port;
  const nc = await connect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: "notifications",
      subjects: ["notify.>"],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    await jsm.consumers.add("notifications", {
      durable_name: "hub-pull-consumer",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(3000),
      max_deliver: 4,
    });
    const js = nc.jetstream();
    const total = 40;
    for (let i = 0; i < total; i++) {
      await js.publish(`notify.user.${i % 4}`, sc.encode(String(i)));
    }
    const kv = await js.views.kv("acks");
    const consumer = await js.consumers.get("notifications", "hub-pull-consumer");

    // Phase 1: odd ids acked with an AckAck, even ids parked in the KV
    // bucket, ids divisible by 5 nak'ed once with a delay first; id 3 left.
    const ackAcked = new Set();
    const parked = new Set();
    const naked = new Set();
    await drain(consumer, async (m) => {
      const id = Number(sc.decode(m.data));
      if (id === 3) return;
      if (id % 5 === 0 && !naked.has(id)) {
        naked.add(id);
        m.nak(100);
        return;
      }
      if (id % 2 === 1) {
        assert.equal(await m.ackAck(), true);
        ackAcked.add(id);
      } else {
        await kv.put(`m${id}`, sc.encode(m.reply));
        parked.add(id);
      }
      const handled = (x) => ackAcked.has(x) || parked.has(x);
      if (ackAcked.size + parked.size >= 30 && [...naked].every(handled)) return false;
    });
    assert.ok(ackAcked.size > 10 && parked.size > 10, `${ackAcked.size} acked, ${parked.size} parked`);
    for (const id of naked) {
      assert.ok(ackAcked.has(id) || parked.has(id), `nak'ed id ${id} came back`);
    }

    // kill -9 mid-run, restart on the same store directory and port.
    srv.child.kill("SIGKILL");
    await sleep(300);
    srv = await start(dir, port);
    await sleep(500);

    // The parked acks go out as plain publishes to the parked subjects.
    for (const id of parked) {
      const e = await kv.get(`m${id}`);
      assert.ok(e, `parked ack of ${id} is in the bucket`);
      nc.publish(sc.decode(e.value), sc.encode("+ACK"));
    }
    await nc.flush();

    // Phase 2: only un-acked messages come back; id 3 is nak'ed until max_deliver.
    const back = new Set();
    let lastDc3 = 0;
    let reply3 = "";
    await drain(consumer, async (m) => {
      const id = Number(sc.decode(m.data));
      assert.ok(!ackAcked.has(id), `id ${id} was acked with an AckAck before the kill`);
      assert.ok(!parked.has(id), `id ${id} was acked from the bucket`);
      if (id === 3) {
        lastDc3 = m.info.redeliveryCount;
        reply3 = m.reply;
        m.nak();
        return;
      }
      back.add(id);
      assert.equal(await m.ackAck(), true);
    }, 2500);
    const expected = [];
    for (let i = 0; i < total; i++) if (i !== 3 && !ackAcked.has(i) && !parked.has(i)) expected.push(i);
    assert.deepEqual([...back].sort((a, b) => a - b), expected);
    assert.equal(lastDc3, 4, "id 3 is delivered max_deliver times, no more");

    // The last delivery of id 3, parked and acked late: the queue ends empty.
    await kv.put("m3", sc.encode(reply3));
    const e3 = await kv.get("m3");
    nc.publish(sc.decode(e3.value), sc.encode("+ACK"));
    await nc.flush();
    await sleep(300);
    const si = await jsm.streams.info("notifications");
    assert.equal(si.state.messages, 0, "the workqueue ends empty");
    const ci = await jsm.consumers.info("notifications", "hub-pull-consumer");
    assert.equal(ci.num_ack_pending, 0);
    assert.equal(ci.num_pending, 0);
  } finally {
    await nc.close();
    srv.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
