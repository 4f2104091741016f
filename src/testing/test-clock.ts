/**
 * `withTestClock` (API.md §12): runs a callback with steward's time on a virtual clock, the way
 * tokio's `time::pause()` / `advance()` do. It swaps the clock behind core/timer.ts — the one
 * module every steward timer goes through (sleep, sleepUntil, Sleep, timeout, timeoutAt, interval,
 * the runtime's phase deadlines, runMain's hold, the HTTP drain's sweeps) — for the callback's
 * duration, so those deadlines move with the virtual time and with nothing else.
 */
import { installClock, realClock } from "../core/timer.js";
import { checkDuration, checkFunction, checkOptions, typeName } from "../util/validate.js";
import { VirtualClock } from "./virtual-clock.js";

/** The virtual clock a {@link withTestClock} callback is given. */
export interface TestClock {
  /** The virtual time in milliseconds: what steward's `now()` returns inside the callback. */
  now(): number;
  /**
   * Moves the clock `ms` milliseconds forward and runs, in deadline order, every timer that falls
   * due, letting the tasks each one wakes run (their microtasks and the macrotask turns they
   * queue) before the next fires; resolves once the clock stands at its target and they have run.
   * Calls queue: a second `advance` starts where the first ended.
   * @throws TypeError/RangeError (synchronously) for a bad `ms`; TestClockError once the callback has returned.
   */
  advance(ms: number): Promise<void>;
}

/** Options of {@link withTestClock}. */
export interface TestClockOptions {
  /**
   * Jump the clock to the next timer whenever everything is parked: no macrotask queued by
   * anyone (no `setImmediate` pending, which covers steward's budget hops and woken tasks) and no
   * timer scheduled for a couple of event-loop turns. A test of a minute of backoff then
   * finishes in milliseconds. Turn it off to move time only with `advance()` — needed when the
   * code also waits on real I/O, which looks idle to the check.
   * @default true
   */
  autoAdvance?: boolean;
  /** The virtual clock's starting time (what `now()` returns first). @default the real `now()` */
  start?: number;
}

/** Misuse of the test clock: nested or concurrent `withTestClock`, or `advance` after the callback returned. */
export class TestClockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TestClockError";
  }
}

/** Event-loop turns with nothing going on before the auto-advance jumps. */
const IDLE_TURNS = 2;
/** The most turns `advance` waits for woken tasks to settle after one timer (a task that yields forever must not hang it). */
const SETTLE_TURNS_MAX = 64;

let active = false;

function turn(): Promise<void> {
  return new Promise<void>((r) => setImmediate(r));
}

/** Whether some other ref'd macrotask (an immediate: a budget hop, a yieldNow, the runtime's idle check) is queued. */
function othersQueued(): boolean {
  return process.getActiveResourcesInfo().includes("Immediate");
}

/** Lets woken tasks run: macrotask turns until nobody else has an immediate queued. */
async function settle(): Promise<void> {
  await turn();
  for (let i = 0; i < SETTLE_TURNS_MAX; i++) {
    await turn();
    if (!othersQueued()) return;
  }
}

/**
 * Runs `fn` with steward's time on a virtual clock and resolves with what it returns. Inside,
 * `now()`, `sleep`, `sleepUntil`, `Sleep`, `timeout`, `timeoutAt`, `interval`, the runtime's
 * shutdown phase deadlines and every other steward timer run on the clock: nothing fires until
 * the clock reaches its time, which `clock.advance(ms)` moves, and (with `autoAdvance`, the
 * default) the clock jumps to the next timer whenever everything is parked. Deterministic:
 * timers fire in deadline order (ties in the order they were set), one at a time.
 *
 * Limits: the clock is process-wide while `fn` runs (one at a time; a test runner's concurrent
 * tests in the same process would share it). Timers not started through steward (`setTimeout`,
 * a client library's own), real I/O and steward timers set before the call keep real time.
 * Timers still pending on the virtual clock when `fn` settles are dropped: they never fire.
 * @throws TypeError for a non-function `fn` or a bad option; RangeError for a non-finite
 * `opts.start`; rejects with TestClockError when another `withTestClock` is running.
 */
export async function withTestClock<T>(fn: (clock: TestClock) => T | PromiseLike<T>, opts?: TestClockOptions): Promise<T> {
  checkFunction(fn, "fn");
  checkOptions(opts);
  const autoAdvance = opts?.autoAdvance ?? true;
  if (typeof autoAdvance !== "boolean") throw new TypeError(`opts.autoAdvance must be a boolean, got ${typeName(autoAdvance)}`);
  const start = opts?.start ?? realClock.now();
  if (typeof start !== "number") throw new TypeError(`opts.start must be a number of milliseconds, got ${typeName(start)}`);
  if (!Number.isFinite(start)) throw new RangeError(`opts.start must be a finite number of milliseconds, got ${start}`);
  if (active) throw new TestClockError("withTestClock is already running: test clocks cannot be nested or run concurrently (the clock is process-wide)");
  active = true;

  const vc = new VirtualClock(start);
  let done = false;
  /** advance() calls in progress or queued: the auto-advance keeps out of their way. */
  let advancing = 0;
  let queue: Promise<void> = Promise.resolve();

  const runAdvance = async (ms: number): Promise<void> => {
    const target = vc.time + ms;
    for (let t = vc.peek(); t !== undefined && t.due <= target; t = vc.peek()) {
      vc.fireNext();
      await settle();
    }
    if (vc.time < target) vc.time = target;
    await settle();
  };

  const clock: TestClock = {
    now: () => vc.now(),
    advance(ms: number): Promise<void> {
      checkDuration(ms, "ms", { long: true });
      if (done) throw new TestClockError("clock.advance() was called after its withTestClock callback returned");
      advancing++;
      const p = queue.then(() => runAdvance(ms)).finally(() => advancing--);
      queue = p;
      return p;
    },
  };

  const autoLoop = async (): Promise<void> => {
    let lastEpoch = vc.epoch;
    let quiet = 0;
    while (!done) {
      await turn();
      if (done) return;
      if (advancing > 0 || vc.epoch !== lastEpoch || othersQueued()) {
        lastEpoch = vc.epoch;
        quiet = 0;
        continue;
      }
      if (++quiet < IDLE_TURNS) continue;
      quiet = 0;
      const next = vc.peek();
      if (next === undefined || vc.refCount === 0) {
        // Nobody waits on a virtual timer: look again in a real millisecond rather than spin
        // (unref'd: this loop alone must not keep a process whose callback waits on nothing alive).
        await new Promise<void>((r) => realClock.schedule(r, 1, false));
        continue;
      }
      vc.fireNext();
      lastEpoch = vc.epoch;
    }
  };

  const prev = installClock(vc);
  // Not awaited at the end: it looks at `done` after every turn and stops without touching the clock.
  if (autoAdvance) void autoLoop();
  try {
    return await fn(clock);
  } finally {
    done = true;
    vc.clear();
    installClock(prev);
    active = false;
  }
}
