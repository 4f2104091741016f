import { CancellationToken } from "../cancel/token.js";
import { currentFrame } from "../core/context.js";
import { checkFunction, checkOptions, checkSignal } from "../util/validate.js";
import { ShutdownError } from "../errors.js";
import type { JoinHandle, SpawnOptions, TaskContext, TaskHost, TaskOwner } from "./join-handle.js";
import { currentHost, spawnOn } from "./spawn.js";

/** What a scope's function receives: spawn children that cannot outlive the scope. */
export interface Scope {
  /** Spawns a child task; its token is a child of the scope's. @throws ShutdownError once the scope has ended. */
  spawn<U>(fn: (ctx: TaskContext) => U | PromiseLike<U>, opts?: SpawnOptions): JoinHandle<U>;
  /** Cancelled when the scope fails (fn throws, a child panics, opts.signal aborts) or its caller's task is cancelled. */
  readonly token: CancellationToken;
}

class ScopeImpl implements Scope, TaskOwner {
  private live = 0;
  private ended = false;
  failed = false;
  firstError: unknown;
  /** fn's own task. */
  main: JoinHandle<unknown> | undefined;
  private finished!: () => void;
  readonly allDone = new Promise<void>((r) => (this.finished = r));

  constructor(
    readonly token: CancellationToken,
    private readonly host: TaskHost,
  ) {}

  spawn<U>(fn: (ctx: TaskContext) => U | PromiseLike<U>, opts?: SpawnOptions): JoinHandle<U> {
    if (this.ended) throw new ShutdownError("this scope has ended: spawn its tasks while it runs");
    const h = spawnOn(this.host, fn, opts, this, this.token);
    this.live++;
    return h;
  }

  fail(error: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.firstError = error;
    }
    this.token.cancel(error);
  }

  onTaskDone(h: JoinHandle<unknown>): void {
    const r = h.outcome();
    // API.md §1: "the first error is thrown" — a child's own error, as fn's is, never its JoinError.
    if (!r.ok && r.error.isPanic()) this.fail(r.error.cause);
    if (--this.live === 0) {
      this.ended = true;
      this.finished();
    }
  }
}

/**
 * Structured concurrency: runs `fn` with a scope it can spawn children into, and returns only
 * after every child has ended. `fn` runs like a task whose waits observe `s.token`. If `fn`
 * throws, a child panics (the scope rejects with what the child threw) or `opts.signal` aborts, `s.token` is
 * cancelled — reaching `fn` and every child — all children are awaited, and the first error is
 * thrown. A scope inside a task is cancelled with that task.
 */
export async function scope<T>(fn: (s: Scope) => Promise<T>, opts?: { name?: string; signal?: AbortSignal }): Promise<T> {
  checkFunction(fn, "fn");
  checkOptions(opts, "opts");
  checkSignal(opts?.signal);
  const outer = currentFrame()?.token;
  const token = outer !== undefined ? outer.child() : new CancellationToken();
  const s = new ScopeImpl(token, currentHost());
  const signal = opts?.signal;
  let unhook: (() => void) | undefined;
  if (signal !== undefined) {
    if (signal.aborted) s.fail(signal.reason);
    else {
      const onAbort = (): void => s.fail(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      unhook = () => signal.removeEventListener("abort", onAbort);
    }
  }
  const name = opts?.name;
  // fn runs as the scope's first child, so its waits observe the scope's token and dumps list it.
  const main = s.spawn<T>(() => fn(s), name === undefined ? undefined : { name });
  s.main = main as JoinHandle<unknown>;
  await s.allDone;
  unhook?.();
  if (s.failed) throw s.firstError;
  const r = main.outcome();
  // Not failed but fn did not return: the caller's task was cancelled; fn's CancelledError says so.
  if (!r.ok) throw r.error.cause;
  return r.value;
}
