/**
 * Who waits on whom: deadlock detection over steward's locks, semaphores, cells and joins, lock
 * order checking with ranks, and task dumps with await sites. See README, "Deadlocks, lock order
 * and the task dump".
 */
import "./install.js";
import { currentRuntime, type Runtime, type RuntimeDump } from "../runtime/runtime.js";

export { onLockOrder, lockOrderViolations } from "./lock-order.js";
export type { LockOrderSite, LockOrderViolation } from "./lock-order.js";
export type { HeldLock, TaskRef, WaitInfo } from "./task-info.js";

/**
 * `runtime.dump()` with the await site of every waiting task, built without holding the event
 * loop: the await sites are probed (a few µs to a few ms each) and the tasks listed in slices of
 * 3 ms of work per event-loop turn, so a dump of 10 000 waiting tasks takes many short turns
 * instead of one long one (`runtime.dump()` is synchronous: one turn of about 5 µs per task, and
 * it only has the await sites probed before). A task that ends while the dump is being built is
 * left out. What runMain's SIGUSR2 dump, the shutdown report's stuck tasks and the flight
 * recorder use.
 * @param runtime default: the runtime the calling code belongs to.
 * @throws TypeError when `runtime` is not a Runtime.
 */
export async function dumpWithAwaitSites(runtime: Runtime = currentRuntime()): Promise<RuntimeDump> {
  if (runtime === null || typeof runtime !== "object" || typeof (runtime as Partial<Runtime>).dumpSliced !== "function") {
    throw new TypeError(`runtime must be a Runtime, got ${runtime === null ? "null" : typeof runtime}`);
  }
  return runtime.dumpSliced();
}
