/**
 * What the console shows: the JSON of `GET /api/snapshot`, of `runtime.dump().console`, and the
 * records the event stream's deltas carry. Times are in ms; `...AtMs` fields are epoch ms.
 */

/** Where a task is in its life. */
export type TaskState = "scheduled" | "running" | "idle" | "done";

/** How a task ended. */
export type TaskOutcome = "ok" | "panic" | "cancelled";

/** One task, live or recently completed. */
export interface TaskSnapshot {
  id: number;
  name?: string;
  /** Name of the runtime it belongs to. */
  runtime?: string;
  /** The task that spawned it, if it was spawned from inside one. */
  parent?: number;
  /**
   * scheduled: spawned or woken, waiting to run; running: its code runs now (only the task that
   * asked for the snapshot, or one inside a synchronous call, is ever seen running); idle:
   * awaiting something; done: ended, retained for `retainMs`.
   */
  state: TaskState;
  outcome?: TaskOutcome;
  /** "file:line:col" of the spawn call. */
  spawnedAt: string;
  spawnedAtMs: number;
  endedAtMs?: number;
  /** How long it has been in `state`. */
  stateMs: number;
  /** From spawn to now (or to its end). `busyMs + scheduledMs + idleMs === totalMs`, give or take rounding. */
  totalMs: number;
  /** Time its code ran (the sum of its resumes). */
  busyMs: number;
  /** Time spent woken (or spawned) but not yet running. */
  scheduledMs: number;
  /** Time spent awaiting. */
  idleMs: number;
  /** Times its code was resumed (the first run and every continuation after an await). */
  resumes: number;
  lastResumeMs: number;
  maxResumeMs: number;
  /** Estimated from the histogram. */
  p50ResumeMs: number;
  p99ResumeMs: number;
  maxScheduledMs: number;
  /** What it waits on now, e.g. "recv on channel#3" or "join task 12". */
  waitingOn?: string;
  /** Resume durations: power-of-two buckets over µs (see histogram.ts; trailing zeros trimmed). */
  resumeHistogram: number[];
  /** Scheduling delays (woken → resumed), same buckets. */
  scheduledHistogram: number[];
  /** Lints that fire for this task (see {@link ConsoleWarning.lint}). */
  lints?: LintKind[];
  /** When these figures were taken (epoch ms): a client may extrapolate the open state's time. */
  asOf: number;
}

/** A resource: a lock, semaphore, channel, pool, HTTP server... */
export interface ResourceSnapshot {
  /** Unique in the snapshot: the resource's label, or label@n for unnamed ones. */
  id: string;
  /** "Mutex", "RwLock", "Semaphore", "channel", "oneshot", "broadcast", "watch", "JoinSet", "blockingPool", ... */
  kind: string;
  /** As waits on it name it: `Mutex "db"`, `channel#3`. */
  label: string;
  /** Where it comes from: a wait queue of the waiter core, or a runtime's `defer()` list. */
  source: "wait-queue" | "deferred";
  /** Waiters queued now, over all its queues. */
  waiters: number;
  /** Per operation: waiters queued, the first one's task and how long it has waited. */
  ops?: { op: string; waiters: number; headTask?: number; headWaitMs?: number }[];
  /** What the resource says about itself (`inspect()`, `[resourceInfo]()`), e.g. length, capacity, locked. */
  details?: Record<string, unknown>;
}

/** The console's lints, after tokio-console's. */
export type LintKind = "never-yielded" | "slow-resume" | "schedule-delay" | "lock-held" | "unbounded-watermark" | "idle-on-nothing";

/** One finding of a lint. */
export interface ConsoleWarning {
  lint: LintKind;
  severity: "warn" | "error";
  message: string;
  task?: number;
  resource?: string;
}

/** One stall of the event loop. */
export interface BlockedEpisode {
  /** When it ended (epoch ms). */
  atMs: number;
  durationMs: number;
  /** "resume": one resume of a task took that long; "loop": the loop-delay monitor saw it; "supervisor": reported by the supervisor. */
  source: "resume" | "loop" | "supervisor";
  task?: { id: number; name?: string };
  /** Top frame, when the supervisor took a stack. */
  frame?: string;
}

/** The header line: the whole process at a glance. */
export interface ConsoleHeader {
  pid: number;
  node: string;
  /** Runtimes in this view. */
  runtimes: { name: string; state: string; liveTasks: number }[];
  /** Event-loop utilization over the last sampling window (0–1). */
  elu: number;
  /** Event-loop delay over the last sampling window. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  liveTasks: number;
  /** Tasks spawned / ended since the console started (over its runtimes). */
  spawned: number;
  completed: { ok: number; panic: number; cancelled: number };
  /** Completed tasks still shown. */
  retained: number;
  blockedEpisodes: number;
  blockedMsTotal: number;
  /** Tasks left out of `tasks` because of `maxTasks`. */
  truncatedTasks: number;
}

/** Everything the console shows at one moment. */
export interface ConsoleSnapshot {
  version: 1;
  /** Epoch ms. */
  now: number;
  header: ConsoleHeader;
  tasks: TaskSnapshot[];
  resources: ResourceSnapshot[];
  warnings: ConsoleWarning[];
  /** The latest blocked episodes, newest last. */
  blocked: BlockedEpisode[];
}

/** What the event stream sends after the first snapshot: records that changed, by id. */
export interface ConsoleDelta {
  now: number;
  header: ConsoleHeader;
  /** New or changed tasks (whole records). */
  tasks: TaskSnapshot[];
  /** Ids of tasks no longer shown. */
  removed: number[];
  /** The whole resource list, when anything in it changed. */
  resources?: ResourceSnapshot[];
  warnings: ConsoleWarning[];
  blocked: BlockedEpisode[];
}
