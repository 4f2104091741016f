import { checkInteger, checkOptions } from "../util/validate.js";
import type { WaitOptions } from "../core/waiter.js";
import type { RedisClient } from "./conn.js";
import type { Lease } from "./lease.js";
import { checkMaxHold, makeStation, type RedisSyncOptions } from "./options.js";
import type { Station } from "./station.js";

/** Options of a wait for a Redis lease. */
export interface RedisAcquireOptions extends WaitOptions {
  /** Overrides the primitive's `maxHoldMs` for this lease. */
  maxHoldMs?: number;
}

/** What Redis holds for a semaphore now (RedisSemaphore.status). */
export interface RedisSemaphoreStatus {
  /** Permits held, by every process. */
  used: number;
  /** Leases held. */
  holders: number;
  /** Waiters queued. */
  queued: number;
}

/**
 * A counting semaphore shared by every process that uses the same Redis and `name`: the
 * distributed counterpart of steward's `Semaphore`. `acquire(n)` waits until `n` permits are free
 * and returns a {@link Lease}; a lease is renewed while its holder task lives (up to
 * `maxHoldMs`), and a crashed holder's lease frees within `leaseMs`.
 *
 * Fair across processes: waiters are served first-in, first-out in the order their requests
 * reached Redis, and a waiter asking for more permits than are free blocks those behind it, as
 * the local Semaphore does (so a large `acquire(n)` is never starved). The next waiter is granted
 * inside the script that releases, and told by pub/sub: one round trip after the release.
 *
 * Cancel safety: `acquire()` is cancel-safe and select-safe. A call withdrawn by its signal, its
 * task's cancellation or a losing select branch rejects at once and holds nothing, in Redis too:
 * its place in line is withdrawn, and a grant that raced in is handed straight back.
 *
 * ```ts
 * import { createClient } from "redis";
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * const db = new RedisSemaphore(redis, "orders-db", 50);       // 50 connections for every replica
 * await using lease = await db.acquire(1, { signal: AbortSignal.timeout(2_000) });
 * await query(lease.signal);                                  // aborts if the lease is lost
 * ```
 */
export class RedisSemaphore {
  readonly #s: Station;
  /** The permits every process shares (each process must configure the same number). */
  readonly permits: number;

  /**
   * @param client a connected node-redis client (v5+); it stays the caller's to close.
   * @param name the semaphore's name in Redis: processes using the same name (and prefix) share it.
   * @param permits permits in total, >= 1.
   * @throws TypeError/RangeError for a client that is not a node-redis client, an empty name,
   *   `permits` not an integer >= 1, or malformed options.
   */
  constructor(client: RedisClient, name: string, permits: number, opts?: RedisSyncOptions) {
    checkInteger(permits, "permits", 1);
    this.permits = permits;
    this.#s = makeStation("RedisSemaphore", client, name, permits, opts);
  }

  /**
   * Waits until `n` permits are free and every earlier waiter was served, then takes them.
   * Resolves in one round trip when they are free.
   *
   * While Redis cannot be reached it waits (retrying) or rejects with RedisUnavailableError, as
   * `onUnavailable` says. Inside a task the task's cancellation withdraws it (CancelledError).
   * @param n permits, default 1.
   * @throws TypeError/RangeError (synchronously) when `n` is not an integer in [1, permits] or
   *   `opts` is malformed. The promise rejects with `signal.reason` when withdrawn.
   */
  acquire(n = 1, opts?: RedisAcquireOptions): Promise<Lease> {
    checkInteger(n, "n", 1, this.permits);
    checkOptions(opts, "opts");
    const maxHoldMs = opts?.maxHoldMs === undefined ? undefined : checkMaxHold(opts.maxHoldMs, "opts.maxHoldMs");
    return this.#s.acquire(n, opts, { maxHoldMs, what: n === 1 ? undefined : `acquire ${n} on ${this.#s.label}` });
  }

  /**
   * Takes `n` permits if they are free and nobody waits; resolves undefined otherwise. One
   * round trip, never queued.
   * @throws TypeError/RangeError (synchronously) for a bad `n`; rejects with
   *   RedisUnavailableError when Redis cannot be reached.
   */
  tryAcquire(n = 1, opts?: { maxHoldMs?: number }): Promise<Lease | undefined> {
    checkInteger(n, "n", 1, this.permits);
    checkOptions(opts, "opts");
    const maxHoldMs = opts?.maxHoldMs === undefined ? undefined : checkMaxHold(opts.maxHoldMs, "opts.maxHoldMs");
    return this.#s.tryAcquire(n, maxHoldMs);
  }

  /** Permits used, leases held and waiters queued, across every process, as Redis has them now. */
  status(): Promise<RedisSemaphoreStatus> {
    return this.#s.status();
  }

  /**
   * Stops using the semaphore from this process: waiters reject with ShutdownError, held leases
   * are released (their holders see LeaseLostError `released-by-shutdown`), wake-ups stop.
   * @throws Error naming the leases Redis did not confirm as released (they expire by themselves).
   */
  async close(): Promise<void> {
    await closeStation(this.#s);
  }
}

/** @internal */
export async function closeStation(s: Station): Promise<void> {
  const failed = await s.close("closed");
  if (failed.length > 0) {
    throw new Error(`could not release ${failed.length} lease(s) on ${s.label}: ${failed.map((l) => l.describe()).join(", ")}; they expire within ${s.leaseMs} ms`);
  }
}
