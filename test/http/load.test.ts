import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Pool } from "undici";
import { Runtime, httpResource } from "../../src/index.js";
import { deferred, delay, listen, openFileLimit } from "./helpers.js";
import { keepAliveLoad } from "./keepalive-load.js";

const IN_FLIGHT = 1000;
const BODY = 4096;

function bodyOf(id: string): string {
  return `id=${id};`.padEnd(BODY, "x");
}

type Outcome = { status: number; body: string } | { error: string };

async function fetchVia(pool: Pool, path: string): Promise<Outcome> {
  try {
    const r = await pool.request({ path, method: "GET" });
    return { status: r.statusCode, body: await r.body.text() };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
}

void test("1,000 keep-alive requests in flight when shutdown starts: every accepted one completes, late ones get 503 or are refused", { timeout: 60_000 }, async (t) => {
  // Client and server share this process: two descriptors per connection.
  const limit = openFileLimit() ?? 1024;
  const connections = Math.max(50, Math.min(IN_FLIGHT, Math.floor((limit - 200) / 2)));
  const pipelining = Math.ceil(IN_FLIGHT / connections);

  const rt = new Runtime({ name: "load" });
  const gate = deferred();
  const allIn = deferred();
  let stopAt = Infinity;
  const accepted = new Map<string, number>(); // id -> when the application got it
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/warm") {
      res.end("warm");
      return;
    }
    const id = url.searchParams.get("id") ?? "?";
    accepted.set(id, performance.now());
    if (accepted.size === IN_FLIGHT) allIn.resolve();
    const body = bodyOf(id);
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": String(BODY) });
    res.write(body.slice(0, BODY / 2));
    // The second half only once shutdown has started, spread over 200 ms.
    void gate.promise.then(() => setTimeout(() => res.end(body.slice(BODY / 2)), Math.random() * 200));
  });
  const web = httpResource(server, { runtime: rt });
  const port = await listen(server, 4096);
  const origin = `http://127.0.0.1:${port}`;
  const pool = new Pool(origin, { connections, pipelining, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 });
  try {
    // Open the connections and make them keep-alive connections that have served a request.
    const t0 = performance.now();
    const warm = await Promise.all(Array.from({ length: IN_FLIGHT }, () => fetchVia(pool, "/warm")));
    assert.ok(warm.every((o) => "status" in o && o.status === 200));
    const tWarm = performance.now() - t0;

    const main = Array.from({ length: IN_FLIGHT }, (_, i) => fetchVia(pool, `/work?id=${i}`));
    await allIn.promise;
    const tIn = performance.now() - t0 - tWarm;
    assert.equal(web.inFlight, IN_FLIGHT);

    stopAt = performance.now();
    const shutdown = rt.shutdown({ timeoutMs: 10_000 });
    // Requests after the stop: on the same keep-alive pool, and on new connections.
    const lateSame = Array.from({ length: 200 }, (_, i) => fetchVia(pool, `/work?id=late-${i}`));
    const fresh = new Pool(origin, { connections: 20 });
    const lateNew = Array.from({ length: 100 }, (_, i) => fetchVia(fresh, `/work?id=new-${i}`));
    await delay(50);
    gate.resolve();

    const results = await Promise.all(main);
    const report = await shutdown;
    const late = [...(await Promise.all(lateSame)), ...(await Promise.all(lateNew))];
    await fresh.destroy();

    // Every request the application accepted got its complete response; none was cut.
    const broken = results.map((o, i) => ({ i, o })).filter(({ i, o }) => !("status" in o) || o.status !== 200 || o.body !== bodyOf(String(i)));
    assert.deepEqual(broken.slice(0, 5), [], `${broken.length} accepted request(s) without a complete response`);
    assert.equal(accepted.size, IN_FLIGHT, "the application saw nothing after the stop");
    for (const at of accepted.values()) assert.ok(at < stopAt);

    // Late requests: 503 (with Connection: close) or refused/closed, never served.
    const kinds = new Map<string, number>();
    for (const o of late) {
      const k = "status" in o ? String(o.status) : o.error;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
      if ("status" in o) assert.equal(o.status, 503, `a late request got ${o.status}`);
    }
    assert.ok(!kinds.has("200"));

    // Within the deadline, clean, nothing cut.
    assert.equal(report.clean, true, JSON.stringify(report.disposeErrors));
    assert.ok(report.durationMs < 10_000, `shutdown took ${report.durationMs} ms`);
    assert.equal(web.stats.cut, 0);
    assert.equal(web.stats.forced, false);
    assert.equal(web.state, "closed");
    t.diagnostic(`warm-up ${Math.round(tWarm)} ms; in flight after ${Math.round(tIn)} ms; late outcomes: ${JSON.stringify(Object.fromEntries(kinds))}; shutdown ${report.durationMs} ms`);
  } finally {
    await pool.destroy();
  }
});

void test("1,000 keep-alive clients sending back to back through SIGTERM (a runMain service in a child process): nothing accepted is cut, nothing is reset", { timeout: 120_000 }, async (t) => {
  // The clients are in this process, the service in its own: one descriptor per connection each.
  const limit = openFileLimit() ?? 1024;
  const clients = Math.max(50, Math.min(1000, limit - 200));
  const o = await keepAliveLoad({ clients, trafficMs: 300 });
  const { stderr, ...counts } = o;
  t.diagnostic(JSON.stringify(counts));
  assert.deepEqual(o.beforeStop, {}, `the load failed before SIGTERM was sent: ${stderr}`);
  assert.equal(o.exitCode, 0, stderr);
  assert.match(stderr, /shutdown clean in/);
  assert.ok(o.stats !== undefined, "the service printed its counts");
  assert.equal(o.stats.cut, 0, "no accepted request was cut");
  assert.equal(o.ok, o.stats.served, "every response the application sent arrived, complete");
  assert.equal(o.corrupt, 0);
  assert.equal(o.stats.accepted, o.stats.served + o.stats.rejected, "every request that reached the server was answered: 200 or 503");
  // Every client ends told to go (503 + Connection: close, or Connection: close on its last
  // response and then a refused connection), never with a reset or an unanswered request.
  assert.deepEqual({ resets: o.resets, unanswered: o.unanswered, other: o.other }, { resets: 0, unanswered: 0, other: {} });
  assert.equal(o.rejected + o.refused, clients);
});
