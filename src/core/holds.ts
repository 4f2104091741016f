/**
 * Who holds what: the small records the deadlock detector and the lock-order checker read
 * (src/diagnostics), kept by the primitives themselves so that nothing has to be captured after
 * the fact.
 *
 * A {@link Hold} is a guard or permit seen as "task T holds lock L since acquisition number N".
 * The guard objects implement it (no extra allocation): Mutex and RwLock guards are pushed on
 * their task's held stack (an intrusive list through `heldNext`, most recent first); read guards
 * and permits are also on their lock's list of holders.
 *
 * `diag` is the slot the diagnostics module fills when it loads, as core/instrument.ts does for
 * the console: every call site in the core and the primitives is one `if (diag !== null)` check
 * on a path that is already slow (a wait that queues, a nested acquire), never on an uncontended
 * lock's fast path.
 */
import type { TaskLike } from "./context.js";

/** One held guard or permit. */
export interface Hold {
  /** The task that acquired it (undefined outside any task: then it never closes a reported cycle). */
  task: TaskLike | undefined;
  /** {@link taskIds}`.next` when it was acquired: tasks its task spawned later may hold it too. */
  seq: number;
  /** The next hold of the same task (its held stack). */
  heldNext: Hold | null;
}

/** A lock as the lock-order checker sees it: Mutex and RwLock states. */
export interface OrderedLock {
  /** `Mutex "db"`: for messages. */
  readonly label: string;
  /** The documented rank (`new Mutex(v, { rank: 2 })`), or undefined. */
  readonly rank: number | undefined;
  /** The lock-order checker's class for this lock (set on first use). */
  orderClass: unknown;
  /** The name it was given, if any: locks that share a name share a class. */
  readonly name: string | undefined;
}

/** A hold on an ordered lock. */
export interface OrderedHold extends Hold {
  readonly lock: OrderedLock;
}

/** What the diagnostics module implements. */
export interface DiagHooks {
  /**
   * A waiter of a task joined the queue of a lock, semaphore, cell or task (join): the detector
   * checks, once the task has parked, whether the wait closes a cycle.
   */
  queued(w: object): void;
  /**
   * Task `t`, which holds at least one lock, is about to acquire `lock` (before it waits or
   * takes it). Returns an error when `configure({ lockOrder: "throw" })` and the order is
   * wrong: the acquire must then reject with it and take nothing.
   */
  ordered(t: TaskLike, lock: OrderedLock): Error | undefined;
  /**
   * `value` was put into a steward channel: the guards and permits in it (the value itself, or
   * the values of a plain object or array) leave their task's hands, whoever receives them may
   * release them, so they no longer close a reported cycle.
   */
  handedOver(value: unknown): void;
}

/** The installed diagnostics, or null (not loaded, or `configure({ deadlocks: "off", lockOrder: "off" })`). */
export let diag: DiagHooks | null = null;

/** @internal Installs (or removes) the diagnostics hooks. */
export function setDiagHooks(h: DiagHooks | null): void {
  diag = h;
}

/**
 * Records where hold `h` of task `h.task` was acquired, on resource queue `q`: set only under
 * `configure({ lockSites: true })` with the diagnostics on (diagnostics/acquire-site.ts), so an
 * acquisition with it off pays one null check. Called by the guard or permit as it is made.
 */
export let acquireSite: ((h: Hold, q: object) => void) | null = null;

/**
 * Records where a lock, semaphore or cell wait of a task was made, when the spent cooperative
 * budget parks it (it is not queued, so the detector's `queued` does not see it): its guard will
 * be made later, in the budget's refill, with no user frame on the stack. Set with {@link acquireSite}.
 */
export let parkedSite: ((w: object) => void) | null = null;

/** @internal Installs (or removes) the acquisition-site recorder. */
export function setAcquireSite(fn: ((h: Hold, q: object) => void) | null, onParked: ((w: object) => void) | null = null): void {
  acquireSite = fn;
  parkedSite = onParked;
}

/**
 * @internal Where each hold was acquired, when recorded: a stack capture (formatted only when a
 * report reads it) or an await site already found. Outside the hold objects, so that guards keep
 * one shape whether or not sites are recorded.
 */
export const holdSites = new WeakMap<Hold, object | string>();

/** The next task id (JoinHandle takes its id here): a hold records it, to tell which tasks were spawned after it. */
export const taskIds = { next: 1 };

/** @internal Pushes `h` on its task's held stack (the task is `h.task`, not undefined). */
export function pushHold(t: TaskLike, h: Hold): void {
  h.heldNext = t.held;
  t.held = h;
}

/** @internal Takes `h` off its task's held stack; usually the top (locks are released last-first). */
export function popHold(h: Hold): void {
  const t = h.task;
  if (t === undefined) return;
  h.task = undefined;
  if (t.held === h) {
    t.held = h.heldNext;
  } else {
    let p = t.held;
    while (p !== null && p.heldNext !== h) p = p.heldNext;
    if (p !== null) p.heldNext = h.heldNext;
  }
  h.heldNext = null;
}

/** @internal Puts `next` where `prev` is on its task's held stack (a guard mapped or downgraded). */
export function replaceHold(prev: Hold, next: Hold): void {
  const t = prev.task;
  next.task = t;
  next.seq = prev.seq;
  if (acquireSite !== null) {
    const site = holdSites.get(prev);
    if (site !== undefined) holdSites.set(next, site);
  }
  if (t === undefined) return;
  next.heldNext = prev.heldNext;
  if (t.held === prev) {
    t.held = next;
  } else {
    let p = t.held;
    while (p !== null && p.heldNext !== prev) p = p.heldNext;
    if (p !== null) p.heldNext = next;
  }
  prev.task = undefined;
  prev.heldNext = null;
}
