/**
 * OpenTelemetry metrics. `@opentelemetry/api` is an optional peer dependency: steward uses the
 * copy the application installed (so its metrics reach the application's MeterProvider), loads
 * it only when a console with metrics starts, and needs none at all when given a provider.
 * With no SDK registered every instrument is the API's no-op and the per-resume histogram is not
 * even called.
 *
 * steward's own names follow the OTel naming rules (dot-separated namespaces, UCUM units, no
 * `.total` suffix, attributes namespaced under `steward.`); the event loop's also appear under
 * the semantic conventions' `nodejs.eventloop.*` names:
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
 * | nodejs.eventloop.delay.min/max/mean/stddev/p50/p90/p99 | ObservableGauge | s | (semantic conventions; over the last second) |
 * | nodejs.eventloop.utilization        | ObservableGauge         | 1          | (semantic conventions; over the last second) |
 * | nodejs.eventloop.time               | ObservableCounter       | s          | nodejs.eventloop.state (active, idle) |
 *
 * Counts are observed (read at collection time), so spawning costs nothing for metrics. A blocked
 * episode is counted once, with its final duration, when it has settled (see model/episodes.ts).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Collector } from "../instrument/collector.js";
import type { LoopFigures } from "../instrument/loop.js";
import { collectResources } from "../model/resources.js";
import { packageFile } from "../../util/own-files.js";
import type { BlockedEpisode } from "../model/types.js";

/** Attributes as steward records them. */
export type MetricAttributes = Record<string, string | number | boolean>;

/** A histogram, as steward records into it. */
export interface HistogramLike {
  record(value: number, attributes?: MetricAttributes): void;
}

/** A counter, as steward adds to it. */
export interface CounterLike {
  add(value: number, attributes?: MetricAttributes): void;
}

/** What an observable callback is handed. */
export interface ObservableResultLike {
  observe(value: number, attributes?: MetricAttributes): void;
}

/** An observable instrument. */
export interface ObservableLike {
  addCallback(callback: (result: ObservableResultLike) => void): void;
  removeCallback(callback: (result: ObservableResultLike) => void): void;
}

/** What a batch observable callback is handed. */
export interface BatchObservableResultLike {
  observe(observable: ObservableLike, value: number, attributes?: MetricAttributes): void;
}

/** Options steward passes when it creates an instrument. */
export interface InstrumentOptionsLike {
  unit?: string;
  description?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/**
 * The part of an OpenTelemetry `Meter` steward uses. Structural, so a Meter of any
 * `@opentelemetry/api` 1.x copy fits.
 */
export interface MeterLike {
  createHistogram(name: string, options?: InstrumentOptionsLike): HistogramLike;
  createCounter(name: string, options?: InstrumentOptionsLike): CounterLike;
  createObservableCounter(name: string, options?: InstrumentOptionsLike): ObservableLike;
  createObservableUpDownCounter(name: string, options?: InstrumentOptionsLike): ObservableLike;
  createObservableGauge(name: string, options?: InstrumentOptionsLike): ObservableLike;
  addBatchObservableCallback(callback: (result: BatchObservableResultLike) => void, observables: ObservableLike[]): void;
  removeBatchObservableCallback(callback: (result: BatchObservableResultLike) => void, observables: ObservableLike[]): void;
}

/**
 * An OpenTelemetry `MeterProvider` (the SDK's, or any object with `getMeter`). Structural, so a
 * provider built with any `@opentelemetry/api` 1.x copy type-checks.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}

/** steward's version, the version of every steward meter's instrumentation scope. */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "0.0.0";
  }
})();

/** The instrumentation scope name of every steward meter. */
export const METER_NAME = "steward";

interface OtelApi {
  metrics: { getMeterProvider(): MeterProviderLike };
  createNoopMeter(): MeterLike;
}

let api: OtelApi | null | undefined;

/** The application's `@opentelemetry/api`, or null when it is not installed. */
function loadApi(): OtelApi | null {
  if (api !== undefined) return api;
  try {
    // Resolved from the application (steward is its dependency): the copy its SDK registered with.
    api = createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
  } catch {
    api = null;
  }
  return api;
}

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

/** The provider to use: the one given, else the global one (a no-op without an SDK), or undefined without the API. */
export function resolveProvider(given: MeterProviderLike | undefined): MeterProviderLike | undefined {
  if (given !== undefined) return given;
  return loadApi()?.metrics.getMeterProvider();
}

function isNoop(h: HistogramLike): boolean {
  const a = loadApi();
  if (a === null) return false;
  try {
    return (h as object).constructor === (a.createNoopMeter().createHistogram("x") as object).constructor;
  } catch {
    return false;
  }
}

/** One runtime's instruments. */
export class ConsoleMetrics {
  /** Null when the provider is a no-op: the per-resume hot path then skips the call. */
  readonly resumeHist: HistogramLike | null;
  readonly attrs: Record<string, string>;
  private readonly observables: [ObservableLike, (r: ObservableResultLike) => void][] = [];
  private readonly releaseShared: () => void;

  constructor(provider: MeterProviderLike, src: MetricsSource, collector: Collector) {
    const m = provider.getMeter(METER_NAME, VERSION);
    const attrs = { "steward.runtime.name": src.runtimeName };
    this.attrs = attrs;
    const hist = m.createHistogram("steward.task.resume.duration", {
      unit: "s",
      description: "Duration of each resume of a task: its first run, and each continuation after an await.",
      advice: { explicitBucketBoundaries: RESUME_BUCKETS },
    });
    this.resumeHist = isNoop(hist) ? null : hist;
    this.observe(m.createObservableCounter("steward.task.spawned", { unit: "{task}", description: "Tasks spawned on the runtime." }), (r) => r.observe(src.spawned, attrs));
    this.observe(m.createObservableUpDownCounter("steward.task.active", { unit: "{task}", description: "Tasks that have not ended." }), (r) => r.observe(src.liveCount, attrs));
    this.observe(m.createObservableCounter("steward.task.completed", { unit: "{task}", description: "Tasks that ended, by outcome." }), (r) => {
      const c = src.completed;
      r.observe(c.ok, { ...attrs, "steward.task.outcome": "ok" });
      r.observe(c.panic, { ...attrs, "steward.task.outcome": "panic" });
      r.observe(c.cancelled, { ...attrs, "steward.task.outcome": "cancelled" });
    });
    this.releaseShared = shared(provider, collector);
  }

  private observe(o: ObservableLike, cb: (r: ObservableResultLike) => void): void {
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
const sharedByProvider = new Map<MeterProviderLike, Shared>();

const DELAY_GAUGES: [string, keyof LoopFigures, string][] = [
  ["nodejs.eventloop.delay.min", "delayMinMs", "Event loop minimum delay."],
  ["nodejs.eventloop.delay.max", "delayMaxMs", "Event loop maximum delay."],
  ["nodejs.eventloop.delay.mean", "delayMeanMs", "Event loop mean delay."],
  ["nodejs.eventloop.delay.stddev", "delayStddevMs", "Event loop standard deviation delay."],
  ["nodejs.eventloop.delay.p50", "delayP50Ms", "Event loop 50 percentile delay."],
  ["nodejs.eventloop.delay.p90", "delayP90Ms", "Event loop 90 percentile delay."],
  ["nodejs.eventloop.delay.p99", "delayP99Ms", "Event loop 99 percentile delay."],
];

function shared(p: MeterProviderLike, c: Collector): () => void {
  let s = sharedByProvider.get(p);
  if (s === undefined) {
    const m = p.getMeter(METER_NAME, VERSION);
    const blocked = m.createCounter("steward.eventloop.blocked", { unit: "{episode}", description: "Episodes of a blocked event loop." });
    const blockedDur = m.createHistogram("steward.eventloop.blocked.duration", {
      unit: "s",
      description: "How long the event loop was blocked, per episode.",
      advice: { explicitBucketBoundaries: BLOCKED_BUCKETS },
    });
    const off = c.episodes.onSettled((e: BlockedEpisode) => {
      const a = { "steward.blocked.source": e.source };
      blocked.add(1, a);
      blockedDur.record(e.durationMs / 1000, a);
    });
    const depth = m.createObservableGauge("steward.channel.depth", { unit: "{message}", description: "Messages buffered in a channel." });
    const waiters = m.createObservableGauge("steward.resource.waiters", { unit: "{waiter}", description: "Waiters queued on a lock, semaphore, channel or other resource." });
    const delays = DELAY_GAUGES.map(([name, key, description]) => [m.createObservableGauge(name, { unit: "s", description }), key] as const);
    const elu = m.createObservableGauge("nodejs.eventloop.utilization", { unit: "1", description: "Event loop utilization." });
    const time = m.createObservableCounter("nodejs.eventloop.time", { unit: "s", description: "Cumulative duration of time the event loop has been in each state." });
    const batch = (r: BatchObservableResultLike): void => {
      for (const res of collectResources(c.queues.entries, [], performance.now(), () => undefined)) {
        const d = res.details;
        if (d !== undefined && typeof d.length === "number" && /^(channel|broadcast)$/.test(res.kind)) {
          r.observe(depth, d.length, { "steward.channel.name": res.id, "steward.channel.kind": d.capacity === "unbounded" ? "unbounded" : res.kind });
        }
        r.observe(waiters, res.waiters, { "steward.resource.name": res.id, "steward.resource.kind": res.kind });
      }
      const f = c.loop.last;
      for (const [g, key] of delays) r.observe(g, (f[key] as number) / 1000);
      r.observe(elu, f.elu);
      r.observe(time, c.loop.activeTotalMs / 1000, { "nodejs.eventloop.state": "active" });
      r.observe(time, c.loop.idleTotalMs / 1000, { "nodejs.eventloop.state": "idle" });
    };
    const all = [depth, waiters, elu, time, ...delays.map(([g]) => g)];
    m.addBatchObservableCallback(batch, all);
    s = {
      refs: 0,
      release: () => {
        off();
        m.removeBatchObservableCallback(batch, all);
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
