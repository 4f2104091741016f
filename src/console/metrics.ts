/**
 * OpenTelemetry metrics through @opentelemetry/api only (no SDK is forced on users): with no
 * MeterProvider registered every instrument is the API's no-op, and the per-resume histogram is
 * not even called.
 *
 * Names follow the OTel semantic-convention rules (dot-separated namespaces, UCUM units, no
 * `.total` suffix, attributes namespaced under `steward.`):
 *
 * | instrument                          | kind                    | unit       | attributes |
 * | ----------------------------------- | ----------------------- | ---------- | ---------- |
 * | steward.task.spawned                | ObservableCounter       | {task}     | steward.runtime.name |
 * | steward.task.active                 | ObservableUpDownCounter | {task}     | steward.runtime.name |
 * | steward.task.completed              | ObservableCounter       | {task}     | steward.runtime.name, steward.task.outcome (ok, panic, cancelled) |
 * | steward.task.resume.duration        | Histogram               | s          | steward.runtime.name |
 * | steward.eventloop.blocked           | Counter                 | {episode}  | steward.blocked.source (resume, loop, supervisor) |
 * | steward.eventloop.blocked.duration  | Histogram               | s          | steward.blocked.source |
 * | steward.channel.depth               | ObservableGauge         | {message}  | steward.channel.name, steward.channel.kind |
 * | steward.resource.waiters            | ObservableGauge         | {waiter}   | steward.resource.name, steward.resource.kind |
 *
 * Counts are observed (read at collection time), so spawning costs nothing for metrics.
 */
import { createNoopMeter, type Histogram, type Meter, type MeterProvider, metrics, type Observable, type ObservableResult } from "@opentelemetry/api";
import { readFileSync } from "node:fs";
import { onEpisode } from "./collector.js";
import { collectResources } from "./resources.js";
import type { BlockedEpisode } from "./types.js";

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "0.0.0";
  }
})();

/** The instrumentation scope name of every steward meter. */
export const METER_NAME = "steward";

const NOOP_HISTOGRAM_CLASS = (createNoopMeter().createHistogram("x") as object).constructor;

/** Resume durations: 1 µs … 10 s. */
const RESUME_BUCKETS = [0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
const BLOCKED_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the metrics read from one runtime's console. */
export interface MetricsSource {
  readonly runtimeName: string;
  readonly liveCount: number;
  readonly spawned: number;
  readonly completed: { ok: number; panic: number; cancelled: number };
}

/** One runtime's instruments. */
export class ConsoleMetrics {
  /** Null when the provider is a no-op: the per-resume hot path then skips the call. */
  readonly resumeHist: Histogram | null;
  readonly attrs: Record<string, string>;
  private readonly meter: Meter;
  private readonly observables: [Observable, (r: ObservableResult) => void][] = [];
  private readonly releaseShared: () => void;

  constructor(provider: MeterProvider | undefined, src: MetricsSource) {
    const p = provider ?? metrics.getMeterProvider();
    this.meter = p.getMeter(METER_NAME, VERSION);
    const attrs = { "steward.runtime.name": src.runtimeName };
    this.attrs = attrs;
    const m = this.meter;
    const hist = m.createHistogram("steward.task.resume.duration", {
      unit: "s",
      description: "Duration of each resume of a task: its first run, and each continuation after an await.",
      advice: { explicitBucketBoundaries: RESUME_BUCKETS },
    });
    this.resumeHist = (hist as object).constructor === NOOP_HISTOGRAM_CLASS ? null : hist;
    this.observe(m.createObservableCounter("steward.task.spawned", { unit: "{task}", description: "Tasks spawned on the runtime." }), (r) =>
      r.observe(src.spawned, attrs),
    );
    this.observe(m.createObservableUpDownCounter("steward.task.active", { unit: "{task}", description: "Tasks that have not ended." }), (r) =>
      r.observe(src.liveCount, attrs),
    );
    this.observe(m.createObservableCounter("steward.task.completed", { unit: "{task}", description: "Tasks that ended, by outcome." }), (r) => {
      const c = src.completed;
      r.observe(c.ok, { ...attrs, "steward.task.outcome": "ok" });
      r.observe(c.panic, { ...attrs, "steward.task.outcome": "panic" });
      r.observe(c.cancelled, { ...attrs, "steward.task.outcome": "cancelled" });
    });
    this.releaseShared = shared(p);
  }

  private observe(o: Observable, cb: (r: ObservableResult) => void): void {
    o.addCallback(cb);
    this.observables.push([o, cb]);
  }

  close(): void {
    for (const [o, cb] of this.observables) o.removeCallback(cb);
    this.observables.length = 0;
    this.releaseShared();
  }
}

/** Process-wide instruments (the loop and the resources), once per provider, shared by consoles. */
interface Shared {
  refs: number;
  release(): void;
}
const sharedByProvider = new Map<MeterProvider, Shared>();

function shared(p: MeterProvider): () => void {
  let s = sharedByProvider.get(p);
  if (s === undefined) {
    const m = p.getMeter(METER_NAME, VERSION);
    const blocked = m.createCounter("steward.eventloop.blocked", { unit: "{episode}", description: "Episodes of a blocked event loop." });
    const blockedDur = m.createHistogram("steward.eventloop.blocked.duration", {
      unit: "s",
      description: "How long the event loop was blocked, per episode.",
      advice: { explicitBucketBoundaries: BLOCKED_BUCKETS },
    });
    const off = onEpisode((e: BlockedEpisode) => {
      const a = { "steward.blocked.source": e.source };
      blocked.add(1, a);
      blockedDur.record(e.durationMs / 1000, a);
    });
    const depth = m.createObservableGauge("steward.channel.depth", { unit: "{message}", description: "Messages buffered in a channel." });
    const waiters = m.createObservableGauge("steward.resource.waiters", { unit: "{waiter}", description: "Waiters queued on a lock, semaphore, channel or other resource." });
    const batch = (r: { observe(o: Observable, v: number, a?: Record<string, string>): void }): void => {
      for (const res of collectResources([])) {
        const d = res.details;
        if (d !== undefined && typeof d.length === "number" && /^(channel|broadcast)$/.test(res.kind)) {
          r.observe(depth, d.length, { "steward.channel.name": res.id, "steward.channel.kind": d.capacity === "unbounded" ? "unbounded" : res.kind });
        }
        r.observe(waiters, res.waiters, { "steward.resource.name": res.id, "steward.resource.kind": res.kind });
      }
    };
    m.addBatchObservableCallback(batch, [depth, waiters]);
    s = {
      refs: 0,
      release: () => {
        off();
        m.removeBatchObservableCallback(batch, [depth, waiters]);
      },
    };
    sharedByProvider.set(p, s);
  }
  s.refs++;
  const entry = s;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--entry.refs === 0) {
      entry.release();
      sharedByProvider.delete(p);
    }
  };
}
