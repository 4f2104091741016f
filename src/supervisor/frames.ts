/**
 * From the probe's raw stack to the frames a report shows (on the watchdog thread): each frame
 * marked by where its code comes from (the app, a library, Node, a V8 builtin), steward's own
 * frames left out, recursion and long runs of library frames collapsed so that the
 * application's frames survive a deep stack, and a key that groups episodes from the same stack.
 */
import type { Frame, FrameKind, RawFrame } from "./shared.js";
import { REPEAT_MARK } from "./shared.js";
import { localPath, toFrame } from "./sourcemap.js";

/** A frame on its way to a report: still unmapped (positions in the running .js). */
export interface Entry {
  raw: RawFrame;
  kind: FrameKind;
  package?: string;
  /** For a collapsed entry: how many frames it stands for, and what to call them. */
  count?: number;
  label?: string;
}

/** Runs of non-app frames longer than this are collapsed to their first and last frames. */
const RUN_LIMIT = 8;
const RUN_HEAD = 4;
const RUN_TAIL = 2;
/** The innermost frames always kept, whatever the budget: they are where the time goes. */
const HEAD = 6;

function packageOf(path: string): string | undefined {
  const i = path.lastIndexOf("/node_modules/");
  if (i < 0) return undefined;
  const parts = path.slice(i + "/node_modules/".length).split("/");
  return parts[0]!.startsWith("@") && parts.length > 1 ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Where a raw frame's code comes from, or "steward" for steward's own. */
function classify(raw: RawFrame, ownDirs: readonly string[]): { kind: FrameKind | "steward"; package?: string } {
  const file = raw[1];
  if (file === "") return { kind: "native" };
  if (file.startsWith("node:")) return { kind: "node" };
  const path = localPath(file) ?? file;
  const normalized = path.replaceAll("\\", "/");
  const pkg = packageOf(normalized);
  if (pkg !== undefined) return pkg === "steward" && ownDirs.some((d) => path.startsWith(d)) ? { kind: "steward" } : { kind: "library", package: pkg };
  if (ownDirs.some((d) => path.startsWith(d))) return { kind: "steward" };
  return { kind: "app" };
}

function collapsedEntry(items: Entry[]): Entry {
  let count = 0;
  const packages = new Set<string>();
  let node = false;
  for (const e of items) {
    count += e.count ?? 1;
    if (e.package !== undefined) packages.add(e.package);
    if (e.kind === "node") node = true;
  }
  let what: string;
  if (packages.size === 1 && !node) what = `of ${[...packages][0]!}`;
  else if (packages.size === 0 && node) what = "of Node.js internals";
  else if (packages.size === 0) what = "";
  else what = `of ${[...packages].slice(0, 3).join(", ")}${packages.size > 3 ? ", ..." : ""}${node ? " and Node.js internals" : ""}`;
  return { raw: ["", "", 0, 0], kind: "collapsed", count, label: `... ${count} more frame${count === 1 ? "" : "s"}${what === "" ? "" : ` ${what}`}` };
}

/**
 * Classifies, drops steward's frames, unfolds the probe's repeat markers into collapsed entries,
 * and collapses until at most `maxFrames` entries remain, keeping the innermost frames and the
 * application's.
 */
export function prepare(raw: readonly RawFrame[], ownDirs: readonly string[], maxFrames: number): Entry[] {
  let out: Entry[] = [];
  for (const r of raw) {
    if (r[0] === REPEAT_MARK) {
      const times = r[2];
      const period = r[3];
      const cycle = out.slice(-period);
      const names = cycle.map((e) => e.raw[0]).join(" → ");
      const count = times * period;
      out.push({ raw: ["", "", 0, 0], kind: "collapsed", count, label: `... ${count} more frames: ${names} repeats ${times} more time${times === 1 ? "" : "s"} (recursion)` });
      continue;
    }
    const c = classify(r, ownDirs);
    if (c.kind === "steward") continue;
    const e: Entry = { raw: r, kind: c.kind };
    if (c.package !== undefined) e.package = c.package;
    out.push(e);
  }
  // Long runs of library and Node frames: keep where the time goes and where the app called in.
  const runs: Entry[] = [];
  let run: Entry[] = [];
  const flush = (): void => {
    if (run.length > RUN_LIMIT) runs.push(...run.slice(0, RUN_HEAD), collapsedEntry(run.slice(RUN_HEAD, -RUN_TAIL)), ...run.slice(-RUN_TAIL));
    else runs.push(...run);
    run = [];
  };
  for (const e of out) {
    if (e.kind === "app") {
      flush();
      runs.push(e);
    } else run.push(e);
  }
  flush();
  out = runs;
  if (out.length <= maxFrames) return out;
  // Still too many: keep the innermost frames, then the app's from the inside out.
  const keep = new Array<boolean>(out.length).fill(false);
  let kept = 0;
  const head = Math.min(HEAD, Math.max(1, maxFrames >> 2));
  for (let i = 0; i < head; i++) {
    keep[i] = true;
    kept++;
  }
  const budget = Math.max(head, maxFrames - 4);
  for (let i = head; i < out.length && kept < budget; i++) {
    if (out[i]!.kind === "app") {
      keep[i] = true;
      kept++;
    }
  }
  // Then whatever else fits, inside out (each gap costs one collapsed entry).
  const gapsAfter = (): number => {
    let gaps = 0;
    for (let i = 0; i < out.length; i++) if (!keep[i] && (i === 0 || keep[i - 1])) gaps++;
    return gaps;
  };
  for (let i = head; i < out.length; i++) {
    if (keep[i]) continue;
    keep[i] = true;
    if (kept + 1 + gapsAfter() > maxFrames) {
      keep[i] = false;
      break;
    }
    kept++;
  }
  const result: Entry[] = [];
  let gap: Entry[] = [];
  for (let i = 0; i < out.length; i++) {
    if (keep[i]) {
      if (gap.length > 0) result.push(collapsedEntry(gap));
      gap = [];
      result.push(out[i]!);
    } else gap.push(out[i]!);
  }
  if (gap.length > 0) result.push(collapsedEntry(gap));
  return result;
}

/**
 * Groups episodes: the same functions at the same lines. Columns, builtins on top (`Date.now`
 * in a busy loop), Node's scheduling frames (a continuation from the timers phase or the
 * nextTick queue) and the length of collapsed runs vary from one sample of the same block to the
 * next, so they are left out.
 */
export function stackKey(entries: readonly Entry[], inside: string | undefined): string {
  let key = inside ?? "";
  for (const e of entries) {
    if (e.kind === "native" || e.kind === "node") continue;
    key += e.kind === "collapsed" ? "\n*" : `\n${e.raw[0]}|${e.raw[1]}|${e.raw[2]}`;
  }
  return key;
}

/**
 * The public frames: mapped to the source where a map exists, marked. With `libraryCachedOnly`,
 * a library's map that is not loaded yet is left for later (`unmapped` counts those frames).
 */
export function toFrames(entries: readonly Entry[], sourceMaps: boolean, libraryCachedOnly: boolean): { frames: Frame[]; unmapped: number } {
  let unmapped = 0;
  const frames = entries.map((e): Frame => {
    if (e.kind === "collapsed") return { functionName: e.label ?? "...", file: "", line: 0, column: 0, kind: "collapsed", count: e.count ?? 0 };
    if (e.kind === "native") return { functionName: e.raw[0], file: "", line: 0, column: 0, kind: "native" };
    const m = toFrame(e.raw, sourceMaps && e.kind !== "node", libraryCachedOnly && e.kind === "library");
    if (m.pending) unmapped++;
    const f: Frame = { ...m.frame, kind: e.kind };
    if (e.package !== undefined) f.package = e.package;
    return f;
  });
  return { frames, unmapped };
}

/** The first application frame, for one-line reports; else the first frame. */
export function headline(frames: readonly Frame[]): Frame | undefined {
  return frames.find((f) => f.kind === "app") ?? frames.find((f) => f.kind !== "collapsed");
}
