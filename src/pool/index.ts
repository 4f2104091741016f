/**
 * Offloading blocking work, tokio's spawn_blocking for Node: a pool of worker threads (piscina)
 * that runs the functions a worker module exports, off the event loop. A run is cancellable like
 * every steward wait — by its AbortSignal, and by the cancellation of the task it was started in —
 * and cancelling a run that already started terminates the thread running it, so even a
 * synchronous loop stops. The queue of runs waiting for a thread is bounded. The pool belongs to
 * the runtime it was created in and is destroyed in the drop phase of that runtime's shutdown.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Piscina } from "piscina";
import { checkDuration, checkInteger, checkOptions, typeName } from "../util/validate.js";
import { standaloneWaiter } from "../core/waiter.js";
import { ShutdownError, StewardError } from "../errors.js";
import { currentRuntime } from "../runtime/runtime.js";

/** Options of {@link blockingPool}. */
export interface BlockingPoolOptions {
  /**
   * Most threads running at once.
   * @default os.availableParallelism()
   */
  maxThreads?: number;
  /**
   * Shown in errors and in the runtime's shutdown report.
   * @default the worker module's file name
   */
  name?: string;
  /**
   * Most runs waiting for a free thread; one more rejects with {@link PoolFullError} at once.
   * `Infinity` removes the bound (and with it the backpressure).
   * @default 256
   */
  maxQueue?: number;
  /**
   * An idle thread exits after this long, in ms (threads start on demand), as tokio's blocking
   * threads do.
   * @default 10000
   */
  idleTimeoutMs?: number;
}

/** Options of {@link BlockingPool.run}. */
export interface BlockingRunOptions {
  /** Withdraws the run (from the queue, or by terminating its thread); it rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Which export of the worker module to call.
   * @default "default"
   */
  name?: string;
}

/**
 * The names of a worker module's exports that are functions: what {@link BlockingPool.run} can
 * call by `opts.name`. `M` is the module's type, as `typeof import("./worker.js")` gives it.
 */
export type WorkerExportName<M> = { [K in keyof M]: M[K] extends (...args: never[]) => unknown ? K : never }[keyof M] & string;

/** What a worker function takes: its first parameter (a worker function gets one input). */
export type WorkerInput<F> = F extends (input: infer I, ...rest: never[]) => unknown ? I : unknown;

/** What a run of a worker function resolves with: its return value, awaited. */
export type WorkerOutput<F> = F extends (...args: never[]) => infer R ? Awaited<R> : unknown;

/** The default export of `M`, or, for an untyped pool, a function of anything. */
type DefaultExport<M> = M extends { default: infer D } ? D : (input: unknown) => unknown;

/** `opts.name` without an export name: "default" for a typed pool, any string for an untyped one. */
type DefaultName<M> = unknown extends M ? string : "default";

/** A run was refused because `maxQueue` runs are already waiting for a thread. */
export class PoolFullError extends StewardError {
  /** The pool's name. */
  readonly pool: string;
  /** Its queue bound. */
  readonly maxQueue: number;
  constructor(pool: string, maxQueue: number) {
    super(`blockingPool '${pool}' is full: ${maxQueue} runs already wait for a thread`);
    this.name = "PoolFullError";
    this.pool = pool;
    this.maxQueue = maxQueue;
  }
}

/**
 * piscina is loaded by the first pool, not by importing steward: it costs more to load than the
 * whole of steward's core, and most programs never create a pool.
 */
let PiscinaClass: typeof Piscina | undefined;
function piscinaClass(): typeof Piscina {
  return (PiscinaClass ??= (process.getBuiltinModule("node:module").createRequire(import.meta.url)("piscina") as { Piscina: typeof Piscina }).Piscina);
}

const DEFAULT_MAX_QUEUE = 256;
const DEFAULT_IDLE_MS = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The worker's failure to send a run's outcome back, as it reaches the calling thread (see #mapError). */
function isResultCloneFailure(e: unknown): boolean {
  if (e instanceof Error) return !(e instanceof DOMException) && e.message === "" && e.stack !== undefined && e.stack.startsWith("DataCloneError");
  return e !== null && typeof e === "object" && Object.getPrototypeOf(e) === Object.prototype && Reflect.ownKeys(e).length === 0;
}

function workerPath(worker: string | URL): string {
  if (!(worker instanceof URL) && (typeof worker !== "string" || worker === "")) {
    throw new TypeError(`worker must be a path or a file URL, got ${typeName(worker)}`);
  }
  let filename: string;
  try {
    filename = worker instanceof URL || worker.startsWith("file:") ? fileURLToPath(worker) : resolve(worker);
  } catch (e) {
    throw new TypeError(`worker must be a path or a file URL, got ${String(worker)}: ${(e as Error).message}`, { cause: e });
  }
  if (!isFile(filename)) throw new TypeError(`worker must name a module file: there is none at ${filename}`);
  return filename;
}

function isFile(path: string): boolean {
  try {
    // Looked up, not imported: node:fs's ES module facade loads all of node:stream with it.
    return process.getBuiltinModule("node:fs").statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A pool of worker threads for blocking work; create it with {@link blockingPool}. The worker
 * module exports the functions it runs (the default export unless `run` names another); each gets
 * the `input` (structured-cloned) and may return a value or a promise.
 *
 * `M` is the worker module's type (`blockingPool<typeof import("./worker.js")>(url)`): `run` then
 * takes each export's input type and resolves with its result type. Untyped (`M = unknown`), `run`
 * takes anything and resolves with `unknown`, or with the `R` you name (`run<string>(...)`).
 */
export class BlockingPool<M = unknown> implements AsyncDisposable {
  /** Shown in errors and reports. */
  readonly name: string;
  /** Most threads running at once. */
  readonly maxThreads: number;
  /** Most runs waiting for a thread. */
  readonly maxQueue: number;
  readonly #piscina: Piscina;
  #closing: Promise<void> | undefined;
  /** Runs handed to piscina and not settled yet: running, or waiting for a thread. */
  #inFlight = 0;

  /** @internal Use {@link blockingPool}. */
  constructor(worker: string | URL, opts: BlockingPoolOptions = {}) {
    checkOptions(opts, "opts");
    const filename = workerPath(worker);
    const maxThreads = opts.maxThreads ?? Math.max(1, process.getBuiltinModule("node:os").availableParallelism());
    checkInteger(maxThreads, "opts.maxThreads", 1, 4096);
    const maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (maxQueue !== Infinity) checkInteger(maxQueue, "opts.maxQueue", 0);
    const idleTimeout = opts.idleTimeoutMs ?? DEFAULT_IDLE_MS;
    checkDuration(idleTimeout, "opts.idleTimeoutMs");
    // A Node timer cannot wait longer: piscina's would fire at once (TimeoutOverflowWarning).
    if (idleTimeout > MAX_TIMER_MS) throw new RangeError(`opts.idleTimeoutMs must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${idleTimeout}`);
    if (opts.name !== undefined && typeof opts.name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(opts.name)}`);
    this.name = opts.name ?? filename.slice(filename.lastIndexOf("/") + 1);
    this.maxThreads = maxThreads;
    this.maxQueue = maxQueue;
    this.#piscina = new (piscinaClass())({ filename, minThreads: 0, maxThreads, idleTimeout, recordTiming: false });
  }

  /** Runs waiting for a thread now. */
  get queueSize(): number {
    return Math.max(0, this.#inFlight - this.maxThreads);
  }

  /** Threads alive now (busy or idle). */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** True once the pool is closing or closed. */
  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Runs the worker module's export `opts.name` with `input` on a pool thread and resolves with
   * what it returns (typed from the export when the pool is typed with its module).
   * @throws TypeError (synchronously) for malformed `opts`.
   */
  run<K extends WorkerExportName<M>>(input: WorkerInput<M[K]>, opts: BlockingRunOptions & { name: K }): Promise<WorkerOutput<M[K]>>;
  /**
   * Runs the worker module's default export with `input` on a pool thread and resolves with what
   * it returns. Rejects with `signal.reason` when `opts.signal` aborts, with a CancelledError when
   * the task it was started in is cancelled, with {@link PoolFullError} when the queue is full,
   * with ShutdownError once the pool closed, with a TypeError when `input` or the result cannot be
   * structured-cloned across threads, and with the worker's own error when it throws.
   * @throws TypeError (synchronously) for malformed `opts`.
   */
  run<R = WorkerOutput<DefaultExport<M>>>(input: WorkerInput<DefaultExport<M>>, opts?: BlockingRunOptions & { name?: DefaultName<M> }): Promise<R>;
  run(input: unknown, opts?: BlockingRunOptions): Promise<unknown> {
    let fn = "default";
    if (opts !== undefined) {
      checkOptions(opts, "opts");
      if (opts.name !== undefined) {
        if (typeof opts.name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(opts.name)}`);
        fn = opts.name;
      }
    }
    if (this.#closing !== undefined) return Promise.reject(new ShutdownError(`blockingPool '${this.name}' is closed`));
    const w = standaloneWaiter<unknown>(opts, `run on blockingPool '${this.name}'`);
    if (w instanceof Promise) return w;
    // The bound is counted here, not left to piscina: runs in flight beyond maxThreads wait.
    if (this.#inFlight >= this.maxThreads + this.maxQueue) {
      w.fail(new PoolFullError(this.name, this.maxQueue));
      return w.promise;
    }
    this.#inFlight++;
    let counted = true;
    const release = (): void => {
      if (counted) {
        counted = false;
        this.#inFlight--;
      }
    };
    const ac = new AbortController();
    // Withdrawn (signal or task cancelled): the waiter already rejected with the right reason;
    // aborting removes a queued run or terminates the thread of a running one, synchronously,
    // so its place is free for the caller's next run at once.
    w.onWithdraw = () => {
      release();
      ac.abort();
    };
    this.#piscina.run(input, { signal: ac.signal, name: fn }).then(
      (v: unknown) => {
        release();
        w.complete(v);
      },
      (e: unknown) => {
        release();
        w.fail(this.#mapError(e, fn));
      },
    );
    return w.promise;
  }

  #mapError(e: unknown, fn: string): unknown {
    if (e instanceof DOMException && e.name === "DataCloneError") {
      // Raised here, sending the input to the worker.
      return new TypeError(`blockingPool '${this.name}': input could not be cloned to the worker thread: ${e.message}`, { cause: e });
    }
    if (isResultCloneFailure(e)) {
      // Raised in the worker, sending the outcome back: the thread died of it, and what reaches us is
      // the DataCloneError flattened by the worker's error channel (`{}` on Node 20).
      const detail = e instanceof Error && e.stack !== undefined ? `: ${/^DataCloneError: (.*)$/m.exec(e.stack)?.[1] ?? ""}` : "";
      return new TypeError(
        `blockingPool '${this.name}': the result of '${fn}' could not be cloned back to the calling thread ` + `(functions, symbols and objects with native state cannot cross threads)${detail}`,
        { cause: e },
      );
    }
    if (e instanceof Error) {
      if (e.message.startsWith("No handler function exported from")) {
        return new TypeError(`blockingPool '${this.name}': opts.name '${fn}' names no function the worker module exports`, { cause: e });
      }
      if (e.message === "Terminating worker thread" && this.#closing !== undefined) {
        return new ShutdownError(`blockingPool '${this.name}' was closed while the run waited or ran`);
      }
    }
    return e;
  }

  /**
   * Closes the pool: new runs reject, runs still waiting or running are stopped (their threads
   * terminated) and reject with ShutdownError. Idempotent. The runtime calls it in its drop phase.
   */
  close(): Promise<void> {
    this.#closing ??= this.#piscina.destroy();
    return this.#closing;
  }

  /** = {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a pool of worker threads for blocking work (tokio's spawn_blocking): `worker` is the
 * path or file URL of a module whose exports the pool runs. The pool is registered with the
 * current runtime and closed in the drop phase of its shutdown, after every task has ended.
 * Give the module's type as `M` for typed runs.
 *
 * ```ts
 * const hashing = blockingPool<typeof import("./hash-worker.js")>(new URL("./hash-worker.js", import.meta.url), { maxThreads: 2 });
 * const digest = await hashing.run(password, { signal });            // typed from the default export
 * const ok = await hashing.run({ password, digest }, { name: "verify" }); // typed from `verify`
 * ```
 * @throws TypeError when `worker` is not a path or file URL of a module file; TypeError/RangeError for bad `opts`.
 */
export function blockingPool<M = unknown>(worker: string | URL, opts?: BlockingPoolOptions): BlockingPool<M> {
  const pool = new BlockingPool<M>(worker, opts);
  // Runtime.defer is being added concurrently; register defensively until it is there.
  const rt = currentRuntime() as unknown as { defer?: (r: AsyncDisposable, name?: string) => void };
  if (typeof rt.defer === "function") rt.defer(pool, `blockingPool '${pool.name}'`);
  return pool;
}
