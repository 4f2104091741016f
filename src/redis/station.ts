/**
 * The engine behind every Redis primitive: one per RedisSemaphore / RedisMutex / RedisLimiter.
 * It keeps this process's side of the distributed queue — its waiters, the leases they were
 * granted, the ids still to be handed back — and one timer (the tick) that renews every held
 * lease, keeps its waiters alive in line and retries hand-backs, in one script per tick.
 *
 * A wait is a core Waiter (the same object a local Semaphore queues), so the signal, the task's
 * cancellation and select's claim work as they do locally. A grant reaches the waiter by the
 * enter reply, by pub/sub (hand-off: the releasing script grants the next waiter in Redis and
 * publishes it) or by a tick (if the message was lost). Whatever way it arrives, a waiter that
 * can no longer take it (withdrawn, or a losing select branch) hands it straight back.
 */
import { currentRuntime, currentTask, ShutdownError, type CancellationToken, type Runtime } from "../index.js";
import { currentFrame } from "../core/context.js";
import { standaloneWaiter, type Waiter, type WaitOptions } from "../core/waiter.js";
import { OverloadedError } from "../limiter/errors.js";
import { ServerClock } from "./clock.js";
import { classify, type Conn, num } from "./conn.js";
import type { Hub } from "./hub.js";
import { type Lease, LeaseImpl } from "./lease.js";
import { GONE, GRANTED, QUEUE_FULL, QUEUED, SEMAPHORE } from "./scripts.js";

/** What happens to a wait while Redis cannot be reached. */
export type UnavailableMode = "wait" | "fail";

/** @internal A station's fixed settings, validated by the primitive that owns it. */
export interface StationConfig {
  readonly label: string;
  readonly prefix: string;
  readonly name: string;
  readonly permits: number;
  readonly leaseMs: number;
  readonly maxHoldMs: number;
  readonly onUnavailable: UnavailableMode;
  readonly commandTimeoutMs: number;
  readonly bindTask: boolean;
}

/** @internal Per-call extras (the Limiter's queue bound and queue timeout). */
export interface EnterExtras {
  queueMax?: number;
  queueTimeoutMs?: number;
  maxHoldMs?: number;
  what?: string;
}

interface TaskRef {
  readonly id: number;
  readonly name: string | undefined;
  isFinished(): boolean;
}

/** One local wait for a grant. Its id is its place in Redis's queue and, once granted, its lease's id. */
interface Pending {
  readonly id: string;
  readonly n: number;
  /** Its ticket once Redis queued it; 0 before (an enter is on its way). */
  ticket: number;
  /** An enter may have reached Redis: a withdrawal must then be sent too. */
  sent: boolean;
  readonly w: Waiter<Lease, undefined>;
  readonly token: CancellationToken | undefined;
  readonly task: TaskRef | undefined;
  readonly rt: Runtime;
  readonly maxHoldMs: number;
  timer: NodeJS.Timeout | undefined;
}

const BACKOFF_MIN_MS = 25;
const BACKOFF_MAX_MS = 1_000;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** @internal */
export class Station {
  readonly keys: readonly string[];
  readonly channel: string;
  readonly label: string;
  readonly leaseMs: number;
  readonly #waiters = new Map<string, Pending>();
  readonly #leases = new Map<string, LeaseImpl>();
  /** Ids to withdraw or release in Redis, with whoever awaits the confirmation. */
  readonly #releases = new Map<string, (() => void)[]>();
  readonly #clock = new ServerClock();
  readonly #runtimes = new WeakSet<Runtime>();
  readonly #tickMs: number;
  readonly #margin: number;
  readonly #onMessage = (m: string): void => this.#message(m);
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #again = false;
  #listening: Promise<void> | undefined;
  #closed = false;

  constructor(
    readonly conn: Conn,
    readonly hub: Hub,
    readonly cfg: StationConfig,
  ) {
    const base = `${cfg.prefix}{${cfg.name}}`;
    this.keys = ["holders", "hinfo", "queue", "winfo", "clients", "seq", "used", "gone"].map((k) => `${base}:${k}`);
    this.channel = `${base}:wake`;
    this.label = cfg.label;
    this.leaseMs = cfg.leaseMs;
    this.#tickMs = Math.max(10, Math.floor(cfg.leaseMs / 3));
    // Clock drift between here and Redis over one lease, as Redlock allows for it.
    this.#margin = 2 + cfg.leaseMs / 100;
  }

  /** Waits for `n` permits; see RedisSemaphore.acquire. */
  acquire(n: number, opts: WaitOptions | undefined, extras: EnterExtras): Promise<Lease> {
    const w = standaloneWaiter<Lease>(opts, extras.what ?? `acquire ${n} on ${this.label}`);
    if (w instanceof Promise) return w;
    if (this.#closed) {
      w.fail(new ShutdownError(`${this.label} is closed`));
      return w.promise;
    }
    const frame = currentFrame();
    const task = frame?.taskRecord as TaskRef | undefined;
    const p: Pending = {
      id: this.hub.nextId(),
      n,
      ticket: 0,
      sent: false,
      w,
      token: this.cfg.bindTask ? currentTask()?.token : undefined,
      task: typeof task?.isFinished === "function" ? task : undefined,
      rt: currentRuntime(),
      maxHoldMs: extras.maxHoldMs ?? this.cfg.maxHoldMs,
      timer: undefined,
    };
    this.#register(p.rt);
    this.#waiters.set(p.id, p);
    w.onWithdraw = () => this.#withdrawn(p);
    const qt = extras.queueTimeoutMs;
    if (qt !== undefined) {
      p.timer = setTimeout(() => w.withdraw(new OverloadedError("queue-timeout", undefined, `waited longer than queueTimeoutMs (${qt} ms) on ${this.label}`)), qt);
    }
    // Already subscribed (others wait, or did a moment ago): listen before entering, so a grant
    // published right after the enqueue cannot be missed and no extra poll is needed.
    if (this.#listening === undefined && this.hub.isActive(this.channel)) this.#listen(false);
    void this.#enter(p, extras.queueMax ?? -1);
    return w.promise;
  }

  /** One attempt, never queued: the lease if `n` permits are free and nobody waits, else undefined. */
  async tryAcquire(n: number, maxHoldMs: number | undefined): Promise<Lease | undefined> {
    if (this.#closed) throw new ShutdownError(`${this.label} is closed`);
    const id = this.hub.nextId();
    const t0 = performance.now();
    let r: unknown[];
    try {
      r = await this.#eval(["enter", id, String(n), String(this.leaseMs), this.hub.clientId, String(this.leaseMs), "0", "try", "-1", "0"], "tryAcquire");
    } catch (e) {
      void this.releaseId(id); // it may have been granted after all
      throw classify(e, "tryAcquire").error;
    }
    const off = this.#clock.sample(t0, num(r[1]));
    if (num(r[0]) !== GRANTED) return undefined;
    const deadline = num(r[3]) - off - this.#margin;
    if (deadline - performance.now() <= this.#margin) {
      void this.releaseId(id); // the answer came too late to trust the lease
      return undefined;
    }
    const frame = currentFrame();
    const task = frame?.taskRecord as TaskRef | undefined;
    const rt = currentRuntime();
    this.#register(rt);
    const lease = new LeaseImpl(
      this,
      id,
      n,
      num(r[2]),
      deadline,
      this.cfg.bindTask ? currentTask()?.token : undefined,
      typeof task?.isFinished === "function" ? task : undefined,
      rt,
      maxHoldMs ?? this.cfg.maxHoldMs,
    );
    this.#leases.set(id, lease);
    this.#arm();
    return lease;
  }

  /** Permits in use, leases held and waiters queued, as Redis sees them now. */
  async status(): Promise<{ used: number; holders: number; queued: number }> {
    const r = await this.#eval(["status"], "status").catch((e: unknown) => {
      throw classify(e, "status").error;
    });
    return { used: num(r[1]), holders: num(r[2]), queued: num(r[3]) };
  }

  /**
   * Withdraws every local waiter (rejecting with ShutdownError), releases every lease (each loses
   * with `released-by-shutdown`), and stops listening. Resolves with the leases Redis did not
   * confirm within the command timeout.
   */
  async close(reason: string, rt?: Runtime): Promise<LeaseImpl[]> {
    if (rt === undefined) this.#closed = true;
    for (const p of [...this.#waiters.values()]) {
      if (rt === undefined || p.rt === rt) p.w.withdraw(new ShutdownError(`${this.label}: ${reason}`));
    }
    const mine = [...this.#leases.values()].filter((l) => rt === undefined || l.rt === rt);
    const waits = mine.map((l) => {
      const confirmed = this.releaseId(l.id);
      l.lose("released-by-shutdown");
      return new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), this.cfg.commandTimeoutMs * 2);
        void confirmed.then(() => {
          clearTimeout(t);
          resolve(true);
        });
      });
    });
    const ok = await Promise.all(waits);
    if (this.#waiters.size === 0) this.#unlisten(true);
    return mine.filter((_, i) => !ok[i]);
  }

  // --- LeaseHost -------------------------------------------------------------------------------

  forget(lease: LeaseImpl): void {
    if (this.#leases.get(lease.id) === lease) this.#leases.delete(lease.id);
  }

  /**
   * Withdraws or releases `id` in Redis, whichever it is there now; resolves once Redis confirmed.
   * Tried at once, then on every tick until it goes through.
   */
  releaseId(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      let list = this.#releases.get(id);
      if (list === undefined) {
        list = [];
        this.#releases.set(id, list);
      }
      list.push(resolve);
      if (list.length === 1) void this.#sendRelease(id, list);
    });
  }

  async #sendRelease(id: string, list: (() => void)[]): Promise<void> {
    if (!this.conn.ready) {
      this.#arm();
      return;
    }
    try {
      await this.#eval(["release", id, String(this.leaseMs)], "release");
    } catch {
      this.#arm(); // the tick retries it
      return;
    }
    this.#confirmRelease(id, list);
  }

  #confirmRelease(id: string, list: (() => void)[]): void {
    if (this.#releases.get(id) !== list) return;
    this.#releases.delete(id);
    for (const r of list) r();
  }

  // --- waiting -------------------------------------------------------------------------------------

  async #enter(p: Pending, queueMax: number): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    for (;;) {
      if (this.#waiters.get(p.id) !== p) return;
      if (!this.conn.ready && this.cfg.onUnavailable === "wait") {
        await delay(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      const retry = p.sent;
      p.sent = true;
      const t0 = performance.now();
      let r: unknown[];
      try {
        r = await this.#eval(["enter", p.id, String(p.n), String(this.leaseMs), this.hub.clientId, String(this.leaseMs), String(p.ticket), "wait", String(queueMax), retry ? "1" : "0"], "acquire");
      } catch (e) {
        const f = classify(e, "acquire");
        if (f.kind === "reply" || this.cfg.onUnavailable === "fail") {
          this.#fail(p, f.error);
          return;
        }
        await delay(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      if (this.#waiters.get(p.id) !== p) return; // granted by a message meanwhile, or withdrawn
      const off = this.#clock.sample(t0, num(r[1]));
      const code = num(r[0]);
      if (code === GRANTED) {
        this.#granted(p, num(r[2]), num(r[3]) - off - this.#margin);
      } else if (code === QUEUED) {
        p.ticket = num(r[2]);
        if (this.#listening === undefined) this.#listen(true);
        this.#arm();
      } else if (code === GONE) {
        this.#fail(p, new Error(`steward/redis: ${this.label} refused a wait it was told was withdrawn`));
      } else if (code === QUEUE_FULL) {
        this.#settle(p);
        p.w.fail(new OverloadedError("queue-full", undefined, `${this.label}: ${queueMax} calls are already waiting`));
      } else {
        this.#fail(p, new Error(`steward/redis: unexpected reply ${String(code)} to acquire on ${this.label}`));
      }
      return;
    }
  }

  /** A waiter's wait ends with `error`; anything Redis may hold for it is handed back. */
  #fail(p: Pending, error: unknown): void {
    this.#settle(p);
    if (p.w.fail(error) && p.sent) void this.releaseId(p.id);
  }

  #settle(p: Pending): void {
    if (this.#waiters.get(p.id) === p) this.#waiters.delete(p.id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.timer = undefined;
    if (this.#waiters.size === 0) {
      this.#unlisten();
      this.#timer?.unref(); // held leases alone do not keep the process alive
    }
  }

  /** The waiter was withdrawn (signal, task cancelled, lost select, queue timeout, shutdown). */
  #withdrawn(p: Pending): void {
    this.#settle(p);
    if (p.sent) void this.releaseId(p.id);
  }

  /**
   * Redis granted `p` a lease that it holds until local time `deadline`. A waiter that can no
   * longer take it hands it back; a grant that arrives too late to be trusted (this process was
   * paused while the message waited) is handed back too, and the waiter keeps its place in line.
   */
  #granted(p: Pending, fence: number, deadline: number): void {
    if (this.#waiters.get(p.id) !== p) return;
    if (deadline - performance.now() <= this.#margin) {
      void this.releaseId(p.id);
      if (p.ticket > 0)
        this.#kick(); // the next tick re-enqueues it with its ticket
      else void this.#enter(p, -1); // never queued: enter again (after the release, in order)
      return;
    }
    this.#settle(p);
    const lease = new LeaseImpl(this, p.id, p.n, fence, deadline, p.token, p.task, p.rt, p.maxHoldMs);
    // complete() claims the waiter's select group: false means it was withdrawn, and its
    // onWithdraw has already handed the grant back.
    if (!p.w.complete(lease)) {
      lease.discard();
      return;
    }
    this.#leases.set(p.id, lease);
    this.#arm();
  }

  #message(m: string): void {
    let off: number | undefined;
    for (const part of m.split(",")) {
      const a = part.split(":"); // "clientId:seq:fence:expiry": the id itself holds one colon
      if (a.length !== 4) continue;
      const p = this.#waiters.get(`${a[0]}:${a[1]}`);
      if (p === undefined) continue;
      off ??= this.#clock.offset();
      if (off === undefined) {
        this.#kick(); // no recent clock sample to trust the expiry with: ask Redis instead
        return;
      }
      this.#granted(p, Number(a[2]), Number(a[3]) - off - this.#margin);
    }
  }

  /** Subscribes to wake-ups; with `poll`, asks Redis once more when the subscription is active. */
  #listen(poll: boolean): void {
    const l = this.hub.listen(this.channel, this.#onMessage);
    this.#listening = l;
    l.then(
      // A grant published before the subscription was active is found by asking once more now.
      () => {
        if (poll) this.#kick();
      },
      () => {
        if (this.#listening === l) this.#listening = undefined; // polling covers it; retried on the next enqueue
      },
    );
  }

  #unlisten(now = false): void {
    if (this.#listening === undefined && !now) return;
    this.#listening = undefined;
    this.hub.unlisten(this.channel, this.#onMessage, now);
  }

  // --- the tick ------------------------------------------------------------------------------------

  get #busy(): boolean {
    return this.#waiters.size > 0 || this.#leases.size > 0 || this.#releases.size > 0;
  }

  /** Makes sure a tick is scheduled while there is anything to renew, poll or hand back. */
  #arm(): void {
    if (this.#timer !== undefined) {
      // A waiting task keeps the process alive (as a local wait on a timer would); held leases alone do not.
      if (this.#waiters.size > 0) this.#timer.ref();
      return;
    }
    if (!this.#busy) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, this.#tickMs);
    if (this.#waiters.size === 0) this.#timer.unref();
  }

  /** Runs a tick as soon as possible. */
  #kick(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, 0);
  }

  async #tick(): Promise<void> {
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = true;
    try {
      await this.#tickOnce();
    } finally {
      this.#ticking = false;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      } else {
        this.#arm();
      }
    }
  }

  async #tickOnce(): Promise<void> {
    // A lease is renewed while the task that acquired it lives; one it left behind is released.
    for (const l of [...this.#leases.values()]) if (l.task?.isFinished() === true) void l.release();
    const renew = [...this.#leases.values()];
    const handBack = [...this.#releases.entries()];
    const waiting = [...this.#waiters.values()].filter((p) => p.ticket > 0);
    if (renew.length + handBack.length + waiting.length === 0) return;
    if (!this.conn.ready) {
      if (this.cfg.onUnavailable === "fail") this.#failWaiting(waiting, classify(new Error("the client is not connected"), "tick").error);
      return;
    }
    const args = ["tick", this.hub.clientId, String(this.leaseMs), String(renew.length)];
    for (const l of renew) args.push(l.id, String(this.leaseMs));
    args.push(String(handBack.length));
    for (const [id] of handBack) args.push(id);
    args.push(String(waiting.length));
    for (const p of waiting) args.push(p.id, String(p.ticket), String(p.n), String(this.leaseMs));
    const t0 = performance.now();
    let r: unknown[];
    try {
      r = await this.#eval(args, "renew");
    } catch (e) {
      const f = classify(e, "renew");
      if (f.kind === "reply" || this.cfg.onUnavailable === "fail") this.#failWaiting(waiting, f.error);
      return; // leases not confirmed in time are lost by their own timers
    }
    const off = this.#clock.sample(t0, num(r[0]));
    let i = 1;
    for (const l of renew) {
      const exp = num(r[i++]);
      if (!l.active) continue;
      if (exp === 0) l.lose("expired");
      else l.confirm(exp - off - this.#margin);
    }
    for (const [id, list] of handBack) this.#confirmRelease(id, list);
    for (const p of waiting) {
      const fence = num(r[i++]);
      const exp = num(r[i++]);
      if (fence > 0) this.#granted(p, fence, exp - off - this.#margin);
    }
  }

  #failWaiting(waiting: Pending[], error: unknown): void {
    for (const p of waiting) if (this.#waiters.get(p.id) === p) this.#fail(p, error);
  }

  #eval(args: string[], what: string): Promise<unknown[]> {
    return this.conn.eval(SEMAPHORE, this.keys, [args[0]!, this.channel, String(this.cfg.permits), ...args.slice(1)], this.cfg.commandTimeoutMs, `${what} on ${this.label}`);
  }

  // --- shutdown ------------------------------------------------------------------------------------

  /** Hands this station's leases of `rt` to its drop phase (once per runtime). */
  #register(rt: Runtime): void {
    if (this.#runtimes.has(rt)) return;
    this.#runtimes.add(rt);
    try {
      rt.defer(async () => {
        const failed = await this.close("the runtime shut down", rt);
        if (failed.length > 0) {
          throw new Error(
            `could not release ${failed.length} lease(s) on ${this.label}: ${failed.map((l) => l.describe()).join(", ")}; ` +
              `Redis frees them when their lease time runs out (at most ${this.leaseMs} ms)`,
          );
        }
      }, `${this.label} leases`);
    } catch {
      // A closed runtime takes no resources: its leases are released by their holders, or expire.
    }
  }
}
