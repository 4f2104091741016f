/**
 * Limiters (src/limiter) in the console and in OpenTelemetry. While any console is on, this
 * installs the limiter's observer (limiter/observe.ts: the limiter never imports the console):
 *
 *  - each Limiter is a row of the console's resource view (kind "Limiter", op "admit"), its
 *    `stats` as details — admitted, waited, queue-wait total and max, shed, queue timeouts,
 *    rate-limited, withdrawn — and its queued jobs as waiters; each key whose jobs wait is a row
 *    of its own (`Limiter#3 key "acme"`);
 *  - with metrics on, these instruments, each with the attribute `steward.limiter.name`
 *    ("Limiter#3", or `Limiter#3 "api"` with a label):
 *
 * | instrument                      | kind              | unit  | attributes |
 * | ------------------------------- | ----------------- | ----- | ---------- |
 * | steward.limiter.queue.depth     | ObservableGauge   | {job} | |
 * | steward.limiter.running         | ObservableGauge   | {job} | |
 * | steward.limiter.admitted        | ObservableCounter | {job} | |
 * | steward.limiter.rejected        | ObservableCounter | {job} | steward.limiter.reason (queue_full, queue_timeout, rate_limited) |
 * | steward.limiter.withdrawn       | ObservableCounter | {job} | |
 * | steward.limiter.wait.duration   | Histogram         | s     | |
 *
 * Counts are observed from `limiter.stats` at collection time; the wait histogram records each
 * admission (0 for a job admitted at once), so its count is the admitted count.
 */
import { type LimiterObserver, type ObservedLimiter, setLimiterObserver } from "../../limiter/observe.js";
import type { Collector } from "../instrument/collector.js";
import { type BatchObservableResultLike, type HistogramLike, METER_NAME, type MeterProviderLike, type MetricAttributes, VERSION } from "./otel.js";

/** Queue waits: 1 ms … 30 s. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A limiter's attribute sets, made once per limiter rather than per observation. */
interface Attrs {
  readonly base: MetricAttributes;
  readonly full: MetricAttributes;
  readonly timeout: MetricAttributes;
  readonly rate: MetricAttributes;
}

/** The process's observer: every limiter announced since the first console started (as WeakRefs). */
class LimiterWatch implements LimiterObserver {
  #refs: WeakRef<ObservedLimiter>[] = [];
  #pruneAt = 64;
  readonly #attrs = new WeakMap<ObservedLimiter, Attrs>();
  /** The wait histograms of every provider in use. */
  readonly hists = new Set<HistogramLike>();
  /** Consoles on now. */
  consoles = 0;
  /** The collector whose resource view lists the limiters, while a console is on. */
  collector: Collector | undefined = undefined;

  created(l: ObservedLimiter): void {
    this.#refs.push(new WeakRef(l));
    this.collector?.queues.add(l);
    if (this.#refs.length >= this.#pruneAt) {
      this.live();
      this.#pruneAt = Math.max(64, this.#refs.length * 2);
    }
  }

  admitted(l: ObservedLimiter, waitedMs: number): void {
    if (this.hists.size === 0) return;
    const a = this.attrs(l).base;
    for (const h of this.hists) h.record(waitedMs / 1000, a);
  }

  rejected(): void {
    // Counted by the limiter itself (stats), and observed from there.
  }

  /** The limiters still alive (the collected ones are forgotten). */
  live(): ObservedLimiter[] {
    const out: ObservedLimiter[] = [];
    const kept: WeakRef<ObservedLimiter>[] = [];
    for (const r of this.#refs) {
      const l = r.deref();
      if (l === undefined) continue;
      out.push(l);
      kept.push(r);
    }
    this.#refs = kept;
    return out;
  }

  attrs(l: ObservedLimiter): Attrs {
    let a = this.#attrs.get(l);
    if (a === undefined) {
      const name = l.name;
      a = {
        base: { "steward.limiter.name": name },
        full: { "steward.limiter.name": name, "steward.limiter.reason": "queue_full" },
        timeout: { "steward.limiter.name": name, "steward.limiter.reason": "queue_timeout" },
        rate: { "steward.limiter.name": name, "steward.limiter.reason": "rate_limited" },
      };
      this.#attrs.set(l, a);
    }
    return a;
  }
}

const watch = new LimiterWatch();

/**
 * @internal Called by each console as it starts: shows limiters in `collector`'s resource view
 * and, given a provider, as its metrics. Returns what the console calls when it closes (after
 * detaching from the collector). The observer stays installed while any console is on.
 */
export function watchLimiters(collector: Collector, provider: MeterProviderLike | undefined): () => void {
  if (watch.consoles++ === 0) {
    watch.collector = collector;
    // The collector forgot its queues when the last console closed: list the known limiters again.
    for (const l of watch.live()) collector.queues.add(l);
    setLimiterObserver(watch);
  }
  const releaseMetrics = provider === undefined ? undefined : limiterMetrics(provider);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    releaseMetrics?.();
    if (--watch.consoles === 0) {
      setLimiterObserver(null);
      watch.collector = undefined;
    }
  };
}

interface Shared {
  refs: number;
  release(): void;
}
const byProvider = new Map<MeterProviderLike, Shared>();

/** The limiter instruments on `p`, once per provider however many consoles use it. */
function limiterMetrics(p: MeterProviderLike): () => void {
  let s = byProvider.get(p);
  if (s === undefined) {
    const m = p.getMeter(METER_NAME, VERSION);
    const hist = m.createHistogram("steward.limiter.wait.duration", {
      unit: "s",
      description: "How long each job admitted by a Limiter waited in its queue (0 when admitted at once).",
      advice: { explicitBucketBoundaries: WAIT_BUCKETS },
    });
    const depth = m.createObservableGauge("steward.limiter.queue.depth", { unit: "{job}", description: "Jobs waiting in a Limiter's queue." });
    const running = m.createObservableGauge("steward.limiter.running", { unit: "{job}", description: "Jobs holding one of a Limiter's slots." });
    const admitted = m.createObservableCounter("steward.limiter.admitted", { unit: "{job}", description: "Jobs a Limiter let through, at once or after waiting." });
    const rejected = m.createObservableCounter("steward.limiter.rejected", { unit: "{job}", description: "Jobs a Limiter turned away, by reason." });
    const withdrawn = m.createObservableCounter("steward.limiter.withdrawn", { unit: "{job}", description: "Jobs withdrawn from a Limiter's queue by their signal or their task's cancellation." });
    const batch = (r: BatchObservableResultLike): void => {
      for (const l of watch.live()) {
        const st = l.stats;
        const a = watch.attrs(l);
        r.observe(depth, st.queued, a.base);
        r.observe(running, st.running, a.base);
        r.observe(admitted, st.admitted, a.base);
        r.observe(rejected, st.shed, a.full);
        r.observe(rejected, st.queueTimeouts, a.timeout);
        r.observe(rejected, st.rateLimited, a.rate);
        r.observe(withdrawn, st.withdrawn, a.base);
      }
    };
    const all = [depth, running, admitted, rejected, withdrawn];
    m.addBatchObservableCallback(batch, all);
    watch.hists.add(hist);
    s = {
      refs: 0,
      release: () => {
        watch.hists.delete(hist);
        m.removeBatchObservableCallback(batch, all);
      },
    };
    byProvider.set(p, s);
  }
  s.refs++;
  const entry = s;
  return () => {
    if (--entry.refs === 0) {
      entry.release();
      byProvider.delete(p);
    }
  };
}
