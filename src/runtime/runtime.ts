/**
 * The Runtime: owns tasks (a live list), the root cancellation token, and panic reporting.
 * Shutdown (stop, collect, drop) is completed in runtime/shutdown.ts.
 */
import { CancellationToken } from "../cancel/token.js";
import { als, type Frame, type TaskLike } from "../core/context.js";
import { checkFunction, checkOptions } from "../core/validate.js";
import type { JoinError } from "../errors.js";
import { JoinHandle, type SpawnOptions, type TaskContext, type TaskHost } from "../task/join-handle.js";
import { currentHost, setHostResolver, spawnOn } from "../task/spawn.js";

/** Options for a {@link Runtime}. */
export interface RuntimeOptions {
  /** Shown in reports and dumps. */
  name?: string;
  /** Called once for each task panic that nobody observed (default: one line to stderr). */
  onTaskPanic?: (error: JoinError) => void;
}

/** One live task, as dumps and stuck-task reports show it. */
export interface TaskInfo {
  id: number;
  name?: string;
  state: string;
  spawnedAt: string;
  ageMs: number;
  waitingOn?: string;
}

/**
 * A set of tasks with one root cancellation token. `spawn()` outside any runtime uses the
 * process-wide default runtime.
 */
export class Runtime implements TaskHost {
  readonly name: string | undefined;
  /** The root token: cancelling it cancels every task of the runtime. */
  readonly token = new CancellationToken();
  protected readonly onTaskPanic: ((error: JoinError) => void) | undefined;
  private liveHead: JoinHandle<unknown> | null = null;
  private liveCount = 0;
  private readonly frame: Frame;

  constructor(opts: RuntimeOptions = {}) {
    checkOptions(opts, "opts");
    if (opts.name !== undefined && typeof opts.name !== "string") throw new TypeError("opts.name must be a string");
    if (opts.onTaskPanic !== undefined) checkFunction(opts.onTaskPanic, "opts.onTaskPanic");
    this.name = opts.name;
    this.onTaskPanic = opts.onTaskPanic;
    const self = this;
    this.frame = { token: undefined, shielded: false, taskRecord: undefined as TaskLike | undefined, runtimeRef: self };
    this.token.onCancel((reason) => {
      for (let t = this.liveHead; t !== null; t = t.liveNext) t.abort(reason);
    });
  }

  /** Spawns a task on this runtime; see {@link spawn}. */
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

  /** Every live task. */
  tasks(): TaskInfo[] {
    const now = performance.now();
    const out: TaskInfo[] = [];
    for (let t = this.liveHead; t !== null; t = t.liveNext) {
      const info: TaskInfo = {
        id: t.id,
        state: t.waitingOn === undefined ? "running" : "waiting",
        spawnedAt: t.spawnedAt,
        ageMs: Math.round(now - t.spawnedAtMs),
      };
      if (t.name !== undefined) info.name = t.name;
      if (t.waitingOn !== undefined) info.waitingOn = t.waitingOn;
      out.push(info);
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** @internal */
  link(h: JoinHandle<unknown>): void {
    h.liveNext = this.liveHead;
    h.livePrev = null;
    if (this.liveHead !== null) this.liveHead.livePrev = h;
    this.liveHead = h;
    this.liveCount++;
  }

  /** @internal */
  unlink(h: JoinHandle<unknown>): void {
    if (h.livePrev !== null) h.livePrev.liveNext = h.liveNext;
    else if (this.liveHead === h) this.liveHead = h.liveNext;
    else return;
    if (h.liveNext !== null) h.liveNext.livePrev = h.livePrev;
    h.liveNext = h.livePrev = null;
    this.liveCount--;
  }

  /** @internal */
  reportPanic(error: JoinError, h: JoinHandle<unknown>): void {
    if (this.onTaskPanic !== undefined) {
      try {
        this.onTaskPanic(error);
      } catch (e) {
        process.stderr.write(`steward: onTaskPanic threw: ${String(e)}\n`);
      }
      return;
    }
    const who = h.name === undefined ? `task ${h.id}` : `task ${h.id} '${h.name}'`;
    const cause = error.cause;
    const detail = cause instanceof Error ? (cause.stack ?? `${cause.name}: ${cause.message}`) : String(cause);
    process.stderr.write(`steward: ${who} panicked (spawned at ${h.spawnedAt}): ${detail.split("\n")[0]}\n`);
  }
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
