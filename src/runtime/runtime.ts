/**
 * The Runtime: owns tasks (an intrusive live list), the root cancellation token, the resources
 * given to `defer()`, panic reporting, and shutdown. Shutdown is tokio's graceful-shutdown recipe
 * — tell, wait, then abort — followed by stop → collect → drop, five phases that never overlap
 * (API.md §7):
 *
 *  1. announce ("stopping")  — cancel `stopping` (tasks see it as `ctx.stopping`), cancel the
 *     tasks spawned with `cancelOnStop`, tell stop participants (readiness goes false), then wait
 *     the pre-stop delay. No other task is cancelled: every steward wait keeps working.
 *  2. drain ("draining")     — stop participants stop intake (an HTTP server stops accepting and
 *     answers late requests 503) and tasks finish their accepted work, until every task has ended,
 *     or every task left is parked idle (on a receive with nothing buffered, on a cancellation),
 *     or the drain deadline passes;
 *  3. cancel ("cancelling")  — cancel the root token: what still runs sees CancelledError;
 *  4. collect ("collecting") — wait until every task has ended, up to a deadline (the rest are
 *     stuck); at that deadline stop participants are forced (an HTTP server destroys what is left);
 *  5. drop ("dropping")      — dispose the deferred resources, last first, one at a time, each
 *     under its own deadline.
 *
 * So no task ever sees a resource torn down by shutdown while it still runs (the bug class of
 * "Panic! At The Async Runtime Shutdown", where tokio dropped tasks and their data in arbitrary
 * order), and no accepted work is lost without the report saying so (`lost`, `clean: false`).
 * Every deadline goes through core/timer.ts, so any duration holds and none fires early.
 */
import { say } from "../core/log.js";
import { CancellationToken, setListenerErrorHandler } from "../cancel/token.js";
// Types only: the console and the supervisor are loaded on demand through ./extension.ts.
import type { ConsoleOptions } from "../console/options.js";
import type { ConsoleSnapshot } from "../console/types.js";
import type { RecorderOptions } from "../recorder/options.js";
import type { SupervisorOptions } from "../supervisor/index.js";
import { als, currentFrame, type ContextFrame, type TaskLike } from "../core/context.js";
import { now, schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkFunction, checkOptions, typeName } from "../util/validate.js";
import { CancelledError, ShutdownError, type JoinError } from "../errors.js";
import { JoinHandle, type SpawnOptions, type TaskContext, type TaskHost } from "../task/join-handle.js";
import { currentHost, spawnOn } from "../task/spawn.js";
import { type AttachedExtension, attachExtensions } from "./extension.js";
import { awaitSitesSettled, describeTask, type DumpMemo, queueProbe, sliced, type WaitInfo } from "../diagnostics/task-info.js";

/** Where a runtime is in its life; shutdown moves it forward through each state in order. */
export type RuntimeState = "running" | "stopping" | "draining" | "cancelling" | "collecting" | "dropping" | "closed";

/** What to do with a task panic that nobody observed (after it has been reported). */
export type UnhandledPanicMode = "log" | "shutdown";

/** Options for a {@link Runtime}. */
export interface RuntimeOptions {
  /** Shown in reports and dumps. */
  name?: string;
  /**
   * The shutdown's budget, from the announcement to the end of the collect phase, in ms: the
   * pre-stop delay, the drain and the collect phase fit in it (the drop phase follows, each
   * disposer under `disposeTimeoutMs`). `Infinity` waits for ever. The default fits Kubernetes'
   * 30 s grace period with room for the drop phase and the process exit.
   * @default 20000
   */
  shutdownTimeoutMs?: number;
  /**
   * How long to wait after the announcement (readiness already false, everything still serving)
   * before stop participants stop intake, in ms: the time a load balancer needs to stop sending
   * traffic. Stop participants may ask for more (`httpResource`'s `preStopDelayMs`); the longest
   * wins. Capped by the budget.
   * @default 0
   */
  preStopDelayMs?: number;
  /**
   * The longest the drain may last once intake stopped, in ms; capped so that the collect phase
   * still fits in `shutdownTimeoutMs`. `Infinity` (the default) means "whatever the budget leaves".
   * @default Infinity
   */
  drainTimeoutMs?: number;
  /**
   * How long the collect phase waits, after the cancel, for tasks to end, in ms.
   * @default 2000, or a quarter of `shutdownTimeoutMs` when that is shorter than 8 s
   */
  collectTimeoutMs?: number;
  /**
   * Each disposer's own deadline in the drop phase, in ms: one that has not settled by then is
   * recorded in `disposeErrors` and the next one runs. `Infinity` waits for each.
   * @default 2000
   */
  disposeTimeoutMs?: number;
  /**
   * Called once for each task panic that nobody observed.
   * @default one line to stderr
   */
  onTaskPanic?: (error: JoinError) => void;
  /**
   * `"log"`: an unobserved panic is only reported. `"shutdown"`: it is reported and then shuts
   * the runtime down (its report's `reason` is the panic's JoinError; `runMain` then exits with 1).
   * @default "log"
   */
  unhandledPanic?: UnhandledPanicMode;
  /**
   * Blocked-event-loop detection (API.md §8): starts a {@link Supervisor} on this thread unless
   * one already runs (one per thread: the first runtime's options win), stopped in the drop phase.
   */
  supervisor?: boolean | SupervisorOptions;
  /**
   * The live task view (API.md §9): instruments this runtime's tasks and serves them on
   * http://127.0.0.1:6669/ (see ConsoleOptions).
   * @default false, or what STEWARD_CONSOLE says
   * @throws TypeError for a host beyond loopback without a token.
   */
  console?: boolean | ConsoleOptions;
  /**
   * The flight recorder (steward/recorder): a ring of what tasks, resources and the loop did,
   * dumped to a file when something goes wrong. STEWARD_RECORDER=0 turns it off everywhere.
   * @default false, true under `runMain`
   */
  recorder?: boolean | RecorderOptions;
}

/** Options of {@link Runtime.shutdown}. */
export interface ShutdownOptions {
  /**
   * The budget in ms (`Infinity` allowed).
   * @default the runtime's `shutdownTimeoutMs` (20 000)
   */
  timeoutMs?: number;
  /**
   * Why. `stopping` is cancelled with it, the root token with a CancelledError whose `reason` is
   * it (so waits in tasks reject with that CancelledError), and the report carries it.
   * @default a {@link ShutdownError}
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

/** Tasks with the same spawn site (or, when the site is unknown, the same name), counted once. */
export interface TaskGroup {
  spawnedAt: string;
  /** The first task's name. */
  name?: string;
  count: number;
  /** What the first task waited on (undefined: it was running, or awaiting something steward does not see). */
  waitingOn?: string;
  /** The first tasks' ids (at most 10). */
  ids: number[];
}

/**
 * One group of work lost by a shutdown. `kind` is "tasks" (tasks cancelled in the middle of their
 * work, grouped by spawn site), "messages" (left in a channel after every task ended, per
 * channel), "requests" (cut by an HTTP server at the deadline), or what a stop participant names.
 */
export interface LostItem {
  kind: string;
  count: number;
  /** One line, e.g. "47 message(s) left in channel#3 (created in task 'main')". */
  what: string;
  /** kind "tasks": see {@link TaskGroup}; `waitingOn` is what the first one waited on when cancelled. */
  spawnedAt?: string;
  name?: string;
  waitingOn?: string;
  ids?: number[];
  /** kind "messages": "channel#3", and where it was created. */
  channel?: string;
  createdIn?: string;
  /** What a stop participant lost: its name. */
  participant?: string;
}

/** How the drain ended. */
export interface DrainInfo {
  /**
   * "done": every task ended and every stop participant finished; "idle": every task left was
   * parked idle (on a receive with nothing to receive, a cancellation) and every participant
   * finished; "deadline": the drain deadline passed.
   */
  endedBy: "done" | "idle" | "deadline";
  /** At a deadline: the tasks that were still at work (they held the drain), grouped by spawn site. */
  heldBy: TaskGroup[];
}

/** How long each phase took, in ms (the cancel itself is synchronous: it is part of collect). */
export interface PhaseTimes {
  announceMs: number;
  drainMs: number;
  collectMs: number;
  dropMs: number;
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
  /**
   * True when nothing accepted was lost (`lost` is empty), no task was stuck at the collect
   * deadline, and no disposer, stop participant or callback failed (`disposeErrors` is empty).
   */
  clean: boolean;
  /** What the shutdown was given as its reason (a ShutdownError by default). */
  reason: unknown;
  /** From the call to `shutdown()` to the end of the drop phase. */
  durationMs: number;
  /**
   * Task outcomes over the runtime's whole life, counted at the end of the collect phase.
   * `stuck` lists the tasks still running at the collect deadline.
   */
  tasks: { total: number; completed: number; cancelled: number; panicked: number; stuck: TaskInfo[] };
  /**
   * What was lost, grouped: tasks the cancel phase cut in the middle of their work (parked idle
   * tasks are not), messages left in channels of this runtime once its tasks had ended, and what
   * stop participants lost (requests an HTTP server cut at the deadline).
   */
  lost: LostItem[];
  /**
   * Each failure of a user callback, by name: a disposer that threw or outlived its deadline
   * (its `defer()` name), a stop participant ("stop: <name>"), a throwing `onCancel` callback of
   * a token the shutdown cancelled ("onCancel"), a throwing `onTaskPanic` ("onTaskPanic").
   */
  disposeErrors: { name: string; error: unknown }[];
  /** How the drain ended, and which tasks held it at a deadline. */
  drain: DrainInfo;
  /** How long each phase took. */
  phases: PhaseTimes;
}

/** What a stop participant learns of the shutdown. */
export interface StopInfo {
  /** The shutdown's reason. */
  readonly reason: unknown;
  /**
   * Aborts when the drain ends (every task done or idle, or the drain deadline passed): the cancel
   * phase begins, and request tasks' signals abort.
   */
  readonly drainEnd: AbortSignal;
  /** When the drain ends at the latest, on steward's clock (`now()` of core/timer.ts); Infinity for never. */
  readonly drainDeadline: number;
}

/** What a stop participant may resolve with. */
export interface StopOutcome {
  /** Work it accepted and could not finish (e.g. requests cut at the deadline): makes the report unclean. */
  lost?: { kind: string; count: number; what: string }[];
}

/**
 * A participant in shutdown (an integration hook, not part of API.md's contract): an HTTP server
 * that must stop accepting and drain, a queue consumer that must stop pulling. See
 * {@link Runtime.onStop}. Every call is made outside any task; a participant that throws or
 * rejects is recorded in the report's `disposeErrors` ("stop: <name>") and never stops the
 * shutdown.
 */
export interface StopParticipant {
  /** Shown in dumps and in the report when it fails. */
  readonly name: string;
  /**
   * The pre-stop delay it needs, in ms (the runtime waits the longest of these and its own
   * `preStopDelayMs`): an HTTP server behind a load balancer keeps serving, with readiness false,
   * until the balancer has stopped sending it traffic.
   */
  readonly preStopDelayMs?: number;
  /**
   * Called once at the announcement, before the pre-stop delay: stop advertising (readiness
   * false), keep serving. Synchronous.
   */
  announce?(info: StopInfo): void;
  /**
   * Called once when the drain begins (after the pre-stop delay): stop intake, let what is in
   * flight finish. The drain — and the collect phase after it — wait for the returned promise as
   * they wait for tasks. `force` aborts at the collect deadline: finish at once then (close what
   * is left); the runtime waits at most {@link FORCE_GRACE_MS} more. Resolve with a
   * {@link StopOutcome} to report what was lost.
   */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- names what a stop may resolve with
  stop(force: AbortSignal, info: StopInfo): void | PromiseLike<StopOutcome | void | unknown>;
}

/** How long collect still waits for stop participants after aborting their `force` signal. */
export const FORCE_GRACE_MS = 100;

/** The default shutdown budget (announce + drain + collect). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

/** The default collect deadline (when the budget is at least four times as long). */
export const DEFAULT_COLLECT_TIMEOUT_MS = 2_000;

/** The default deadline of each disposer in the drop phase. */
export const DEFAULT_DISPOSE_TIMEOUT_MS = 2_000;

/** While draining, how often the runtime looks whether every task left is parked idle. */
const DRAIN_POLL_MS = 10;

/** Resources may describe themselves in dumps by having a method under this symbol. */
export const resourceInfo: unique symbol = Symbol.for("steward.resourceInfo") as never;

/** The frame shutdown runs under: no task, no token, and spawn() goes to the default runtime. */
const NEUTRAL: ContextFrame = { token: undefined, shielded: false, taskRecord: undefined, runtimeRef: undefined };

/**
 * Waits that hold no accepted work: a receive with nothing to receive (a queued receive means the
 * buffer is empty), a wait for a notification, a config change, a cancellation, a joining of
 * other tasks (those are judged themselves). A task parked on one of these when the cancel phase
 * comes is idle, not cut; when every task left is parked on one, the drain is over. Anything
 * else (a sleep, a lock, a permit, a send into a full channel, I/O steward does not see) might be
 * the middle of a job. The strings are the waits' `what` (core/waiter.ts) from each module.
 */
const IDLE_WAIT = /^(?:recv on (?:channel|broadcast)#|changed on watch#|waitFor on watch#|notified on |cancelled\(\)$|closed\(\) on |joinNext on JoinSet$|wait on TaskTracker$)/;

/** @internal Whether a task is parked idle (see IDLE_WAIT). */
export function isIdleWait(waitingOn: string | undefined): boolean {
  return waitingOn !== undefined && IDLE_WAIT.test(waitingOn);
}

interface Deferred {
  readonly resource: unknown;
  readonly name: string;
  readonly kind: ResourceInfo["kind"];
}

/** A channel this runtime knows (weakly), for the messages-left report. */
interface ChannelRef {
  readonly ref: WeakRef<{ readonly id: number; inspect(): Record<string, unknown> }>;
  readonly createdIn: string;
}

/** What the drain or collect phase waits for; woken by task ends, participants, a poll, a deadline. */
interface PhaseWait {
  /** Collect: only participants count (tasks are judged by the deadline). */
  readonly participantsOnly: boolean;
  /** Drain: also end when every task left is idle. */
  readonly idleEnds: boolean;
  /** A look for "every task left is idle" is scheduled or being confirmed. */
  checking: boolean;
  finish(why: "done" | "idle" | "deadline"): void;
}

/**
 * A set of tasks with one root cancellation token, the resources they use, and a shutdown that
 * announces, drains, cancels, collects and only then drops. `spawn()` outside any runtime uses the
 * process-wide default runtime; `runMain()` makes one for a program.
 *
 * ```ts
 * await using rt = new Runtime({ name: "svc" });
 * const db = await openPool(); rt.defer(db, "db");     // closed only after every task ended
 * rt.spawn(async (ctx) => {                            // a worker that drains its queue
 *   for await (const job of rx) await handle(job);     // ends once the producers closed tx
 * }, { name: "worker" });
 * rt.spawn(heartbeat, { name: "heartbeat", cancelOnStop: true }); // nothing to finish
 * // ... later: const report = await rt.shutdown();  (or leave the `await using` block)
 * ```
 */
export class Runtime implements TaskHost, AsyncDisposable {
  /** Shown in reports and dumps. */
  readonly name: string | undefined;
  /**
   * The root token: cancelled in the cancel phase of shutdown (every task's waits then reject
   * with CancelledError; tasks spawned after that start cancelled). Cancelling it by hand does
   * not shut the runtime down (nothing is drained, collected or dropped) — `runMain` treats it
   * as a shutdown request.
   */
  readonly token = new CancellationToken();
  /**
   * Cancelled when shutdown begins (the announcement), with the shutdown's reason; tasks see it
   * as `ctx.stopping`. Nothing else is cancelled then: tasks finish their accepted work with
   * every steward wait working. Cancelling it by hand starts the shutdown.
   */
  readonly stopping = new CancellationToken();
  /** The options the runtime was made with (the supervisor and the console read theirs here). */
  readonly options: Readonly<RuntimeOptions>;
  protected readonly onTaskPanic: ((error: JoinError) => void) | undefined;
  private liveHead: JoinHandle<unknown> | null = null;
  private liveCount = 0;
  private readonly frame: ContextFrame;
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
  /** Failures of stop participants and user callbacks; the report's disposeErrors start with them. */
  private readonly stopErrors: { name: string; error: unknown }[] = [];
  /** What stop participants reported lost. */
  private readonly participantLost: LostItem[] = [];
  /** Tasks that called shutdown() themselves: drain and collect do not wait for them (they wait for it). */
  private readonly exempt = new Set<JoinHandle<unknown>>();
  /** Set while drain or collect waits. */
  private phaseWait: PhaseWait | undefined = undefined;
  private forceController: AbortController | undefined = undefined;
  private drainEndController: AbortController | undefined = undefined;
  private stopInfo: StopInfo | undefined = undefined;
  /** The cancellation every task gets from this shutdown (one shared CancelledError). */
  private stopCancel: CancelledError | undefined = undefined;
  /** From the cancel phase on: tasks cancelled while at work, with what they waited on then. */
  private cut: Map<JoinHandle<unknown>, string | undefined> | undefined = undefined;
  /** Tasks the cancel cut that then ended cancelled: lost work, grouped by spawn site. */
  private readonly lostTasks = new Map<string, LostItem>();
  private readonly channels = new Map<number, ChannelRef>();
  private channelAdoptions = 0;
  private shutdownPromise: Promise<ShutdownReport> | undefined = undefined;
  /** Optional parts attached through ./extension.ts (the console), by option key. */
  private readonly extensions: [string, AttachedExtension][];
  /** @internal Why shutdown started: a call, or an unobserved panic under unhandledPanic "shutdown". */
  shutdownCause: "call" | "panic" | undefined = undefined;

  /**
   * @throws TypeError for a malformed option; RangeError for a negative or NaN duration, a
   * non-finite `preStopDelayMs`, or a `drainTimeoutMs`/`collectTimeoutMs`... that is not a number >= 0.
   */
  constructor(opts: RuntimeOptions = {}) {
    checkOptions(opts, "opts");
    if (opts.name !== undefined && typeof opts.name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(opts.name)}`);
    if (opts.onTaskPanic !== undefined) checkFunction(opts.onTaskPanic, "opts.onTaskPanic");
    if (opts.shutdownTimeoutMs !== undefined) checkDuration(opts.shutdownTimeoutMs, "opts.shutdownTimeoutMs", { infinity: true });
    if (opts.preStopDelayMs !== undefined) checkDuration(opts.preStopDelayMs, "opts.preStopDelayMs", { long: true });
    if (opts.drainTimeoutMs !== undefined) checkDuration(opts.drainTimeoutMs, "opts.drainTimeoutMs", { infinity: true });
    if (opts.collectTimeoutMs !== undefined) checkDuration(opts.collectTimeoutMs, "opts.collectTimeoutMs", { infinity: true });
    if (opts.disposeTimeoutMs !== undefined) checkDuration(opts.disposeTimeoutMs, "opts.disposeTimeoutMs", { infinity: true });
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
    // The announcement is the shutdown's start, whoever cancels it.
    this.stopping.onCancel((reason) => {
      if (this.#state === "running") void this.requestShutdown({ reason });
    });
    this.extensions = attachExtensions(this, opts as Readonly<Record<string, unknown>>);
  }

  /** Where the runtime is in its life: "running" until shutdown, then each phase, then "closed". */
  get state(): RuntimeState {
    return this.#state;
  }

  /** Spawns a task on this runtime; see {@link spawn}. After the cancel phase it starts cancelled. */
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
    const at = Date.now();
    const out: TaskInfo[] = [];
    const memo: DumpMemo = new Map();
    for (let t = this.liveHead; t !== null; t = t.liveNext) out.push(taskInfo(t, at, memo));
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * @internal {@link tasks} with every waiting task's await site, built over as many event-loop
   * turns as it takes (3 ms of work per turn): the await sites are probed first (sliced), then
   * the TaskInfo of each task still live is built (sliced). A task that ends meanwhile is left
   * out; one spawned meanwhile may be missing. For the library's own dumps (dumpWithAwaitSites,
   * runMain's dump signal, the shutdown report's stuck tasks, the flight recorder).
   * @param keep which tasks to list; default: every live task.
   */
  async tasksSliced(keep?: (t: JoinHandle<unknown>) => boolean): Promise<TaskInfo[]> {
    const live: JoinHandle<unknown>[] = [];
    for (let t = this.liveHead; t !== null; t = t.liveNext) if (keep === undefined || keep(t)) live.push(t);
    await sliced(live, queueProbe);
    await awaitSitesSettled();
    const out: TaskInfo[] = [];
    await sliced(live, (t) => {
      if (!t.isFinished()) out.push(taskInfo(t, Date.now()));
    });
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * Hands `resource` to the runtime: it is disposed in the drop phase of shutdown, after every
   * task has ended — last deferred, first disposed, one at a time, each under `disposeTimeoutMs`.
   * An AsyncDisposable is awaited, a Disposable disposed, a function called (and awaited if it
   * returns a promise). Until the drop phase it is still accepted; during drop it is disposed
   * before the ones already there.
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
   * Registers a participant in shutdown (an integration hook: `httpResource` uses it). Its
   * `announce` is called at the announcement, its `stop` when the drain begins; drain and collect
   * wait for it as they wait for tasks. Registered during the announcement it is announced at
   * once and stopped with the others; registered during the drain, cancel or collect phase it is
   * announced and stopped at once. Dispose the result to unregister (before it was stopped).
   * @throws TypeError for a malformed participant; ShutdownError once the drop phase began.
   */
  onStop(participant: StopParticipant): Disposable {
    checkOptions(participant, "participant");
    if (participant === undefined) throw new TypeError("participant must be an object, got undefined");
    checkFunction(participant.stop, "participant.stop");
    if (participant.announce !== undefined) checkFunction(participant.announce, "participant.announce");
    if (typeof participant.name !== "string") throw new TypeError(`participant.name must be a string, got ${typeName(participant.name)}`);
    if (participant.preStopDelayMs !== undefined) checkDuration(participant.preStopDelayMs, "participant.preStopDelayMs", { long: true });
    const s = this.#state;
    if (s === "dropping" || s === "closed") throw new ShutdownError(`${this.label} is past its stop phase`);
    if (s !== "running") this.announceParticipant(participant);
    if (s === "draining" || s === "cancelling" || s === "collecting") {
      this.startParticipant(participant);
      return { [Symbol.dispose]() {} };
    }
    this.participants.add(participant);
    return { [Symbol.dispose]: () => void this.participants.delete(participant) };
  }

  /**
   * Shuts the runtime down: announce (cancel `stopping`, tell stop participants, pre-stop delay),
   * drain (intake stops; tasks finish their accepted work), cancel (the root token), collect
   * (wait for every task to end, up to a deadline), drop (dispose the deferred resources in reverse
   * order). Idempotent: later calls return the same promise, whatever their options. It never
   * rejects. See {@link RuntimeOptions} for the deadlines and {@link ShutdownReport} for the result.
   *
   * Called from inside one of this runtime's own tasks, drain and collect do not wait for that
   * task (it is taken to be waiting for the report), so `await runtime.shutdown()` in `main` works.
   * @throws TypeError/RangeError for malformed options (a negative or NaN `timeoutMs`).
   */
  shutdown(opts?: ShutdownOptions): Promise<ShutdownReport> {
    checkOptions(opts, "opts");
    if (opts?.timeoutMs !== undefined) checkDuration(opts.timeoutMs, "opts.timeoutMs", { infinity: true });
    const timeoutMs = opts?.timeoutMs ?? this.shutdownTimeoutMs;
    const caller = currentFrame()?.taskRecord as JoinHandle<unknown> | undefined;
    if (caller !== undefined && caller.runtimeRef === this && !caller.isFinished() && this.#state !== "dropping" && this.#state !== "closed") {
      this.exempt.add(caller);
      this.poke();
    }
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    this.shutdownCause ??= "call";
    const reason = opts?.reason === undefined ? new ShutdownError(`${this.label} is shutting down`) : opts.reason;
    const t0 = now();
    let settle!: (r: ShutdownReport) => void;
    // Set before the announcement runs, so a cancel listener calling shutdown() gets this promise.
    this.shutdownPromise = new Promise<ShutdownReport>((resolve) => (settle = resolve));
    // Outside any task: disposers and participants must not inherit a cancelled task's token.
    // (A neutral frame rather than als.exit(), which turns the promise hooks off and on again.)
    als
      .run(NEUTRAL, () => this.runShutdown(t0, timeoutMs, reason))
      .then(settle, (error: unknown) => {
        // Not expected (every phase catches what it calls); a report is still owed.
        this.#state = "closed";
        settle({
          clean: false,
          reason,
          durationMs: round2(now() - t0),
          tasks: { total: this.spawnedTotal, completed: this.completedCount, cancelled: this.cancelledCount, panicked: this.panickedCount, stuck: this.tasks() },
          lost: [...this.lostTasks.values(), ...this.participantLost],
          disposeErrors: [...this.stopErrors, { name: "shutdown", error }],
          drain: { endedBy: "deadline", heldBy: [] },
          phases: { announceMs: 0, drainMs: 0, collectMs: 0, dropMs: 0 },
        });
      });
    return this.shutdownPromise;
  }

  /**
   * @internal `shutdown()` started on behalf of an event (a signal, a cancelled token, a panic),
   * not by the task that happens to be running: that task is not exempted from the drain.
   */
  requestShutdown(opts?: ShutdownOptions): Promise<ShutdownReport> {
    return als.run(NEUTRAL, () => this.shutdown(opts));
  }

  /** `shutdown()` with the default deadlines, for `await using rt = new Runtime()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /**
   * Every live task and every deferred resource (name, kind and what the resource adds), built in
   * one synchronous call: about 0.2–0.5 µs per task once warm, more the first time (unoptimised
   * code; 5–20 µs per named task whose spawn site is read for the first time: V8 hands over the
   * capture's call sites; the text is cached on the site after).
   * Await sites are those already probed (the others are queued for probing); for a dump that
   * never holds the loop long use `dumpWithAwaitSites()`. Holds carry `acquiredAt` under
   * `configure({ lockSites: true })`.
   */
  dump(): RuntimeDump {
    return this.dumpOf(this.tasks());
  }

  /**
   * @internal {@link dump} built over several event-loop turns, with await sites (see
   * {@link tasksSliced}); what `dumpWithAwaitSites()` returns.
   */
  async dumpSliced(): Promise<RuntimeDump> {
    return this.dumpOf(await this.tasksSliced());
  }

  private dumpOf(tasks: TaskInfo[]): RuntimeDump {
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
    const dump: RuntimeDump = { tasks, resources };
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

  /** @internal Called by channel constructors (channel/mpsc.ts) running in this runtime's frame. */
  adoptChannel(chan: { readonly id: number; inspect(): Record<string, unknown> }): void {
    const task = currentFrame()?.taskRecord;
    const createdIn = task === undefined ? `runtime ${this.label}` : task.name === undefined ? `task ${task.id}` : `task '${task.name}'`;
    this.channels.set(chan.id, { ref: new WeakRef(chan), createdIn });
    // Forget channels that were collected, now and then, so a long-lived runtime does not grow.
    if (++this.channelAdoptions % 1024 === 0) {
      for (const [id, c] of this.channels) if (c.ref.deref() === undefined) this.channels.delete(id);
    }
  }

  private get label(): string {
    return this.name === undefined ? "the runtime" : `runtime '${this.name}'`;
  }

  private async runShutdown(t0: number, budget: number, reason: unknown): Promise<ShutdownReport> {
    const opts = this.options;
    const collectMs = opts.collectTimeoutMs ?? Math.min(DEFAULT_COLLECT_TIMEOUT_MS, budget / 4);
    // The drain ends by this time at the latest, so that the collect phase fits in the budget.
    const drainLimit = Math.max(t0, t0 + budget - collectMs);
    let preStop = opts.preStopDelayMs ?? 0;
    for (const p of this.participants) preStop = Math.max(preStop, p.preStopDelayMs ?? 0);
    preStop = Math.min(preStop, drainLimit - t0);
    const drainDeadline = Math.min(drainLimit, t0 + preStop + (opts.drainTimeoutMs ?? Infinity));
    // One CancelledError for the whole runtime: every withdrawn wait rejects with this instance
    // (its `reason` is the shutdown's) instead of building one, stack and all, per wait — that
    // was most of the cost of stopping 1,000 idle tasks.
    const cancel = reason instanceof CancelledError ? reason : new CancelledError(reason, `${this.label} is shutting down`);
    this.stopCancel = cancel;
    this.forceController = new AbortController();
    this.drainEndController = new AbortController();
    this.stopInfo = { reason, drainEnd: this.drainEndController.signal, drainDeadline };

    // 1. announce
    this.#state = "stopping";
    // Listeners run in the runtime's frame: a task they spawn belongs to this runtime.
    this.guardCallbacks(() =>
      als.run(this.frame, () => {
        this.stopping.cancel(reason);
        let next: JoinHandle<unknown> | null;
        for (let t = this.liveHead; t !== null; t = next) {
          next = t.liveNext;
          if (t.cancelOnStop) t.abort(cancel);
        }
      }),
    );
    // Copies: a participant may register another (announced and started by onStop itself).
    for (const p of [...this.participants]) this.announceParticipant(p);
    if (preStop > 0) await this.delay(preStop);
    const t1 = now();

    // 2. drain
    this.#state = "draining";
    const starting = [...this.participants];
    this.participants.clear();
    for (const p of starting) this.startParticipant(p);
    const endedBy = await this.waitPhase(drainDeadline, false, true);
    const heldBy = endedBy === "deadline" ? groupTasks(this.atWork()) : [];
    const t2 = now();

    // 3. cancel: what still runs is cut, unless it is parked idle or is the caller of shutdown().
    this.#state = "cancelling";
    const cut = new Map<JoinHandle<unknown>, string | undefined>();
    for (const t of this.atWork()) cut.set(t, t.waitingOn);
    this.cut = cut;
    this.drainEndController.abort(cancel);
    this.guardCallbacks(() => als.run(this.frame, () => this.token.cancel(cancel)));

    // 4. collect
    this.#state = "collecting";
    await this.collect(Math.min(t2 + collectMs, Math.max(t2, t0 + budget)));
    // Tasks still here are stuck: where they await (probed, and listed, in slices) for the report.
    const stuck = this.liveHead === null ? [] : await this.tasksSliced((t) => !this.exempt.has(t));
    const tasks = {
      total: this.spawnedTotal,
      completed: this.completedCount,
      cancelled: this.cancelledCount,
      panicked: this.panickedCount,
      stuck,
    };
    const t3 = now();

    // 5. drop
    this.#state = "dropping";
    const disposeErrors = this.stopErrors;
    const disposeMs = opts.disposeTimeoutMs ?? DEFAULT_DISPOSE_TIMEOUT_MS;
    let r: Deferred | undefined;
    while ((r = this.resources.pop()) !== undefined) {
      const error = await disposeWithin(r, disposeMs);
      if (error !== undefined) disposeErrors.push({ name: r.name, error: error.error });
    }
    const lost = [...this.lostTasks.values(), ...this.participantLost, ...this.channelsLost()];
    this.#state = "closed";
    const t4 = now();
    return {
      clean: stuck.length === 0 && disposeErrors.length === 0 && lost.length === 0,
      reason,
      durationMs: round2(t4 - t0),
      tasks,
      lost,
      disposeErrors,
      drain: { endedBy, heldBy },
      phases: { announceMs: round2(t1 - t0), drainMs: round2(t2 - t1), collectMs: round2(t3 - t2), dropMs: round2(t4 - t3) },
    };
  }

  /** Live tasks that are neither parked idle, nor cancelled already, nor waiting for the report. */
  private atWork(): JoinHandle<unknown>[] {
    const out: JoinHandle<unknown>[] = [];
    for (let t = this.liveHead; t !== null; t = t.liveNext) {
      if (!t.token.isCancelled && !this.exempt.has(t) && !isIdleWait(t.waitingOn)) out.push(t);
    }
    return out;
  }

  /** Runs `fn` with errors thrown by cancellation callbacks recorded in the report. */
  private guardCallbacks(fn: () => void): void {
    const prev = setListenerErrorHandler((error) => this.stopErrors.push({ name: "onCancel", error }));
    try {
      fn();
    } finally {
      setListenerErrorHandler(prev);
    }
  }

  private delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => void schedule(resolve, ms));
  }

  private announceParticipant(p: StopParticipant): void {
    if (p.announce === undefined) return;
    try {
      p.announce(this.stopInfo!);
    } catch (error) {
      this.stopErrors.push({ name: `stop: ${p.name}`, error });
    }
  }

  private startParticipant(p: StopParticipant): void {
    let r: unknown;
    try {
      r = p.stop(this.forceController!.signal, this.stopInfo!);
    } catch (error) {
      this.stopErrors.push({ name: `stop: ${p.name}`, error });
      return;
    }
    if (r === undefined || r === null || typeof (r as PromiseLike<unknown>).then !== "function") return;
    this.runningStops.add(p);
    const settle = (value: unknown, error?: { error: unknown }): void => {
      if (!this.runningStops.delete(p)) return; // given up on at the deadline
      if (error !== undefined) this.stopErrors.push({ name: `stop: ${p.name}`, error: error.error });
      else this.recordParticipantLoss(p, value);
      this.poke();
    };
    Promise.resolve(r as PromiseLike<unknown>).then(
      (v) => settle(v),
      (error: unknown) => settle(undefined, { error }),
    );
  }

  private recordParticipantLoss(p: StopParticipant, outcome: unknown): void {
    const lost = (outcome as StopOutcome | null | undefined)?.lost;
    if (!Array.isArray(lost)) return;
    for (const l of lost as unknown[]) {
      const item = l as Partial<LostItem> | null;
      if (item === null || typeof item !== "object" || typeof item.count !== "number" || item.count <= 0) continue;
      this.participantLost.push({ kind: String(item.kind ?? "work"), count: item.count, what: String(item.what ?? `${item.count} lost by ${p.name}`), participant: p.name });
    }
  }

  /**
   * Something changed (a task ended, a participant settled): let the phase wait look again. The
   * end of everything is seen at once; "every task left is idle" is looked for at most once per
   * event-loop turn (it walks the live tasks), and must still hold a turn later — a receive the
   * budget parked is served by then — before the drain ends on it.
   */
  private poke(): void {
    const w = this.phaseWait;
    if (w === undefined || this.runningStops.size > 0) return;
    if (w.participantsOnly || this.liveCount === this.exempt.size) {
      w.finish("done");
      return;
    }
    if (!w.idleEnds || w.checking) return;
    w.checking = true;
    setImmediate(() => {
      if (this.phaseWait !== w || this.runningStops.size > 0 || !this.allIdle()) {
        w.checking = false;
        return;
      }
      setImmediate(() => {
        w.checking = false;
        if (this.phaseWait === w && this.runningStops.size === 0 && this.allIdle()) w.finish(this.liveCount === this.exempt.size ? "done" : "idle");
      });
    });
  }

  private allIdle(): boolean {
    for (let t = this.liveHead; t !== null; t = t.liveNext) {
      if (!isIdleWait(t.waitingOn) && !this.exempt.has(t)) return false;
    }
    return true;
  }

  /**
   * Waits until nothing is left to wait for, or until `deadline` (steward clock). Drain
   * (`idleEnds`) also ends when every task left is idle; it is polled for that, since a task
   * going idle (a worker that emptied its queue) is not an event anything reports.
   */
  private waitPhase(deadline: number, participantsOnly: boolean, idleEnds: boolean): Promise<"done" | "idle" | "deadline"> {
    return new Promise((resolve) => {
      let poll: TimerHandle | undefined;
      // Ref'd: a shutdown in progress keeps the process alive until it has its report.
      const timer = schedule(() => w.finish("deadline"), Math.max(0, Math.ceil(deadline - now())));
      const w: PhaseWait = {
        participantsOnly,
        idleEnds,
        checking: false,
        finish: (why) => {
          if (this.phaseWait !== w) return;
          this.phaseWait = undefined;
          timer.cancel();
          poll?.cancel();
          resolve(why);
        },
      };
      this.phaseWait = w;
      if (idleEnds) {
        const tick = (): void => {
          this.poke();
          if (this.phaseWait === w) poll = schedule(tick, DRAIN_POLL_MS, { ref: false });
        };
        poll = schedule(tick, DRAIN_POLL_MS, { ref: false });
      }
      this.poke();
    });
  }

  /** Waits until every task and stop participant is done, or the deadline; then forces participants. */
  private async collect(deadline: number): Promise<void> {
    await this.waitPhase(deadline, false, false);
    if (this.runningStops.size === 0) return;
    // The deadline passed: participants must finish now (an HTTP server destroys its sockets).
    // Tasks still running are stuck; only participants are waited for, briefly.
    this.forceController!.abort(new ShutdownError(`${this.label}: the shutdown deadline passed`));
    await this.waitPhase(now() + FORCE_GRACE_MS, true, false);
    for (const p of this.runningStops) {
      this.stopErrors.push({ name: `stop: ${p.name}`, error: new ShutdownError(`stop participant '${p.name}' did not finish by the deadline`) });
    }
    this.runningStops.clear();
  }

  /** Messages left in this runtime's channels now that every task has ended. */
  private channelsLost(): LostItem[] {
    const out: LostItem[] = [];
    for (const [id, c] of this.channels) {
      const chan = c.ref.deref();
      if (chan === undefined) continue;
      let n: unknown;
      try {
        n = chan.inspect().length;
      } catch {
        continue;
      }
      if (typeof n !== "number" || n <= 0) continue;
      const name = `channel#${id}`;
      out.push({ kind: "messages", count: n, what: `${n} message(s) left in ${name} (created in ${c.createdIn})`, channel: name, createdIn: c.createdIn });
    }
    return out;
  }

  /** @internal */
  link(h: JoinHandle<unknown>): void {
    h.liveNext = this.liveHead;
    h.livePrev = null;
    if (this.liveHead !== null) this.liveHead.livePrev = h;
    this.liveHead = h;
    this.liveCount++;
    this.spawnedTotal++;
    // Spawned after the announcement with cancelOnStop: it starts cancelled.
    if (h.cancelOnStop && this.stopCancel !== undefined) h.abort(this.stopCancel);
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
    else {
      this.cancelledCount++;
      if (this.cut !== undefined && this.cut.has(h)) this.recordCut(h, this.cut.get(h));
    }
    if (this.exempt.size > 0) this.exempt.delete(h);
    if (this.phaseWait !== undefined) this.poke();
  }

  /** A task the cancel phase cut in the middle of its work ended cancelled: its work is lost. */
  private recordCut(h: JoinHandle<unknown>, waitingOn: string | undefined): void {
    const site = h.spawnedAt;
    const key = site === "unknown" ? `name:${h.name ?? ""}` : site;
    const g = this.lostTasks.get(key);
    if (g !== undefined) {
      g.count++;
      if (g.ids!.length < 10) g.ids!.push(h.id);
      g.what = describeLostTasks(g);
      return;
    }
    const item: LostItem = { kind: "tasks", count: 1, what: "", spawnedAt: site, ids: [h.id] };
    if (h.name !== undefined) item.name = h.name;
    if (waitingOn !== undefined) item.waitingOn = waitingOn;
    item.what = describeLostTasks(item);
    this.lostTasks.set(key, item);
  }

  /** @internal */
  reportPanic(error: JoinError, h: JoinHandle<unknown>): void {
    if (this.onTaskPanic !== undefined) {
      try {
        this.onTaskPanic(error);
      } catch (e) {
        if (this.stopErrors.length < 100) this.stopErrors.push({ name: "onTaskPanic", error: e });
        say("error", { err: e }, `steward: onTaskPanic threw: ${String(e)}\n`);
      }
    } else {
      const who = h.name === undefined ? `task ${h.id}` : `task ${h.id} '${h.name}'`;
      const cause = error.cause;
      const detail = cause instanceof Error ? (cause.stack ?? `${cause.name}: ${cause.message}`) : String(cause);
      say("error", { err: cause, task: h.id, taskName: h.name, spawnedAt: h.spawnedAt }, `steward: ${who} panicked (spawned at ${h.spawnedAt}): ${detail.split("\n")[0]}\n`);
    }
    if (this.unhandledPanic === "shutdown" && this.#state === "running") {
      this.shutdownCause = "panic";
      void this.requestShutdown({ reason: error });
    }
  }
}

function describeLostTasks(g: LostItem): string {
  const who = g.name === undefined ? "" : g.count === 1 ? ` '${g.name}'` : ` (e.g. '${g.name}')`;
  const doing = g.waitingOn === undefined ? "while running" : `while waiting on ${g.waitingOn}`;
  return `${g.count} task(s)${who} cut mid-work ${doing}, spawned at ${g.spawnedAt}`;
}

/** Groups tasks by spawn site (by name when the site is unknown), in order of first appearance. */
export function groupTasks(tasks: Iterable<{ id: number; name?: string | undefined; spawnedAt: string; waitingOn?: string | undefined }>): TaskGroup[] {
  const groups = new Map<string, TaskGroup>();
  for (const t of tasks) {
    const key = t.spawnedAt === "unknown" ? `name:${t.name ?? ""}` : t.spawnedAt;
    const g = groups.get(key);
    if (g !== undefined) {
      g.count++;
      if (g.ids.length < 10) g.ids.push(t.id);
      continue;
    }
    const ng: TaskGroup = { spawnedAt: t.spawnedAt, count: 1, ids: [t.id] };
    if (t.name !== undefined) ng.name = t.name;
    if (t.waitingOn !== undefined) ng.waitingOn = t.waitingOn;
    groups.set(key, ng);
  }
  return [...groups.values()];
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function taskInfo(t: JoinHandle<unknown>, at: number, memo?: DumpMemo): TaskInfo {
  const info: TaskInfo = {
    id: t.id,
    state: t.waitingOn === undefined ? "running" : "waiting",
    spawnedAt: t.site === undefined ? "unknown" : t.spawnedAt, // formatted once, then cached on the site (task/spawn-site.ts)
    ageMs: Math.round(at - t.spawnedAtMs),
  };
  if (t.name !== undefined) info.name = t.name;
  if (t.waitingOn !== undefined) info.waitingOn = t.waitingOn;
  describeTask(t, info, at, memo);
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

/**
 * Disposes one resource under its own deadline. Resolves with its failure (a throw, a rejection,
 * or a ShutdownError when it outlived `ms`), or undefined. A disposer that outlives its deadline
 * keeps running; its late outcome is ignored (and never becomes an unhandled rejection).
 */
function disposeWithin(r: Deferred, ms: number): Promise<{ error: unknown } | undefined> {
  let p: unknown;
  try {
    const res = r.resource as AsyncDisposable & Disposable & (() => unknown);
    if (r.kind === "asyncDisposable") p = res[Symbol.asyncDispose]();
    else if (r.kind === "disposable") p = res[Symbol.dispose]();
    else p = res();
  } catch (error) {
    return Promise.resolve({ error });
  }
  if (p === null || (typeof p !== "object" && typeof p !== "function") || typeof (p as PromiseLike<unknown>).then !== "function") {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const timer = schedule(() => resolve({ error: new ShutdownError(`disposer '${r.name}' did not settle within ${ms} ms`) }), ms);
    Promise.resolve(p as PromiseLike<unknown>).then(
      () => {
        timer.cancel();
        resolve(undefined);
      },
      (error: unknown) => {
        timer.cancel();
        resolve({ error });
      },
    );
  });
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
