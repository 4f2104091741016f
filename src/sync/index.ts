// Synchronisation primitives (API.md §5). Every wait in them is a Waiter of the core's WaitQueue
// (src/core/waiter.ts): abortable, withdrawn on task cancellation, select-safe, on the budget.
export { Mutex } from "./mutex.js";
export type { MappedMutexGuard, MutexGuard } from "./mutex.js";
export { RwLock } from "./rwlock.js";
export type { MappedWriteGuard, ReadGuard, WriteGuard } from "./rwlock.js";
export { Semaphore } from "./semaphore.js";
export type { Permit } from "./semaphore.js";
export { Notify } from "./notify.js";
export { Barrier } from "./barrier.js";
export type { BarrierWaitResult } from "./barrier.js";
export { OnceCell } from "./once-cell.js";
export type { OnceCellOptions, OnceCellState } from "./once-cell.js";
export type { LockOptions, SyncOptions } from "./shared.js";
