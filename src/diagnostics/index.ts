/**
 * Who waits on whom: deadlock detection over steward's locks, semaphores, cells and joins, lock
 * order checking with ranks, and task dumps with await sites. See README, "Deadlocks, lock order
 * and the task dump".
 */
import "./install.js";
import { currentRuntime, type Runtime, type RuntimeDump } from "../runtime/runtime.js";
import { awaitSitesSettled } from "./task-info.js";

export { onLockOrder, lockOrderViolations } from "./lock-order.js";
export type { LockOrderSite, LockOrderViolation } from "./lock-order.js";
export type { TaskRef, WaitInfo } from "./task-info.js";

/**
 * `runtime.dump()`, with the await site of every waiting task: a first dump queues the waits it
 * sees for probing (a few µs to a few ms each, 3 ms of them per macrotask turn, so a dump of 10 000 waiting
 * tasks never holds the event loop for long), and a second dump, once they are probed, has their
 * `awaitSite`. For the SIGUSR2 dump, the stuck-task report and the console, which can wait.
 * @param runtime default: the runtime the calling code belongs to.
 * @throws TypeError when `runtime` is not a Runtime.
 */
export async function dumpWithAwaitSites(runtime: Runtime = currentRuntime()): Promise<RuntimeDump> {
  if (runtime === null || typeof runtime !== "object" || typeof (runtime as Partial<Runtime>).dump !== "function") {
    throw new TypeError(`runtime must be a Runtime, got ${runtime === null ? "null" : typeof runtime}`);
  }
  runtime.dump();
  await awaitSitesSettled();
  return runtime.dump();
}
