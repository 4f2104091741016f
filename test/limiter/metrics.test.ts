/**
 * A Limiter's counts reach the console's resource view and OpenTelemetry, in the shape a user
 * has them: the Fastify plugin's own limiter (`concurrency`/`queue` options) and a Limiter made
 * at module level, before the runtime (for a downstream), used inside a real Fastify route on
 * 127.0.0.1, with the console on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { Runtime } from "../../src/index.js";
import { consoleOf } from "../../src/console/index.js";
import { fastifySteward, Limiter } from "../../src/http/fastify.js";
import { call, deferred } from "../http/scope-helpers.js";

/** Collects on demand (what a periodic exporter does on its timer): the in-memory reader. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

type Metric = ResourceMetrics["scopeMetrics"][number]["metrics"][number];

async function collect(reader: TestReader): Promise<Map<string, Metric>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const out = new Map<string, Metric>();
  for (const sm of resourceMetrics.scopeMetrics) if (sm.scope.name === "steward") for (const m of sm.metrics) out.set(m.descriptor.name, m);
  return out;
}

/** The value of `name`'s data point for `limiter` (and `reason`). */
function point(m: Map<string, Metric>, name: string, limiter: string, reason?: string): unknown {
  const metric = m.get(name);
  assert.ok(metric !== undefined, `${name} (got ${[...m.keys()].join(", ")})`);
  const p = metric.dataPoints.find((d) => d.attributes["steward.limiter.name"] === limiter && (reason === undefined || d.attributes["steward.limiter.reason"] === reason));
  assert.ok(p !== undefined, `${name} has no point for ${limiter} ${reason ?? ""}: ${JSON.stringify(metric.dataPoints.map((d) => d.attributes))}`);
  return p.value;
}

interface Row {
  id: string;
  kind: string;
  label: string;
  waiters: number;
  details?: Record<string, unknown>;
}

async function resources(url: string): Promise<Row[]> {
  const r = await fetch(`${url}api/snapshot`);
  assert.equal(r.status, 200);
  return ((await r.json()) as { resources: Row[] }).resources;
}

/** The console's resources once `ok` holds for them (the server reuses a snapshot for a few ms). */
async function resourcesWhen(url: string, ok: (rows: Row[]) => boolean, what: string): Promise<Row[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await resources(url);
    if (ok(rows)) return rows;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(rows)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const isPlugin = (x: Row): boolean => x.kind === "Limiter" && /^Limiter#\d+ "fastify"$/.test(x.label);

// Made at module level, before any runtime or console: it is announced at its first admission.
const downstream = new Limiter({ concurrency: 1, label: "downstream" });

void test("the console's snapshot and an OTel MeterProvider show a Fastify service's limiters and their counts", { timeout: 30_000 }, async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const rt = new Runtime({ name: "svc", console: { port: 0, metrics: provider } });
  const app = Fastify();
  await app.register(fastifySteward, { runtime: rt, concurrency: 1, queue: 1, drain: false });
  const release = deferred();
  const inside = deferred();
  app.get("/slow", async () => {
    inside.resolve();
    await release.promise;
    return "slow";
  });
  app.get("/down", async () => downstream.run(async () => "down"));
  try {
    const url = await consoleOf(rt)!.listening();
    await app.listen({ port: 0, host: "127.0.0.1" });
    const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    // One request holds the plugin's only slot, one waits in its queue, a third is shed.
    const first = call(origin, "/slow");
    await inside.promise;
    const second = call(origin, "/slow");
    await resourcesWhen(url, (rows) => rows.find(isPlugin)?.waiters === 1, "the plugin's limiter shows the queued request");
    const shed = await call(origin, "/slow");
    assert.equal(shed.status, 503);

    let rows = await resourcesWhen(url, (r) => r.find(isPlugin)?.details?.shed === 1, "the shed request is counted");
    const row = rows.find(isPlugin)!;
    const name = row.label;
    assert.match(name, /^Limiter#\d+ "fastify"$/);
    assert.equal(row.waiters, 1);
    assert.equal(row.details?.running, 1);
    assert.equal(row.details?.queued, 1);
    assert.equal(row.details?.concurrency, 1);
    assert.equal(row.details?.queueLimit, 1);

    let m = await collect(reader);
    assert.equal(point(m, "steward.limiter.queue.depth", name), 1);
    assert.equal(point(m, "steward.limiter.running", name), 1);
    assert.equal(point(m, "steward.limiter.rejected", name, "queue_full"), 1);
    assert.equal(m.get("steward.limiter.queue.depth")!.descriptor.unit, "{job}");

    release.resolve();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
    // The module-level limiter, used inside a route (whose requests the plugin's limiter admits too).
    for (let i = 0; i < 3; i++) assert.equal((await call(origin, "/down")).body, "down");

    rows = await resourcesWhen(url, (r) => r.find(isPlugin)?.details?.admitted === 5 && r.some((x) => x.label === downstream.name), "the served requests are counted");
    const after = rows.find((x) => x.label === name)!;
    assert.equal(after.waiters, 0);
    assert.equal(after.details?.admitted, 5);
    assert.equal(after.details?.waited, 1);
    assert.ok((after.details?.waitMsTotal as number) > 0);
    const down = rows.find((x) => x.kind === "Limiter" && x.label === downstream.name);
    assert.ok(down !== undefined, `the module-level limiter is listed: ${JSON.stringify(rows.map((x) => x.label))}`);
    assert.equal(down.details?.admitted, 3);

    m = await collect(reader);
    assert.equal(point(m, "steward.limiter.admitted", name), 5);
    assert.equal(point(m, "steward.limiter.queue.depth", name), 0);
    assert.equal(point(m, "steward.limiter.rejected", name, "queue_full"), 1);
    assert.equal(point(m, "steward.limiter.rejected", name, "queue_timeout"), 0);
    assert.equal(point(m, "steward.limiter.rejected", name, "rate_limited"), 0);
    const waits = point(m, "steward.limiter.wait.duration", name) as { count: number; sum: number; max?: number };
    assert.equal(waits.count, 5, "one wait per admission");
    assert.ok(waits.sum > 0, `the queued request's wait is recorded: ${JSON.stringify(waits)}`);
    assert.equal(m.get("steward.limiter.wait.duration")!.descriptor.unit, "s");
    assert.equal(point(m, "steward.limiter.admitted", downstream.name), 3);
  } finally {
    release.resolve();
    await app.close();
    await rt.shutdown();
    await provider.shutdown();
  }
});

void test("rate-limited and queue-timeout rejections are counted by reason; the observer is removed with the last console", { timeout: 30_000 }, async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const rt = new Runtime({ name: "rates", console: { server: false, metrics: provider } });
  const lim = new Limiter({ concurrency: 1, queueTimeoutMs: 20, rate: { perSecond: 1, burst: 2 }, label: "rates" });
  const hold = deferred();
  try {
    const held = lim.run(() => hold.promise);
    const timedOut = lim.run(() => "late"); // takes the second token, and waits
    await assert.rejects(
      lim.run(() => "third"),
      { name: "RateLimitedError" },
    );
    await assert.rejects(timedOut, { name: "OverloadedError" });
    hold.resolve();
    await held;
    const m = await collect(reader);
    assert.equal(point(m, "steward.limiter.rejected", lim.name, "queue_timeout"), 1);
    assert.equal(point(m, "steward.limiter.rejected", lim.name, "rate_limited"), 1);
    assert.equal(point(m, "steward.limiter.admitted", lim.name), 1);
    const dump = rt.dump() as { console?: { resources: Row[] } };
    const row = dump.console?.resources.find((r) => r.label === lim.name);
    assert.equal(row?.details?.rateLimited, 1);
    assert.equal(row?.details?.queueTimeouts, 1);
  } finally {
    hold.resolve();
    await rt.shutdown();
  }
  // No console left: nothing observes limiters (their counts stay in `stats`).
  const { observer } = await import("../../src/limiter/observe.js");
  assert.equal(observer, null);
  await provider.shutdown();
});
