/**
 * The limiter's metrics seam, for the live console and OpenTelemetry (src/console owns those:
 * console/metrics/limiters.ts installs the observer while a console is on): the same pattern as
 * core/instrument.ts. `observer` is null unless something installs one; every hook site in the
 * limiter is a single `if (observer !== null)` check, so nothing is called or allocated when no
 * one watches.
 *
 * What an observer gets:
 *  - {@link LimiterObserver.created} once per Limiter and observer — when it is made, or, made
 *    before the observer was installed, at its next admission (keep a WeakRef: a limiter is
 *    garbage once its owner drops it), so the console can list it and observable instruments can
 *    read `limiter.stats` at collection time — queue depth (`queued`), `running`, the counters;
 *  - {@link LimiterObserver.admitted} for each job let through, with how long it waited in the
 *    queue in ms (0 for one admitted at once): a histogram's input;
 *  - {@link LimiterObserver.rejected} for each job turned away, with why.
 *
 * The OTel instruments (semantic-convention style, as console/metrics/otel.ts names its own) are
 * listed in console/metrics/limiters.ts: `steward.limiter.queue.depth`, `steward.limiter.running`,
 * `steward.limiter.admitted`, `steward.limiter.rejected` (attribute `steward.limiter.reason`:
 * queue_full, queue_timeout, rate_limited), `steward.limiter.withdrawn` and
 * `steward.limiter.wait.duration`, each with `steward.limiter.name`.
 */

import type { QueueDescription } from "../core/waiter.js";
import type { LimiterStats } from "./limiter.js";

/** Why a job was turned away. */
export type RejectReason = "queue-full" | "queue-timeout" | "rate-limited";

/** A limiter as an observer sees it. */
export interface ObservedLimiter {
  readonly name: string;
  readonly stats: LimiterStats;
  /** Its row in the console's resource view (a wait queue's description: kind "Limiter", op "admit"). */
  inspect(): QueueDescription;
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
