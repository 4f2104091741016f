/** Helpers for the request-scope tests of the Fastify, Express and node:http adapters (not a test file). */
import { connect, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Pool } from "undici";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through `pool` (or a fresh client); never rejects on an HTTP status. */
export async function call(origin: string, path: string, init: { method?: string; body?: string; headers?: Record<string, string>; pool?: Pool } = {}): Promise<Reply> {
  const pool = init.pool ?? new Pool(origin, { connections: 1 });
  try {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers["content-type"] ??= "application/json";
    const r = await pool.request({ path, method: (init.method ?? "GET") as "GET", body: init.body, headers });
    return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
  } finally {
    if (init.pool === undefined) await pool.close();
  }
}

/** Sends a raw request, then destroys the connection when `when` resolves; resolves with the time it did. */
export async function disconnectAfter(port: number, request: string, when: Promise<unknown>): Promise<number> {
  const socket: Socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.write(request);
  await when;
  socket.destroy();
  return performance.now();
}

/** A raw HTTP/1.1 request. */
export function rawRequest(method: string, path: string, body?: string): string {
  const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  if (body === undefined) return `${head}\r\n`;
  return `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export { deferred } from "../helpers/timing.js";

/** Resolves once `cond()` is true (checked every few ms), or rejects after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

let gcFn: (() => void) | undefined;
/** Heap in use after a full GC, in bytes. */
export function heapAfterGc(): number {
  if (gcFn === undefined) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed;
}

/** The steward task names in a runtime's dump that match `re`. */
export function names(tasks: { name?: string }[], re: RegExp): string[] {
  return tasks.map((t) => t.name ?? "").filter((n) => re.test(n));
}
