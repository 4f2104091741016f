/**
 * steward's metrics reach a real OpenTelemetry SDK (@opentelemetry/sdk-metrics, a devDependency,
 * with the application's @opentelemetry/api: steward's is an optional peer, so npm installs one
 * copy): a MeterProvider passed in, and one registered globally. Names from the semantic
 * conventions (nodejs.eventloop.*) appear next to steward's own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { metrics } from "@opentelemetry/api";
import { MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { channel, Runtime, sleep } from "../../src/index.js";
import { tick } from "./helpers.js";

/** Collects on demand (what a periodic exporter does on its timer). */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function names(reader: TestReader): Promise<Map<string, ResourceMetrics["scopeMetrics"][number]["metrics"][number]>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const out = new Map<string, ResourceMetrics["scopeMetrics"][number]["metrics"][number]>();
  for (const sm of resourceMetrics.scopeMetrics) if (sm.scope.name === "steward") for (const m of sm.metrics) out.set(m.descriptor.name, m);
  return out;
}

async function workload(rt: Runtime): Promise<void> {
  const [tx, rx] = channel<number>(4);
  await tx.send(1);
  await Promise.all([rt.spawn(() => sleep(2)), rt.spawn(() => sleep(3)), rt.spawn(async () => rx.recv())]);
  await tick(1100); // one loop sample
}

void test("a MeterProvider passed in gets steward's metrics and the nodejs.eventloop ones", { timeout: 30_000 }, async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const rt = new Runtime({ name: "passed", console: { server: false, metrics: provider } });
  try {
    await workload(rt);
    const m = await names(reader);
    for (const n of [
      "steward.task.spawned",
      "steward.task.active",
      "steward.task.completed",
      "steward.task.resume.duration",
      "nodejs.eventloop.utilization",
      "nodejs.eventloop.delay.p99",
      "nodejs.eventloop.delay.max",
      "nodejs.eventloop.time",
    ]) {
      assert.ok(m.has(n), `${n} (got ${[...m.keys()].join(", ")})`);
    }
    const spawned = m.get("steward.task.spawned")!.dataPoints[0]!;
    assert.equal(spawned.value, 3);
    assert.deepEqual(spawned.attributes, { "steward.runtime.name": "passed" });
    assert.equal(m.get("nodejs.eventloop.utilization")!.descriptor.unit, "1");
    assert.equal(m.get("nodejs.eventloop.delay.p99")!.descriptor.unit, "s");
    const elu = m.get("nodejs.eventloop.utilization")!.dataPoints[0]!.value as number;
    assert.ok(elu >= 0 && elu <= 1, `utilization ${elu}`);
    const states = m
      .get("nodejs.eventloop.time")!
      .dataPoints.map((p) => p.attributes["nodejs.eventloop.state"])
      .sort();
    assert.deepEqual(states, ["active", "idle"]);
    const resumes = m.get("steward.task.resume.duration")!.dataPoints[0]!.value as { count: number };
    assert.ok(resumes.count >= 3, `${resumes.count} resumes`);
  } finally {
    await rt.shutdown();
    await provider.shutdown();
  }
});

void test("a MeterProvider registered globally (the usual SDK setup) gets them without being passed", { timeout: 30_000 }, async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  assert.equal(metrics.setGlobalMeterProvider(provider), true);
  const rt = new Runtime({ name: "global", console: { server: false } });
  try {
    await workload(rt);
    const m = await names(reader);
    const completed = m.get("steward.task.completed")!.dataPoints.find((p) => p.attributes["steward.task.outcome"] === "ok");
    assert.equal(completed?.value, 3);
    assert.ok(m.has("nodejs.eventloop.delay.mean"));
  } finally {
    await rt.shutdown();
    metrics.disable();
    await provider.shutdown();
  }
});
