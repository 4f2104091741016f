/**
 * The waiter core: every wait in steward (locks, permits, channel sends and receives, joins,
 * sleeps, notifications) is a Waiter, the role tokio's batch_semaphore plays under its sync types.
 *
 * A Waiter can end in exactly one of three ways:
 *  - served: the resource claimed it and handed over a value (or an error such as a closed
 *    channel) — {@link Waiter.tryClaim} then {@link Waiter.resolveClaimed}/{@link Waiter.rejectClaimed};
 *  - withdrawn: its AbortSignal aborted, or its task's token was cancelled — it is unlinked
 *    synchronously and holds or consumes nothing;
 *  - lost: it belonged to a select group whose other branch won — it is withdrawn the same way.
 *
 * A waiter that belongs to a select branch (see ./claim.ts for how a wait finds its branch) must
 * be claimed (which claims the whole select) *before* the resource consumes anything, so a losing
 * branch never takes a message, a permit or a lock, even when several are ready in one tick.
 * Claiming has no synchronous side effects: losers are withdrawn and their signals aborted on a
 * later microtask, and a resource that meets a loser still queued skips it.
 *
 * Resources with a FIFO queue use {@link WaitQueue}: they describe readiness and how to serve one
 * waiter ({@link Resource}), and the queue does the rest — fast path, budget, FIFO, withdrawal.
 */
import type { CancelListener, CancellationToken } from "../cancel/token.js";
import { asCancelledError } from "../errors.js";
import { parkUntilRefill, takeBudget } from "./budget.js";
import { activeBranch, type Branch, branchLive, claimBranch, type ClaimWaiter, LOST, LOST_REJECTED, pickBranch, registerWaiter, signalBranch, signalCovered, unregisterWaiter } from "./claim.js";
import { currentFrame, type TaskLike } from "./context.js";
import { diag, parkedSite } from "./holds.js";
import { hooks } from "./instrument.js";
import { checkSignal, typeName } from "../util/validate.js";

/** The optional last argument of every operation that can wait. */
export interface WaitOptions {
  /** Withdraws the wait when it aborts; the wait then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// The claim protocol, as resources other than the core's queues use it

/**
 * @internal Claims the select branch of the wait that the precheck just before this call admitted
 * (`signal` is that precheck's `opts.signal`). For a resource that serves a ready wait itself
 * rather than through a WaitQueue: call it right after `precheck`, before taking anything; false
 * means another branch won and the caller must take nothing. Prefer {@link claimEntry}.
 */
export function claimSignal(signal: AbortSignal | undefined): boolean {
  if (signal !== undefined && signal.aborted) return false;
  return claimBranch(signal === scratch.signal ? scratch.branch : signal === undefined ? undefined : signalBranch(signal));
}

/** @internal Claims the select branch of a wait admitted by {@link precheck}; false: take nothing. */
export function claimEntry(e: Entry): boolean {
  return claimBranch(e.branch);
}

export { LOST };

/** @internal The reason a wait rejects with when it was withdrawn without its signal having aborted yet. */
export function lostReason(signal: AbortSignal | undefined): unknown {
  return signal !== undefined && signal.aborted ? signal.reason : LOST;
}

// ---------------------------------------------------------------------------------------------
// Waiter

/** @internal The fast path's answer for waits that yield nothing (a send, a release): no allocation. */
export const RESOLVED: Promise<undefined> = Promise.resolve(undefined);

/** A value delivered after the budget's refill: a waiter's promise resolved with it adopts it. */
function afterRefill<T>(v: T): T {
  return new Promise<T>((resolve) => parkUntilRefill(() => resolve(v))) as unknown as T;
}

const QUEUED = 0;
const PARKED = 1;
const STANDALONE = 2;
const DONE = 3;
/** The state's bits in {@link Waiter}'s flags; the two booleans above them. */
const STATE = 3;
/** An abort listener is on `signal` (not needed when the select it belongs to withdraws it). */
const LISTENING = 4;
/** {@link Waiter.uncount} took it out of its task's pending waits. */
const UNCOUNTED = 8;

/**
 * One pending wait. Resources read `data` (what the waiter asks for: a permit count, a value to
 * send) and serve it; everything else is the core's business.
 */
export class Waiter<T = unknown, D = unknown> implements CancelListener, ClaimWaiter {
  next: Waiter<T, D> | null = null;
  prev: Waiter<T, D> | null = null;
  cancelNext: CancelListener | null = null;
  cancelPrev: CancelListener | null = null;
  /** The state and two booleans in one small integer: two fields (16 B) less per wait. */
  private flags = STANDALONE;
  queue: WaitQueue<T, D> | undefined = undefined;
  /** Called once when the waiter is withdrawn or lost, never when served (timers clear here). */
  onWithdraw: ((w: Waiter<T, D>) => void) | undefined = undefined;
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  readonly promise: Promise<T>;

  constructor(
    readonly data: D,
    readonly what: string,
    readonly signal: AbortSignal | undefined,
    readonly token: CancellationToken | undefined,
    readonly task: TaskLike | undefined,
    /** The select branch it belongs to: it must claim it before being served. */
    readonly branch: Branch | undefined = undefined,
  ) {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    if (branch !== undefined) registerWaiter(branch, this);
    if (signal !== undefined && !signalCovered(signal, branch)) {
      this.flags = STANDALONE | LISTENING;
      signal.addEventListener("abort", this);
    }
    if (token !== undefined) token.addListener(this);
    if (task !== undefined) {
      task.waitingOn = what;
      task.waits++;
      if (diag !== null) {
        // Read only by the diagnostics (detector, dumps): no clock read when they are off.
        task.waitSince = Date.now();
        task.wait = this;
      }
    }
    if (hooks !== null && task !== undefined) hooks.taskParked(task, what);
  }

  /**
   * @internal Takes this wait out of its task's count of pending waits: for a wait that stands
   * for the task's own code running (a OnceCell initialiser), which the task is not parked on.
   */
  uncount(): void {
    if (this.task === undefined || this.state === DONE || (this.flags & UNCOUNTED) !== 0) return;
    this.flags |= UNCOUNTED;
    this.task.waits--;
  }

  /** QUEUED, PARKED, STANDALONE or DONE. */
  get state(): number {
    return this.flags & STATE;
  }
  set state(s: number) {
    this.flags = (this.flags & ~STATE) | s;
  }

  get isPending(): boolean {
    return this.state !== DONE;
  }

  /** True while it can still be served: pending, and its select group not won by another branch. */
  get isLive(): boolean {
    return this.state !== DONE && (this.branch === undefined || branchLive(this.branch));
  }

  /** Claims the waiter (and its select group) for serving. False: it must be withdrawn, not served. */
  tryClaim(): boolean {
    return this.state !== DONE && claimBranch(this.branch);
  }

  /** Serves a claimed waiter with a value. */
  resolveClaimed(value: T): void {
    if (this.finish()) this.resolve(value);
  }

  /** Serves a claimed waiter with an error (a closed channel, a closed semaphore). */
  rejectClaimed(error: unknown): void {
    if (this.finish()) this.reject(error);
  }

  /** Claims the waiter, or withdraws it as a select loser: false means it must not be served. */
  claim(): boolean {
    if (this.state === DONE) return false;
    if (this.tryClaim()) return true;
    this.withdraw(lostReason(this.signal));
    return false;
  }

  /** Claims and resolves in one step; false (and the waiter withdrawn) if the claim failed. */
  complete(value: T): boolean {
    if (!this.claim()) return false;
    this.resolveClaimed(value);
    return true;
  }

  /** Claims and rejects in one step (for an operation's own failure, which is its branch's result). */
  fail(error: unknown): boolean {
    if (!this.claim()) return false;
    this.rejectClaimed(error);
    return true;
  }

  /** Withdraws the waiter: unlinks it, holds nothing, rejects with `reason`. Idempotent. */
  withdraw(reason: unknown): void {
    if (this.state === DONE) return;
    const q = this.queue;
    if (q !== undefined && this.state === PARKED) q.parked--;
    const wasHead = q !== undefined && this.state === QUEUED && q.head === this;
    if (q !== undefined && this.state === QUEUED) q.unlink(this);
    this.finish();
    this.reject(reason);
    this.onWithdraw?.(this);
    if (q !== undefined) {
      q.onWithdraw?.(this);
      // The head may have been what blocked the waiters behind it (a large acquire, a writer).
      if (wasHead) q.pump();
    }
  }

  /** AbortSignal listener (an object listener, so no closure per wait). */
  handleEvent(): void {
    this.withdraw(this.signal!.reason);
  }

  /** Task-token listener. */
  onTokenCancelled(reason: unknown): void {
    this.withdraw(asCancelledError(reason));
  }

  /** Marks done and unhooks every listener; false if it was already done. */
  private finish(): boolean {
    if (this.state === DONE) return false;
    if (this.state === QUEUED && this.queue !== undefined && (this.prev !== null || this.queue.head === this)) {
      this.queue.unlink(this);
    }
    this.state = DONE;
    if ((this.flags & LISTENING) !== 0) this.signal!.removeEventListener("abort", this);
    if (this.branch !== undefined) unregisterWaiter(this.branch, this);
    if (this.token !== undefined) this.token.removeListener(this);
    const task = this.task;
    if (task !== undefined) {
      if (task.waitingOn === this.what) task.waitingOn = undefined;
      if ((this.flags & UNCOUNTED) === 0) task.waits--;
      if (task.wait === this) task.wait = undefined;
      if (hooks !== null) hooks.taskWoken(task, this.what);
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Entering a wait

/**
 * @internal The checks every wait makes first. Returns a rejected promise when the wait must not
 * start (signal aborted, task cancelled), else the token to watch (undefined when shielded or
 * outside a task).
 */
export function precheck(opts: WaitOptions | undefined, watchTask = true): Promise<never> | Entry {
  let signal: AbortSignal | undefined;
  let fromSignal: Branch | undefined;
  if (opts !== undefined) {
    if (opts === null || typeof opts !== "object") throw new TypeError(`opts must be an object, got ${typeName(opts)}`);
    signal = opts.signal;
    if (signal !== undefined) {
      checkSignal(signal);
      if (signal.aborted) return Promise.reject(signal.reason);
      fromSignal = signalBranch(signal);
    }
  }
  const frame = currentFrame();
  let token: CancellationToken | undefined;
  let task: TaskLike | undefined;
  let branch = activeBranch;
  if (frame !== undefined) {
    task = frame.taskRecord;
    if (branch === undefined) branch = frame.branch;
    if (watchTask && !frame.shielded) {
      token = frame.token;
      if (token !== undefined && token.isCancelled) return Promise.reject(asCancelledError(token.reason));
    }
  }
  if (branch !== undefined || fromSignal !== undefined) {
    if (activeBranch !== undefined) activeBranch.startedWait = true;
    branch = pickBranch(branch, fromSignal);
    if (!branchLive(branch)) return LOST_REJECTED;
  }
  scratch.signal = signal;
  scratch.token = token;
  scratch.task = task;
  scratch.branch = branch;
  return scratch;
}

/** @internal What precheck found; a shared scratch object (read it before the next precheck). */
export interface Entry {
  signal: AbortSignal | undefined;
  token: CancellationToken | undefined;
  task: TaskLike | undefined;
  /** The select branch the wait belongs to (see ./claim.ts). */
  branch: Branch | undefined;
}
const scratch: Entry = { signal: undefined, token: undefined, task: undefined, branch: undefined };

/**
 * A wait that some outside event completes (a timer, a task ending): not in any queue. Returns
 * the waiter, or a rejected promise when the wait must not start.
 */
export function standaloneWaiter<T>(opts: WaitOptions | undefined, what: string): Waiter<T, undefined> | Promise<never> {
  const e = precheck(opts);
  if (e instanceof Promise) return e;
  return new Waiter<T, undefined>(undefined, what, e.signal, e.token, e.task, e.branch);
}

/**
 * @internal The fast path of a wait called without options whose resource is ready now and has
 * no one queued or parked: true when it may complete at once, having drawn one unit of the
 * budget. False (nothing drawn) when it belongs to a select branch, its task is cancelled, or the
 * budget is spent: the caller then takes the full path (WaitQueue.wait), which decides the same
 * way precheck does. For the hottest waits (a channel's send and recv), so they skip precheck's
 * option handling and the Resource dispatch.
 */
export function readyNow(): boolean {
  if (activeBranch !== undefined) return false;
  const frame = currentFrame();
  let task: TaskLike | undefined;
  if (frame !== undefined) {
    if (frame.branch !== undefined) return false;
    if (!frame.shielded) {
      const token = frame.token;
      if (token !== undefined && token.isCancelled) return false;
    }
    task = frame.taskRecord;
  }
  readyTask = task;
  return takeBudget();
}

/** @internal The task (or undefined) of the wait {@link readyNow} last admitted: a lock's new holder. */
export let readyTask: TaskLike | undefined;

// ---------------------------------------------------------------------------------------------
// FIFO queues

/**
 * The ready fast path of a wait that belongs to a select branch: claim, take, and leave the answer
 * on the branch (so select can complete with it without a `then`). Apart from the plain fast path
 * so that path stays as it was.
 */
function takeForBranch<T, D>(res: Resource<T, D>, data: D, branch: Branch): Promise<T> {
  if (!claimBranch(branch)) return LOST_REJECTED;
  let v: T;
  try {
    v = res.take(data, scratch.task);
  } catch (err) {
    return Promise.reject(err);
  }
  const p = v === undefined ? (RESOLVED as Promise<T>) : Promise.resolve(v);
  branch.readyPromise = p;
  branch.readyValue = v;
  return p;
}

/** What a queue needs to know about the resource it guards. */
export interface Resource<T, D> {
  /** Could a waiter asking for `data` be served now? Asked for the queue's head, or a newcomer to an empty queue. */
  ready(data: D): boolean;
  /**
   * Serves one claimed waiter: consumes and returns what it gets. May throw to reject it instead.
   * `task` is the waiting task (undefined outside any task): a lock records it as the holder.
   */
  take(data: D, task: TaskLike | undefined): T;
  /**
   * Optional, for the live console, the flight recorder and dumps: what the resource is and what
   * it holds now, as plain JSON-able fields (see {@link ResourceDescription}). Called only while
   * an observer looks, never on a wait's path; it must not throw.
   */
  inspect?(): ResourceDescription;
}

/**
 * How a resource describes itself (`inspect()`): `kind` ("Mutex", "channel"), `op` (what its
 * waiters do: "lock", "recv") and `label` (the resource as waits name it: `Mutex "db"`,
 * `channel#3`), then its state. Conventional state keys: `length` and `capacity` (a channel;
 * `capacity: Infinity` when unbounded), `locked` (a lock), `available` (permits), `holder` (a task
 * id) and `heldSinceMs` (epoch ms the current hold began). A resource whose label carries an id
 * (`channel#3`) is one resource over all its queues.
 */
export interface ResourceDescription {
  kind?: string;
  op?: string;
  label?: string;
  [field: string]: unknown;
}

/** What {@link WaitQueue.inspect} returns: the resource's description, and who waits here. */
export interface QueueDescription extends ResourceDescription {
  kind: string;
  op: string;
  label: string;
  /** Waiters queued now. */
  waiters: number;
  /** The task of the first waiter, if it waits in one. */
  headTask?: number;
}

/**
 * A FIFO queue of waiters for one resource. `wait()` is the whole life of an operation that may
 * have to wait: the ready fast path (on the budget), parking when the budget is spent, queueing,
 * and withdrawal. The resource calls `pump()` whenever what it holds changes.
 */
export class WaitQueue<T, D = undefined> {
  head: Waiter<T, D> | null = null;
  tail: Waiter<T, D> | null = null;
  length = 0;
  /** Optional hook: a queued waiter was withdrawn (e.g. a barrier un-counts an arrival). */
  onWithdraw: ((w: Waiter<T, D>) => void) | undefined = undefined;
  /**
   * Waiters parked by the spent budget: in no list yet, but they came before any newcomer, so
   * newcomers park behind them and a resource's try* operation must not pass them.
   */
  parked = 0;
  private pumping = false;
  /** @internal Set by a lock, semaphore or cell: its waits are nodes of the deadlock detector's graph. */
  graph = false;

  constructor(
    /** @internal */ readonly resource: Resource<T, D>,
    /** What a waiter here waits on, for dumps: "recv on channel#3". */
    public what: string,
  ) {
    if (hooks !== null) hooks.queueCreated(this);
  }

  /** No waiter queued or parked: a try* operation (trySend, tryLock) may take what is ready. */
  get idle(): boolean {
    return this.head === null && this.parked === 0;
  }

  /** Waits until the resource serves `data`; see the module comment for how it can end. */
  wait(data: D, opts?: WaitOptions): Promise<T> {
    const e = precheck(opts);
    if (e instanceof Promise) return e;
    const res = this.resource;
    if (this.head === null && (this.parked > 0 || res.ready(data))) {
      if (this.parked === 0 && takeBudget()) {
        const branch = e.branch;
        if (branch !== undefined) return takeForBranch(res, data, branch);
        try {
          const v = res.take(data, e.task);
          return v === undefined ? (RESOLVED as Promise<T>) : Promise.resolve(v);
        } catch (err) {
          return Promise.reject(err);
        }
      }
      // The budget is spent, or earlier waits are parked: park behind them, in order.
      const w = new Waiter<T, D>(data, this.what, e.signal, e.token, e.task, e.branch);
      w.queue = this;
      w.state = PARKED;
      this.parked++;
      if (parkedSite !== null && this.graph && w.task !== undefined) parkedSite(w);
      parkUntilRefill(() => this.retryParked(w));
      return w.promise;
    }
    const w = new Waiter<T, D>(data, this.what, e.signal, e.token, e.task, e.branch);
    this.enqueue(w);
    return w.promise;
  }

  /** Serves waiters from the head while the resource is ready for them. */
  pump(): void {
    if (this.pumping) return; // the running loop re-reads the head after every step
    this.pumping = true;
    try {
      const res = this.resource;
      let w: Waiter<T, D> | null;
      while ((w = this.head) !== null) {
        if (!w.isLive) {
          w.withdraw(lostReason(w.signal));
          continue;
        }
        if (!res.ready(w.data)) break;
        this.unlink(w);
        if (!w.claim()) continue;
        let v: T;
        try {
          v = res.take(w.data, w.task);
        } catch (err) {
          w.rejectClaimed(err);
          continue;
        }
        // A served waiter resumes a task, so it draws on the budget like a ready wait: two tasks
        // handing a lock or messages back and forth would otherwise starve timers and I/O. When
        // it is spent the waiter is still served now (FIFO and counts stay exact); only the
        // delivery to its continuation waits for the event loop to turn.
        w.resolveClaimed(takeBudget() ? v : afterRefill(v));
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Rejects every queued waiter with `error` (a resource closing). Each is claimed first. */
  failAll(error: unknown): void {
    let w: Waiter<T, D> | null;
    while ((w = this.head) !== null) {
      this.unlink(w);
      w.fail(error);
    }
  }

  /** Visits queued waiters in order (for dumps and notifyWaiters-style wake-ups). */
  *[Symbol.iterator](): IterableIterator<Waiter<T, D>> {
    for (let w = this.head; w !== null; w = w.next) yield w;
  }

  /** @internal */
  unlink(w: Waiter<T, D>): void {
    if (w.prev !== null) w.prev.next = w.next;
    else if (this.head === w) this.head = w.next;
    else return;
    if (w.next !== null) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.next = w.prev = null;
    this.length--;
  }

  private enqueue(w: Waiter<T, D>): void {
    w.queue = this;
    w.state = QUEUED;
    w.prev = this.tail;
    if (this.tail !== null) this.tail.next = w;
    else this.head = w;
    this.tail = w;
    this.length++;
    if (hooks !== null) hooks.queueWaited(this, w.task);
    if (diag !== null && this.graph && w.task !== undefined) diag.queued(w);
  }

  private retryParked(w: Waiter<T, D>): void {
    if (w.state !== PARKED) return; // withdrawn while parked
    if (this.head === null && this.resource.ready(w.data)) {
      if (!takeBudget()) {
        parkUntilRefill(() => this.retryParked(w));
        return;
      }
      if (!w.claim()) return; // a withdrawn waiter is un-counted from `parked`
      this.parked--;
      let v: T;
      try {
        v = this.resource.take(w.data, w.task);
      } catch (err) {
        w.rejectClaimed(err);
        return;
      }
      w.resolveClaimed(v);
      return;
    }
    this.parked--;
    this.enqueue(w);
  }

  /**
   * For the live console and the flight recorder: the resource as it describes itself
   * (`Resource.inspect()`), with `op` and `label` taken from this queue's `what` ("recv on
   * channel#3": op "recv", label "channel#3") where the resource does not say, and the waiters
   * queued here. Never throws.
   */
  inspect(): QueueDescription {
    const what = this.what;
    const at = what.indexOf(" on ");
    let d: ResourceDescription | undefined;
    try {
      d = this.resource.inspect?.();
    } catch {
      d = undefined;
    }
    const label = typeof d?.label === "string" ? d.label : at < 0 ? what : what.slice(at + 4);
    const out: QueueDescription = {
      ...d,
      kind: typeof d?.kind === "string" ? d.kind : (/^[A-Za-z_$][\w$.]*/.exec(label)?.[0] ?? label),
      op: typeof d?.op === "string" ? d.op : at < 0 ? what : what.slice(0, at),
      label,
      waiters: this.length,
    };
    const head = this.head?.task;
    if (head !== undefined) out.headTask = head.id;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// A wait for a ready value, on the budget: for operations whose result is already there
// (a finished task's join, a token that is already cancelled).

/** @internal Resolves with `value` now if the budget allows, else after the event loop turned. */
export function readyValue<T>(value: T, opts: WaitOptions | undefined, what: string, watchTask = true): Promise<T> {
  const e = precheck(opts, watchTask);
  if (e instanceof Promise) return e;
  if (takeBudget()) {
    if (!claimBranch(e.branch)) return LOST_REJECTED;
    return Promise.resolve(value);
  }
  const w = new Waiter<T, undefined>(undefined, what, e.signal, e.token, e.task, e.branch);
  parkUntilRefill(() => w.complete(value));
  return w.promise;
}
