// What the ported tokio tests use in place of tokio_test: a started wait that can be observed
// ("polled") and dropped, and a way to let everything already due run.
//
// Mapping from tokio_test to JavaScript:
//  - `task::spawn(fut)` + `poll()`: a Rust future does nothing until polled; a JavaScript wait
//    starts when it is called. `spawned(start)` calls `start` at once with a signal of its own.
//  - `assert_pending!(t.poll())`: after everything already due has run (`flush()`), the wait has
//    not settled.
//  - `assert!(t.is_woken())` then `assert_ready!(t.poll())`: after `flush()` it has settled. A
//    JavaScript promise has no "woken but not yet polled" state: a wait that is served has
//    resolved, and its value is handed over at that moment.
//  - `drop(fut)` of a pending future: abort its signal (the wait is withdrawn).
//  - `drop(tx)` / `drop(rx)` of a channel half: `close()`.
import assert from "node:assert/strict";

/** Lets every microtask, budget refill and immediate already queued run. */
export async function flush(turns = 2): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A started wait, observed the way tokio_test observes a spawned future. */
export class Spawned<T> {
  state: "pending" | "fulfilled" | "rejected" = "pending";
  value: T | undefined = undefined;
  error: unknown = undefined;
  readonly promise: Promise<T>;
  private readonly ctrl = new AbortController();

  constructor(start: (signal: AbortSignal) => PromiseLike<T>) {
    this.promise = Promise.resolve(start(this.ctrl.signal));
    this.promise.then(
      (v) => {
        this.state = "fulfilled";
        this.value = v;
      },
      (e: unknown) => {
        this.state = "rejected";
        this.error = e;
      },
    );
  }

  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  /** tokio's `drop(fut)`: withdraws the wait if it is still pending. */
  drop(reason: unknown = new Error("dropped")): void {
    this.ctrl.abort(reason);
  }
}

/** Starts a wait: `start` is called at once with the signal that `drop()` aborts. */
export function spawned<T>(start: (signal: AbortSignal) => PromiseLike<T>): Spawned<T> {
  return new Spawned(start);
}

/** `assert_pending!(t.poll())`. */
export async function assertPending(t: Spawned<unknown>, msg?: string): Promise<void> {
  await flush();
  assert.equal(t.state, "pending", msg ?? "expected the wait to be pending");
}

/** `assert_ready!(t.poll())` / `assert_ready_ok!`: resolves with its value. */
export async function assertReady<T>(t: Spawned<T>, msg?: string): Promise<T> {
  await flush();
  if (t.state === "rejected") throw new assert.AssertionError({ message: `${msg ?? "expected the wait to be ready"}, but it rejected with ${String(t.error)}` });
  assert.equal(t.state, "fulfilled", msg ?? "expected the wait to be ready");
  return t.value as T;
}

/** `assert_ready_err!(t.poll())`: resolves with the error it rejected with. */
export async function assertReadyErr(t: Spawned<unknown>, msg?: string): Promise<unknown> {
  await flush();
  assert.equal(t.state, "rejected", msg ?? "expected the wait to have rejected");
  return t.error;
}

/** `assert_elapsed!(start, ms)` on the real clock: at least `ms` passed (Node timers are whole ms). */
export function assertElapsed(start: number, ms: number): void {
  const elapsed = performance.now() - start;
  // Node compares timers against the loop's cached millisecond clock, so a timer may run up to
  // 1 ms before performance.now() says it is due.
  assert.ok(elapsed >= ms - 1, `expected at least ${ms} ms to have passed, got ${elapsed.toFixed(2)} ms`);
}

/** Fails instead of hanging when `p` does not settle within `ms`. */
export async function within<T>(p: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`did not settle within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that never settles (futures::future::pending()). */
export function never<T = never>(): Promise<T> {
  return new Promise<T>(() => {});
}
