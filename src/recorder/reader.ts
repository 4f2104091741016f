/**
 * Reading a dump (format.ts) into a {@link Recording}: each task as a row of spans (scheduled,
 * running its first run, active, waiting on something, joining another task), each resource with
 * its holds, depths and sheds, the loop's samples, the blocked episodes and the marks. What
 * `steward replay` shows, in the browser and in the terminal. Times are epoch ms.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import {
  type DumpEpisode,
  type DumpHeader,
  type DumpLiveTask,
  EV_BLOCKED,
  EV_DEPTH,
  EV_END,
  EV_JOIN,
  EV_LOOP,
  EV_MARK,
  EV_PARK,
  EV_POLL,
  EV_POLL_END,
  EV_RESOURCE,
  EV_SPAWN,
  EV_WAKE,
  FORMAT_VERSION,
  MAGIC,
  OUTCOMES,
  RECORD_BYTES,
  UNBOUNDED,
} from "./format.js";
import { StewardError } from "../errors.js";

/** What a task was doing over a span of time. */
export type SpanKind = "scheduled" | "running" | "active" | "waiting" | "joining";

/** One span of a task's row. `end` is the recording's end for a span still open then. */
export interface RecSpan {
  kind: SpanKind;
  start: number;
  end: number;
  /** For waiting: what it waited on ("recv on channel#3"); for joining: "join task 12". */
  what?: string;
  /** For waiting on a resource: its id (Recording.resources). */
  resource?: number;
}

/** A task in a recording. */
export interface RecTask {
  id: number;
  name?: string;
  parent?: number;
  runtime?: string;
  /** "fn (file.ts:line:col)" where it was spawned, when captured. */
  site?: string;
  /** When it was spawned, if the recording goes back that far. */
  spawnMs?: number;
  /** When it ended, if it did within the recording. */
  endMs?: number;
  outcome?: (typeof OUTCOMES)[number];
  spans: RecSpan[];
  /** What its runtime said about it at the moment of the dump, if it was still running. */
  live?: DumpLiveTask;
}

/** A resource in a recording. */
export interface RecResource {
  id: number;
  kind: string;
  label: string;
  /** Lock holds / permits taken: from acquire to release (end: the recording's end when not released). */
  holds: { start: number; end: number; task: number; permits: number; released: boolean }[];
  /** Sampled depth of a channel. */
  depth: { atMs: number; length: number; capacity?: number }[];
  sheds: { atMs: number; reason: string }[];
  /** Waits parked on it. */
  waits: number;
}

/** A dump, decoded. */
export interface Recording {
  header: DumpHeader;
  startMs: number;
  endMs: number;
  tasks: RecTask[];
  resources: RecResource[];
  loop: { atMs: number; elu: number; p99Ms: number; maxMs: number }[];
  episodes: DumpEpisode[];
  marks: { atMs: number; text: string }[];
  /** Events in the dump. */
  events: number;
}

/** Thrown for a file that is not a dump this build can read. */
export class RecordingFormatError extends StewardError {
  override name = "RecordingFormatError";
}

const SHED = ["queue-full", "queue-timeout", "rate", "closed"];

/** Splits a dump's bytes (gzip-compressed or not) into its header and its events. */
export function parseDump(bytes: Uint8Array): { header: DumpHeader; events: Buffer } {
  let raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (e) {
      throw new RecordingFormatError(`not a steward flight-recorder dump: ${(e as Error).message}`);
    }
  }
  if (raw.length < 16 || raw.toString("latin1", 0, 8) !== MAGIC) throw new RecordingFormatError("not a steward flight-recorder dump (bad magic)");
  const version = raw.readUInt32LE(8);
  if (version !== FORMAT_VERSION) throw new RecordingFormatError(`dump format version ${version} is not supported (this steward reads version ${FORMAT_VERSION})`);
  const len = raw.readUInt32LE(12);
  if (16 + len > raw.length) throw new RecordingFormatError("truncated dump (header)");
  let header: DumpHeader;
  try {
    header = JSON.parse(raw.toString("utf8", 16, 16 + len)) as DumpHeader;
  } catch (e) {
    throw new RecordingFormatError(`corrupt dump header: ${(e as Error).message}`);
  }
  const body = raw.subarray(16 + len);
  const events = body.subarray(0, body.length - (body.length % RECORD_BYTES));
  return { header, events: Buffer.from(events) };
}

/** Reads and decodes a dump file. @throws RecordingFormatError, or the file system's error. */
export function readRecording(path: string): Recording {
  return decodeRecording(readFileSync(path));
}

/** Decodes a dump's bytes. @throws RecordingFormatError */
export function decodeRecording(bytes: Uint8Array): Recording {
  const { header, events } = parseDump(bytes);
  const origin = header.timeOrigin;
  const n = events.length / RECORD_BYTES;
  const f64 = new Float64Array(events.buffer, events.byteOffset, events.length / 8);
  const u32 = new Uint32Array(events.buffer, events.byteOffset, events.length / 4);
  const str = (id: number): string | undefined => (id === 0 ? undefined : (header.strings[id] ?? "?"));
  let startMs = Infinity;
  let endMs = header.trigger.atMs;
  for (let i = 0; i < n; i++) {
    const type = u32[i * 6 + 2]! & 0xff;
    if (type === EV_BLOCKED) continue; // written when reported, dated when it began
    const t = origin + f64[i * 3]!;
    if (t < startMs) startMs = t;
    if (t > endMs) endMs = t;
  }
  if (startMs === Infinity) startMs = endMs;

  type Row = RecTask & { open?: RecSpan; pending?: { what: string | undefined; resource: number }[] };
  const tasks = new Map<number, Row>();
  const joiners = new Map<number, Set<number>>();
  const task = (id: number, t: number, first: SpanKind | undefined, what?: string): Row => {
    let r = tasks.get(id);
    if (r === undefined) {
      r = { id, spans: [] };
      // Its first event here tells what it was doing before the recording began.
      const open: RecSpan = { kind: first ?? "active", start: startMs, end: endMs };
      if (what !== undefined) open.what = what;
      if (first !== undefined && t > startMs) {
        r.spans.push(open);
        r.open = open;
      }
      tasks.set(id, r);
    }
    return r;
  };
  const move = (r: Row, t: number, kind: SpanKind | undefined, what?: string, resource?: number): void => {
    if (r.open !== undefined) {
      r.open.end = t;
      if (r.open.kind === "joining") joiners.get(Number(r.open.what?.slice(10)))?.delete(r.id);
    }
    if (kind === undefined) {
      r.open = undefined;
      return;
    }
    const s: RecSpan = { kind, start: t, end: endMs };
    if (what !== undefined) s.what = what;
    if (resource !== undefined && resource !== 0) s.resource = resource;
    r.spans.push(s);
    r.open = s;
  };

  const resources = new Map<number, RecResource>();
  const resource = (id: number): RecResource => {
    let r = resources.get(id);
    if (r === undefined) {
      const def = header.resources[id] ?? { kind: "resource", label: `resource#${id}` };
      r = { id, kind: def.kind, label: def.label, holds: [], depth: [], sheds: [], waits: 0 };
      resources.set(id, r);
    }
    return r;
  };
  const loop: Recording["loop"] = [];
  const marks: Recording["marks"] = [];
  let lastAcquire: { index: number; resource: number; hold: RecResource["holds"][number] } | undefined;

  for (let i = 0; i < n; i++) {
    const w = i * 6;
    const t = origin + f64[i * 3]!;
    const word = u32[w + 2]!;
    const type = word & 0xff;
    const x8 = (word >>> 8) & 0xff;
    const x16 = word >>> 16;
    const id = u32[w + 3]!;
    const a = u32[w + 4]!;
    const b = u32[w + 5]!;
    switch (type) {
      case EV_SPAWN: {
        const r = task(id, t, undefined);
        r.spawnMs = t;
        if (b !== 0) r.name = str(b);
        if (a !== 0) r.parent = a;
        const rt = header.runtimes[x16];
        if (rt !== undefined && x16 !== 0) r.runtime = rt;
        move(r, t, "scheduled");
        break;
      }
      case EV_POLL:
        move(task(id, t, "scheduled"), t, "running");
        break;
      case EV_POLL_END: {
        // A task that parked during its first run is waiting, not active, once the run returns.
        const r = task(id, t, "running");
        if (r.endMs === undefined && (r.open === undefined || r.open.kind === "running")) move(r, t, "active");
        break;
      }
      case EV_PARK: {
        // The oldest pending wait is the task's own; later ones while it waits come from other
        // code running in its context (a server's callbacks in main's frame): the row keeps
        // showing the task's own.
        const r = task(id, t, "active");
        if (b !== 0) resource(b).waits++;
        const p = (r.pending ??= []);
        p.push({ what: str(a), resource: b });
        if (p.length === 1) move(r, t, "waiting", str(a), b);
        break;
      }
      case EV_WAKE: {
        const what = str(a);
        const r = task(id, t, "waiting", what);
        const p = r.pending ?? [];
        const k = p.findIndex((x) => x.what === what);
        const ended = k >= 0 ? p.splice(k, 1)[0] : p.shift();
        // A lock handed over on release: the acquire just before, made in the releaser's code, is this waiter's.
        const res = ended?.resource;
        if (res !== undefined && res !== 0 && lastAcquire !== undefined && lastAcquire.index === i - 1 && lastAcquire.resource === res) lastAcquire.hold.task = id;
        if (p.length === 0) move(r, t, "active");
        else if (k === 0) move(r, t, "waiting", p[0]!.what, p[0]!.resource);
        break;
      }
      case EV_END: {
        const r = task(id, t, "active");
        r.endMs = t;
        r.pending = [];
        r.outcome = OUTCOMES[x8] ?? "ok";
        move(r, t, undefined);
        for (const j of joiners.get(id) ?? []) {
          const jr = tasks.get(j);
          if (jr?.open?.kind === "joining") move(jr, t, "active");
        }
        joiners.delete(id);
        break;
      }
      case EV_JOIN: {
        const r = task(id, t, "active");
        move(r, t, "joining", `join task ${a}`);
        let set = joiners.get(a);
        if (set === undefined) joiners.set(a, (set = new Set()));
        set.add(id);
        break;
      }
      case EV_RESOURCE: {
        const r = resource(a);
        if (x8 === 1) {
          const hold = { start: t, end: endMs, task: id, permits: b, released: false };
          r.holds.push(hold);
          lastAcquire = { index: i, resource: a, hold };
        } else if (x8 === 2) {
          const open = r.holds.filter((h) => !h.released);
          const h = open.find((x) => x.task === id && x.permits === b) ?? open.find((x) => x.permits === b) ?? open[0];
          if (h !== undefined) {
            h.end = t;
            h.released = true;
          } else {
            r.holds.push({ start: startMs, end: t, task: id, permits: b, released: true }); // taken before the recording
          }
        } else if (x8 === 3) r.sheds.push({ atMs: t, reason: SHED[b] ?? String(b) });
        break;
      }
      case EV_DEPTH: {
        const d: RecResource["depth"][number] = { atMs: t, length: b };
        if (id !== UNBOUNDED) d.capacity = id;
        resource(a).depth.push(d);
        break;
      }
      case EV_LOOP:
        loop.push({ atMs: t, elu: x16 / 1000, p99Ms: a / 1000, maxMs: b / 1000 });
        break;
      case EV_MARK:
        marks.push({ atMs: t, text: str(a) ?? "" });
        break;
      default:
        break; // EV_BLOCKED (the header has the episodes), and types this reader does not know
    }
  }
  // Tasks alive at the dump that did nothing during the recording: waiting (or running) all along.
  const liveById = new Map<number, DumpLiveTask>();
  for (const rt of header.live) for (const lt of rt.tasks) liveById.set(lt.id, lt);
  for (const [id, lt] of liveById) {
    let r = tasks.get(id);
    if (r === undefined) {
      r = { id, spans: [] };
      const s: RecSpan = lt.waitingOn === undefined ? { kind: "active", start: startMs, end: endMs } : { kind: "waiting", start: startMs, end: endMs, what: lt.waitingOn };
      r.spans.push(s);
      tasks.set(id, r);
    }
    r.live = lt;
    if (r.name === undefined && lt.name !== undefined) r.name = lt.name;
    // A wait whose park happened before the recording: the runtime says what it is.
    const open = r.spans.at(-1);
    if (open !== undefined && open.kind === "waiting" && open.what === undefined && lt.waitingOn !== undefined) open.what = lt.waitingOn;
  }
  const out: RecTask[] = [];
  for (const r of tasks.values()) {
    delete r.open;
    delete r.pending;
    const site = header.sites[r.id] ?? r.live?.spawnedAt;
    if (site !== undefined && site !== "unknown") r.site = site;
    out.push(r);
  }
  out.sort((x, y) => x.id - y.id);
  return {
    header,
    startMs,
    endMs,
    tasks: out,
    resources: [...resources.values()].sort((x, y) => x.id - y.id),
    loop,
    episodes: header.episodes,
    marks,
    events: n,
  };
}

/** What a task was doing at one moment. */
export interface TaskState {
  id: number;
  name?: string;
  kind: SpanKind;
  what?: string;
  /** Since when. */
  sinceMs: number;
}

/** Every task's state at `atMs` (those alive then), by id. */
export function stateAt(rec: Recording, atMs: number): TaskState[] {
  const out: TaskState[] = [];
  for (const t of rec.tasks) {
    for (const s of t.spans) {
      if (s.start <= atMs && (atMs < s.end || (s.end === rec.endMs && atMs <= s.end))) {
        const st: TaskState = { id: t.id, kind: s.kind, sinceMs: s.start };
        if (t.name !== undefined) st.name = t.name;
        if (s.what !== undefined) st.what = s.what;
        out.push(st);
        break;
      }
    }
  }
  return out;
}
