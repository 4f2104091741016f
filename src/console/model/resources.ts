/**
 * Resources for the console: every wait queue the registry holds, as the queue and its resource
 * describe themselves (`WaitQueue.inspect()`: kind, op, label, state, waiters), and what runtimes
 * were given to `defer()` (pools, HTTP servers), as they describe themselves
 * (`[Symbol.for("steward.resourceInfo")]()`).
 *
 * A resource whose label carries an id ("channel#3") is one resource over all its queues (a
 * channel's recv, send and closed() queues); any other queue is a resource of its own (each
 * unnamed Mutex).
 */
import type { QueueDescription } from "../../core/waiter.js";
import type { QueueEntry } from "../instrument/queues.js";
import type { ResourceSnapshot } from "./types.js";

const RESOURCE_INFO = Symbol.for("steward.resourceInfo");
const STRUCTURAL = new Set(["kind", "op", "label", "waiters", "headTask"]);

/** A deferred resource as a runtime keeps it. */
export interface DeferredLike {
  readonly resource: unknown;
  readonly name: string;
  readonly kind: string;
}

/** Kinds whose waits are for exclusive (or counted) access: the lock-held lint looks at these. */
export const LOCK_KINDS: ReadonlySet<string> = new Set(["Mutex", "RwLock", "Semaphore"]);

/** How long the task `id` has been waiting (ms), if the console knows it. */
export type WaitAge = (taskId: number) => number | undefined;

const groupIds = new WeakMap<object, string>();
/** When a head waiter outside any task (or one whose wait the console cannot date) was first seen. */
const headSeen = new WeakMap<object, { task: number | undefined; since: number }>();

/** Normalises what a resource says about itself into JSON-able fields. */
export function jsonFields(d: Record<string, unknown>, skip?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (skip?.has(k) === true) continue;
    if (typeof v === "number") out[k] = v === Infinity ? "unbounded" : Number.isFinite(v) ? v : String(v);
    else if (typeof v === "string" || typeof v === "boolean" || v === null) out[k] = v;
    else if (typeof v === "bigint") out[k] = Number(v);
    else if (v !== undefined && typeof v !== "function" && typeof v !== "symbol") {
      try {
        out[k] = JSON.parse(JSON.stringify(v)) as unknown;
      } catch {
        out[k] = String(v);
      }
    }
  }
  return out;
}

/** Deferred resources: `[resourceInfo]()`, else the public counters a pool or server has. */
function describeDeferred(r: unknown): Record<string, unknown> | undefined {
  if (r === null || (typeof r !== "object" && typeof r !== "function")) return undefined;
  const o = r as Record<string | symbol, unknown>;
  try {
    const f = o[RESOURCE_INFO];
    if (typeof f === "function") {
      const d = (f as () => unknown).call(r);
      return d !== null && typeof d === "object" ? jsonFields(d as Record<string, unknown>) : undefined;
    }
    const out: Record<string, unknown> = {};
    for (const k of ["threads", "maxThreads", "queueSize", "maxQueue", "size", "length", "capacity", "isClosed", "state"]) {
      let v: unknown;
      try {
        v = o[k];
      } catch {
        continue;
      }
      if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") out[k] = v;
    }
    return Object.keys(out).length === 0 ? undefined : jsonFields(out);
  } catch {
    return undefined;
  }
}

function deferredKind(d: DeferredLike): string {
  const r = d.resource;
  if (typeof r === "object" && r !== null) {
    const ctor = (r as object).constructor;
    if (typeof ctor === "function" && ctor.name !== "" && ctor.name !== "Object") {
      return ctor.name === "BlockingPool" ? "blockingPool" : ctor.name;
    }
  }
  return d.kind;
}

interface Inspectable {
  inspect(): QueueDescription;
}

/**
 * Every resource alive now, at most `max` (those with waiters first), then the deferred ones.
 * `now` is performance.now().
 */
export function collectResources(entries: readonly QueueEntry[], deferred: readonly DeferredLike[], now: number, waitAge: WaitAge, max = 1000): ResourceSnapshot[] {
  const groups = new Map<unknown, ResourceSnapshot>();
  for (const e of entries) {
    const q = e.ref.deref() as (Inspectable & object) | undefined;
    if (q === undefined || typeof q.inspect !== "function") continue;
    let d: QueueDescription;
    try {
      d = q.inspect();
    } catch {
      continue;
    }
    const { op, label } = d;
    const key: unknown = /#\d+$/.test(label) ? label : q;
    let g = groups.get(key);
    if (g === undefined) {
      let id = label;
      if (key !== label) {
        const k = key as object;
        id = groupIds.get(k) ?? `${label}@${e.seq}`;
        groupIds.set(k, id);
      }
      g = { id, kind: d.kind, label, source: "wait-queue", waiters: 0, ops: [] };
      const details = jsonFields(d, STRUCTURAL);
      if (Object.keys(details).length > 0) g.details = details;
      groups.set(key, g);
    }
    const waiters = d.waiters;
    const opInfo: { op: string; waiters: number; headTask?: number; headWaitMs?: number } = { op, waiters };
    if (waiters > 0) {
      const head = d.headTask;
      if (head !== undefined) opInfo.headTask = head;
      let age = head === undefined ? undefined : waitAge(head);
      if (age === undefined) {
        const seen = headSeen.get(q);
        if (seen !== undefined && seen.task === head) age = now - seen.since;
        else {
          headSeen.set(q, { task: head, since: now });
          age = 0;
        }
      }
      opInfo.headWaitMs = Math.round(age * 1000) / 1000;
    }
    g.waiters += waiters;
    // One entry per op: a receiver's queues of one broadcast channel are summed.
    const same = g.ops!.find((o) => o.op === op);
    if (same === undefined) g.ops!.push(opInfo);
    else {
      same.waiters += waiters;
      if (opInfo.headWaitMs !== undefined && (same.headWaitMs === undefined || opInfo.headWaitMs > same.headWaitMs)) {
        same.headWaitMs = opInfo.headWaitMs;
        if (opInfo.headTask !== undefined) same.headTask = opInfo.headTask;
      }
    }
  }
  const out = [...groups.values()];
  out.sort((a, b) => b.waiters - a.waiters || a.id.localeCompare(b.id, "en", { numeric: true }));
  if (out.length > max) out.length = max;
  for (const d of deferred) {
    const snap: ResourceSnapshot = { id: d.name, kind: deferredKind(d), label: d.name, source: "deferred", waiters: 0 };
    const details = describeDeferred(d.resource);
    if (details !== undefined) snap.details = details;
    out.push(snap);
  }
  return out;
}
