// Starts an rnatsd binary on random ports for a test and stops it after.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const RNATSD = process.env.RNATSD_BIN || resolve(here, "../../target/debug/rnatsd");

/** Starts rnatsd with `config` (text). Resolves to { port, wsPort, stop }. */
export function startServer(config = "") {
  const dir = mkdtempSync(join(tmpdir(), "rnatsd-js-"));
  const file = join(dir, "server.conf");
  writeFileSync(file, config);
  const child = spawn(RNATSD, ["-c", file, "-a", "127.0.0.1", "-p", "-1"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((ok, fail) => {
    let log = "";
    let port = 0;
    let wsPort = 0;
    const timer = setTimeout(() => fail(new Error("rnatsd did not start:\n" + log)), 10000);
    child.stderr.on("data", (d) => {
      log += d.toString();
      const m = log.match(/Listening for client connections on [^\s]+:(\d+)/);
      if (m) port = Number(m[1]);
      const w = log.match(/Listening for websocket clients on wss?:\/\/[^\s]+:(\d+)/);
      if (w) wsPort = Number(w[1]);
      if (log.includes("Server is ready") && port) {
        clearTimeout(timer);
        ok({
          port,
          wsPort,
          stop: () => {
            child.kill();
            rmSync(dir, { recursive: true, force: true });
          },
        });
      }
    });
    child.on("exit", (code) => fail(new Error(`rnatsd exited ${code}:\n${log}`)));
  });
}
