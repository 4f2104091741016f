/**
 * Admission control: tower's ConcurrencyLimit + LoadShed + RateLimit in one object, for any async
 * work (outbound calls to a downstream that allows 10 at a time, or the HTTP adapters' requests).
 *
 * Waiting is the waiter core's (core/waiter.ts): each key has its own WaitQueue, so a queued job
 * is an ordinary steward wait — `{ signal }`, the task's cancellation and select withdraw it at
 * once, holding nothing. Fairness is the limiter's: when a slot frees, the keys that have waiters
 * take turns (round-robin, in the order they started waiting), and each key's waiters are served
 * first-in, first-out. So one tenant's burst queues behind itself, not in front of everyone.
 *
 * The hot path (a free slot, nobody queued, no rate) allocates nothing and looks up no key.
 */
import type { IncomingMessage } from "node:http";
import { takeBudget } from "../core/budget.js";
import { currentFrame } from "../core/context.js";
import { checkDuration, checkFunction, checkOptions, typeName } from "../util/validate.js";
import { claimSignal, lostReason, precheck, type QueueDescription, type Resource, type WaitOptions, type Waiter, WaitQueue } from "../core/waiter.js";
import { overloaded, rateLimited } from "./errors.js";
import { type LimiterObserver, observer } from "./observe.js";

/** Options of a {@link Limiter} (and of the HTTP adapters, which take the same ones). */
export interface LimiterOptions {
  /** At most this many jobs run at once (an integer >= 1, or Infinity). @default Infinity */
  concurrency?: number;
  /**
   * At most this many jobs wait for a slot (an integer >= 0, or Infinity); a job arriving when
   * the queue is full is rejected at once with {@link OverloadedError} (load shedding).
   * @default Infinity
   */
  queue?: number;
  /** A job that waited this long for a slot is rejected with {@link OverloadedError} (reason "queue-timeout"). @default no limit */
  queueTimeoutMs?: number;
  /**
   * HTTP adapters only: the fairness (and rate) key of a request — a tenant, an API key, the
   * client's address. `Limiter#run` ignores it (it takes `opts.key`). @default one key for all
   */
  key?: (req: IncomingMessage) => string;
  /**
   * A token bucket per key: `perSecond` tokens a second, holding at most `burst`. A job whose key
   * has no token is rejected at once with {@link RateLimitedError} carrying when the next token
   * comes.
   * @default none; `burst` when only `perSecond` is given: one second's worth, at least 1
   */
  rate?: { perSecond: number; burst?: number };
  /** Shown in dumps and the console: a task waiting here is `admit on Limiter#3 "api"`. */
  label?: string;
  /** The retry hint an {@link OverloadedError} carries (HTTP: Retry-After, in whole seconds). @default 1000 */
  retryAfterMs?: number;
}

/** The last argument of {@link Limiter.run}. */
export interface LimiterRunOptions extends WaitOptions {
  /** The job's fairness and rate key (a tenant, a host). @default "" (one key for all) */
  key?: string;
}

/** What a {@link Limiter} has done, as a plain object (`limiter.stats`). */
export interface LimiterStats {
  /** Jobs holding a slot now. */
  running: number;
  /** Jobs waiting for a slot now (the queue depth). */
  queued: number;
  /** Jobs let through, at once or after waiting. */
  admitted: number;
  /** Of those, how many waited in the queue first. */
  waited: number;
  /** Total and longest time those spent waiting, in ms. */
  waitMsTotal: number;
  waitMsMax: number;
  /** Rejected at once because the queue was full (OverloadedError "queue-full"). */
  shed: number;
  /** Rejected after waiting `queueTimeoutMs` (OverloadedError "queue-timeout"). */
  queueTimeouts: number;
  /** Rejected because their key was over its rate (RateLimitedError). */
  rateLimited: number;
  /** Withdrawn from the queue by their signal, their task's cancellation or a select. */
  withdrawn: number;
  /** Keys the limiter keeps state for now (queued jobs or a rate bucket not yet full). */
  keys: number;
}

let nextLimiterId = 1;

/**
 * The signal a job gets when the caller gave none and runs outside any task. It never aborts, so
 * a listener added to it would never be called: it keeps none (addEventListener does nothing),
 * so one shared instance serves every such job without collecting their listeners.
 */
const NEVER: AbortSignal = (() => {
  const s = new AbortController().signal;
  const noop = (): void => {};
  Object.defineProperties(s, {
    addEventListener: { value: noop },
    removeEventListener: { value: noop },
    onabort: { get: () => null, set: noop },
  });
  return s;
})();

/** What a queued job carries: its key and when it started waiting. */
class Ticket {
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  timedOut = false;
  constructor(
    readonly ks: KeyState,
    readonly at: number,
  ) {}
}

/** One key: its FIFO of waiters, its place in the round-robin ring, its rate bucket. */
class KeyState implements Resource<undefined, Ticket> {
  q: WaitQueue<undefined, Ticket> | undefined = undefined;
  tokens: number;
  stamp: number;
  ringNext: KeyState | null = null;
  ringPrev: KeyState | null = null;
  inRing = false;
  constructor(
    readonly lim: Limiter,
    readonly key: string,
    burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.stamp = now;
  }
  queue(): WaitQueue<undefined, Ticket> {
    if (this.q === undefined) {
      this.q = new WaitQueue<undefined, Ticket>(this, this.lim.what);
      this.q.onWithdraw = onWithdrawn;
    }
    return this.q;
  }
  /** Only during the limiter's dispatch, and only for the key whose turn it is. */
  ready(): boolean {
    return this.lim.turn === this && this.lim.running < this.lim.concurrency;
  }
  take(t: Ticket): undefined {
    this.lim.served(t);
    return undefined;
  }
  /**
   * What the console shows for one key's queue: a resource of its own ("Limiter#3 key \"acme\""),
   * next to the limiter's own row (`Limiter.inspect`), which has the totals.
   */
  inspect(): Record<string, unknown> {
    const out: Record<string, unknown> = { kind: "Limiter", label: `${this.lim.name} key ${JSON.stringify(this.key)}`, key: this.key };
    if (this.lim.rated) out.tokens = Math.floor(this.tokens);
    return out;
  }
}

function onWithdrawn(w: Waiter<undefined, Ticket>): void {
  w.data.ks.lim.withdrawnWaiter(w.data);
}

function onQueueTimeout(w: Waiter<undefined, Ticket>): void {
  const t = w.data;
  t.timer = undefined;
  if (!w.isPending) return;
  t.timedOut = true;
  const lim = t.ks.lim;
  w.withdraw(overloaded("queue-timeout", lim.retryAfterMs));
}

/**
 * Admission control for async work: a concurrency limit with a bounded queue (load shedding),
 * a queue-wait timeout, and a per-key token-bucket rate limit. Waiters are served FIFO within a
 * key and round-robin across keys.
 *
 * ```ts
 * const downstream = new Limiter({ concurrency: 10, queue: 100, queueTimeoutMs: 2_000 });
 * const res = await downstream.run((signal) => fetch(url, { signal }));
 * ```
 *
 * The HTTP adapters (`steward/fastify`, `steward/express`, `steward/http`) take the same options
 * and answer {@link OverloadedError} with 503 and {@link RateLimitedError} with 429, both with
 * Retry-After.
 */
export class Limiter {
  /** Shown in dumps and the console. */
  readonly name: string;
  /** @internal The label of its waits: `admit on Limiter#3 "api"`. */
  readonly what: string;
  /** @internal */ readonly concurrency: number;
  /** @internal */ readonly queueLimit: number;
  /** @internal */ readonly retryAfterMs: number;
  /** @internal */ running = 0;
  /** @internal The key whose waiter may be served now (set only inside dispatch). */
  turn: KeyState | undefined = undefined;
  readonly #queueTimeoutMs: number | undefined;
  readonly #perSecond: number;
  readonly #burst: number;
  #queued = 0;
  readonly #keys = new Map<string, KeyState>();
  #sweepAt = 1024;
  #ringHead: KeyState | null = null;
  #ringTail: KeyState | null = null;
  #dispatching = false;
  // Counters (stats).
  #admitted = 0;
  #waited = 0;
  #waitMsTotal = 0;
  #waitMsMax = 0;
  #shed = 0;
  #queueTimeouts = 0;
  #rateLimited = 0;
  #withdrawn = 0;
  /** The observer this limiter announced itself to (observe.ts): it is told once, even when installed after the limiter was made. */
  #seenBy: LimiterObserver | null = null;

  /**
   * @throws TypeError/RangeError for a malformed option, naming it (`opts.concurrency must be an
   * integer >= 1 or Infinity, got 0`).
   */
  constructor(opts: LimiterOptions = {}) {
    checkOptions(opts, "opts");
    this.concurrency = countOrInfinity(opts.concurrency, "opts.concurrency", 1);
    this.queueLimit = countOrInfinity(opts.queue, "opts.queue", 0);
    if (opts.queueTimeoutMs !== undefined) checkDuration(opts.queueTimeoutMs, "opts.queueTimeoutMs");
    this.#queueTimeoutMs = opts.queueTimeoutMs;
    if (opts.key !== undefined) checkFunction(opts.key, "opts.key");
    if (opts.retryAfterMs !== undefined) checkDuration(opts.retryAfterMs, "opts.retryAfterMs");
    this.retryAfterMs = opts.retryAfterMs ?? 1000;
    const rate = opts.rate;
    if (rate !== undefined) {
      checkOptions(rate, "opts.rate");
      if (rate === null) throw new TypeError("opts.rate must be an object, got null");
      const ps = rate.perSecond;
      if (typeof ps !== "number") throw new TypeError(`opts.rate.perSecond must be a number, got ${typeName(ps)}`);
      if (!Number.isFinite(ps) || ps <= 0) throw new RangeError(`opts.rate.perSecond must be a finite number > 0, got ${ps}`);
      const burst = rate.burst ?? Math.max(1, Math.ceil(ps));
      if (typeof burst !== "number") throw new TypeError(`opts.rate.burst must be a number, got ${typeName(burst)}`);
      if (!Number.isFinite(burst) || burst < 1) throw new RangeError(`opts.rate.burst must be a finite number >= 1, got ${burst}`);
      this.#perSecond = ps;
      this.#burst = burst;
    } else {
      this.#perSecond = 0;
      this.#burst = 0;
    }
    if (opts.label !== undefined && typeof opts.label !== "string") throw new TypeError(`opts.label must be a string, got ${typeName(opts.label)}`);
    // The Mutex habit (`{ name: "db" }`) from JavaScript: not silently ignored. (A function is the
    // HTTP adapters' request-naming option, passed along with the rest of their options.)
    const named = (opts as { name?: unknown }).name;
    if (typeof named === "string") throw new TypeError(`opts.name is not a Limiter option: a Limiter is labelled with opts.label (got name ${JSON.stringify(named)})`);
    const id = nextLimiterId++;
    this.name = opts.label === undefined ? `Limiter#${id}` : `Limiter#${id} ${JSON.stringify(opts.label)}`;
    this.what = `admit on ${this.name}`;
    if (observer !== null) this.#announce(observer);
  }

  /**
   * Runs `fn` once a slot is free, holding the slot until what `fn` returns settles, and
   * resolves or rejects as `fn` does.
   *
   * `fn` gets an AbortSignal: `opts.signal`, or the calling task's signal (both, combined, when
   * there are both); outside any task and without `opts.signal`, a signal that never aborts.
   *
   * Cancel safety: while the job waits in the queue, `opts.signal`, the calling task's
   * cancellation (unless under `shield()`) or a losing select branch withdraw it at once: it
   * holds no slot, keeps no place, uses no rate token, and the promise rejects with the
   * signal's reason (CancelledError for a cancelled task). Once `fn` runs, it is `fn`'s to
   * stop.
   * @throws TypeError (synchronously) when `fn` is not a function or `opts` is malformed. The
   * promise rejects with {@link OverloadedError} when the queue is full (at once) or the job
   * waited longer than `queueTimeoutMs`, with {@link RateLimitedError} when its key is over its
   * rate (at once), or with what `fn` threw.
   */
  run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, opts?: LimiterRunOptions): Promise<Awaited<T>> {
    checkFunction(fn, "fn");
    let key: string | undefined;
    if (opts !== undefined) {
      checkOptions(opts, "opts");
      key = opts.key;
      if (key !== undefined && typeof key !== "string") throw new TypeError(`opts.key must be a string, got ${typeName(key)}`);
    }
    const a = this.admit(key, opts);
    if (a === undefined) return this.#call(fn, opts?.signal);
    return a.then(() => this.#call(fn, opts?.signal));
  }

  /** @internal True when the limiter has a rate limit. */
  get rated(): boolean {
    return this.#perSecond > 0;
  }

  /**
   * @internal What the console's resource view shows for the limiter (a wait queue's
   * description, see core/waiter.ts): its counters, its limits, and the jobs waiting now.
   */
  inspect(): QueueDescription {
    return { ...this.stats, kind: "Limiter", op: "admit", label: this.name, waiters: this.#queued, concurrency: this.concurrency, queueLimit: this.queueLimit };
  }

  #announce(o: LimiterObserver): void {
    this.#seenBy = o;
    o.created(this);
  }

  /** Counts so far and the state now, as a fresh plain object. */
  get stats(): LimiterStats {
    return {
      running: this.running,
      queued: this.#queued,
      admitted: this.#admitted,
      waited: this.#waited,
      waitMsTotal: Math.round(this.#waitMsTotal * 1000) / 1000,
      waitMsMax: Math.round(this.#waitMsMax * 1000) / 1000,
      shed: this.#shed,
      queueTimeouts: this.#queueTimeouts,
      rateLimited: this.#rateLimited,
      withdrawn: this.#withdrawn,
      keys: this.#keys.size,
    };
  }

  /**
   * @internal Takes a slot for one job of `key`: undefined when it got one at once, else a
   * promise that resolves once it has one (or rejects: rate, shed, timeout, withdrawn). The
   * caller must call {@link release} exactly once after a successful admission. Waits under the
   * current frame's task token, like every steward wait. `budget: false` skips the cooperative
   * budget on the fast path: for admissions that each start from their own I/O event (an HTTP
   * request), which no chain of ready waits can starve the loop with.
   */
  admit(key: string | undefined, opts: WaitOptions | undefined, budget = true): Promise<void> | undefined {
    if (observer !== null && this.#seenBy !== observer) this.#announce(observer);
    const e = precheck(opts);
    if (e instanceof Promise) return e;
    const signal = e.signal;
    let ks: KeyState | undefined;
    if (this.#perSecond > 0) {
      ks = this.#keyState(key ?? "");
      const now = performance.now();
      this.#refill(ks, now);
      if (ks.tokens < 1) {
        this.#rateLimited++;
        if (observer !== null) observer.rejected(this, "rate-limited");
        return Promise.reject(rateLimited(Math.ceil(((1 - ks.tokens) * 1000) / this.#perSecond)));
      }
      ks.tokens -= 1;
    }
    const free = this.running < this.concurrency;
    if (free && this.#queued === 0 && (!budget || takeBudget())) {
      if (!claimSignal(signal)) {
        if (ks !== undefined) this.#refund(ks);
        return Promise.reject(lostReason(signal!));
      }
      this.running++;
      this.#admitted++;
      if (observer !== null) observer.admitted(this, 0);
      return undefined;
    }
    // A free slot with the budget spent still queues (and is served at once, below): the queue
    // bound is for jobs that must wait for capacity.
    if (!free && this.#queued >= this.queueLimit) {
      if (ks !== undefined) this.#refund(ks);
      this.#shed++;
      if (observer !== null) observer.rejected(this, "queue-full");
      return Promise.reject(overloaded("queue-full", this.retryAfterMs));
    }
    ks ??= this.#keyState(key ?? "");
    const t = new Ticket(ks, performance.now());
    const q = ks.queue();
    const p = q.wait(t, opts);
    const w = q.tail;
    if (w === null || w.data !== t) {
      // Not queued after all (it cannot happen after the precheck above, but a rejection that
      // was never queued must not count as a waiter).
      this.#refund(ks);
      return p;
    }
    this.#queued++;
    this.#ringAdd(ks);
    if (this.#queueTimeoutMs !== undefined) t.timer = setTimeout(onQueueTimeout, this.#queueTimeoutMs, w);
    if (this.running < this.concurrency) this.#dispatch();
    return p;
  }

  /** @internal Gives back the slot of one admitted job and serves the next waiter, if any. */
  release(): void {
    this.running--;
    if (this.#ringHead !== null) this.#dispatch();
  }

  /** @internal A queued waiter was served (Resource.take, during dispatch). */
  served(t: Ticket): void {
    this.turn = undefined;
    this.running++;
    this.#queued--;
    this.#admitted++;
    this.#waited++;
    if (t.timer !== undefined) clearTimeout(t.timer);
    const ms = performance.now() - t.at;
    this.#waitMsTotal += ms;
    if (ms > this.#waitMsMax) this.#waitMsMax = ms;
    if (observer !== null) observer.admitted(this, ms);
  }

  /** @internal A queued waiter was withdrawn (its signal, its task, a select, or its queue timeout). */
  withdrawnWaiter(t: Ticket): void {
    this.#queued--;
    if (t.timer !== undefined) clearTimeout(t.timer);
    if (t.timedOut) {
      this.#queueTimeouts++;
      if (observer !== null) observer.rejected(this, "queue-timeout");
    } else {
      this.#withdrawn++;
    }
    const ks = t.ks;
    if (this.#perSecond > 0) this.#refund(ks);
    if (ks.q!.head === null) {
      this.#ringRemove(ks);
      this.#maybeForget(ks);
    }
  }

  // One pair per limiter, not two closures per job.
  readonly #releaseValue = (v: unknown): unknown => {
    this.release();
    return v;
  };
  readonly #releaseError = (e: unknown): never => {
    this.release();
    throw e;
  };

  #call<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, given: AbortSignal | undefined): Promise<Awaited<T>> {
    let r: T | PromiseLike<T>;
    try {
      r = fn(jobSignal(given));
    } catch (e) {
      this.release();
      return Promise.reject(e);
    }
    if (r !== null && (typeof r === "object" || typeof r === "function") && typeof (r as PromiseLike<T>).then === "function") {
      return Promise.resolve(r).then(this.#releaseValue as (v: Awaited<T>) => Awaited<T>, this.#releaseError);
    }
    this.release();
    return Promise.resolve(r as Awaited<T>);
  }

  /** Serves waiters while slots are free: one per key per turn, keys in ring order. */
  #dispatch(): void {
    if (this.#dispatching) return; // the running loop re-reads the state after every step
    this.#dispatching = true;
    try {
      let ks: KeyState | null;
      while (this.running < this.concurrency && (ks = this.#ringHead) !== null) {
        this.#ringRemove(ks);
        const q = ks.q!;
        if (q.head !== null) {
          this.turn = ks;
          try {
            q.pump(); // serves at most one: take() ends the turn
          } finally {
            this.turn = undefined;
          }
        }
        if (q.head !== null) this.#ringAdd(ks);
        else this.#maybeForget(ks);
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #keyState(key: string): KeyState {
    let ks = this.#keys.get(key);
    if (ks === undefined) {
      if (this.#keys.size >= this.#sweepAt) this.#sweep();
      ks = new KeyState(this, key, this.#burst, performance.now());
      this.#keys.set(key, ks);
    }
    return ks;
  }

  #refill(ks: KeyState, now: number): void {
    const t = ks.tokens + ((now - ks.stamp) * this.#perSecond) / 1000;
    ks.tokens = t > this.#burst ? this.#burst : t;
    ks.stamp = now;
  }

  #refund(ks: KeyState): void {
    if (this.#perSecond === 0) return;
    ks.tokens = Math.min(this.#burst, ks.tokens + 1);
  }

  /** Drops a key's state once it holds nothing: no waiter, and (with a rate) a full bucket. */
  #maybeForget(ks: KeyState): void {
    if (ks.inRing || (ks.q !== undefined && (ks.q.head !== null || ks.q.parked > 0))) return;
    if (this.#perSecond > 0) {
      this.#refill(ks, performance.now());
      if (ks.tokens < this.#burst) return;
    }
    if (this.#keys.get(ks.key) === ks) this.#keys.delete(ks.key);
  }

  /** Amortised clean-up of rate buckets that refilled: keeps memory bounded by active keys. */
  #sweep(): void {
    for (const ks of this.#keys.values()) this.#maybeForget(ks);
    this.#sweepAt = Math.max(1024, this.#keys.size * 2);
  }

  #ringAdd(ks: KeyState): void {
    if (ks.inRing) return;
    ks.inRing = true;
    ks.ringPrev = this.#ringTail;
    ks.ringNext = null;
    if (this.#ringTail !== null) this.#ringTail.ringNext = ks;
    else this.#ringHead = ks;
    this.#ringTail = ks;
  }

  #ringRemove(ks: KeyState): void {
    if (!ks.inRing) return;
    ks.inRing = false;
    if (ks.ringPrev !== null) ks.ringPrev.ringNext = ks.ringNext;
    else this.#ringHead = ks.ringNext;
    if (ks.ringNext !== null) ks.ringNext.ringPrev = ks.ringPrev;
    else this.#ringTail = ks.ringPrev;
    ks.ringNext = ks.ringPrev = null;
  }
}

/** The signal a running job gets: see {@link Limiter.run}. */
function jobSignal(given: AbortSignal | undefined): AbortSignal {
  const f = currentFrame();
  const token = f !== undefined && !f.shielded ? f.token : undefined;
  if (token === undefined) return given ?? NEVER;
  if (given === undefined) return token.signal;
  return AbortSignal.any([given, token.signal]);
}

function countOrInfinity(v: unknown, name: string, min: number): number {
  if (v === undefined || v === Infinity) return Infinity;
  if (typeof v !== "number") throw new TypeError(`${name} must be an integer >= ${min} or Infinity, got ${typeName(v)}`);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min} or Infinity, got ${v}`);
  return v;
}
