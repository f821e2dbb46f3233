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
import { connect, StringCodec, jwtAuthenticator } from "nats";
import { createOperator, createAccount, createUser } from "nkeys.js";
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

function launch() {
  return chromium.launch({
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
}

/** Opens the test page in `context` against `wsUrl`; resolves to [status, result]. */
async function runPage(context, web, wsUrl) {
  const page = await context.newPage();
  const url = `http://127.0.0.1:${web.address().port}/?ws=${encodeURIComponent(wsUrl)}`;
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("result").textContent !== "" ||
    document.getElementById("status").textContent.startsWith("error"), null, { timeout: 15000 });
  return [await page.textContent("#status"), await page.textContent("#result")];
}

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

/** A v2 JWT of `kind` for `subject`, signed by the key pair `signer`. */
function mint(signer, subject, kind, nats) {
  const head = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = {
    jti: `J${Date.now()}${Math.random()}`,
    iat: Math.floor(Date.now() / 1000),
    iss: signer.getPublicKey(),
    name: kind,
    sub: subject,
    nats: { ...nats, type: kind, version: 2 },
  };
  const body = b64url(JSON.stringify(claims));
  const sig = signer.sign(new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(sig)}`;
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
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
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

// Operator mode with `jwt_cookie`: the browser holds a bearer user JWT in a
// cookie for the server's host, sends it with the websocket upgrade, and
// nats.ws connects without any credentials of its own. A browser without
// the cookie is refused.
test("a browser authenticates with the websocket jwt_cookie", async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium missing at ${CHROMIUM}: scripts/test.sh installs it`);
  const op = createOperator();
  const acc = createAccount();
  const sys = createAccount();
  const limits = { subs: -1, data: -1, payload: -1 };
  const accLimits = { ...limits, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const opJwt = mint(op, op.getPublicKey(), "operator", { system_account: sys.getPublicKey() });
  const accJwt = mint(op, acc.getPublicKey(), "account", { limits: accLimits });
  const sysJwt = mint(op, sys.getPublicKey(), "account", { limits: accLimits });
  const browserUser = createUser();
  const bearer = mint(acc, browserUser.getPublicKey(), "user", {
    ...limits,
    bearer_token: true,
    allowed_connection_types: ["WEBSOCKET"],
    pub: { allow: ["svc.>"] },
    sub: { allow: ["_INBOX.>"] },
  });
  const service = createUser();
  const serviceJwt = mint(acc, service.getPublicKey(), "user", limits);
  const nats = await startServer(
    `operator: ${opJwt}\nresolver: MEMORY\nresolver_preload: {\n  ${acc.getPublicKey()}: ${accJwt}\n` +
      `  ${sys.getPublicKey()}: ${sysJwt}\n}\nwebsocket {\n  port: -1\n  no_tls: true\n  jwt_cookie: "natsjwt"\n}\n`,
  );
  const web = await staticServer();
  const sc = StringCodec();
  const tcp = await connect({
    servers: `127.0.0.1:${nats.port}`,
    authenticator: jwtAuthenticator(serviceJwt, service.getSeed()),
  });
  const sub = tcp.subscribe("svc.browser");
  (async () => {
    for await (const m of sub) m.respond(sc.encode("tcp got: " + sc.decode(m.data)), { headers: m.headers });
  })();
  await tcp.flush();
  const browser = await launch();
  const wsUrl = `ws://127.0.0.1:${nats.wsPort}`;
  try {
    const withCookie = await browser.newContext();
    await withCookie.addCookies([{ name: "natsjwt", value: bearer, domain: "127.0.0.1", path: "/" }]);
    const [status, result] = await runPage(withCookie, web, wsUrl);
    assert.equal(status, "connected", status);
    assert.equal(result, "tcp got: from the browser | browser-1");
    const without = await browser.newContext();
    const [refused] = await runPage(without, web, wsUrl);
    assert.match(refused, /^error: .*Authorization Violation/i);
  } finally {
    await browser.close();
    await tcp.close();
    web.close();
    nats.stop();
  }
});
