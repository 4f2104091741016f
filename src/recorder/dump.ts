/**
 * Writing a dump (format.ts): the ring copied (two memcpys), a JSON header with what the events
 * refer to, gzip-compressed on libuv's thread pool (not on the event loop), written to a temporary
 * name and renamed, so a reader never sees half a file. The folder keeps at most `maxFiles`
 * dumps: older `steward-*.stwrec` files there are deleted.
 */
import { mkdir, readdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { mapFrameText } from "../console/instrument/source-map.js";
import { formatSpawnSite } from "../task/spawn-site.js";
import { type DumpHeader, type DumpLiveTask, EV_PARK, EV_WAKE, EV_RESOURCE, EV_SPAWN, EV_DEPTH, EV_MARK, FORMAT_VERSION, MAGIC, RECORD_BYTES, type TriggerKind } from "./format.js";
import type { FlightRecorder } from "./recorder.js";

const gzipAsync = promisify(gzip);

/** A runtime as a dump lists its live tasks (the Runtime class fits). */
export interface DumpHost {
  readonly name: string | undefined;
  tasks?(): DumpLiveTask[];
  /** The same list with each waiting task's await site, built over several event-loop turns. */
  tasksSliced?(): Promise<DumpLiveTask[]>;
}

/**
 * The hosts, each listing its live tasks with their await sites (probed and listed in slices:
 * diagnostics/task-info.ts); a host that takes longer than `waitMs` lists them as they are.
 */
export async function withAwaitSites(hosts: Iterable<DumpHost>, waitMs = 1_000): Promise<DumpHost[]> {
  const out: DumpHost[] = [];
  for (const h of hosts) {
    let list: DumpLiveTask[] | undefined;
    if (h.tasksSliced !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((r) => (timer = setTimeout(r, waitMs, undefined)).unref());
      try {
        list = await Promise.race([h.tasksSliced(), late]);
      } catch {
        list = undefined;
      } finally {
        clearTimeout(timer);
      }
    }
    out.push(list === undefined ? h : { name: h.name, tasks: () => list });
  }
  return out;
}

/** Dump files in a folder: `steward-<pid>-<time>-<trigger>.stwrec`. */
export const DUMP_FILE = /^steward-\d+-[0-9TZ.]+-[a-z-]+\.stwrec$/;

/** The dump's bytes before compression. */
export function encodeDump(rec: FlightRecorder, trigger: { kind: TriggerKind; detail?: string }, hosts: Iterable<DumpHost>): Buffer {
  const events = rec.ring.copy();
  const strings: Record<string, string> = {};
  const resources: Record<string, { kind: string; label: string }> = {};
  const tasks = new Set<number>();
  const str = (id: number): void => {
    if (id === 0 || strings[id] !== undefined) return;
    strings[id] = rec.strings.text(id) ?? "?";
  };
  const res = (id: number): void => {
    if (id === 0 || resources[id] !== undefined) return;
    resources[id] = rec.resourceDef(id) ?? { kind: "resource", label: `resource#${id}` };
  };
  const u32 = new Uint32Array(events.buffer, events.byteOffset, events.byteLength / 4);
  for (let w = 0; w < u32.length; w += RECORD_BYTES / 4) {
    const type = u32[w + 2]! & 0xff;
    const task = u32[w + 3]!;
    if (task !== 0 && type !== EV_DEPTH) tasks.add(task);
    if (type === EV_SPAWN) str(u32[w + 5]!);
    else if (type === EV_WAKE) str(u32[w + 4]!);
    else if (type === EV_PARK) {
      str(u32[w + 4]!);
      res(u32[w + 5]!);
    } else if (type === EV_MARK) str(u32[w + 4]!);
    else if (type === EV_RESOURCE || type === EV_DEPTH) res(u32[w + 4]!);
  }
  const sites: Record<string, string> = {};
  for (const [id, site] of rec.sitesFor(tasks)) {
    const raw = formatSpawnSite(site);
    if (raw !== "unknown") sites[id] = mapFrameText(raw);
  }
  const live: DumpHeader["live"] = [];
  for (const h of hosts) {
    let list: DumpLiveTask[] = [];
    try {
      list = h.tasks?.() ?? [];
    } catch {
      list = [];
    }
    live.push({ runtime: h.name ?? "unnamed", tasks: list.slice(0, 5000) });
  }
  const header: DumpHeader = {
    format: "steward-flight-recorder",
    version: FORMAT_VERSION,
    trigger: { ...trigger, atMs: Date.now() },
    pid: process.pid,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    timeOrigin: performance.timeOrigin,
    ring: { bytes: rec.ring.bytes, capacity: rec.ring.capacity, written: rec.ring.written, overwritten: Math.max(0, rec.ring.written - rec.ring.capacity) },
    runtimes: rec.runtimeNames,
    strings,
    resources,
    sites,
    episodes: rec.dumpEpisodes(),
    live,
  };
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(FORMAT_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  return Buffer.concat([head, json, events]);
}

/** The file name of a dump written now for `trigger`. */
export function dumpFileName(trigger: TriggerKind, now = new Date()): string {
  return `steward-${process.pid}-${now.toISOString().replace(/[-:]/g, "")}-${trigger}.stwrec`;
}

/** Compresses and writes `raw` to `dir`, then keeps at most `maxFiles` dumps there. Resolves with the path. */
export async function writeDump(raw: Buffer, dir: string, name: string, maxFiles: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const body = await gzipAsync(raw, { level: 6 });
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, path);
  await prune(dir, maxFiles);
  return path;
}

async function prune(dir: string, maxFiles: number): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => DUMP_FILE.test(n));
  } catch {
    return;
  }
  if (names.length <= maxFiles) return;
  const withTimes = await Promise.all(
    names.map(async (n) => {
      try {
        return { n, t: (await stat(join(dir, n))).mtimeMs };
      } catch {
        return { n, t: 0 };
      }
    }),
  );
  withTimes.sort((a, b) => b.t - a.t || b.n.localeCompare(a.n));
  for (const { n } of withTimes.slice(maxFiles)) {
    try {
      await unlink(join(dir, n));
    } catch {
      // already gone
    }
  }
}
