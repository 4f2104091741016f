/** Spawning tasks, and the small waits that belong to them: currentTask, yieldNow, shield. */
import { AsyncLocalStorage } from "node:async_hooks";
import { CancellationToken } from "../cancel/token.js";
import type { Branch } from "../core/claim.js";
import { als, currentFrame, type ContextFrame, type TaskLike } from "../core/context.js";
import { Deque } from "../util/deque.js";
import { loadOwn } from "../util/own-files.js";
import { hooks } from "../core/instrument.js";
import { checkFunction, checkOptions, checkSignal } from "../util/validate.js";
import { standaloneWaiter, type WaitOptions } from "../core/waiter.js";
import { JoinHandle, type SpawnOptions, type TaskContext, type TaskHost, type TaskOwner } from "./join-handle.js";

/**
 * The runtime new tasks belong to outside any other: the default one, which runtime/runtime.ts
 * creates on first use. Looked up the first time it is needed rather than imported, so the task
 * layer stays below the runtime and this module works when imported on its own.
 */
let defaultHost: (() => TaskHost) | undefined;
function resolveDefaultHost(): TaskHost {
  defaultHost ??= (loadOwn("runtime/runtime.js") as { getDefaultRuntime(): TaskHost }).getDefaultRuntime;
  return defaultHost();
}

/** @internal The runtime that code running now belongs to. */
export function currentHost(): TaskHost {
  const f = currentFrame();
  return f !== undefined && f.runtimeRef !== undefined ? (f.runtimeRef as TaskHost) : resolveDefaultHost();
}

// Tasks start on a later microtask, in spawn order. Each spawn queues its own reaction on a
// resolved promise: a promise reaction runs in the async context that was current when then()
// was called (promise hooks on Node 20/22, the AsyncContextFrame on Node 24), so each task starts
// in its own spawner's context, user AsyncLocalStorage stores included. One batch drained in the
// first spawner's context started every task of a synchronous run in that spawner's context.
// The reaction carries no closure: reactions run in the order they were queued, so the k-th one
// to run takes the k-th handle from the queue.
const startQueue = new Deque<JoinHandle<unknown>>(64);
// Not queueMicrotask: once AsyncLocalStorage is active (Node 20/22), queueMicrotask wraps every
// callback in an AsyncResource; a resolved promise's then() is the cheaper microtask.
const resolved = Promise.resolve();

// On Node 24 (AsyncContextFrame) `als.run` is enterWith, the call, then enterWith(prior): two
// frame allocations (each copies the frame's map). A start reaction is a promise job of its own,
// and V8 gives every job the context captured with it, so the frame entered here cannot outlive
// the job: enterWith alone is enough (≈ 650 → 460 ns per start, Node 24.21). With the promise-hook
// implementation (Node 20/22) enterWith writes into the current resource, which is not the job's
// own before the hooks are first enabled: there `run` stays.
const frameBased = !("_enable" in AsyncLocalStorage.prototype);

function startNext(): void {
  const h = startQueue.shift();
  if (h === undefined) return;
  if (frameBased) {
    als.enterWith(h);
    if (hooks === null) h.start();
    else startTaskInstrumented(h);
  } else als.run(h, hooks === null ? startTask : startTaskInstrumented, h);
}

function startTask(h: JoinHandle<unknown>): void {
  h.start();
}

/** startTask with the console's first-poll boundary around it (core/instrument.ts). */
function startTaskInstrumented(h: JoinHandle<unknown>): void {
  const k = hooks;
  if (k === null) return h.start();
  k.pollStart(h);
  try {
    h.start();
  } finally {
    k.pollEnd(h);
  }
}

/** spawnOn's default: the spawning task is looked up (callers that read the frame already pass it). */
const LOOK_UP: unique symbol = Symbol("steward.lookUpSpawner");

/**
 * @internal Spawns `fn` as a task of the current runtime (see {@link spawn}), reading the async
 * context once for both the runtime and the spawning task (each read costs ≈ 10–20 ns once a
 * task has run).
 */
export function spawnHere<T>(fn: (ctx: TaskContext) => T | PromiseLike<T>, opts: SpawnOptions | undefined, owner: TaskOwner | undefined): JoinHandle<T> {
  const f = currentFrame();
  if (f === undefined) return spawnOn(resolveDefaultHost(), fn, opts, owner, undefined, undefined);
  const host = f.runtimeRef !== undefined ? (f.runtimeRef as TaskHost) : resolveDefaultHost();
  return spawnOn(host, fn, opts, owner, undefined, f.taskRecord);
}

/**
 * @internal Spawns `fn` on `host`. `parent` is the token the task's token is a child of (a
 * scope's); without one the task is cancelled only by its runtime, its handle or opts.signal.
 */
export function spawnOn<T>(
  host: TaskHost,
  fn: (ctx: TaskContext) => T | PromiseLike<T>,
  opts: SpawnOptions | undefined,
  owner: TaskOwner | undefined,
  parent: CancellationToken | undefined,
  spawner: TaskLike | undefined | typeof LOOK_UP = LOOK_UP,
): JoinHandle<T> {
  checkFunction(fn, "fn");
  let name: string | undefined;
  let signal: AbortSignal | undefined;
  let cancelOnStop: unknown;
  if (opts !== undefined) {
    checkOptions(opts, "opts");
    name = opts.name;
    if (name !== undefined && typeof name !== "string") throw new TypeError(`opts.name must be a string, got ${typeof name}`);
    signal = opts.signal;
    checkSignal(signal);
    cancelOnStop = opts.cancelOnStop;
    if (cancelOnStop !== undefined && typeof cancelOnStop !== "boolean") throw new TypeError(`opts.cancelOnStop must be a boolean, got ${typeof cancelOnStop}`);
  }
  const token = parent !== undefined ? parent.child() : new CancellationToken();
  const root = host.token;
  // A task spawned on a stopping runtime starts cancelled: spawn keeps working, intake stops.
  if (root.isCancelled) token.cancel(root.reason);
  const h = new JoinHandle<T>(host, fn, name, token, owner, spawner === LOOK_UP ? currentFrame()?.taskRecord : spawner);
  if (cancelOnStop === true) h.cancelOnStop = true; // before link: a stopping runtime cancels it there
  host.link(h as JoinHandle<unknown>);
  if (signal !== undefined) {
    if (signal.aborted) token.cancel(signal.reason);
    else h.linkSignal(signal); // unlinked when the task ends, so a server-wide signal collects no listeners
  }
  startQueue.push(h as JoinHandle<unknown>);
  void resolved.then(startNext);
  return h;
}

/**
 * Spawns `fn` as a task of the current runtime (the task's own, the one entered with
 * `Runtime#enter`, or the process-wide default). `fn` starts on a later microtask, never inside
 * `spawn`. The returned handle resolves with fn's value or rejects with a JoinError; an
 * unobserved panic is reported once by the runtime and never becomes an unhandledRejection.
 * @throws TypeError when `fn` is not a function or `opts` is malformed.
 */
export function spawn<T>(fn: (ctx: TaskContext) => T | PromiseLike<T>, opts?: SpawnOptions): JoinHandle<T> {
  return spawnHere(fn, opts, undefined);
}

/** The task whose code is running now, or undefined outside any task. */
export function currentTask(): TaskContext | undefined {
  const t = currentFrame()?.taskRecord;
  return t === undefined ? undefined : (t as JoinHandle<unknown>).ctx;
}

/**
 * Lets timers and I/O run: resolves after one macrotask turn (setImmediate). A cancellation
 * point: in a cancelled task it rejects with CancelledError.
 */
export function yieldNow(opts?: WaitOptions): Promise<void> {
  const w = standaloneWaiter<void>(opts, "yieldNow");
  if (w instanceof Promise) return w;
  const im = setImmediate(() => w.complete(undefined));
  w.onWithdraw = () => clearImmediate(im);
  return w.promise;
}

class ShieldFrame implements ContextFrame {
  readonly shielded = true;
  constructor(private readonly outer: ContextFrame) {}
  get token(): CancellationToken | undefined {
    return this.outer.token;
  }
  get taskRecord(): TaskLike | undefined {
    return this.outer.taskRecord;
  }
  get runtimeRef(): unknown {
    return this.outer.runtimeRef;
  }
  get branch(): Branch | undefined {
    return this.outer.branch;
  }
}

/**
 * Runs `fn` so that steward waits inside it ignore the current task's cancellation: for cleanup
 * that must finish (flushing, releasing, saying goodbye). Explicit AbortSignals still apply.
 */
export function shield<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  checkFunction(fn, "fn");
  const f = currentFrame();
  try {
    return Promise.resolve(f === undefined ? fn() : als.run(new ShieldFrame(f), fn));
  } catch (e) {
    return Promise.reject(e);
  }
}
