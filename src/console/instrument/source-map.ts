/**
 * Source-maps "file:line:col" positions of the console's spawn sites (and the recorder's), as the
 * supervisor does for its stacks: the script's trailing `//# sourceMappingURL=` comment, a .map
 * file or an inline data: URL, read with @jridgewell/trace-mapping and cached per script. Runs
 * only when a site is first formatted for a view, never on a spawn.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";

const cache = new Map<string, TraceMap | null>();
const MAX_CACHED = 500;
const TAIL_BYTES = 4096;
/** A map bigger than this is not loaded on the main thread (a bundle's map can take 100 ms to parse). */
const MAX_MAP_BYTES = 8 * 1024 * 1024;
const URL_RE = /\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/;

function localPath(file: string): string | undefined {
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

function loadMap(path: string): TraceMap | null {
  const comment = URL_RE.exec(readTail(path).trimEnd());
  if (comment === null) return null;
  const ref = comment[1]!;
  if (ref.startsWith("data:")) {
    const comma = ref.indexOf(",");
    if (comma < 0) return null;
    const body = ref.slice(comma + 1);
    const json = ref.slice(5, comma).endsWith(";base64") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
    return new TraceMap(json, pathToFileURL(path).href);
  }
  if (/^[a-z]+:/i.test(ref) && !ref.startsWith("file://")) return null;
  const mapPath = ref.startsWith("file://") ? fileURLToPath(ref) : resolve(dirname(path), decodeURIComponent(ref));
  const fd = openSync(mapPath, "r");
  try {
    if (fstatSync(fd).size > MAX_MAP_BYTES) return null;
  } finally {
    closeSync(fd);
  }
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

/** The original position of `file:line:col` (1-based), or undefined when there is no map for it. */
export function mapPosition(file: string, line: number, column: number): { file: string; line: number; column: number } | undefined {
  const path = localPath(file);
  if (path === undefined || line < 1) return undefined;
  const map = mapFor(path);
  if (map === null) return undefined;
  try {
    const pos = originalPositionFor(map, { line, column: Math.max(0, column - 1) });
    if (pos.source === null || pos.line === null) return undefined;
    return { file: localPath(pos.source) ?? pos.source, line: pos.line, column: (pos.column ?? 0) + 1 };
  } catch {
    return undefined;
  }
}

const FRAME_RE = /^(.*?)(\(?)((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)(\)?)$/;

/**
 * A V8 frame's text ("fn (/app/dist/x.js:3:7)" or "/app/dist/x.js:3:7") with its position mapped
 * to the source ("fn (/app/src/x.ts:12:5)"); the text unchanged when there is no map.
 */
export function mapFrameText(text: string): string {
  const m = FRAME_RE.exec(text);
  if (m === null) return text;
  const pos = mapPosition(m[3]!, Number(m[4]), Number(m[5]));
  if (pos === undefined) return text;
  return `${m[1]}${m[2]}${pos.file}:${pos.line}:${pos.column}${m[6]}`;
}
