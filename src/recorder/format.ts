/**
 * The flight recorder's file format, version 1 (what `steward replay` reads).
 *
 * A dump file (`steward-<pid>-<time>-<trigger>.stwrec`) is gzip-compressed; inside:
 *
 *   offset  size  what
 *   0       8     magic: the ASCII bytes "STEWREC" and a newline
 *   8       4     format version, u32 little-endian (1)
 *   12      4     header length H in bytes, u32 little-endian
 *   16      H     the header: UTF-8 JSON, a {@link DumpHeader}
 *   16+H    24×N  the events, oldest first, {@link RECORD_BYTES} bytes each, little-endian:
 *                   0   f64  time: performance.now() of the recording process, in ms
 *                             (epoch ms = header.timeOrigin + time)
 *                   8   u8   type (one of the EV_* codes below)
 *                   9   u8   x8: a small argument (an outcome, a resource event)
 *                   10  u16  x16: another (a runtime's index in header.runtimes)
 *                   12  u32  task id (0: none)
 *                   16  u32  a
 *                   20  u32  b
 *
 * Strings (task names, what a wait waits on, marks) are ids into `header.strings`; 0 is "none".
 * Resources are ids into `header.resources`. A reader must ignore event types it does not know, and header
 * fields it does not know; a new version number means an incompatible layout.
 *
 * Event types, with what their fields hold:
 *   EV_SPAWN      task spawned: a = parent task (0: none), b = name, x16 = runtime
 *   EV_POLL       its first run began (the task started): task
 *   EV_POLL_END   its first run returned: task
 *   EV_PARK       it began a steward wait: a = what it waits on ("recv on channel#3"),
 *                 b = the resource (0: none, e.g. a sleep)
 *   EV_WAKE       a wait ended (served or withdrawn): a = what it waited on
 *   EV_END        it ended: x8 = outcome (0 ok, 1 panic, 2 cancelled)
 *   EV_JOIN       it awaits another task's outcome: a = the awaited task
 *   EV_RESOURCE   a resource event: x8 = 1 acquire / 2 release / 3 shed; task = the task running
 *                 (the holder, for an acquire); a = the resource; b = permits (shed: the reason's
 *                 index in SHED_REASONS)
 *   EV_DEPTH      a channel's depth: a = the resource, b = messages buffered, task = capacity
 *                 (0xffffffff: unbounded)
 *   EV_LOOP       a loop sample (over the interval before it): x16 = utilization in ‰,
 *                 a = delay p99 in µs, b = delay max in µs
 *   EV_BLOCKED    a blocked episode was reported (written then; its time is when it began):
 *                 a = its `n` in header.episodes, b = its duration in ms
 *   EV_MARK       a mark (a trigger, a note): a = its text
 *
 * Resource events, joins and depths carry the time of the latest event before them that read
 * the clock (their order is exact; their time is that of the task event they belong to).
 */

/** The first 8 bytes of an (uncompressed) dump. */
export const MAGIC = "STEWREC\n";
/** The format version this build writes and reads. */
export const FORMAT_VERSION = 1;
/** Bytes per event. */
export const RECORD_BYTES = 24;
/** 32-bit words per event. */
export const RECORD_WORDS = RECORD_BYTES / 4;

export const EV_SPAWN = 1;
export const EV_POLL = 2;
export const EV_POLL_END = 3;
export const EV_PARK = 4;
export const EV_WAKE = 5;
export const EV_END = 6;
export const EV_JOIN = 7;
export const EV_RESOURCE = 8;
export const EV_DEPTH = 10;
export const EV_LOOP = 11;
export const EV_BLOCKED = 12;
export const EV_MARK = 13;

/** EV_END outcomes, by x8. */
export const OUTCOMES = ["ok", "panic", "cancelled"] as const;

/** The capacity EV_DEPTH gives an unbounded channel. */
export const UNBOUNDED = 0xffffffff;

/** Why a dump was written. */
export type TriggerKind = "blocked" | "panic" | "shutdown-stuck" | "shutdown-unclean" | "signal" | "http" | "api";

/** A blocked episode as a dump keeps it. */
export interface DumpEpisode {
  /** Its number in the recording (EV_BLOCKED's a). */
  n: number;
  /** The supervisor's episode id, or the recorder's own. */
  id: string;
  /** Epoch ms. */
  startMs: number;
  durationMs: number;
  source: "supervisor" | "loop";
  task?: { id: number; name?: string };
  /** Top first: "fn (file:line:col)". */
  stack?: string[];
}

/** A live task at the moment of the dump (from its runtime). */
export interface DumpLiveTask {
  id: number;
  name?: string;
  state: string;
  waitingOn?: string;
  /** Where it awaits in the user's code (`file:line:col`, source-mapped), when it waits. */
  awaitSite?: string;
  spawnedAt: string;
  ageMs: number;
}

/** The JSON header of a dump. */
export interface DumpHeader {
  format: "steward-flight-recorder";
  version: 1;
  trigger: { kind: TriggerKind; detail?: string; atMs: number };
  pid: number;
  node: string;
  platform: string;
  /** performance.timeOrigin of the recording process: event time + this = epoch ms. */
  timeOrigin: number;
  /** Ring size in bytes, events it can hold, events written since it started, events lost to wrapping. */
  ring: { bytes: number; capacity: number; written: number; overwritten: number };
  /** Runtime names by index (EV_SPAWN's x16). */
  runtimes: string[];
  /** String table: id → text, for the ids the events use. */
  strings: Record<string, string>;
  /** Resources the events refer to: id → kind and label (`Mutex "db"`, `channel#3`). */
  resources: Record<string, { kind: string; label: string }>;
  /** Spawn sites ("fn (file.ts:line:col)", source-mapped) of the tasks in the dump that have one. */
  sites: Record<string, string>;
  /** Blocked episodes (EV_BLOCKED's a indexes this). */
  episodes: DumpEpisode[];
  /** Every live task of every runtime at the moment of the dump. */
  live: { runtime: string; tasks: DumpLiveTask[] }[];
}
