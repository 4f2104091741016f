/**
 * The wait-for graph, read straight from the primitives' own records (core/holds.ts): which task
 * is parked on which wait, what stands between that wait and being served, and who could remove
 * it. No graph is kept: it is walked from one waiting task when that task parks.
 *
 * The model is AND-OR (a lock wait needs *its* holder to let go; a semaphore wait needs *enough*
 * holders to): a set S of parked tasks is deadlocked when every task in S waits on something that
 * only tasks in S could give it. {@link deadlockedWith} computes the largest such S among the
 * tasks reachable from a starting task (a greatest fixed point: start with every reachable parked
 * task, drop any that someone outside the set could still serve, repeat), then looks for a cycle
 * through the starting task inside it.
 *
 * What makes a task *parked* on a wait (so that it counts at all), conservatively:
 *  - it runs in a task, its latest steward wait is this one, and it has no other steward wait
 *    pending (a Promise.race of two steward waits is not parked on either);
 *  - the wait has no AbortSignal and belongs to no select branch (a timeout, a signal or another
 *    branch can end it);
 *  - it is queued on a Mutex, RwLock, Semaphore, OnceCell, or is a join (parked on budget refill,
 *    a channel, a sleep or a Notify, a task can always be woken by code we cannot see).
 * A hold is released by its task, or by a task that task spawned after acquiring it (a guard
 * captured by a spawned task's closure); a hold acquired outside any task, or whose task has
 * ended, could be released by anyone and never closes a cycle.
 */
import type { TaskLike } from "../core/context.js";
import type { Hold } from "../core/holds.js";
import type { Waiter } from "../core/waiter.js";

/** A task record as the detector reads it (a JoinHandle). */
export interface GraphTask extends TaskLike {
  readonly name: string | undefined;
  readonly spawnedAt: string;
  isFinished(): boolean;
  liveNext: GraphTask | null;
  livePrev: GraphTask | null;
}

type AnyWaiter = Waiter<unknown, unknown>;

/** Resource states, as the primitives keep them (see src/sync/*.ts). */
interface MutexNode {
  kind: "mutex";
  label: string;
  hold: Hold | undefined;
}
interface RwNode {
  kind: "rwlock";
  label: string;
  writer: boolean;
  writeHold: Hold | undefined;
  readHead: (Hold & { rdNext: Hold | null }) | null;
}
interface SemNode {
  kind: "semaphore";
  name: string;
  permits: number;
  counting: boolean;
  closed: boolean;
  holdHead: (Hold & { pNext: Hold | null; count: number }) | null;
}
interface CellNode {
  kind: "oncecell";
  label: string;
  runner: TaskLike | undefined;
}
type Node = MutexNode | RwNode | SemNode | CellNode;

const READ = 0;

/** Why a task in the set is stuck: the holds or tasks standing in its way, all inside the set. */
export interface Blocker {
  /** The tasks that must move for the wait to go on (all in the deadlocked set). */
  tasks: GraphTask[];
  /** Among them, the ones that acquired the holds in the way (not the tasks they spawned since). */
  acquirers: GraphTask[];
  /** What of theirs stands in the way: a lock label (`Mutex "a"`, `read on RwLock "t"`), or "" for a join or an initialiser. */
  holding: string;
  /** The holds (guards/permits) in the way, for their acquisition sites. */
  holds: Hold[];
}

/** The resource state behind a queued waiter, or undefined when the waiter is no graph wait. */
function nodeOf(w: AnyWaiter): Node | undefined {
  const q = w.queue;
  if (q === undefined || !q.graph) return undefined;
  return q.resource as unknown as Node;
}

/** The task a join waits for, or undefined when `w` is no join. */
function joinedTask(w: AnyWaiter): GraphTask | undefined {
  const j = (w as unknown as { joined?: GraphTask }).joined;
  return j;
}

/** The wait task `t` is parked on, or undefined when it is not parked on a graph wait. */
export function parkedWait(t: TaskLike): AnyWaiter | undefined {
  if (t.waits !== 1) return undefined;
  const w = t.wait as AnyWaiter | undefined;
  if (w === undefined || !w.isPending || w.signal !== undefined || w.branch !== undefined) return undefined;
  if (joinedTask(w) !== undefined) return w;
  const q = w.queue;
  // Queued (in the list), not parked on the budget's refill: that one is served next turn.
  if (q === undefined || !q.graph || (w.prev === null && q.head !== w)) return undefined;
  return w;
}

/** The tasks that could release `h`, or undefined when anyone could (no task, or its task ended). */
function releasers(h: Hold, withDescendants: boolean): GraphTask[] | undefined {
  const t = h.task as GraphTask | undefined;
  if (t === undefined || t.isFinished()) return undefined;
  if (!withDescendants) return [t];
  const out = [t];
  // Tasks spawned (transitively) by t after it acquired h may have been handed the guard.
  const visit = (u: GraphTask): void => {
    // Every link from u up to t must have been spawned after the acquisition.
    for (let p: TaskLike | undefined = u; p !== undefined && p.id >= h.seq; p = p.parent) {
      if (p.parent === t) {
        out.push(u);
        return;
      }
    }
  };
  for (let u: GraphTask | null = t.liveNext; u !== null; u = u.liveNext) visit(u);
  for (let u: GraphTask | null = t.livePrev; u !== null; u = u.livePrev) visit(u);
  return out;
}

/**
 * The live waiter queued just ahead of `w` (it must be served, or leave, before it), as a list
 * of zero or one. Only the nearest one: the queues are FIFO, so if it is stuck, `w` is; the ones
 * further ahead are its own business (walking them all made a check O(queue length) and a batch
 * of checks on one long queue quadratic).
 */
function ahead(w: AnyWaiter): AnyWaiter[] {
  for (let a = w.prev; a !== null; a = a.prev) if (a.isLive) return [a];
  return [];
}

/** A task's wait is stuck when all its ways forward go through `inSet`. Returns why, or undefined when it can go on. */
function stuck(w: AnyWaiter, inSet: (t: GraphTask) => boolean, withDescendants: boolean): Blocker | undefined {
  const j = joinedTask(w);
  if (j !== undefined) return !j.isFinished() && inSet(j) ? { tasks: [j], acquirers: [j], holding: "", holds: [] } : undefined;
  const node = nodeOf(w);
  if (node === undefined) return undefined;
  // A waiter ahead whose task is stuck on it blocks this one for good (the queues are FIFO).
  for (const a of ahead(w)) {
    const u = a.task as GraphTask | undefined;
    if (u !== undefined && a.isLive && parkedWait(u) === a && inSet(u)) return { tasks: [u], acquirers: [u], holding: `its place ahead in line for ${a.what}`, holds: [] };
  }
  const allIn = (h: Hold): GraphTask[] | undefined => {
    const r = releasers(h, withDescendants);
    return r !== undefined && r.every(inSet) ? r : undefined;
  };
  switch (node.kind) {
    case "mutex": {
      const h = node.hold;
      if (h === undefined) return undefined;
      const r = allIn(h);
      return r === undefined ? undefined : { tasks: r, acquirers: [r[0]!], holding: node.label, holds: [h] };
    }
    case "rwlock": {
      if (node.writer) {
        const h = node.writeHold;
        if (h === undefined) return undefined;
        const r = allIn(h);
        return r === undefined ? undefined : { tasks: r, acquirers: [r[0]!], holding: `write on ${node.label}`, holds: [h] };
      }
      if (w.data === READ) return undefined; // only a writer ahead could keep a reader out (above)
      for (let h = node.readHead; h !== null; h = h.rdNext as typeof h) {
        const r = allIn(h);
        if (r !== undefined) return { tasks: r, acquirers: [r[0]!], holding: `read on ${node.label}`, holds: [h] };
      }
      return undefined;
    }
    case "semaphore": {
      if (node.counting || node.closed) return undefined;
      const need = w.data as number;
      // Permits that could come back from outside the set, plus those free now.
      let reachable = node.permits;
      const tasks: GraphTask[] = [];
      const acquirers: GraphTask[] = [];
      const holds: Hold[] = [];
      for (let h = node.holdHead; h !== null; h = h.pNext as typeof h) {
        const r = allIn(h);
        if (r === undefined) reachable += h.count;
        else {
          holds.push(h);
          if (!acquirers.includes(r[0]!)) acquirers.push(r[0]!);
          for (const t of r) if (!tasks.includes(t)) tasks.push(t);
        }
      }
      return reachable < need && tasks.length > 0 ? { tasks, acquirers, holding: `permits of ${node.name}`, holds } : undefined;
    }
    case "oncecell": {
      const r = node.runner as GraphTask | undefined;
      return r !== undefined && !r.isFinished() && inSet(r) ? { tasks: [r], acquirers: [r], holding: `the initialiser of ${node.label}`, holds: [] } : undefined;
    }
  }
}

/** Every task that could stand in the way of `w` (holders, tasks ahead, the runner, the joined task). */
function candidates(w: AnyWaiter, withDescendants: boolean, out: (t: GraphTask) => void): void {
  const j = joinedTask(w);
  if (j !== undefined) return out(j);
  const node = nodeOf(w);
  if (node === undefined) return;
  for (const a of ahead(w)) if (a.task !== undefined) out(a.task as GraphTask);
  const add = (h: Hold | undefined): void => {
    if (h === undefined) return;
    const r = releasers(h, withDescendants);
    if (r !== undefined) for (const t of r) out(t);
  };
  switch (node.kind) {
    case "mutex":
      return add(node.hold);
    case "rwlock":
      add(node.writeHold);
      for (let h = node.readHead; h !== null; h = h.rdNext as typeof h) add(h);
      return;
    case "semaphore":
      for (let h = node.holdHead; h !== null; h = h.pNext as typeof h) add(h);
      return;
    case "oncecell":
      if (node.runner !== undefined) out(node.runner as GraphTask);
      return;
  }
}

/** A deadlock found from one task: the cycle through it, each task with what holds it up. */
export interface FoundCycle {
  /** The tasks of the cycle, starting with the one it was searched from; each waits on the next. */
  tasks: GraphTask[];
  /** What holds each task up (same order). */
  blockers: Blocker[];
  /** The waits the tasks are parked on (same order). */
  waits: AnyWaiter[];
}

/**
 * The largest set of parked tasks reachable from `start` in which every task is stuck. Tasks in
 * `free` are known to be able to go on (found so in this same synchronous batch of checks, the
 * graph unchanged since): they are not explored, and every task found free here is added.
 */
function stuckSet(start: GraphTask, withDescendants: boolean, limit: number, free: Set<GraphTask>): Set<GraphTask> {
  const set = new Set<GraphTask>();
  /** Who could be held up by whom: when a task leaves the set, its dependents are checked again. */
  const dependents = new Map<GraphTask, GraphTask[]>();
  const todo: GraphTask[] = [start];
  while (todo.length > 0 && set.size < limit) {
    const t = todo.pop()!;
    if (set.has(t) || free.has(t)) continue;
    if (parkedWait(t) === undefined) {
      free.add(t);
      continue;
    }
    set.add(t);
    candidates(parkedWait(t)!, withDescendants, (u) => {
      const d = dependents.get(u);
      if (d === undefined) dependents.set(u, [t]);
      else d.push(t);
      if (!set.has(u)) todo.push(u);
    });
  }
  const inSet = (t: GraphTask): boolean => set.has(t);
  const check = [...set];
  while (check.length > 0) {
    const t = check.pop()!;
    if (!set.has(t) || stuck(parkedWait(t)!, inSet, withDescendants) !== undefined) continue;
    set.delete(t);
    free.add(t);
    const d = dependents.get(t);
    if (d !== undefined) for (const u of d) if (set.has(u)) check.push(u);
  }
  return set;
}

/**
 * The deadlock `start` is part of, if any: a cycle through `start` of parked tasks each of which
 * only tasks of the deadlocked set could serve. Undefined when `start` could still go on, or is
 * only held up by a deadlock it is not part of. O(tasks reachable from `start`), which is the
 * cycle in the common case; `limit` bounds it. `free`: tasks known to be able to go on (a batch
 * of checks made in one synchronous run shares it, so checking every waiter of a long queue is
 * linear, not quadratic); the tasks found free are added to it.
 */
export function deadlockedWith(start: GraphTask, limit = 10_000, free: Set<GraphTask> = new Set()): FoundCycle | undefined {
  if (parkedWait(start) === undefined || free.has(start)) return undefined;
  // First without the spawned-descendants rule (it scans the live list): only a set that
  // survives that is worth the scan, and the scan can only remove tasks from it (so a task
  // free without the rule is free with it, and `free` serves both passes).
  let set = stuckSet(start, false, limit, free);
  if (!set.has(start)) return undefined;
  set = stuckSet(start, true, limit, free);
  if (!set.has(start)) return undefined;
  const inSet = (t: GraphTask): boolean => set.has(t);
  // The shortest path from start back to start through blockers inside the set: through the
  // tasks that acquired the holds if there is one, else through tasks they spawned.
  const tasks = cyclePath(start, inSet, true) ?? cyclePath(start, inSet, false);
  if (tasks === undefined) return undefined;
  return {
    tasks,
    blockers: tasks.map((t) => stuck(parkedWait(t)!, inSet, true)!),
    waits: tasks.map((t) => parkedWait(t)!),
  };
}

function cyclePath(start: GraphTask, inSet: (t: GraphTask) => boolean, acquirersOnly: boolean): GraphTask[] | undefined {
  const prev = new Map<GraphTask, GraphTask>();
  const queue: GraphTask[] = [start];
  const seen = new Set<GraphTask>([start]);
  let last: GraphTask | undefined;
  while (queue.length > 0 && last === undefined) {
    const t = queue.shift()!;
    const b = stuck(parkedWait(t)!, inSet, true)!;
    for (const u of acquirersOnly ? b.acquirers : b.tasks) {
      if (!inSet(u)) continue;
      if (u === start) {
        last = t;
        break;
      }
      if (!seen.has(u)) {
        seen.add(u);
        prev.set(u, t);
        queue.push(u);
      }
    }
  }
  if (last === undefined) return undefined;
  const tasks: GraphTask[] = [];
  for (let t: GraphTask | undefined = last; t !== undefined; t = prev.get(t)) tasks.unshift(t);
  return tasks;
}
