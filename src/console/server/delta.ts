/**
 * Deltas for the event stream: what changed between two snapshots, field by field.
 *
 * A task's record changes in two ways. Time passing in its current state moves `stateMs`,
 * `totalMs` and one of busy/scheduled/idle: the client extrapolates that from `asOf`, so it is
 * not a change. Anything else — its state, a resume, what it waits on, its lints — is, and then
 * only the fields that differ from the last record sent are sent (with the time fields, to
 * re-base the extrapolation). Histograms are left out of the stream (GET /api/tasks/:id).
 */
import type { ConsoleDelta, ConsoleSnapshot, ResourceChange, ResourceSnapshot, TaskChange, TaskSnapshot } from "../model/types.js";

type Row = Omit<TaskSnapshot, "resumeHistogram" | "scheduledHistogram">;

/** A task record without its histograms (what the stream carries). */
function row(t: TaskSnapshot): Row {
  const { resumeHistogram: _r, scheduledHistogram: _s, ...rest } = t;
  return rest;
}

/** The fields that change only when something happens to the task. */
function eventKey(t: Row): string {
  return `${t.state}|${t.resumes}|${t.waitingOn ?? ""}|${t.awaitSite ?? ""}|${t.heldBy?.join(",") ?? ""}|${t.outcome ?? ""}|${t.lints?.join(",") ?? ""}|${Math.round(t.maxScheduledMs)}|${t.name ?? ""}|${t.maxResumeMs}`;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The delta state of one stream: the records as last sent. */
export class DeltaTracker {
  #tasks = new Map<number, { row: Row; key: string }>();
  #resources = new Map<string, string>();
  #warnings = "";
  #blocked = new Map<string, string>();
  #groups = "";
  /** The sequence number of the last delta (or base snapshot). */
  seq = 0;
  #header: ConsoleSnapshot["header"] | undefined;

  /** A delta for a tick at which the base is still current (`now`: epoch ms). */
  unchanged(now: number): ConsoleDelta {
    this.seq++;
    return { seq: this.seq, now, header: this.#header!, tasks: [], removed: [] };
  }

  /** Makes `snap` the base the next delta is computed against. */
  reset(snap: ConsoleSnapshot): void {
    this.#tasks = new Map(
      snap.tasks.map((t) => {
        const r = row(t);
        return [t.id, { row: r, key: eventKey(r) }];
      }),
    );
    this.#resources = new Map(snap.resources.map((r) => [r.id, JSON.stringify(r)]));
    this.#warnings = JSON.stringify(snap.warnings);
    this.#blocked = new Map(snap.blocked.map((b) => [b.id, JSON.stringify(b)]));
    this.#groups = JSON.stringify(snap.blockedGroups);
    this.#header = snap.header;
  }

  /** What changed since the base; `snap` becomes the new base. */
  next(snap: ConsoleSnapshot): ConsoleDelta {
    const tasks: TaskChange[] = [];
    const nextTasks = new Map<number, { row: Row; key: string }>();
    for (const t of snap.tasks) {
      const r = row(t);
      const key = eventKey(r);
      const prev = this.#tasks.get(t.id);
      if (prev === undefined) {
        tasks.push(r);
      } else if (prev.key !== key) {
        const change: TaskChange = { id: t.id };
        const p = prev.row as unknown as Record<string, unknown>;
        for (const [k, v] of Object.entries(r)) if (!same(p[k], v)) (change as Record<string, unknown>)[k] = v;
        for (const k of Object.keys(p)) if (!(k in r)) (change as Record<string, unknown>)[k] = null;
        tasks.push(change);
      } else {
        nextTasks.set(t.id, prev); // unchanged: the client's copy still extrapolates from the old asOf
        continue;
      }
      nextTasks.set(t.id, { row: r, key });
    }
    const removed: number[] = [];
    for (const id of this.#tasks.keys()) if (!nextTasks.has(id)) removed.push(id);
    this.#tasks = nextTasks;
    this.seq++;
    const delta: ConsoleDelta = { seq: this.seq, now: snap.now, header: snap.header, tasks, removed };
    this.#header = snap.header;

    const resources: ResourceChange[] = [];
    const nextRes = new Map<string, string>();
    for (const r of snap.resources) {
      const json = JSON.stringify(r);
      nextRes.set(r.id, json);
      if (this.#resources.get(r.id) !== json) resources.push(r as ResourceSnapshot);
    }
    const resourcesRemoved = [...this.#resources.keys()].filter((id) => !nextRes.has(id));
    this.#resources = nextRes;
    if (resources.length > 0) delta.resources = resources;
    if (resourcesRemoved.length > 0) delta.resourcesRemoved = resourcesRemoved;

    const warnings = JSON.stringify(snap.warnings);
    if (warnings !== this.#warnings) delta.warnings = snap.warnings;
    this.#warnings = warnings;

    const blocked = snap.blocked.filter((b) => this.#blocked.get(b.id) !== JSON.stringify(b));
    if (blocked.length > 0) delta.blocked = blocked;
    this.#blocked = new Map(snap.blocked.map((b) => [b.id, JSON.stringify(b)]));
    const groups = JSON.stringify(snap.blockedGroups);
    if (groups !== this.#groups) delta.blockedGroups = snap.blockedGroups;
    this.#groups = groups;
    return delta;
  }
}
