/**
 * What a task dump says about a parked task beyond `waitingOn`: where it awaits (its await site,
 * see await-site.ts), who holds what it waits for, what it holds itself, and for how long it has
 * waited. Everything here is read when a dump is made, nothing is kept per wait beyond the
 * wait's start time.
 *
 * Await sites are found by probing, which is asynchronous: a synchronous dump shows the sites
 * already found and starts probing the others in the background (the next dump has them);
 * {@link dumpWithAwaitSites} waits for the probes.
 */
import type { TaskLike } from "../core/context.js";
import type { Hold, OrderedHold } from "../core/holds.js";
import type { Waiter } from "../core/waiter.js";
import { acquiredAtOf } from "./acquire-site.js";
import { probeAll, siteOf } from "./await-site.js";
import "./install.js";

type AnyWaiter = Waiter<unknown, unknown>;

/** A task, as the dump's `heldBy` names it. */
export interface TaskRef {
  id: number;
  name?: string;
}

/** The fields a dump adds to a waiting task's TaskInfo. */
export interface WaitInfo {
  /** Where the task awaits, in the user's code: `file:line:col`, source-mapped to .ts when a map exists. */
  awaitSite?: string;
  /**
   * The tasks that hold what it waits for (a lock's holder, a semaphore's permit holders, the task
   * it joins, a cell's initialiser). In `runtime.dump()` the tasks waiting on one lock share one
   * frozen list.
   */
  heldBy?: TaskRef[];
  /** How long it has waited on its current wait, in ms. */
  waitingMs?: number;
  /**
   * The locks it holds (Mutex and RwLock guards), most recent first: `lock`, the lock's label
   * (`Mutex "db"`, `RwLock "t"`), and `acquiredAt`, the user's `file:line:col` of the
   * acquisition (source-mapped), under `configure({ lockSites: true })`.
   */
  holds?: HeldLock[];
}

/** A lock a task holds, as a dump names it (the same shape as DeadlockError's `holds`). */
export interface HeldLock {
  lock: string;
  acquiredAt?: string;
}

const MAX_HOLDERS = 8;

function ref(t: TaskLike): TaskRef {
  return t.name === undefined ? { id: t.id } : { id: t.id, name: t.name };
}

/** Who holds what `w` waits for. */
function holdersOf(w: AnyWaiter): TaskLike[] {
  const joined = (w as unknown as { joined?: TaskLike }).joined;
  if (joined !== undefined) return [joined];
  const q = w.queue;
  if (q === undefined || !q.graph) return [];
  const node = q.resource as unknown as Record<string, unknown>;
  const out: TaskLike[] = [];
  const add = (h: Hold | undefined | null): void => {
    const t = h?.task;
    if (t !== undefined && !out.includes(t) && out.length < MAX_HOLDERS) out.push(t);
  };
  switch (node.kind) {
    case "mutex":
      add(node.hold as Hold | undefined);
      break;
    case "rwlock":
      add(node.writeHold as Hold | undefined);
      for (let h = node.readHead as (Hold & { rdNext: Hold | null }) | null; h !== null; h = h.rdNext as typeof h) add(h);
      break;
    case "semaphore":
      for (let h = node.holdHead as (Hold & { pNext: Hold | null }) | null; h !== null; h = h.pNext as typeof h) add(h);
      break;
    case "oncecell": {
      const r = node.runner as TaskLike | undefined;
      if (r !== undefined) out.push(r);
      break;
    }
  }
  return out;
}

/** Waits queued for probing (a Set: a dump repeated before the probes ran queues nothing twice). */
let toProbe = new Set<AnyWaiter>();
let probing: Promise<void> | undefined;

function queueForProbe(w: AnyWaiter): void {
  toProbe.add(w);
  if (toProbe.size === 1) void probeLater();
}

function probeLater(): Promise<void> {
  if (probing !== undefined) return probing;
  probing = (async () => {
    await new Promise<void>((r) => setImmediate(r));
    while (toProbe.size > 0) {
      const ws = toProbe;
      toProbe = new Set();
      await probeAll([...ws].filter((w) => w.isPending));
    }
  })().finally(() => {
    probing = undefined;
  });
  return probing;
}

/**
 * What one synchronous dump shares between its entries: the `heldBy` list of each lock (or joined
 * task), built once, frozen, and given to every task waiting on it — 10 000 tasks queued on one
 * Mutex share one list instead of allocating 20 000 objects in the dump's one turn.
 */
export type DumpMemo = Map<object, readonly TaskRef[]>;

const NO_HOLDERS: readonly TaskRef[] = Object.freeze([]);

function heldByOf(w: AnyWaiter, memo: DumpMemo | undefined): readonly TaskRef[] {
  if (memo === undefined) return holdersOf(w).map(ref);
  const key: object = (w as unknown as { joined?: TaskLike }).joined ?? w.queue ?? w;
  let refs = memo.get(key);
  if (refs === undefined) {
    const holders = holdersOf(w);
    refs = holders.length === 0 ? NO_HOLDERS : Object.freeze(holders.map((t) => Object.freeze(ref(t))));
    memo.set(key, refs);
  }
  return refs;
}

/**
 * Adds a task's wait details to `info` (TaskInfo): called by the runtime for each task of a
 * dump. Cheap: a few field reads per task; a wait with no await site yet is queued for probing.
 * `memo`: shared by the entries of one synchronous dump (not across event-loop turns: holders change).
 */
export function describeTask(t: TaskLike, info: WaitInfo, now: number, memo?: DumpMemo): void {
  const w = t.wait as AnyWaiter | undefined;
  if (w !== undefined && w.isPending) {
    info.waitingMs = Math.max(0, now - t.waitSince);
    const site = siteOf(w);
    if (site === undefined) queueForProbe(w);
    else if (site.site !== undefined) info.awaitSite = site.site;
    const heldBy = heldByOf(w, memo);
    if (heldBy.length > 0) info.heldBy = heldBy as TaskRef[];
  }
  if (t.held !== null) {
    const holds: HeldLock[] = [];
    for (let h = t.held as OrderedHold | null; h !== null && holds.length < MAX_HOLDERS; h = h.heldNext as OrderedHold | null) {
      if (h.lock === undefined) continue;
      const at = acquiredAtOf(h);
      holds.push(at === undefined ? { lock: h.lock.label } : { lock: h.lock.label, acquiredAt: at });
    }
    info.holds = holds;
  }
}

/** Queues `t`'s wait for probing if it has no await site yet (what {@link describeTask} does, without building anything). */
export function queueProbe(t: TaskLike): void {
  const w = t.wait as AnyWaiter | undefined;
  if (w !== undefined && w.isPending && siteOf(w) === undefined) queueForProbe(w);
}

/** How long a sliced dump works before it yields to the event loop, in ms (as the probes do). */
const SLICE_MS = 3;

/**
 * Calls `each` for every item of `items`, yielding to the event loop (setImmediate) whenever
 * {@link SLICE_MS} have passed: the sliced dumps' loop, so that 10 000 tasks never hold one turn.
 */
export async function sliced<T>(items: readonly T[], each: (item: T) => void): Promise<void> {
  let start = performance.now();
  for (let i = 0; i < items.length; i++) {
    each(items[i]!);
    if ((i & 31) === 31 && performance.now() - start > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      start = performance.now();
    }
  }
}

/** Resolves once every wait queued for probing by dumps so far has been probed. */
export function awaitSitesSettled(): Promise<void> {
  return toProbe.size > 0 || probing !== undefined ? probeLater() : Promise.resolve();
}
