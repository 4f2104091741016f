/**
 * Record-only tasks: a task of the runtime whose work is driven from outside rather than by a
 * function steward runs — an HTTP request, which the framework runs and which ends when its
 * response closes (src/http/scope.ts).
 *
 * It is a JoinHandle like any other — linked in its runtime's task list, named in `tasks()`,
 * dumps, the console, the supervisor's reports and log lines, cancelled by the runtime's
 * cancellation at the drain deadline, waited for by drain and collect — but it skips what a
 * spawned task needs to start its function and nobody here uses: the option checks, the start
 * queue and its microtask, the frame entered around a first run, and the two bound settle
 * functions the start hands to a thenable. It starts synchronously, in the caller's turn, and its
 * owner ends it with {@link RequestTask.complete} or {@link RequestTask.end}. A join promise is
 * made only if someone joins it (as for every JoinHandle).
 */
import { CancellationToken } from "../cancel/token.js";
import { currentFrame, type TaskLike } from "../core/context.js";
import { hooks } from "../core/instrument.js";
import type { SpawnSite } from "./spawn-site.js";
import { JoinHandle, type TaskHost, type TaskOwner } from "./join-handle.js";

/** The function a record-only task never runs (a JoinHandle is made with one). */
function driven(): never {
  throw new Error("steward: a record-only task has no function of its own");
}

/** @internal A record-only task: see the module comment. Made by {@link startRequestTask}. */
export class RequestTask extends JoinHandle<void> {
  /** @internal Use {@link startRequestTask}. (Its own parameters: a derived class's implicit constructor spreads its arguments on Node 20.) */
  constructor(host: TaskHost, name: string, owner: TaskOwner, parent: TaskLike | undefined, site: SpawnSite) {
    super(host, driven, name, new CancellationToken(), owner, parent, site);
  }

  /** Ends the task as completed (no-op once it has ended). */
  complete(): void {
    this.succeed(undefined);
  }

  /**
   * Ends the task with `reason`: cancelled when its token is cancelled or `reason` is a
   * CancelledError, else a panic (reported by the runtime unless someone joins it). No-op once
   * it has ended.
   */
  end(reason: unknown): void {
    this.fail(reason);
  }
}

/**
 * @internal Starts a record-only task named `name` on `host`, now: it is running (and listed)
 * when this returns. `owner` hears its end (TaskOwner). Its spawn site is `site`: a request's
 * stack would show only the framework's dispatch, and capturing one costs microseconds. Like a
 * spawn on a runtime past its cancel phase, it starts cancelled there.
 */
export function startRequestTask(host: TaskHost, name: string, owner: TaskOwner, site: SpawnSite): RequestTask {
  const h = new RequestTask(host, name, owner, currentFrame()?.taskRecord, site);
  const root = host.token;
  if (root.isCancelled) h.token.cancel(root.reason);
  host.link(h as JoinHandle<unknown>);
  // The console's first poll: the task is running from here (its code is the framework's).
  const k = hooks;
  if (k !== null) {
    k.pollStart(h);
    k.pollEnd(h);
  }
  return h;
}
