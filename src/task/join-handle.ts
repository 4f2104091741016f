/**
 * A task's record and its handle are one object: spawning allocates the handle, its token and its
 * context, nothing else. The handle is also the task's ALS frame (see core/context.ts).
 */
import { asCancelledError, CancellationToken } from "../cancel/token.js";
import { config } from "../core/config.js";
import { currentFrame, type ContextFrame, type TaskLike } from "../core/context.js";
import { diag, type Hold, taskIds } from "../core/holds.js";
import { hooks, type InstrumentedTask } from "../core/instrument.js";
import { Waiter } from "../core/waiter.js";
import { CancelledError, JoinError } from "../errors.js";
import { captureSpawnSite, formatSpawnSite, type SpawnSite } from "./spawn-site.js";

/** What a task's function receives; also what {@link currentTask} returns. */
export interface TaskContext {
  /** Unique within the process, increasing. */
  readonly id: number;
  readonly name: string | undefined;
  /** Cancelled by `abort()`, by the task's scope or JoinSet, or by its runtime's shutdown. */
  readonly token: CancellationToken;
  /** `token.signal`: pass it to fetch, streams and anything else that takes an AbortSignal. */
  readonly signal: AbortSignal;
  /**
   * The runtime's `stopping` token: cancelled when its shutdown begins (the announcement), while
   * `token` is still intact and every steward wait keeps working. Finish accepted work and
   * return: `await ctx.stopping.cancelled()`, or check `ctx.stopping.isCancelled` between jobs.
   */
  readonly stopping: CancellationToken;
}

/** Options for spawning a task. */
export interface SpawnOptions {
  /** Shown in dumps, stuck-task reports, panics and the supervisor's report. */
  name?: string;
  /** Aborting it cancels the task, as `abort(signal.reason)` would. */
  signal?: AbortSignal;
  /**
   * Cancel this task when its runtime announces its shutdown, instead of letting it run through
   * the drain: for work that holds nothing worth finishing (a heartbeat, a poller, a cache
   * refresher). Its cancellation is then not counted as lost work. Default false.
   */
  cancelOnStop?: boolean;
}

/** The outcome of a task, as `result()` and `JoinSet.joinNext()` give it. Never a rejection. */
export type JoinResult<T> = { ok: true; id: number; value: T } | { ok: false; id: number; error: JoinError };

/** @internal Who owns a task's outcome: a JoinSet, a scope, a tracker. */
export interface TaskOwner {
  onTaskDone(h: JoinHandle<unknown>): void;
}

/** @internal What a task needs from its runtime (the Runtime class implements it). */
export interface TaskHost {
  readonly token: CancellationToken;
  readonly stopping: CancellationToken;
  link(h: JoinHandle<unknown>): void;
  unlink(h: JoinHandle<unknown>): void;
  reportPanic(error: JoinError, h: JoinHandle<unknown>): void;
}

/** A task's context reads everything through its handle: one field per task instead of four. */
class Context implements TaskContext {
  constructor(private readonly h: JoinHandle<unknown>) {}
  get id(): number {
    return this.h.id;
  }
  get name(): string | undefined {
    return this.h.name;
  }
  get token(): CancellationToken {
    return this.h.token;
  }
  get signal(): AbortSignal {
    return this.h.token.signal;
  }
  get stopping(): CancellationToken {
    return this.h.runtimeRef.stopping;
  }
}

function ignore(): void {}

const RUNNING = 0;
/** See JoinHandle's spawnedOffsetMs. */
const EPOCH_MS = Date.now();
const OK = 1;
const FAILED = 2;
/** The state's bits in JoinHandle's flags; two booleans above them. */
const STATE = 3;
/** Someone asked for the outcome (a join, `result()`, a JoinSet): a panic is then not reported as unobserved. */
const OBSERVED = 4;
/** Spawned with `cancelOnStop`. */
const CANCEL_ON_STOP = 8;

/**
 * A task's join of another task, as a wait: made when code in a task awaits a handle whose task
 * is still running, so the deadlock detector sees who joins whom (a task joining itself, or a
 * task that joins it) and dumps show `join task N`. Not withdrawn by the joiner's cancellation
 * (awaiting a handle never was).
 */
export class JoinWaiter<T> extends Waiter<T, object> {
  /** Marks a join for the detector (core/holds.ts): the task joined. */
  get joined(): object {
    return this.data;
  }
}

/** The listener that links `opts.signal` to a task's token, removed when the task ends. */
class SignalLink {
  constructor(
    private readonly token: CancellationToken,
    readonly signal: AbortSignal,
  ) {}
  handleEvent(): void {
    this.token.cancel(this.signal.reason);
  }
}

/**
 * A handle to a spawned task, like tokio's JoinHandle: await it for the task's value (it rejects
 * with {@link JoinError}), or call `result()` for an outcome that never rejects. Dropping the
 * handle does not cancel the task; `abort()` does.
 *
 * It is a Promise to TypeScript and to `instanceof Promise`, with `then`, `catch` and `finally`;
 * `await` adopts it as a thenable, one microtask more than a native promise: it is not a native
 * Promise subclass because constructing one costs ≈ 0.6–1 µs more per spawn (measured on Node 20
 * and 24 for issue 11), more than the adoption it would save.
 */
export class JoinHandle<T> implements Promise<T>, ContextFrame, TaskLike, InstrumentedTask {
  readonly id: number;
  readonly name: string | undefined;
  /** @internal */ readonly token: CancellationToken;
  /** @internal */ readonly ctx: TaskContext;
  /** @internal A task's own frame is never shielded (a getter on the prototype: one field less per task). */
  get shielded(): false {
    return false;
  }
  /** @internal */ readonly runtimeRef: TaskHost;
  /** @internal */ waitingOn: string | undefined = undefined;
  /** @internal Pending steward waits (core/context.ts). */ waits = 0;
  /** @internal */ waitSince = 0;
  /** @internal Its latest pending wait (core/context.ts). */ wait: object | undefined = undefined;
  /** @internal Guards it holds (core/holds.ts). */ held: Hold | null = null;
  /** @internal The task that spawned it. */ readonly parent: TaskLike | undefined;
  /** @internal Tasks awaiting this one, as waits (see JoinWaiter). */ private joiners: { complete(v: never): boolean; fail(e: unknown): boolean }[] | undefined = undefined;
  /** @internal */ owner: TaskOwner | undefined;
  /**
   * Milliseconds from {@link EPOCH_MS} to the spawn: a small integer (an unboxed Smi) for the
   * first 24 days of a process, where the epoch time itself is a boxed 16-byte double per task.
   */
  private readonly spawnedOffsetMs: number;
  /** @internal Live-task list of the runtime (intrusive, so linking allocates nothing). */
  liveNext: JoinHandle<unknown> | null = null;
  /** @internal */ livePrev: JoinHandle<unknown> | null = null;
  /** @internal Set at spawn per `configure({ spawnSites })`, or by the console (which captures every site). */
  site: SpawnSite | undefined;
  /** @internal The live console's record of this task (core/instrument.ts); undefined when it is off. */
  instrument: unknown = undefined;
  private fn: ((ctx: TaskContext) => T | PromiseLike<T>) | undefined;
  /** RUNNING, OK or FAILED, and the booleans OBSERVED and CANCEL_ON_STOP: one small integer, not three fields. */
  private flags = RUNNING;
  /** The value once OK, the JoinError once FAILED: one field, not two. */
  private endedWith: unknown = undefined;
  private settled: Promise<T> | undefined = undefined;
  // The settled promise's resolving functions, kept as two fields rather than an object per join.
  private settleResolve: ((v: unknown) => void) | undefined = undefined;
  private settleReject: ((e: unknown) => void) | undefined = undefined;
  private signalLink: SignalLink | undefined = undefined;

  /** @internal Use spawn(), Runtime#spawn, JoinSet#spawn or a scope to make one. */
  constructor(
    host: TaskHost,
    fn: (ctx: TaskContext) => T | PromiseLike<T>,
    name: string | undefined,
    token: CancellationToken,
    owner: TaskOwner | undefined,
    /** The task whose code spawns it (spawnOn read it from the frame). */
    parent: TaskLike | undefined,
    /** Where it was spawned, when the caller knows better than a stack (a request: its route). */
    site?: SpawnSite,
  ) {
    if (typeof fn !== "function" || !(token instanceof CancellationToken)) throw new TypeError("a JoinHandle is made by spawn(), not with new");
    this.id = taskIds.next++;
    this.parent = parent;
    this.name = name;
    this.token = token;
    this.ctx = new Context(this as JoinHandle<unknown>);
    this.runtimeRef = host;
    this.owner = owner;
    this.fn = fn;
    this.spawnedOffsetMs = Date.now() - EPOCH_MS; // cheaper than performance.now(); ages are reported in whole ms
    const sites = config.spawnSites;
    this.site = site ?? (sites === "all" || (sites === "named" && name !== undefined) ? captureSpawnSite() : undefined);
    if (hooks !== null) hooks.taskSpawned(this, host);
  }

  private get state(): number {
    return this.flags & STATE;
  }

  private get observed(): boolean {
    return (this.flags & OBSERVED) !== 0;
  }

  private get value(): T {
    return this.endedWith as T;
  }

  private get error(): JoinError {
    return this.endedWith as JoinError;
  }

  /** @internal Spawned with `cancelOnStop`: the runtime cancels it at the announcement. */
  get cancelOnStop(): boolean {
    return (this.flags & CANCEL_ON_STOP) !== 0;
  }
  set cancelOnStop(on: boolean) {
    this.flags = on ? this.flags | CANCEL_ON_STOP : this.flags & ~CANCEL_ON_STOP;
  }

  /** @internal When it was spawned (epoch ms, Date.now()). */
  get spawnedAtMs(): number {
    return EPOCH_MS + this.spawnedOffsetMs;
  }

  /** @internal The frame interface: a task is its own frame. */
  get taskRecord(): TaskLike {
    return this;
  }

  /** @internal The frame interface: a task's own code runs for no select branch (found here, not by a miss up the prototype chain). */
  get branch(): undefined {
    return undefined;
  }

  /** Where the task was spawned ("unknown" when spawn sites were not captured for it). */
  get spawnedAt(): string {
    return formatSpawnSite(this.site);
  }

  /** Cancels the task's token. The task sees it at its next steward wait, or through `ctx.signal`. */
  abort(reason?: unknown): void {
    this.token.cancel(reason);
  }

  /** True once the task has ended, however it ended. */
  isFinished(): boolean {
    return this.state !== RUNNING;
  }

  then<R1 = T, R2 = never>(onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.promise().then(onfulfilled, onrejected);
  }

  /** Like a promise's `catch`: handles a JoinError (and marks the task's outcome observed). */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.promise().catch(onrejected);
  }

  /** Like a promise's `finally`. */
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.promise().finally(onfinally);
  }

  /** `Object.prototype.toString` says what it is. */
  get [Symbol.toStringTag](): string {
    return "JoinHandle";
  }

  /** The task's outcome; never rejects. */
  result(): Promise<JoinResult<T>> {
    return this.promise().then(
      (value) => ({ ok: true as const, id: this.id, value }),
      (error: JoinError) => ({ ok: false as const, id: this.id, error }),
    );
  }

  /** @internal The outcome, once finished (for JoinSet and scope, which observe it). */
  outcome(): JoinResult<T> {
    this.flags |= OBSERVED;
    return this.state === OK ? { ok: true, id: this.id, value: this.value as T } : { ok: false, id: this.id, error: this.error! };
  }

  /** @internal Takes the outcome's error without marking it observed by a user. */
  get joinError(): JoinError | undefined {
    return this.state === FAILED ? this.error : undefined;
  }

  /** @internal Links `opts.signal` to the task's token until the task ends. */
  linkSignal(signal: AbortSignal): void {
    const l = new SignalLink(this.token, signal);
    signal.addEventListener("abort", l);
    this.signalLink = l;
  }

  /** @internal Runs the task's function; called from the start queue on a later microtask. */
  start(): void {
    const fn = this.fn!;
    this.fn = undefined;
    // As tokio never polls an aborted task: cancelled before it started (abort(), opts.signal, its
    // JoinSet or scope), it ends without running. A task cancelled by its runtime's stop still runs
    // (with a cancelled token): that is how cleanup spawned during shutdown gets to shield() itself.
    const token = this.token;
    if (token.isCancelled) {
      const root = this.runtimeRef.token;
      if (!root.isCancelled || token.reason !== root.reason) {
        this.fail(asCancelledError(token.reason));
        return;
      }
    }
    let r: T | PromiseLike<T>;
    try {
      r = fn(this.ctx);
      if (r !== null && (typeof r === "object" || typeof r === "function") && typeof (r as PromiseLike<T>).then === "function") {
        // A user's thenable may throw from then (or its getter): that is the task's panic, not the start queue's.
        // Bound methods rather than arrow functions: no closure context, ≈ 80 B less per task.
        if (this.settled === undefined && r instanceof Promise) {
          // Nobody has asked for the outcome yet (an `await h` right after spawn asks only on a
          // later microtask): the reaction's own derived promise becomes the join promise, so a
          // join makes no promise, executor or resolvers of its own.
          const d: unknown = (r as Promise<T>).then(this.settleOk.bind(this), this.settleFailed.bind(this));
          if (d instanceof Promise) this.settled = d as Promise<T>; // else a patched `then`: promise() makes its own
        } else (r as PromiseLike<T>).then(this.succeed.bind(this), this.fail.bind(this));
        return;
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    this.succeed(r as T);
  }

  /** The derived join promise's fulfilment (see start): the task's recorded outcome. */
  private settleOk(v: T): T {
    this.succeed(v);
    return this.settledOutcome();
  }

  private settleFailed(e: unknown): T {
    this.fail(e);
    return this.settledOutcome();
  }

  private settledOutcome(): T {
    if (this.state !== FAILED) return this.value as T;
    // The join promise rejects with the JoinError. Marked handled here: whether a panic went
    // unobserved is the runtime's report (see fail), never an unhandledRejection.
    this.settled?.then(undefined, ignore);
    throw this.error!;
  }

  /** @internal Ends the task with value `v` (no-op once ended); also how a record-only task's owner completes it (task/request-task.ts). */
  protected succeed(v: T): void {
    if (this.state !== RUNNING) return;
    this.flags |= OK;
    this.endedWith = v;
    this.finish();
  }

  /** @internal Ends the task with `e` (cancelled or a panic; no-op once ended); also how a record-only task's owner ends it (task/request-task.ts). */
  protected fail(e: unknown): void {
    if (this.state !== RUNNING) return;
    const kind = e instanceof CancelledError || this.token.isCancelled ? "cancelled" : "panic";
    this.flags |= FAILED;
    // No stack of its own: it would only show steward's internals (the cause carries the task's
    // stack), and capturing one costs ≈ 5 µs per failed task, which dominates a mass shutdown.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    this.endedWith = new JoinError(kind, this.id, this.name, e);
    Error.stackTraceLimit = limit;
    this.finish();
    if (kind === "panic" && !this.observed) {
      // As Node does for unhandled rejections: give code that joins later in this turn a chance.
      setImmediate(() => {
        if (!this.observed && hooks !== null) hooks.panicUnobserved(this);
        if (!this.observed) this.runtimeRef.reportPanic(this.error!, this);
      });
    }
  }

  private finish(): void {
    if (this.signalLink !== undefined) {
      this.signalLink.signal.removeEventListener("abort", this.signalLink);
      this.signalLink = undefined;
    }
    this.runtimeRef.unlink(this);
    this.waitingOn = undefined;
    if (hooks !== null) hooks.taskDone(this);
    const resolve = this.settleResolve;
    if (resolve !== undefined) {
      const reject = this.settleReject!;
      this.settleResolve = this.settleReject = undefined;
      if (this.state === OK) resolve(this.value);
      else reject(this.error);
    }
    const joiners = this.joiners;
    if (joiners !== undefined) {
      this.joiners = undefined;
      for (const w of joiners) {
        if (this.state === OK) w.complete(this.value as never);
        else w.fail(this.error);
      }
    }
    this.owner?.onTaskDone(this);
  }

  private promise(): Promise<T> {
    this.flags |= OBSERVED;
    if (hooks !== null) hooks.taskJoined(this);
    if (this.state === RUNNING && diag !== null) {
      const joiner = currentFrame()?.taskRecord;
      if (joiner !== undefined) return this.joinWait(joiner);
    }
    if (this.settled === undefined) {
      if (this.state === OK) this.settled = Promise.resolve(this.value as T);
      else if (this.state === FAILED) this.settled = Promise.reject(this.error!);
      else
        this.settled = new Promise<T>((resolve, reject) => {
          this.settleResolve = resolve as (v: unknown) => void;
          this.settleReject = reject;
        });
    }
    return this.settled;
  }

  /** A join from task `joiner`, as a wait the deadlock detector and dumps see. */
  private joinWait(joiner: TaskLike): Promise<T> {
    const w = new JoinWaiter<T>(this, `join ${this.name === undefined ? `task ${this.id}` : `task ${this.id} '${this.name}'`}`, undefined, undefined, joiner);
    (this.joiners ??= []).push(w);
    diag?.queued(w);
    return w.promise;
  }
}

// `h instanceof Promise` holds, and Promise.prototype's methods are what a JoinHandle does not define itself.
Object.setPrototypeOf(JoinHandle.prototype, Promise.prototype);
