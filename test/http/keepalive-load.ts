/**
 * Drives test/http/fixtures/service.ts in a child process with `clients` keep-alive clients (one
 * undici Client, one connection each) sending requests back to back, sends SIGTERM in the middle,
 * and classifies what every client saw. Used by load.test.ts and bench/shutdown.ts (not a test file).
 */
import { spawn as spawnProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "undici";

const SERVICE = fileURLToPath(new URL("./fixtures/service.js", import.meta.url));

/** What the clients saw, and what the service said about itself. */
export interface LoadOutcome {
  clients: number;
  /** Complete 200 responses (each checked against its request). */
  ok: number;
  /** 503 + Connection: close: told to go. */
  rejected: number;
  /** New connections refused once the listener closed (fine). */
  refused: number;
  /** ECONNRESET: a request sent on a connection the server closed under it. */
  resets: number;
  /** The connection closed with a request sent and no answer (undici "other side closed"). */
  unanswered: number;
  /** Anything else, by code. */
  other: Record<string, number>;
  /** 200 responses whose body was not the expected one. */
  corrupt: number;
  /** Requests that failed before SIGTERM was sent (by code): the load itself was too much. */
  beforeStop: Record<string, number>;
  exitCode: number | null;
  /** SIGTERM to the child's exit. */
  exitMs: number;
  /** The service's httpResource counts at the end of the drop phase (plus `served`: responses the app sent). */
  stats: { accepted: number; rejected: number; cut: number; idleClosed: number; forced: boolean; served: number; durationMs: number } | undefined;
  stderr: string;
}

function codeOf(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  if (err.cause?.code === "ECONNRESET" || err.code === "ECONNRESET") return "ECONNRESET";
  if (err.code === "ECONNREFUSED" || err.cause?.code === "ECONNREFUSED") return "ECONNREFUSED";
  return err.code ?? err.cause?.code ?? String(err.message ?? e);
}

export async function keepAliveLoad(opts: { clients: number; trafficMs: number; env?: Record<string, string> }): Promise<LoadOutcome> {
  const child = spawnProcess(process.execPath, [SERVICE], {
    env: { ...process.env, STEWARD_FIXTURE: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // A hung service must not hang the caller.
  let guard = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`service exited early (${code}): ${err}`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  const o: LoadOutcome = {
    clients: opts.clients,
    ok: 0,
    rejected: 0,
    refused: 0,
    resets: 0,
    unanswered: 0,
    other: {},
    corrupt: 0,
    beforeStop: {},
    exitCode: null,
    exitMs: 0,
    stats: undefined,
    stderr: "",
  };
  // Every client opens its connection and gets one answer first; then all send back to back.
  const clients: Client[] = [];
  for (let c = 0; c < opts.clients; c++) {
    clients.push(new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000, connectTimeout: 30_000 }));
  }
  let stopped = false;
  const fail = (code: string): void => {
    if (!stopped) o.beforeStop[code] = (o.beforeStop[code] ?? 0) + 1;
    else if (code === "ECONNREFUSED") o.refused++;
    else if (code === "ECONNRESET") o.resets++;
    else if (code === "UND_ERR_SOCKET") o.unanswered++;
    else o.other[code] = (o.other[code] ?? 0) + 1;
  };
  /** One request; false when the client is done (told to go, refused, failed). */
  const once = async (client: Client, path: string): Promise<boolean> => {
    try {
      const r = await client.request({ path, method: "GET" });
      const body = await r.body.text();
      if (r.statusCode === 200) {
        o.ok++;
        if (body !== `ok ${path}`) o.corrupt++;
        return true;
      }
      if (r.statusCode === 503) o.rejected++;
      else o.other[`status ${r.statusCode}`] = (o.other[`status ${r.statusCode}`] ?? 0) + 1;
      return false;
    } catch (e) {
      fail(codeOf(e));
      return false;
    }
  };
  const warm = await Promise.all(clients.map((client, c) => once(client, `/warm?c=${c}`)));
  const loops = clients.map(async (client, c) => {
    if (!warm[c]) return;
    for (let i = 0; await once(client, `/work?c=${c}&i=${i}`); i++);
  });
  await new Promise((r) => setTimeout(r, opts.trafficMs));
  const t0 = performance.now();
  stopped = true;
  child.kill("SIGTERM");
  clearTimeout(guard);
  guard = setTimeout(() => child.kill("SIGKILL"), 40_000);
  o.exitCode = await exited;
  o.exitMs = Math.round(performance.now() - t0);
  clearTimeout(guard);
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.destroy()));
  const m = /STATS (.*)/.exec(out);
  if (m) o.stats = JSON.parse(m[1]!) as LoadOutcome["stats"];
  o.stderr = err;
  return o;
}
