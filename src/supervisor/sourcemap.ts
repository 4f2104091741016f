/**
 * Source-mapping of stack frames, on the watchdog thread: reads a script's trailing
 * `//# sourceMappingURL=` comment, loads the map (a .map file or an inline data: URL) with
 * @jridgewell/trace-mapping, and caches it per script. Nothing of this runs on a watched thread.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";
import type { Frame, RawFrame } from "./shared.js";

/** Scripts whose map was looked up: the map, or null when there is none. */
const cache = new Map<string, TraceMap | null>();
const MAX_CACHED = 2000;
const TAIL_BYTES = 4096;

/** A local file path for a V8 script name, or undefined for `node:` and other non-file URLs. */
export function localPath(file: string): string | undefined {
  if (file.startsWith("file://")) {
    try {
      return fileURLToPath(file);
    } catch {
      return undefined;
    }
  }
  return file.startsWith("/") || /^[A-Za-z]:[\\/]/.test(file) ? file : undefined;
}

function readTail(path: string): string {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

const URL_RE = /\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/;

function loadMap(path: string): TraceMap | null {
  let comment = URL_RE.exec(readTail(path).trimEnd());
  if (comment === null) {
    // An inline map longer than the tail we read: look at the whole file.
    const whole = readFileSync(path, "utf8");
    if (!whole.includes("sourceMappingURL=data:")) return null;
    comment = URL_RE.exec(whole.trimEnd());
    if (comment === null) return null;
  }
  const ref = comment[1]!;
  if (ref.startsWith("data:")) {
    const comma = ref.indexOf(",");
    if (comma < 0) return null;
    const meta = ref.slice(5, comma);
    const body = ref.slice(comma + 1);
    const json = meta.endsWith(";base64") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
    return new TraceMap(json, pathToFileURL(path).href);
  }
  let mapPath: string;
  if (ref.startsWith("file://")) mapPath = fileURLToPath(ref);
  else if (/^[a-z]+:/i.test(ref)) return null; // http: and the like: not ours to fetch
  else mapPath = resolve(dirname(path), decodeURIComponent(ref));
  return new TraceMap(readFileSync(mapPath, "utf8"), pathToFileURL(mapPath).href);
}

function mapFor(path: string): TraceMap | null {
  let m = cache.get(path);
  if (m !== undefined) return m;
  try {
    m = loadMap(path);
  } catch {
    m = null;
  }
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(path, m);
  return m;
}

/**
 * Turns a probe frame into a public Frame: local paths, and the original source where mapped.
 * With `cachedOnly`, a map not loaded yet is not loaded now (loading a library's large map takes
 * tens of ms): the frame stays unmapped and `pending` says a load would map it.
 */
export function toFrame(raw: RawFrame, sourceMaps: boolean, cachedOnly = false): { frame: Frame; pending: boolean } {
  const [functionName, file, line, column] = raw;
  const path = localPath(file);
  const frame: Frame = { functionName, file: path ?? file, line, column };
  if (!sourceMaps || path === undefined || line < 1) return { frame, pending: false };
  if (cachedOnly && !cache.has(path)) return { frame, pending: true };
  const map = mapFor(path);
  if (map === null) return { frame, pending: false };
  let pos;
  try {
    pos = originalPositionFor(map, { line, column: Math.max(0, column - 1) });
  } catch {
    return { frame, pending: false };
  }
  if (pos.source === null || pos.line === null) return { frame, pending: false };
  const source = localPath(pos.source) ?? pos.source;
  return { frame: { functionName, file: source, line: pos.line, column: (pos.column ?? 0) + 1 }, pending: false };
}

