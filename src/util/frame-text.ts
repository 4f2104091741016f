/**
 * The user's frames of a V8 capture, as reports show them: `fn (file:line:col)` with a local path
 * (not a file:// URL) and the position source-mapped to the TypeScript source where a map exists.
 * Spawn sites (task/spawn-site.ts), await sites and acquisition sites (diagnostics/) read their
 * captures through here, as V8's structured call sites (`Error.prepareStackTrace` swapped in
 * around the read): formatting a whole stack as text, then parsing it back and turning each
 * URL into a path, is what made the first dump of 10 000 named tasks take hundreds of ms.
 *
 * Everything that costs is cached: whether a script is steward's own (per script name), and the
 * text of each position (per script and position): 10 000 tasks spawned at one line map it once.
 * The source-map loader (util/source-map.ts, with @jridgewell/trace-mapping) is loaded on the
 * first position mapped, never at import. When Node's own source maps are on
 * (`--enable-source-maps`), the map Node holds for the script is asked first, so a loader's
 * inline maps (tsx and the like) count as they do in Node's own stack traces.
 */
import { fileURLToPath } from "node:url";
import { loadOwn, OWN_DIR } from "./own-files.js";

/** A V8 call site, as `Error.prepareStackTrace` hands it over (the part read here). */
export interface CallSiteLike {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getFunctionName(): string | null;
  isAsync?(): boolean;
}

/** Bound on every cache here (scripts, positions): a long-lived process sees few of either. */
const MAX_CACHED = 2_000;

interface Script {
  /** True for steward's own scripts and Node's. */
  own: boolean;
  /** The local path (a file:// URL converted), or the name as V8 gave it. */
  path: string;
  /** Text of each position seen, by `line * 2^21 + column`. */
  texts: Map<number, string>;
}

const scripts = new Map<string, Script>();

function scriptOf(file: string): Script {
  let s = scripts.get(file);
  if (s === undefined) {
    const path = localPath(file) ?? file;
    const own = file.startsWith("node:") || file.startsWith("internal/") || path.startsWith(OWN_DIR);
    s = { own, path, texts: new Map() };
    if (scripts.size >= MAX_CACHED) scripts.clear();
    scripts.set(file, s);
  }
  return s;
}

function localPath(file: string): string | undefined {
  if (!file.startsWith("file://")) return file.startsWith("/") || /^[A-Za-z]:[\\/]/.test(file) ? file : undefined;
  try {
    return fileURLToPath(file);
  } catch {
    return undefined;
  }
}

/** True for a frame in steward's own code or in Node's (cached per script). */
export function isOwnFrame(file: string): boolean {
  return scriptOf(file).own;
}

/** `file:line:col` of a position (1-based), the path local and source-mapped where a map exists; cached. */
export function positionText(file: string, line: number, column: number): string {
  const s = scriptOf(file);
  const key = line * 2_097_152 + column;
  let text = s.texts.get(key);
  if (text === undefined) {
    text = mapped(s.path, line, column) ?? `${s.path}:${line}:${column}`;
    if (s.texts.size >= MAX_CACHED) s.texts.clear();
    s.texts.set(key, text);
  }
  return text;
}

/** `fn (file:line:col)`, or `file:line:col` for a frame without a function name. */
export function frameText(cs: CallSiteLike): string | undefined {
  const file = cs.getFileName();
  const line = cs.getLineNumber();
  if (file === null || file === undefined || line === null) return undefined;
  const pos = positionText(file, line, cs.getColumnNumber() ?? 0);
  const fn = cs.getFunctionName();
  return fn === null || fn === "" ? pos : `${fn} (${pos})`;
}

/** The frames of `sites` outside steward and Node, at most `max` (a new array; the call sites themselves). */
export function userCallSites(sites: readonly CallSiteLike[], max: number): CallSiteLike[] {
  const out: CallSiteLike[] = [];
  for (let i = 0; i < sites.length && out.length < max; i++) {
    const cs = sites[i]!;
    const file = cs.getFileName();
    if (file === null || file === undefined || scriptOf(file).own) continue;
    out.push(cs);
  }
  return out;
}

/**
 * Reads `holder.stack` (a capture's lazy stack) as V8's call sites, passed through `pick`, and
 * returns what `pick` made of them; V8 keeps that as the holder's `.stack` from then on. A stack
 * already formatted (read before, or given as text) comes back as its string. Whatever
 * `Error.prepareStackTrace` was (Node's, or the user's), it is put back.
 */
export function readCallSites<R>(holder: { stack?: unknown }, pick: (sites: CallSiteLike[]) => R): R | string | undefined {
  const prev = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, cs) => pick(cs as CallSiteLike[]);
  try {
    return holder.stack as R | string | undefined;
  } finally {
    Error.prepareStackTrace = prev;
  }
}

// ---------------------------------------------------------------------------------------------
// Source maps

type Maps = import("./source-map.js").SourceMaps;
/** The loader (util/source-map.ts), loaded on the first position mapped; null if it cannot load. */
let maps: Maps | null | undefined;

/** A map bigger than this is not loaded on the main thread (a bundle's map can take 100 ms to parse). */
const MAX_MAP_BYTES = 8 * 1024 * 1024;

function mapped(path: string, line: number, column: number): string | undefined {
  if (line < 1) return undefined;
  const viaNode = nodeMapped(path, line, column);
  if (viaNode !== undefined) return viaNode;
  if (maps === undefined) {
    try {
      const mod = loadOwn("util/source-map.js") as typeof import("./source-map.js");
      maps = new mod.SourceMaps(500, MAX_MAP_BYTES);
    } catch {
      maps = null;
    }
  }
  if (maps === null || !(path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path))) return undefined;
  const pos = maps.map(path, line, column);
  return pos === undefined ? undefined : `${pos.file}:${pos.line}:${pos.column}`;
}

/** The position through the map Node itself holds for the script (only with Node's source maps on). */
function nodeMapped(path: string, line: number, column: number): string | undefined {
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled !== true) return undefined;
  try {
    // Looked up here, not imported: importing the package root does not load node:module.
    const m = process.getBuiltinModule("node:module").findSourceMap(path);
    if (m === undefined) return undefined;
    const e = m.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (typeof e.originalSource !== "string" || typeof e.originalLine !== "number") return undefined;
    const file = localPath(e.originalSource) ?? e.originalSource;
    return `${file}:${e.originalLine + 1}:${(e.originalColumn ?? 0) + 1}`;
  } catch {
    return undefined;
  }
}
