import { checkDuration, checkFunction, checkInteger, checkOptions, checkSignal, typeName } from "../util/validate.js";
import { rateLimited } from "../limiter/errors.js";
import { classify, Conn, num, type RedisClient } from "./conn.js";
import type { Lease } from "./lease.js";
import { makeStation, type RedisSyncOptions } from "./options.js";
import { RATE } from "./scripts.js";
import type { Station } from "./station.js";
import { closeStation } from "./semaphore.js";

/** Options of a {@link RedisLimiter}: the local Limiter's (API.md §11), shared through Redis. */
export interface RedisLimiterOptions extends RedisSyncOptions {
  /** At most this many calls run at once, across every process … */
  concurrency?: number;
  /** … and at most this many wait (across every process); beyond it: OverloadedError at once. @default unbounded */
  queue?: number;
  /** A call that waited longer: OverloadedError. @default none */
  queueTimeoutMs?: number;
  /**
   * Per key (`run(fn, { key })`), across every process: at most `perSecond` calls a second on
   * average, `burst` at once after a quiet spell; over it: RateLimitedError with `retryAfterMs`.
   * @default none; `burst` when only `perSecond` is given: one second's worth (`ceil(perSecond)`, at least 1)
   */
  rate?: { perSecond: number; burst?: number };
}

/**
 * Admission control shared by every replica: the local Limiter's concurrency limit, queue bound,
 * queue timeout and per-key rate limit, enforced through Redis. `run(fn)` waits for a slot (FIFO
 * across processes), runs `fn` with a signal, and frees the slot however `fn` ends.
 *
 * The signal `fn` receives aborts when the caller's signal does, or when the slot's lease is lost
 * (LeaseLostError); inside a task the task is cancelled too. A call refused by the rate limit
 * takes no slot; a call refused or withdrawn while queued holds nothing in Redis.
 *
 * ```ts
 * const partner = new RedisLimiter(redis, "partner-api", { concurrency: 50, queue: 200, queueTimeoutMs: 2_000, rate: { perSecond: 100 } });
 * const res = await partner.run((signal) => fetch(url, { signal }), { key: tenantId });
 * ```
 */
export class RedisLimiter {
  readonly #s: Station | undefined;
  readonly #conn: Conn;
  readonly #queue: number;
  readonly #queueTimeoutMs: number | undefined;
  readonly #rate: { perSecond: string; burst: string } | undefined;
  readonly #rateBase: string;
  readonly #failFast: boolean;
  readonly #timeoutMs: number;

  /**
   * @throws TypeError/RangeError for a client that is not a node-redis client, an empty name, or
   *   options out of range (`concurrency` an integer >= 1, `queue` an integer >= 0,
   *   `queueTimeoutMs` >= 0, `rate.perSecond` > 0, `rate.burst` an integer >= 1), or neither
   *   `concurrency` nor `rate`.
   */
  constructor(client: RedisClient, name: string, opts: RedisLimiterOptions) {
    checkOptions(opts, "opts");
    if (opts === undefined) throw new TypeError("opts must be an object, got undefined");
    const { concurrency, queue, queueTimeoutMs, rate } = opts;
    if (concurrency === undefined && rate === undefined) throw new TypeError("opts needs concurrency, rate or both");
    if (concurrency !== undefined) checkInteger(concurrency, "opts.concurrency", 1);
    if (queue !== undefined) checkInteger(queue, "opts.queue", 0);
    if (queueTimeoutMs !== undefined) checkDuration(queueTimeoutMs, "opts.queueTimeoutMs");
    if (rate !== undefined) {
      checkOptions(rate, "opts.rate");
      if (typeof rate.perSecond !== "number") throw new TypeError(`opts.rate.perSecond must be a number, got ${typeName(rate.perSecond)}`);
      if (!Number.isFinite(rate.perSecond) || rate.perSecond <= 0) throw new RangeError(`opts.rate.perSecond must be a finite number > 0, got ${rate.perSecond}`);
      const burst = rate.burst ?? Math.max(1, Math.ceil(rate.perSecond));
      checkInteger(burst, "opts.rate.burst", 1);
      this.#rate = { perSecond: String(rate.perSecond), burst: String(burst) };
    }
    // The station validates the client, the name and the shared options.
    const s = makeStation("RedisLimiter", client, name, concurrency ?? 1, opts);
    this.#s = concurrency === undefined ? undefined : s;
    this.#conn = s.conn;
    this.#queue = queue ?? -1;
    this.#queueTimeoutMs = queueTimeoutMs;
    this.#rateBase = `${opts.prefix ?? "steward:"}{${name}:rate}:`;
    this.#failFast = s.cfg.onUnavailable === "fail";
    this.#timeoutMs = s.cfg.commandTimeoutMs;
  }

  /**
   * Runs `fn` once the key's rate and a concurrency slot allow it. Resolves or rejects as `fn` does.
   * @param opts.key the rate limit's key (a tenant, a route); default "".
   * @param opts.signal withdraws the call while it waits; passed on (combined with the lease's) to `fn`.
   * @throws TypeError (synchronously) for a non-function `fn` or malformed `opts`. Rejects with
   *   RateLimitedError (over the rate), OverloadedError (queue full or queueTimeoutMs passed),
   *   `signal.reason` (withdrawn), RedisUnavailableError (`onUnavailable: "fail"`).
   */
  run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, opts?: { key?: string; signal?: AbortSignal }): Promise<Awaited<T>> {
    checkFunction(fn, "fn");
    checkOptions(opts, "opts");
    const key = opts?.key ?? "";
    if (typeof key !== "string") throw new TypeError(`opts.key must be a string, got ${typeName(key)}`);
    checkSignal(opts?.signal);
    return this.#run(fn, key, opts?.signal);
  }

  /** Stops using the limiter from this process (see RedisSemaphore.close). */
  async close(): Promise<void> {
    if (this.#s !== undefined) await closeStation(this.#s);
  }

  async #run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, key: string, signal: AbortSignal | undefined): Promise<Awaited<T>> {
    signal?.throwIfAborted();
    if (this.#rate !== undefined) await this.#checkRate(key, signal);
    if (this.#s === undefined) return await fn(signal ?? new AbortController().signal);
    const lease: Lease = await this.#s.acquire(1, signal === undefined ? undefined : { signal }, { queueMax: this.#queue, queueTimeoutMs: this.#queueTimeoutMs });
    try {
      return await fn(signal === undefined ? lease.signal : AbortSignal.any([signal, lease.signal]));
    } finally {
      void lease.release();
    }
  }

  async #checkRate(key: string, signal: AbortSignal | undefined): Promise<void> {
    const rate = this.#rate!;
    let backoff = 25;
    for (;;) {
      let r: unknown[];
      try {
        r = await this.#conn.eval(RATE, [this.#rateBase + key], [rate.perSecond, rate.burst], this.#timeoutMs, "rate limit");
      } catch (e) {
        const f = classify(e, "rate limit");
        if (f.kind === "reply" || this.#failFast) throw f.error;
        await abortableDelay(backoff, signal);
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      if (num(r[0]) === 1) return;
      throw rateLimited(num(r[1]));
    }
  }
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
