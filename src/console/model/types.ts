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
  /** Where in the user's code it awaits that (`file:line:col`, source-mapped), once probed (src/diagnostics). */
  awaitSite?: string;
  /** The ids of the tasks holding what it waits for (a lock's holder, a joined task). */
  heldBy?: number[];
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
export type LintKind = "never-yielded" | "slow-resume" | "schedule-delay" | "lock-held" | "unbounded-watermark" | "idle-on-nothing" | "lock-order";

/** One finding of a lint. */
export interface ConsoleWarning {
  lint: LintKind;
  severity: "warn" | "error";
  message: string;
  task?: number;
  resource?: string;
}

/** One stall of the event loop, counted once however many reports described it. */
export interface BlockedEpisode {
  /** The supervisor's episode id when it gave one, else the console's own ("c7"). */
  id: string;
  /** When it began (epoch ms; estimated from its end and duration for a loop report). */
  startMs: number;
  /** When it ended, or was last reported (epoch ms). */
  atMs: number;
  /** Its final duration once known (the longest any report gave). */
  durationMs: number;
  /**
   * What saw it: "resume" (one resume of a task took that long), "supervisor" (the blocked-loop
   * supervisor, with a stack), "loop" (only the loop-delay monitor: code outside any task).
   */
  source: "resume" | "loop" | "supervisor";
  task?: { id: number; name?: string };
  /** Top frame, when the supervisor took a stack: "fn (file:line:col)". */
  frame?: string;
  /** The stack the supervisor took, top first, as "fn (file:line:col)" (at most 32 frames). */
  stack?: string[];
  /** Key of its group in {@link ConsoleSnapshot.blockedGroups} (same top frames). */
  group?: string;
}

/** Episodes grouped by where the loop was blocked (the same top frames). */
export interface BlockedGroup {
  key: string;
  /** Top frame ("fn (file:line:col)"), or "(no stack)", or "task 'name'" for resume reports. */
  frame: string;
  count: number;
  firstAtMs: number;
  lastAtMs: number;
  maxMs: number;
  totalMs: number;
  /** The latest episode's stack. */
  stack?: string[];
  /** Tasks that were running (up to 5). */
  tasks: { id: number; name?: string }[];
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
  /**
   * Work that ran in a task's context but was not that task's own code: promise reactions of
   * a framework's callbacks (a server created inside `main`) that resumed while the task was
   * parked on a steward wait. Counted here instead of on the task.
   */
  outside: { resumes: number; busyMs: number };
  /** Tasks left out of `tasks` because of `maxTasks`. */
  truncatedTasks: number;
}

/** Everything the console shows at one moment. */
export interface ConsoleSnapshot {
  version: 2;
  /** Epoch ms. */
  now: number;
  header: ConsoleHeader;
  tasks: TaskSnapshot[];
  resources: ResourceSnapshot[];
  warnings: ConsoleWarning[];
  /** The latest blocked episodes, newest last. */
  blocked: BlockedEpisode[];
  /** Blocked episodes grouped by stack, most recent first. */
  blockedGroups: BlockedGroup[];
}

/** A task's changed fields in a delta: always `id`, then only what changed (a new task: all of it). */
export type TaskChange = Partial<TaskSnapshot> & { id: number };

/** A resource's changed fields in a delta. */
export type ResourceChange = Partial<ResourceSnapshot> & { id: string };

/**
 * What the event stream sends after its first snapshot, every `intervalMs`: only what changed
 * since the previous delta. Time that passes in a task's current state (`stateMs`, `totalMs`,
 * and the busy/scheduled/idle figure of that state) is not sent: a client extrapolates it from
 * `now` and the task's `asOf`. Histograms are not streamed (GET /api/tasks/:id has them).
 */
export interface ConsoleDelta {
  /** Increases by one per delta; a client that sees a gap must resync (reload the snapshot). */
  seq: number;
  now: number;
  header: ConsoleHeader;
  /** New tasks (whole) and changed fields of the others. */
  tasks: TaskChange[];
  /** Ids of tasks no longer shown. */
  removed: number[];
  /** New resources (whole) and changed fields of the others, when any changed. */
  resources?: ResourceChange[];
  /** Ids of resources no longer shown. */
  resourcesRemoved?: string[];
  /** The whole warning list, when it changed. */
  warnings?: ConsoleWarning[];
  /** Blocked episodes that are new or were updated (a later report gave their final duration). */
  blocked?: BlockedEpisode[];
  /** The whole group list, when it changed. */
  blockedGroups?: BlockedGroup[];
}
