/**
 * The limiter's metrics seam, for the live console and OpenTelemetry (src/console owns those):
 * the same pattern as core/instrument.ts. `observer` is null unless something installs one; every
 * hook site in the limiter is a single `if (observer !== null)` check, so nothing is called or
 * allocated when no one watches.
 *
 * What an observer gets:
 *  - {@link LimiterObserver.created} once per Limiter (keep a WeakRef: a limiter is garbage once
 *    its owner drops it), so observable instruments can read `limiter.stats` at collection time —
 *    queue depth (`queued`), `running`, and the counters;
 *  - {@link LimiterObserver.admitted} for each job that waited in the queue, with its wait in ms
 *    (a histogram's input; jobs admitted at once are counted in `stats.admitted` only);
 *  - {@link LimiterObserver.rejected} for each job turned away, with why.
 *
 * Suggested OTel instruments (semantic-convention style, as console/metrics.ts names its own):
 * `steward.limiter.queue.depth` (ObservableGauge, {job}), `steward.limiter.running`
 * (ObservableGauge, {job}), `steward.limiter.wait.duration` (Histogram, s), and
 * `steward.limiter.rejected` (Counter, {job}, attribute `steward.limiter.reason`: queue_full,
 * queue_timeout, rate_limited), each with `steward.limiter.name`.
 */

import type { LimiterStats } from "./limiter.js";

/** Why a job was turned away. */
export type RejectReason = "queue-full" | "queue-timeout" | "rate-limited";

/** A limiter as an observer sees it. */
export interface ObservedLimiter {
  readonly name: string;
  readonly stats: LimiterStats;
}

/** What the console (or any metrics bridge) implements. Every method must be cheap and must never throw. */
export interface LimiterObserver {
  created(limiter: ObservedLimiter): void;
  admitted(limiter: ObservedLimiter, waitedMs: number): void;
  rejected(limiter: ObservedLimiter, reason: RejectReason): void;
}

/** The installed observer, or null (the default). */
export let observer: LimiterObserver | null = null;

/** @internal Installs (or, with null, removes) the limiter observer; returns the previous one. */
export function setLimiterObserver(o: LimiterObserver | null): LimiterObserver | null {
  const prev = observer;
  observer = o;
  return prev;
}
