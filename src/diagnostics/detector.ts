/**
 * Deadlock detection: when a task's wait on a lock, semaphore, cell or join queues, the wait is
 * noted (one array push); a macrotask later — once the task's synchronous code and microtasks
 * have run, so a lock requested and released before the task awaits is long gone — every noted
 * wait still pending is checked from its task (graph.ts). Most checks end at once: the holder is
 * running. A cycle found is confirmed before anyone is told:
 *  1. each task of the cycle is probed (await-site.ts): an async function must really await the
 *     wait (a task that started a wait but awaits something else is not parked on it), and the
 *     probe gives the await site for the error;
 *  2. a macrotask after the probes the cycle is searched again from the same task and must be
 *     the same waits, still pending.
 * Then the wait that closed the cycle — the one checked, i.e. the last of the cycle to park —
 * is withdrawn with DeadlockError (it holds nothing from it; its task's `using` blocks unwind
 * and release, and the other tasks of the cycle go on). Within two or three event-loop turns of
 * the cycle closing.
 */
import { config } from "../core/config.js";
import { type Hold } from "../core/holds.js";
import type { Waiter } from "../core/waiter.js";
import { type DeadlockLink, DeadlockError } from "../errors.js";
import { acquiredAtOf, noteQueuedSite } from "./acquire-site.js";
import { probe } from "./await-site.js";
import { deadlockedWith, type FoundCycle, type GraphTask, parkedWait } from "./graph.js";

type AnyWaiter = Waiter<unknown, unknown>;

let noted: AnyWaiter[] = [];
let scheduled = false;
/** Waits being confirmed now (not checked twice). */
const confirming = new WeakSet<object>();

/** The detector's hook: a task's wait queued on a graph resource (core/holds.ts `queued`). */
export function noteQueued(w: object): void {
  noteQueuedSite(w);
  if (config.deadlocks === "off") return;
  noted.push(w as AnyWaiter);
  if (!scheduled) {
    scheduled = true;
    setImmediate(checkNoted);
  }
}

function checkNoted(): void {
  scheduled = false;
  const ws = noted;
  noted = [];
  // Tasks found able to go on: nothing changes while this loop runs, so every check shares them.
  const free = new Set<GraphTask>();
  // Latest first: when several waits of one cycle parked in the same turn, the last one closed it.
  for (let i = ws.length - 1; i >= 0; i--) {
    const w = ws[i]!;
    if (!w.isPending || confirming.has(w)) continue;
    const t = w.task as GraphTask | undefined;
    if (t === undefined || parkedWait(t) !== w) continue;
    let found: FoundCycle | undefined;
    try {
      found = deadlockedWith(t, undefined, free);
    } catch {
      found = undefined; // a detector fault must never break a wait
    }
    if (found !== undefined) void confirm(w, found);
  }
}

async function confirm(w: AnyWaiter, first: FoundCycle): Promise<void> {
  // The cycle's other waits are not checked meanwhile: one cycle, one rejection.
  for (const x of first.waits) confirming.add(x);
  try {
    const sites = await Promise.all(first.waits.map((x) => probe(x)));
    if (!sites.every((s) => s.awaited)) return; // someone only started a wait: not parked on it
    await new Promise<void>((r) => setImmediate(r));
    if (!w.isPending || config.deadlocks === "off") return;
    const again = deadlockedWith(w.task as GraphTask);
    if (again === undefined || again.waits.length !== first.waits.length || !again.waits.every((x, i) => x === first.waits[i])) return;
    const links = again.tasks.map((t, i): DeadlockLink => link(t, again, i, sites[i]!.site));
    const err = new DeadlockError(links);
    const at = links[0]!.awaitSite;
    err.stack = `${err.name}: ${err.message}${at === undefined ? "" : `\n    at ${at}`}`;
    w.withdraw(err);
  } catch {
    // never let the detector's own failure surface as an unhandled rejection
  } finally {
    for (const x of first.waits) confirming.delete(x);
  }
}

function link(t: GraphTask, c: FoundCycle, i: number, awaitSite: string | undefined): DeadlockLink {
  const task: DeadlockLink["task"] = { id: t.id, spawnedAt: t.spawnedAt };
  if (t.name !== undefined) task.name = t.name;
  // What this task holds that the previous task of the cycle waits for.
  const prev = c.blockers[(i + c.tasks.length - 1) % c.tasks.length]!;
  const holds: DeadlockLink["holds"] = [];
  if (prev.holding !== "") {
    const mine = prev.holds.filter((h: Hold) => h.task === t);
    if (mine.length === 0 && prev.holds.length > 0) holds.push({ lock: `${prev.holding} (through a task it spawned)` });
    else {
      const at = mine.length > 0 ? acquiredAtOf(mine[0]!) : undefined;
      holds.push(at === undefined ? { lock: prev.holding } : { lock: prev.holding, acquiredAt: at });
    }
  }
  const out: DeadlockLink = { task, waitsFor: c.waits[i]!.what, holds, waitsOn: c.blockers[i]!.tasks.map((u) => u.id) };
  if (awaitSite !== undefined) out.awaitSite = awaitSite;
  return out;
}
