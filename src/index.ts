/**
 * steward: owned, joined and cancelled tasks; bounded channels and locks with backpressure;
 * shutdown that stops, collects and only then drops; a supervisor that catches a blocked event
 * loop in the act. See README.md for a tour and ARCHITECTURE.md for how it fits together.
 */
export { CancelledError, ChannelClosedError, JoinError, LaggedError, SemaphoreClosedError, ShutdownError, TimeoutError } from "./errors.js";
export type { JoinErrorKind } from "./errors.js";
export { DeadlockError, LockOrderError } from "./errors.js";
export type { DeadlockLink } from "./errors.js";
export { StewardError } from "./errors.js";
export { configure } from "./core/config.js";
export type { StewardConfig, SpawnSiteMode } from "./core/config.js";
export type { DeadlockMode, LockOrderMode } from "./core/config.js";
export type { WaitOptions } from "./core/waiter.js";
export { CancellationToken } from "./cancel/token.js";
export { JoinHandle } from "./task/join-handle.js";
export type { JoinResult, SpawnOptions, TaskContext } from "./task/join-handle.js";
export { spawn, currentTask, yieldNow, shield } from "./task/spawn.js";
export { JoinSet } from "./task/join-set.js";
export { TaskTracker, TaskTrackerToken } from "./task/task-tracker.js";
export { scope } from "./task/scope.js";
export type { Scope } from "./task/scope.js";
export { sleep } from "./time/sleep.js";
export { interval } from "./time/interval.js";
export type { Interval, IntervalOptions, MissedTick } from "./time/interval.js";
export { timeout } from "./time/timeout.js";
export { sleepUntil } from "./time/sleep.js";
export { timeoutAt } from "./time/timeout.js";
export { Sleep } from "./time/sleep-handle.js";
export type { SleepOptions } from "./time/sleep-handle.js";
export { now } from "./core/timer.js";
export { select } from "./select/select.js";
export type { Branch, Selected } from "./select/select.js";
export * from "./runtime/index.js";
export * from "./http/index.js";
export * from "./sync/index.js";
export * from "./channel/index.js";
export * from "./supervisor/index.js"; // small: the watchdog and the rest load on start()
export * from "./pool/index.js";
export * from "./limiter/index.js";
export type { Logger } from "./core/log.js";
export * from "./diagnostics/index.js";
