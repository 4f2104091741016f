/**
 * Fuzz targets: every method of each stateful object called without arguments once the object is
 * closed, disposed, released or shut down ("use after close"). Each must answer at once — a value,
 * or a typed error (ChannelClosedError, SemaphoreClosedError, ShutdownError, ...) — never an
 * internal TypeError, a plain Error, a non-Error or a wait that never ends.
 */
import {
  Barrier,
  blockingPool,
  broadcast,
  CancellationToken,
  channel,
  JoinSet,
  Mutex,
  Notify,
  OnceCell,
  oneshot,
  Runtime,
  RwLock,
  Semaphore,
  spawn,
  TaskTracker,
  unboundedChannel,
  watch,
} from "../../../src/index.js";
import type { Area, Outcome, Target } from "../harness.js";

const WORKER = new URL("../../pool/fixtures/work.js", import.meta.url);

/**
 * Methods that wait by design even on a closed object: a sender's `closed()` waits for the
 * *receiver* to go, whatever this sender did; a tracker waits for its tasks.
 */
const MAY_WAIT = new Set(["Sender#closed", "OneshotSender#closed", "WatchSender#closed", "TaskTracker#wait"]);

function methodsOf(o: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(o) as object | null; p !== null && p !== Object.prototype && p !== Promise.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const n of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, n)!;
      if (n !== "constructor" && typeof d.value === "function") names.add(n);
    }
  }
  return [...names].sort();
}

/**
 * One target per method of what `make` returns (made fresh for every call, synchronously: an
 * await would unwrap a JoinHandle into its value).
 */
function sweep(area: Area, label: string, make: () => object, skip: string[] = []): Target<never>[] {
  const kind = label.split(" ").pop()!;
  return methodsOf(make())
    .filter((n) => !skip.includes(n))
    .map((m): Target<never> => ({
      area,
      name: `${label}.${m}()`,
      params: [],
      call: () => (make() as Record<string, () => unknown>)[m]!(),
      check: (o: Outcome) => (o.kind === "pending" && !MAY_WAIT.has(`${kind}#${m}`) ? `${label}.${m}() waits forever` : undefined),
    }));
}

// Internal methods are on the prototypes too (marked @internal): the sweep calls them as well,
// except those that are hooks for other modules and need their arguments.
const INTERNAL = [
  "addListener",
  "removeListener",
  "onTaskDone",
  "outcome",
  "start",
  "linkSignal",
  "succeed",
  "fail",
  "finish",
  "promise",
  "wake",
  "canTake",
  "takeNow",
  "changedReady",
  "takeChanged",
  "waitForReady",
  "takeWaitFor",
  "link",
  "unlink",
  "reportPanic",
  "release",
  "track",
  "runShutdown",
  "startParticipant",
  "maybeWake",
  "waitFor",
  "collect",
  "label",
  "deferredList",
  "onRequest",
  "onResponseClosed",
  "scheduleSweep",
  "sweep",
  "force",
  "destroyAll",
  "checkDone",
  "runDrain",
  "adoptChannel",
  "announceParticipant",
  "delay",
  "guardCallbacks",
  "recordCut",
  "detach",
];

export const sweepTargets: Target<never>[] = [
  ...sweep(
    "channel",
    "closed mpsc Sender",
    () => {
      const [tx] = channel<number>(2);
      tx.close();
      return tx;
    },
    INTERNAL,
  ),
  ...sweep(
    "channel",
    "closed mpsc Receiver",
    () => {
      const [, rx] = channel<number>(2);
      rx.close();
      return rx;
    },
    [...INTERNAL, "next", "return", "throw"],
  ),
  ...sweep(
    "channel",
    "drained unbounded Receiver",
    () => {
      const [tx, rx] = unboundedChannel<number>();
      tx.close();
      return rx;
    },
    [...INTERNAL, "next", "return", "throw"],
  ),
  ...sweep(
    "oneshot",
    "closed oneshot OneshotReceiver",
    () => {
      const [tx, rx] = oneshot<number>();
      tx.close();
      return rx;
    },
    INTERNAL,
  ),
  ...sweep(
    "oneshot",
    "used oneshot OneshotSender",
    () => {
      const [tx] = oneshot<number>();
      tx.send(1);
      return tx;
    },
    INTERNAL,
  ),
  ...sweep(
    "channel",
    "closed broadcast BroadcastSender",
    () => {
      const [tx] = broadcast<number>(2);
      tx.close();
      return tx;
    },
    INTERNAL,
  ),
  ...sweep(
    "channel",
    "closed broadcast BroadcastReceiver",
    () => {
      const [, rx] = broadcast<number>(2);
      rx.close();
      return rx;
    },
    [...INTERNAL, "next", "return", "throw"],
  ),
  ...sweep(
    "channel",
    "closed watch WatchSender",
    () => {
      const [tx] = watch(0);
      tx.close();
      return tx;
    },
    INTERNAL,
  ),
  ...sweep(
    "channel",
    "closed watch WatchReceiver",
    () => {
      const [tx, rx] = watch(0);
      tx.close();
      return rx;
    },
    INTERNAL,
  ),
  ...sweep(
    "sync",
    "closed Semaphore",
    () => {
      const s = new Semaphore(1);
      s.close();
      return s;
    },
    INTERNAL,
  ),
  ...sweep(
    "sync",
    "held Mutex",
    () => {
      const m = new Mutex();
      m.tryLock();
      return m;
    },
    [...INTERNAL, "lock"],
  ),
  ...sweep(
    "sync",
    "released MutexGuard",
    () => {
      const g = new Mutex(1).tryLock()!;
      g.release();
      return g;
    },
    INTERNAL.filter((n) => n !== "release"),
  ),
  ...sweep(
    "sync",
    "released RwLock ReadGuard",
    () => {
      const g = new RwLock(1).tryRead()!;
      g.release();
      return g;
    },
    INTERNAL.filter((n) => n !== "release"),
  ),
  ...sweep(
    "sync",
    "released Semaphore Permit",
    () => {
      const p = new Semaphore(1).tryAcquire()!;
      p.release();
      return p;
    },
    INTERNAL.filter((n) => n !== "release"),
  ),
  ...sweep(
    "sync",
    "used Notify",
    () => {
      const n = new Notify();
      n.notifyOne();
      return n;
    },
    [...INTERNAL, "notified"],
  ),
  ...sweep("sync", "tripped Barrier", () => new Barrier(1), INTERNAL),
  ...sweep(
    "sync",
    "set OnceCell",
    () => {
      const c = new OnceCell<number>();
      c.set(1);
      return c;
    },
    INTERNAL,
  ),
  ...sweep(
    "core",
    "cancelled CancellationToken",
    () => {
      const t = new CancellationToken();
      t.cancel();
      return t;
    },
    INTERNAL,
  ),
  ...sweep(
    "core",
    "aborted JoinHandle",
    () => {
      const h = spawn(() => 1);
      h.abort();
      return h;
    },
    INTERNAL,
  ),
  ...sweep(
    "task-sets",
    "shut down JoinSet",
    () => {
      const s = new JoinSet<number>();
      void s.shutdown();
      return s;
    },
    [...INTERNAL, "spawn"],
  ),
  ...sweep(
    "task-sets",
    "closed TaskTracker",
    () => {
      const t = new TaskTracker();
      t.close();
      return t;
    },
    [...INTERNAL, "spawn"],
  ),
  ...sweep(
    "runtime",
    "closing Runtime",
    () => {
      const rt = new Runtime({ onTaskPanic: () => {} });
      void rt.shutdown({ timeoutMs: 10 });
      return rt;
    },
    [...INTERNAL, "spawn", "enter", "defer", "onStop"],
  ),
  ...sweep(
    "pool",
    "closed BlockingPool",
    () => {
      const p = blockingPool(WORKER, { maxThreads: 1 });
      void p.close();
      return p;
    },
    [...INTERNAL, "run"],
  ),
];
