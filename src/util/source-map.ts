/**
 * Source maps for positions in steward's reports: a script's trailing `//# sourceMappingURL=`
 * comment, a .map file or an inline data: URL, read with @jridgewell/trace-mapping and cached per
 * script. One loader for the supervisor's stacks (on its watchdog thread) and the console's and
 * recorder's spawn sites (on the main thread, with a cap on the map's size).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";

const TAIL_BYTES = 4096;
const URL_RE = /\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/;

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

function loadMap(path: string, maxMapBytes: number): TraceMap | null {
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
    const body = ref.slice(comma + 1);
    const json = ref.slice(5, comma).endsWith(";base64") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
    return new TraceMap(json, pathToFileURL(path).href);
  }
  let mapPath: string;
  if (ref.startsWith("file://")) mapPath = fileURLToPath(ref);
  else if (/^[a-z]+:/i.test(ref))
    return null; // http: and the like: not ours to fetch
  else mapPath = resolve(dirname(path), decodeURIComponent(ref));
  if (maxMapBytes !== Infinity) {
    const fd = openSync(mapPath, "r");
    try {
      if (fstatSync(fd).size > maxMapBytes) return null;
    } finally {
      closeSync(fd);
    }
  }
  return new TraceMap(readFileSync(mapPath, "utf8"), pathToFileURL(mapPath).href);
}

/** A position in a source file (1-based line and column). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** Maps positions through scripts' source maps, keeping at most `maxCached` scripts' maps. */
export class SourceMaps {
  /** Scripts whose map was looked up: the map, or null when there is none. */
  readonly #cache = new Map<string, TraceMap | null>();
  constructor(
    private readonly maxCached: number,
    /** A .map file bigger than this is not loaded (a bundle's map can take 100 ms to parse). */
    private readonly maxMapBytes = Infinity,
  ) {}

  /** Whether `path`'s map (or its absence) is already known: mapping it costs no file read. */
  has(path: string): boolean {
    return this.#cache.has(path);
  }

  /** The original position of `line:column` (1-based) in the local script `path`, or undefined. */
  map(path: string, line: number, column: number): SourcePosition | undefined {
    if (line < 1) return undefined;
    const map = this.#mapFor(path);
    if (map === null) return undefined;
    try {
      const pos = originalPositionFor(map, { line, column: Math.max(0, column - 1) });
      if (pos.source === null || pos.line === null) return undefined;
      return { file: localPath(pos.source) ?? pos.source, line: pos.line, column: (pos.column ?? 0) + 1 };
    } catch {
      return undefined;
    }
  }

  #mapFor(path: string): TraceMap | null {
    let m = this.#cache.get(path);
    if (m !== undefined) return m;
    try {
      m = loadMap(path, this.maxMapBytes);
    } catch {
      m = null;
    }
    if (this.#cache.size >= this.maxCached) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(path, m);
    return m;
  }
}
