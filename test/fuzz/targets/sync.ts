/** Fuzz targets: Mutex, RwLock, Semaphore, Notify, Barrier, OnceCell (src/sync). */
import { Barrier, Mutex, Notify, OnceCell, RwLock, Semaphore, SemaphoreClosedError } from "../../../src/index.js";
import { anything, isFn, isInt, isSignal, isStr, optional, options, param, type Target } from "../harness.js";

const signalOpts = () => options("opts", { signal: { accepts: isSignal } });
const nameOpts = () => options("opts", { name: { accepts: isStr } });

function held<T>(m: Mutex<T>): Mutex<T> {
  m.tryLock();
  return m;
}

export const syncTargets: Target<never>[] = [
  { area: "sync", name: "new Mutex(value, opts)", params: [param("value", anything, () => 1), nameOpts()], call: ([v, o]) => new Mutex(v, o as never) },
  { area: "sync", name: "mutex.lock(opts)", params: [signalOpts()], call: ([o]) => held(new Mutex()).lock(o as never) },
  { area: "sync", name: "mutex.runExclusive(fn, opts)", params: [param("fn", isFn, () => () => 1), signalOpts()], call: ([f, o]) => new Mutex().runExclusive(f as never, o as never) },
  {
    area: "sync",
    name: "released guard.release(), guard.value",
    params: [],
    call: () => {
      const g = new Mutex(1).tryLock()!;
      g.release();
      g.release();
      return g.value;
    },
    // Use after release is a typed error (not a plain Error), whose message says so.
    expected: (e) => e instanceof Error,
    check: (o) =>
      o.kind === "threw" && Object.getPrototypeOf(o.error) !== Error.prototype && /released/.test((o.error as Error).message)
        ? undefined
        : `reading a released guard's value: expected a typed error saying it was released, got ${o.kind === "threw" ? `${(o.error as Error).name}: ${(o.error as Error).message}` : o.kind}`,
  },
  { area: "sync", name: "new RwLock(value, opts)", params: [param("value", anything, () => 1), nameOpts()], call: ([v, o]) => new RwLock(v, o as never) },
  {
    area: "sync",
    name: "rwlock.read(opts)",
    params: [signalOpts()],
    call: ([o]) => {
      const l = new RwLock();
      l.tryWrite();
      return l.read(o as never);
    },
  },
  {
    area: "sync",
    name: "rwlock.write(opts)",
    params: [signalOpts()],
    call: ([o]) => {
      const l = new RwLock();
      l.tryRead();
      return l.write(o as never);
    },
  },
  { area: "sync", name: "new Semaphore(permits, opts)", params: [param("permits", isInt(0), () => 2), nameOpts()], call: ([n, o]) => new Semaphore(n as never, o as never) },
  {
    area: "sync",
    name: "semaphore.acquire(n, opts)",
    params: [param("n", optional(isInt(1)), () => 1), signalOpts()],
    call: ([n, o]) => {
      const s = new Semaphore(1);
      s.tryAcquire(); // held: an acquire waits, whatever n (tokio waits for permits added later)
      return s.acquire(n as never, o as never);
    },
  },
  { area: "sync", name: "new Semaphore(0).acquire(n)", params: [param("n", optional(isInt(1)), () => 1)], call: ([n]) => new Semaphore(0).acquire(n as never) },
  { area: "sync", name: "semaphore.tryAcquire(n)", params: [param("n", optional(isInt(1)), () => 1)], call: ([n]) => new Semaphore(2).tryAcquire(n as never) },
  { area: "sync", name: "semaphore.addPermits(n)", params: [param("n", isInt(0), () => 1)], call: ([n]) => new Semaphore(2).addPermits(n as never) },
  {
    area: "sync",
    name: "closed semaphore.acquire(n, opts)",
    params: [param("n", optional(isInt(1)), () => 1), signalOpts()],
    call: ([n, o]) => {
      const s = new Semaphore(1);
      s.close();
      return s.acquire(n as never, o as never);
    },
    expected: (e) => e instanceof SemaphoreClosedError,
    check: (o) => (o.kind === "rejected" || o.kind === "threw" ? undefined : `expected SemaphoreClosedError, got ${o.kind}`),
  },
  {
    area: "sync",
    name: "permit.release() twice, forget()",
    params: [],
    call: () => {
      const s = new Semaphore(1);
      const p = s.tryAcquire()!;
      p.release();
      p.release();
      p.forget();
      return s.available;
    },
    check: (o) => (o.kind === "returned" && o.value === 1 ? undefined : "a permit released twice gives back one"),
  },
  { area: "sync", name: "new Notify(opts)", params: [nameOpts()], call: ([o]) => new Notify(o as never) },
  { area: "sync", name: "notify.notified(opts)", params: [signalOpts()], call: ([o]) => new Notify().notified(o as never) },
  { area: "sync", name: "new Barrier(n, opts)", params: [param("n", isInt(1), () => 2), nameOpts()], call: ([n, o]) => new Barrier(n as never, o as never) },
  { area: "sync", name: "barrier.wait(opts)", params: [signalOpts()], call: ([o]) => new Barrier(2).wait(o as never) },
  { area: "sync", name: "new OnceCell(opts)", params: [nameOpts()], call: ([o]) => new OnceCell(o as never) },
  { area: "sync", name: "onceCell.set(value)", params: [param("value", anything, () => 1)], call: ([v]) => new OnceCell().set(v) },
  { area: "sync", name: "onceCell.getOrInit(fn, opts)", params: [param("fn", isFn, () => () => 1), signalOpts()], call: ([f, o]) => new OnceCell().getOrInit(f as never, o as never) },
];
