/**
 * The Runtime: owns tasks (an intrusive live list), the root cancellation token, the resources
 * given to `defer()`, panic reporting, and shutdown in three phases that never overlap:
 *
 *  1. stop    — cancel the root token (every task's waits reject with CancelledError; a task
 *               spawned from now on starts cancelled) and start the stop participants
 *               ({@link Runtime.onStop}: an HTTP server stops accepting and drains);
 *  2. collect — wait until every task has ended and every stop participant has finished, up to
 *               the deadline. No polling: the last task's `unlink` (or the last participant)
 *               wakes it, or the deadline timer does;
 *  3. drop    — only then dispose the deferred resources, last deferred first, one at a time.
 *
 * So no task ever sees a resource torn down by shutdown while it still runs (the bug class of
 * "Panic! At The Async Runtime Shutdown", where tokio dropped tasks and their data in arbitrary
 * order).
 */
import { CancellationToken } from "../cancel/token.js";
// Types only: the console and the supervisor are loaded on demand through ./extension.ts.
import type { ConsoleOptions } from "../console/options.js";
import type { ConsoleSnapshot } from "../console/types.js";
import type { SupervisorOptions } from "../supervisor/index.js";
import { als, currentFrame, type Frame, type TaskLike } from "../core/context.js";
import { checkDuration, checkFunction, checkOptions, typeName } from "../core/validate.js";
import { CancelledError, ShutdownError, type JoinError } from "../errors.js";
import { JoinHandle, type SpawnOptions, type TaskContext, type TaskHost } from "../task/join-handle.js";
import { currentHost, setHostResolver, spawnOn } from "../task/spawn.js";
import { type AttachedExtension, attachExtensions } from "./extension.js";
import { describeTask, type WaitInfo } from "../diagnostics/task-info.js";

/** Where a runtime is in its life; shutdown moves it forward through each state in order. */
export type RuntimeState = "running" | "stopping" | "collecting" | "dropping" | "closed";

/** What to do with a task panic that nobody observed (after it has been reported). */
export type UnhandledPanicMode = "log" | "shutdown";

/** Options for a {@link Runtime}. */
export interface RuntimeOptions {
  /** Shown in reports and dumps. */
  name?: string;
  /** The collect deadline of `shutdown()` when it is not given one, in ms. Default 10 000. */
  shutdownTimeoutMs?: number;
  /** Called once for each task panic that nobody observed (default: one line to stderr). */
  onTaskPanic?: (error: JoinError) => void;
  /**
   * `"log"` (default): an unobserved panic is only reported. `"shutdown"`: it is reported and
   * then shuts the runtime down (its report's `reason` is the panic's JoinError; `runMain` then
   * exits with 1).
   */
  unhandledPanic?: UnhandledPanicMode;
  /**
   * Blocked-event-loop detection (API.md §8): starts a {@link Supervisor} on this thread unless
   * one already runs (one per thread: the first runtime's options win), stopped in the drop phase.
   */
  supervisor?: boolean | SupervisorOptions;
  /**
   * The live task view (API.md §9): instruments this runtime's tasks and serves them on
   * http://127.0.0.1:6669/ (see ConsoleOptions). Default: off, or what STEWARD_CONSOLE says.
   * @throws TypeError for a host beyond loopback without a token.
   */
  console?: boolean | ConsoleOptions;
}

/** Options of {@link Runtime.shutdown}. */
export interface ShutdownOptions {
  /** The collect deadline in ms; default: the runtime's `shutdownTimeoutMs` (10 000). */
  timeoutMs?: number;
  /**
   * Why. The root token is cancelled with a CancelledError whose `reason` is it (so waits in
   * tasks reject with that CancelledError), and the report carries it. Default: a
   * {@link ShutdownError}.
   */
  reason?: unknown;
}

/**
 * One live task, as dumps and stuck-task reports show it. A waiting task also has (WaitInfo):
 * `awaitSite` (where it awaits, once probed: see `dumpWithAwaitSites`), `heldBy` (who holds
 * what it waits for), `waitingMs` and `holds` (the locks it holds).
 */
export interface TaskInfo extends WaitInfo {
  id: number;
  name?: string;
  /** "waiting" while it waits on a steward wait, else "running". */
  state: string;
  /** Where it was spawned: "file:line:col", or "unknown" when the site was not captured (see `configure({ spawnSites })`). */
  spawnedAt: string;
  ageMs: number;
  /** What it waits on, e.g. "sleep 5000 ms" or "recv on channel#3". */
  waitingOn?: string;
}

/** A deferred resource, as `dump()` shows it. Resources may add fields (an HTTP server its counts). */
export interface ResourceInfo {
  name: string;
  kind: "asyncDisposable" | "disposable" | "function";
  [field: string]: unknown;
}

/** A snapshot of a runtime: its live tasks and the resources it will drop. */
export interface RuntimeDump {
  tasks: TaskInfo[];
  /** In the order they were deferred (drop runs the other way round). */
  resources: ResourceInfo[];
  /** What the live console shows (tasks with timings, resources, lints), when it is on. */
  console?: ConsoleSnapshot;
}

/** What `shutdown()` resolves with. */
export interface ShutdownReport {
  /** True when no task was stuck at the deadline, no disposer failed and every stop participant finished. */
  clean: boolean;
  /** What the shutdown was given as its reason (a ShutdownError by default). */
  reason: unknown;
  /** From the call to `shutdown()` to the end of the drop phase. */
  durationMs: number;
  /**
   * Task outcomes over the runtime's whole life, counted at the end of the collect phase.
   * `stuck` lists the tasks still running at the deadline.
   */
  tasks: { total: number; completed: number; cancelled: number; panicked: number; stuck: TaskInfo[] };
  /** Each disposer that threw (and each stop participant that failed, named "stop: <name>"). */
  disposeErrors: { name: string; error: unknown }[];
}

/**
 * A participant in the stop phase (an integration hook, not part of API.md's contract): an HTTP
 * server that must stop accepting and drain while tasks are collected, a queue consumer that
 * must stop pulling. See {@link Runtime.onStop}.
 */
export interface StopParticipant {
  /** Shown in dumps and in the report when it fails. */
  readonly name: string;
  /**
   * Called once, in the stop phase, right after the root token was cancelled and outside any
   * task. Collect waits for the returned promise as it waits for tasks. `force` aborts at the
   * collect deadline: finish at once then (close what is left); collect waits at most
   * {@link FORCE_GRACE_MS} more. A rejection is recorded in the report and makes it unclean.
   */
  stop(force: AbortSignal): void | PromiseLike<unknown>;
}

/** How long collect still waits for stop participants after aborting their `force` signal. */
export const FORCE_GRACE_MS = 100;

/** The default collect deadline. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** Resources may describe themselves in dumps by having a method under this symbol. */
export const resourceInfo: unique symbol = Symbol.for("steward.resourceInfo") as never;

/** The frame shutdown runs under: no task, no token, and spawn() goes to the default runtime. */
const NEUTRAL: Frame = { token: undefined, shielded: false, taskRecord: undefined, runtimeRef: undefined };

interface Deferred {
  readonly resource: unknown;
  readonly name: string;
  readonly kind: ResourceInfo["kind"];
}

/**
 * A set of tasks with one root cancellation token, the resources they use, and a shutdown that
 * stops, collects and only then drops. `spawn()` outside any runtime uses the process-wide
 * default runtime; `runMain()` makes one for a program.
 *
 * ```ts
 * await using rt = new Runtime({ name: "svc", shutdownTimeoutMs: 5_000 });
 * const db = await openPool(); rt.defer(db, "db");     // closed only after every task ended
 * rt.spawn(worker, { name: "worker" });
 * // ... later: const report = await rt.shutdown();  (or leave the `await using` block)
 * ```
 */
export class Runtime implements TaskHost, AsyncDisposable {
  /** Shown in reports and dumps. */
  readonly name: string | undefined;
  /**
   * The root token: cancelling it cancels every task of the runtime, and tasks spawned after
   * start cancelled. Shutdown's stop phase cancels it; cancelling it by hand does not shut the
   * runtime down (nothing is collected or dropped) — `runMain` treats it as a shutdown request.
   */
  readonly token = new CancellationToken();
  /** The options the runtime was made with (the supervisor and the console read theirs here). */
  readonly options: Readonly<RuntimeOptions>;
  protected readonly onTaskPanic: ((error: JoinError) => void) | undefined;
  private liveHead: JoinHandle<unknown> | null = null;
  private liveCount = 0;
  private readonly frame: Frame;
  private readonly shutdownTimeoutMs: number;
  private readonly unhandledPanic: UnhandledPanicMode;
  #state: RuntimeState = "running";
  // Task outcomes over the runtime's life (counted in unlink: no allocation on the hot path).
  private spawnedTotal = 0;
  private completedCount = 0;
  private cancelledCount = 0;
  private panickedCount = 0;
  private readonly resources: Deferred[] = [];
  private resourceSeq = 0;
  private readonly participants = new Set<StopParticipant>();
  /** Stop participants started and not yet settled. */
  private readonly runningStops = new Set<StopParticipant>();
  /** Failures of stop participants; the report's disposeErrors start with them. */
  private readonly stopErrors: { name: string; error: unknown }[] = [];
  /** Tasks that called shutdown() themselves: collect does not wait for them (they wait for it). */
  private readonly exempt = new Set<JoinHandle<unknown>>();
  /** Set while collect waits; resolved by maybeWake once nothing is left to wait for. */
  private collectWaiter: { tasksToo: boolean; resolve(): void } | undefined = undefined;
  private forceController: AbortController | undefined = undefined;
  private shutdownPromise: Promise<ShutdownReport> | undefined = undefined;
  /** Optional parts attached through ./extension.ts (the console), by option key. */
  private readonly extensions: [string, AttachedExtension][];
  /** @internal Why shutdown started: a call, or an unobserved panic under unhandledPanic "shutdown". */
  shutdownCause: "call" | "panic" | undefined = undefined;

  /**
   * @throws TypeError for a malformed option; RangeError for a negative or non-finite
   * `shutdownTimeoutMs`.
   */
  constructor(opts: RuntimeOptions = {}) {
    checkOptions(opts, "opts");
    if (opts.name !== undefined && typeof opts.name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(opts.name)}`);
    if (opts.onTaskPanic !== undefined) checkFunction(opts.onTaskPanic, "opts.onTaskPanic");
    if (opts.shutdownTimeoutMs !== undefined) checkDuration(opts.shutdownTimeoutMs, "opts.shutdownTimeoutMs");
    if (opts.unhandledPanic !== undefined && opts.unhandledPanic !== "log" && opts.unhandledPanic !== "shutdown") {
      throw new TypeError(`opts.unhandledPanic must be "log" or "shutdown", got ${typeName(opts.unhandledPanic)}`);
    }
    checkFlagOrObject(opts.supervisor, "opts.supervisor");
    checkFlagOrObject(opts.console, "opts.console");
    this.options = Object.freeze({ ...opts });
    this.name = opts.name;
    this.onTaskPanic = opts.onTaskPanic;
    this.shutdownTimeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.unhandledPanic = opts.unhandledPanic ?? "log";
    const self = this;
    this.frame = { token: undefined, shielded: false, taskRecord: undefined as TaskLike | undefined, runtimeRef: self };
    this.token.onCancel((reason) => {
      let next: JoinHandle<unknown> | null;
      for (let t = this.liveHead; t !== null; t = next) {
        next = t.liveNext;
        t.abort(reason);
      }
    });
    this.extensions = attachExtensions(this, opts as Readonly<Record<string, unknown>>);
  }

  /** Where the runtime is in its life: "running" until shutdown, then each phase, then "closed". */
  get state(): RuntimeState {
    return this.#state;
  }

  /** Spawns a task on this runtime; see {@link spawn}. During and after shutdown it starts cancelled. */
  spawn<T>(fn: (ctx: TaskContext) => T | PromiseLike<T>, opts?: SpawnOptions): JoinHandle<T> {
    return spawnOn(this, fn, opts, undefined, undefined);
  }

  /** Runs `fn` so that `spawn()` inside it (and in what it starts) uses this runtime. */
  enter<T>(fn: () => T): T {
    checkFunction(fn, "fn");
    return als.run(this.frame, fn);
  }

  /** Number of tasks that have not ended. */
  get taskCount(): number {
    return this.liveCount;
  }

  /** Every live task, by id. */
  tasks(): TaskInfo[] {
    const now = Date.now();
    const out: TaskInfo[] = [];
    for (let t = this.liveHead; t !== null; t = t.liveNext) out.push(taskInfo(t, now));
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * Hands `resource` to the runtime: it is disposed in the drop phase of shutdown, after every
   * task has ended — last deferred, first disposed, one at a time. An AsyncDisposable is awaited,
   * a Disposable disposed, a function called (and awaited if it returns a promise). During
   * stop and collect it is still accepted; during drop it is disposed before the ones already
   * there.
   * @param name shown in dumps and in `disposeErrors`; default: the resource's class or function name.
   * @throws TypeError when `resource` is none of those or `name` is not a string; ShutdownError
   * once the runtime is closed (the caller still owns the resource then).
   */
  defer(resource: AsyncDisposable | Disposable | (() => unknown), name?: string): void {
    const kind = disposableKind(resource);
    if (kind === undefined) {
      throw new TypeError(`resource must be an AsyncDisposable, a Disposable or a function, got ${typeName(resource)}`);
    }
    if (name !== undefined && typeof name !== "string") throw new TypeError(`name must be a string, got ${typeName(name)}`);
    if (this.#state === "closed") throw new ShutdownError(`${this.label} is closed: it can no longer take resources`);
    this.resourceSeq++;
    this.resources.push({ resource, kind, name: name ?? defaultName(resource, this.resourceSeq) });
  }

  /**
   * Registers a participant in the stop phase (an integration hook: `httpResource` uses it so an
   * HTTP server drains while tasks are collected, not after). Registered during stop or
   * collect, it starts at once and collect waits for it too. Dispose the result to unregister.
   * @throws TypeError for a malformed participant; ShutdownError once the drop phase began.
   */
  onStop(participant: StopParticipant): Disposable {
    checkOptions(participant, "participant");
    if (participant === undefined) throw new TypeError("participant must be an object, got undefined");
    checkFunction(participant.stop, "participant.stop");
    if (typeof participant.name !== "string") throw new TypeError(`participant.name must be a string, got ${typeName(participant.name)}`);
    const s = this.#state;
    if (s === "dropping" || s === "closed") throw new ShutdownError(`${this.label} is past its stop phase`);
    if (s === "stopping" || s === "collecting") {
      this.startParticipant(participant);
      return { [Symbol.dispose]() {} };
    }
    this.participants.add(participant);
    return { [Symbol.dispose]: () => void this.participants.delete(participant) };
  }

  /**
   * Shuts the runtime down: stop (cancel every task, stop intake), collect (wait for every task
   * to end, up to the deadline), drop (dispose the deferred resources in reverse order).
   * Idempotent: later calls return the same promise, whatever their options. It never rejects.
   *
   * Called from inside one of this runtime's own tasks, collect does not wait for that task (it
   * is taken to be waiting for the report), so `await runtime.shutdown()` in `main` works.
   * @throws TypeError/RangeError for malformed options (a negative or non-finite `timeoutMs`).
   */
  shutdown(opts?: ShutdownOptions): Promise<ShutdownReport> {
    checkOptions(opts, "opts");
    const timeoutMs = opts?.timeoutMs ?? this.shutdownTimeoutMs;
    if (opts?.timeoutMs !== undefined) checkDuration(opts.timeoutMs, "opts.timeoutMs");
    const caller = currentFrame()?.taskRecord as JoinHandle<unknown> | undefined;
    if (caller !== undefined && caller.runtimeRef === this && !caller.isFinished() && (this.#state === "running" || this.#state === "stopping" || this.#state === "collecting")) {
      this.exempt.add(caller);
      this.maybeWake();
    }
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    this.shutdownCause ??= "call";
    const reason = opts?.reason === undefined ? new ShutdownError(`${this.label} is shutting down`) : opts.reason;
    const t0 = performance.now();
    let settle!: (r: ShutdownReport) => void;
    // Set before the stop phase runs, so a cancel listener calling shutdown() gets this promise.
    this.shutdownPromise = new Promise<ShutdownReport>((resolve) => (settle = resolve));
    // Outside any task: disposers and participants must not inherit a cancelled task's token.
    // (A neutral frame rather than als.exit(), which turns the promise hooks off and on again.)
    als.run(NEUTRAL, () => this.runShutdown(t0, timeoutMs, reason)).then(settle, (error: unknown) => {
      // Not expected (every phase catches what it calls); a report is still owed.
      this.#state = "closed";
      settle({
        clean: false,
        reason,
        durationMs: Math.round((performance.now() - t0) * 100) / 100,
        tasks: { total: this.spawnedTotal, completed: this.completedCount, cancelled: this.cancelledCount, panicked: this.panickedCount, stuck: this.tasks() },
        disposeErrors: [...this.stopErrors, { name: "shutdown", error }],
      });
    });
    return this.shutdownPromise;
  }

  /** `shutdown()` with the default deadline, for `await using rt = new Runtime()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Every live task and every deferred resource (name, kind and what the resource adds). */
  dump(): RuntimeDump {
    const resources: ResourceInfo[] = [];
    for (const r of this.resources) {
      let extra: Record<string, unknown> | undefined;
      const describe = (r.resource as Record<symbol, unknown> | null)?.[resourceInfo];
      if (typeof describe === "function") {
        try {
          extra = (describe as () => Record<string, unknown>).call(r.resource);
        } catch {
          extra = undefined;
        }
      }
      resources.push({ ...extra, name: r.name, kind: r.kind });
    }
    const dump: RuntimeDump = { tasks: this.tasks(), resources };
    for (const [key, ext] of this.extensions) if (ext.dump !== undefined) (dump as unknown as Record<string, unknown>)[key] = ext.dump();
    return dump;
  }

  /** @internal Human-readable lines for what optional parts added to `dump` (runMain's dump signal). */
  formatExtensions(dump: RuntimeDump): string[] {
    const lines: string[] = [];
    for (const [key, ext] of this.extensions) {
      const data = (dump as unknown as Record<string, unknown>)[key];
      if (data !== undefined && ext.format !== undefined) lines.push(`  [${key}]`, ext.format(data));
    }
    return lines;
  }

  /** @internal The deferred resources, for the console. */
  deferredList(): readonly { resource: unknown; name: string; kind: string }[] {
    return this.resources;
  }

  private get label(): string {
    return this.name === undefined ? "the runtime" : `runtime '${this.name}'`;
  }

  private async runShutdown(t0: number, timeoutMs: number, reason: unknown): Promise<ShutdownReport> {
    // 1. stop. The force signal exists first: a cancel listener may register a participant.
    this.forceController = new AbortController();
    this.#state = "stopping";
    // One CancelledError for the whole runtime: every withdrawn wait rejects with this instance
    // (its `reason` is the shutdown's reason) instead of building one, stack and all, per wait —
    // that was most of the cost of stopping 1,000 idle tasks.
    const cancel = reason instanceof CancelledError ? reason : new CancelledError(reason, `${this.label} is shutting down`);
    // Cancel listeners run in the runtime's frame: a task they spawn belongs to this runtime (it
    // starts cancelled and is collected). Participants and disposers run in the neutral frame.
    als.run(this.frame, () => this.token.cancel(cancel));
    for (const p of this.participants) this.startParticipant(p);
    this.participants.clear();
    // 2. collect
    this.#state = "collecting";
    await this.collect(t0 + timeoutMs);
    const now = Date.now();
    const stuck: TaskInfo[] = [];
    for (let t = this.liveHead; t !== null; t = t.liveNext) if (!this.exempt.has(t)) stuck.push(taskInfo(t, now));
    stuck.sort((a, b) => a.id - b.id);
    const tasks = {
      total: this.spawnedTotal,
      completed: this.completedCount,
      cancelled: this.cancelledCount,
      panicked: this.panickedCount,
      stuck,
    };
    // 3. drop
    this.#state = "dropping";
    const disposeErrors = this.stopErrors;
    let r: Deferred | undefined;
    while ((r = this.resources.pop()) !== undefined) {
      try {
        await dispose(r);
      } catch (error) {
        disposeErrors.push({ name: r.name, error });
      }
    }
    this.#state = "closed";
    return {
      clean: stuck.length === 0 && disposeErrors.length === 0,
      reason,
      durationMs: Math.round((performance.now() - t0) * 100) / 100,
      tasks,
      disposeErrors,
    };
  }

  private startParticipant(p: StopParticipant): void {
    let r: void | PromiseLike<unknown>;
    try {
      r = p.stop(this.forceController!.signal);
    } catch (error) {
      this.stopErrors.push({ name: `stop: ${p.name}`, error });
      return;
    }
    if (r === undefined || r === null || typeof (r as PromiseLike<unknown>).then !== "function") return;
    this.runningStops.add(p);
    const settle = (error?: { error: unknown }): void => {
      if (!this.runningStops.delete(p)) return; // given up on at the deadline
      if (error !== undefined) this.stopErrors.push({ name: `stop: ${p.name}`, error: error.error });
      this.maybeWake();
    };
    Promise.resolve(r).then(
      () => settle(),
      (error: unknown) => settle({ error }),
    );
  }

  private maybeWake(): void {
    const w = this.collectWaiter;
    if (w === undefined || this.runningStops.size > 0) return;
    if (w.tasksToo && this.liveCount !== this.exempt.size) return;
    this.collectWaiter = undefined;
    w.resolve();
  }

  /** Resolves once maybeWake finds nothing left to wait for, or after `ms`. */
  private waitFor(tasksToo: boolean, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      // Ref'd: a shutdown in progress keeps the process alive until it has its report.
      const timer = setTimeout(() => {
        this.collectWaiter = undefined;
        resolve();
      }, ms);
      this.collectWaiter = {
        tasksToo,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.maybeWake();
    });
  }

  /** Waits until every task and stop participant is done, or the deadline; never polls. */
  private async collect(deadline: number): Promise<void> {
    await this.waitFor(true, Math.max(0, deadline - performance.now()));
    if (this.runningStops.size === 0) return;
    // The deadline passed: participants must finish now (an HTTP server destroys its sockets).
    // Tasks still running are stuck; only participants are waited for, briefly.
    this.forceController!.abort(new ShutdownError(`${this.label}: the shutdown deadline passed`));
    await this.waitFor(false, FORCE_GRACE_MS);
    for (const p of this.runningStops) {
      this.stopErrors.push({ name: `stop: ${p.name}`, error: new ShutdownError(`stop participant '${p.name}' did not finish by the deadline`) });
    }
    this.runningStops.clear();
  }

  /** @internal */
  link(h: JoinHandle<unknown>): void {
    h.liveNext = this.liveHead;
    h.livePrev = null;
    if (this.liveHead !== null) this.liveHead.livePrev = h;
    this.liveHead = h;
    this.liveCount++;
    this.spawnedTotal++;
  }

  /** @internal Called from the task's finish path, once it has its outcome. */
  unlink(h: JoinHandle<unknown>): void {
    if (h.livePrev !== null) h.livePrev.liveNext = h.liveNext;
    else if (this.liveHead === h) this.liveHead = h.liveNext;
    else return;
    if (h.liveNext !== null) h.liveNext.livePrev = h.livePrev;
    h.liveNext = h.livePrev = null;
    this.liveCount--;
    const e = h.joinError;
    if (e === undefined) this.completedCount++;
    else if (e.kind === "panic") this.panickedCount++;
    else this.cancelledCount++;
    if (this.exempt.size > 0) this.exempt.delete(h);
    if (this.collectWaiter !== undefined) this.maybeWake();
  }

  /** @internal */
  reportPanic(error: JoinError, h: JoinHandle<unknown>): void {
    if (this.onTaskPanic !== undefined) {
      try {
        this.onTaskPanic(error);
      } catch (e) {
        process.stderr.write(`steward: onTaskPanic threw: ${String(e)}\n`);
      }
    } else {
      const who = h.name === undefined ? `task ${h.id}` : `task ${h.id} '${h.name}'`;
      const cause = error.cause;
      const detail = cause instanceof Error ? (cause.stack ?? `${cause.name}: ${cause.message}`) : String(cause);
      process.stderr.write(`steward: ${who} panicked (spawned at ${h.spawnedAt}): ${detail.split("\n")[0]}\n`);
    }
    if (this.unhandledPanic === "shutdown" && this.#state === "running") {
      this.shutdownCause = "panic";
      void this.shutdown({ reason: error });
    }
  }
}

function taskInfo(t: JoinHandle<unknown>, now: number): TaskInfo {
  const info: TaskInfo = {
    id: t.id,
    state: t.waitingOn === undefined ? "running" : "waiting",
    spawnedAt: t.spawnedAt,
    ageMs: Math.round(now - t.spawnedAtMs),
  };
  if (t.name !== undefined) info.name = t.name;
  if (t.waitingOn !== undefined) info.waitingOn = t.waitingOn;
  describeTask(t, info, now);
  return info;
}

function checkFlagOrObject(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== "boolean" && (value === null || typeof value !== "object")) {
    throw new TypeError(`${name} must be a boolean or an options object, got ${typeName(value)}`);
  }
}

function disposableKind(r: unknown): ResourceInfo["kind"] | undefined {
  if (r === null || (typeof r !== "object" && typeof r !== "function")) return undefined;
  const o = r as Partial<AsyncDisposable & Disposable>;
  if (typeof o[Symbol.asyncDispose] === "function") return "asyncDisposable";
  if (typeof o[Symbol.dispose] === "function") return "disposable";
  if (typeof r === "function") return "function";
  return undefined;
}

function defaultName(r: unknown, seq: number): string {
  if (typeof r === "function" && r.name !== "") return r.name;
  if (typeof r === "object" && r !== null) {
    const ctor = (r as object).constructor;
    if (typeof ctor === "function" && ctor.name !== "" && ctor.name !== "Object") return `${ctor.name}#${seq}`;
  }
  return `resource#${seq}`;
}

async function dispose(r: Deferred): Promise<void> {
  const res = r.resource as AsyncDisposable & Disposable & (() => unknown);
  if (r.kind === "asyncDisposable") await res[Symbol.asyncDispose]();
  else if (r.kind === "disposable") res[Symbol.dispose]();
  else await res();
}

let defaultRuntime: Runtime | undefined;

/** The process-wide runtime that `spawn()` uses outside any other; created on first use. */
export function getDefaultRuntime(): Runtime {
  return (defaultRuntime ??= new Runtime({ name: "default" }));
}

/** The runtime that code running now belongs to: its task's, the one entered, or the default. */
export function currentRuntime(): Runtime {
  return currentHost() as Runtime;
}

setHostResolver(getDefaultRuntime);
