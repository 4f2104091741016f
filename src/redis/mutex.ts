import { checkFunction, checkOptions } from "../util/validate.js";
import type { RedisClient } from "./conn.js";
import type { Lease } from "./lease.js";
import { checkMaxHold, makeStation, type RedisSyncOptions } from "./options.js";
import { closeStation, type RedisAcquireOptions } from "./semaphore.js";
import type { Station } from "./station.js";

/**
 * A lock shared by every process that uses the same Redis and `name`: the distributed
 * counterpart of steward's `Mutex` (without a value: what it protects lives elsewhere, and the
 * lease's `fence` is what that place should check).
 *
 * FIFO across processes, cancel-safe and select-safe, leases renewed while the holder task lives
 * and lost with a LeaseLostError when they cannot be: see {@link RedisSemaphore}, of which this is
 * the one-permit case.
 *
 * ```ts
 * const lock = new RedisMutex(redis, "nightly-report", { leaseMs: 5_000 });
 * await using lease = await lock.lock();
 * await storage.write(report, { fence: lease.fence });   // storage refuses a smaller fence than it saw
 * ```
 */
export class RedisMutex {
  readonly #s: Station;

  /**
   * @param client a connected node-redis client (v5+); it stays the caller's to close.
   * @param name the lock's name in Redis.
   * @throws TypeError/RangeError for a client that is not a node-redis client, an empty name or
   *   malformed options.
   */
  constructor(client: RedisClient, name: string, opts?: RedisSyncOptions) {
    this.#s = makeStation("RedisMutex", client, name, 1, opts);
  }

  /**
   * Waits until no one holds the lock and every earlier waiter was served, then takes it.
   * Cancel-safe and select-safe (see RedisSemaphore.acquire).
   * @throws TypeError (synchronously) for malformed `opts`.
   */
  lock(opts?: RedisAcquireOptions): Promise<Lease> {
    checkOptions(opts, "opts");
    const maxHoldMs = opts?.maxHoldMs === undefined ? undefined : checkMaxHold(opts.maxHoldMs, "opts.maxHoldMs");
    return this.#s.acquire(1, opts, { maxHoldMs, what: `lock on ${this.#s.label}` });
  }

  /** Takes the lock if it is free and nobody waits; undefined otherwise. One round trip. */
  tryLock(opts?: { maxHoldMs?: number }): Promise<Lease | undefined> {
    checkOptions(opts, "opts");
    const maxHoldMs = opts?.maxHoldMs === undefined ? undefined : checkMaxHold(opts.maxHoldMs, "opts.maxHoldMs");
    return this.#s.tryAcquire(1, maxHoldMs);
  }

  /**
   * Locks, runs `fn` with the lease, and releases however `fn` ends (awaiting the release);
   * resolves or rejects as `fn` does. Pass `lease.signal` on to what `fn` starts.
   * @throws TypeError (synchronously) when `fn` is not a function or `opts` is malformed.
   */
  runExclusive<R>(fn: (lease: Lease) => R | PromiseLike<R>, opts?: RedisAcquireOptions): Promise<R> {
    checkFunction(fn, "fn");
    return this.#runExclusive(fn, this.lock(opts));
  }

  async #runExclusive<R>(fn: (lease: Lease) => R | PromiseLike<R>, locked: Promise<Lease>): Promise<R> {
    const lease = await locked;
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  /** 1 when some process holds the lock, and how many wait, as Redis has it now. */
  status(): Promise<{ used: number; holders: number; queued: number }> {
    return this.#s.status();
  }

  /** As RedisSemaphore.close. */
  async close(): Promise<void> {
    await closeStation(this.#s);
  }
}
