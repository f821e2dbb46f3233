// A real browser: headless Chromium loads a page that imports nats.ws (from
// node_modules, served by this test), connects to rnatsd over websocket,
// sends a request with a header to a TCP responder (nats.js), and writes
// the reply into the DOM, which the test reads back. Playwright starts the
// browser with a fresh, empty profile of its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { resolve, dirname, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { connect, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript" };

function staticServer() {
  const srv = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = path.startsWith("/node_modules/")
      ? resolve(here, "." + path)
      : resolve(here, "page", "." + (path === "/" ? "/index.html" : path));
    if (!file.startsWith(here)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => srv.listen(0, "127.0.0.1", () => ok(srv)));
}

test("nats.ws in headless Chromium does request/reply through rnatsd", async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium missing at ${CHROMIUM}: scripts/test.sh installs it`);
  const nats = await startServer("websocket {\n  port: -1\n  no_tls: true\n}\n");
  const web = await staticServer();
  const sc = StringCodec();
  const tcp = await connect({ servers: `127.0.0.1:${nats.port}` });
  const sub = tcp.subscribe("svc.browser");
  (async () => {
    for await (const m of sub) m.respond(sc.encode("tcp got: " + sc.decode(m.data)), { headers: m.headers });
  })();
  await tcp.flush();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    const url = `http://127.0.0.1:${web.address().port}/?ws=${encodeURIComponent(`ws://127.0.0.1:${nats.wsPort}`)}`;
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("result").textContent !== "" ||
      document.getElementById("status").textContent.startsWith("error"), null, { timeout: 15000 });
    const status = await page.textContent("#status");
    const result = await page.textContent("#result");
    assert.equal(status, "connected", status);
    assert.equal(result, "tcp got: from the browser | browser-1");
    const shot = resolve(here, "../../target/websocket-browser.png");
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);
  } finally {
    await browser.close();
    await tcp.close();
    web.close();
    nats.stop();
  }
});
