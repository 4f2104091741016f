/**
 * The probe a watched thread installs on its globalThis. The watchdog runs it with the
 * inspector's Runtime.evaluate, which V8 executes in an interrupt on top of the blocked code, so
 * `Error.captureStackTrace` sees exactly the frames that are blocking. It costs nothing until it
 * is called: no hook, no per-task bookkeeping.
 *
 * The whole stack is taken (a user's frame under a deep library recursion sits hundreds of frames
 * down); repeated frames are folded here, on the blocked thread, so a 10,000-frame recursion
 * travels as a few frames and a repeat marker.
 */
import { createRequire } from "node:module";
import { threadId } from "node:worker_threads";
import { I_BEAT, PROBE_KEY, PROBE_URL, type ProbeResult, type RawFrame, REPEAT_MARK } from "./shared.js";

const probeSym = Symbol.for(PROBE_KEY);
const taskSym = Symbol.for("steward.currentTask");

/**
 * Deeper stacks lose their outermost frames. A user's frame under a library recursion sits a few
 * hundred frames down; taking V8's whole stack (~10,000 small frames) would cost the blocked
 * thread tens of ms inside the probe.
 */
export const MAX_DEPTH = 4_000;
/** Cycles of up to this many frames (a → b → a → b) are folded. */
const MAX_PERIOD = 4;

type Prepare = (err: Error, sites: NodeJS.CallSite[]) => unknown;
interface ErrorStatics {
  stackTraceLimit: number;
  prepareStackTrace?: Prepare | undefined;
  captureStackTrace(target: object, ctor?: unknown): void;
}

let inspectorUrl: (() => string | undefined) | undefined;

/** Loads node:inspector (absent from builds without an inspector) once, at install, not inside a capture. */
function loadInspectorUrl(): void {
  if (inspectorUrl !== undefined) return;
  try {
    const inspector = createRequire(import.meta.url)("node:inspector") as { url(): string | undefined };
    inspectorUrl = () => inspector.url();
  } catch {
    inspectorUrl = () => undefined;
  }
}

function debugServerOpen(): boolean {
  try {
    return inspectorUrl?.() !== undefined;
  } catch {
    return false;
  }
}

const keepSites: Prepare = (_e, sites) => sites;

/** Formats a call site's function name the way Node's stack traces do (simplified). */
function functionNameOf(c: NodeJS.CallSite): string {
  const fn = c.getFunctionName();
  if (c.isConstructor()) return `new ${fn ?? "<anonymous>"}`;
  let name = fn ?? "";
  if (!c.isToplevel()) {
    let type: string | null = null;
    try {
      type = c.getTypeName();
    } catch {
      type = null;
    }
    if (type !== null && type !== "Object" && !name.startsWith(`${type}.`)) {
      name = `${type}.${name === "" ? (c.getMethodName() ?? "<anonymous>") : name}`;
    } else if (name === "") {
      name = c.getMethodName() ?? "<anonymous>";
    }
  }
  if (name === "") name = "<anonymous>";
  return c.isAsync() ? `async ${name}` : name;
}

function toRaw(c: NodeJS.CallSite, name: string): RawFrame {
  let file = c.getFileName() ?? c.getScriptNameOrSourceURL() ?? "";
  const line = c.getLineNumber() ?? 0;
  // A V8 builtin (JSON.parse, Array.prototype.sort) has no script: "" marks it native.
  if (file === "" && line === 0) return [name, "", 0, 0];
  if (file === "") file = c.isEval() ? "<eval>" : "<anonymous>";
  return [name, file, line, c.getColumnNumber() ?? 0];
}

function same(a: RawFrame, b: RawFrame): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/**
 * Folds repeated cycles: `p` frames that repeat `k` more times right after themselves become the
 * `p` frames and one marker `[REPEAT_MARK, "", k, p]`.
 */
export function foldRepeats(frames: RawFrame[]): RawFrame[] {
  const out: RawFrame[] = [];
  let i = 0;
  while (i < frames.length) {
    let folded = false;
    for (let p = 1; p <= MAX_PERIOD && i + 2 * p <= frames.length; p++) {
      let k = 0;
      while (i + (k + 2) * p <= frames.length) {
        let eq = true;
        for (let j = 0; j < p; j++) {
          if (!same(frames[i + j]!, frames[i + (k + 1) * p + j]!)) {
            eq = false;
            break;
          }
        }
        if (!eq) break;
        k++;
      }
      // Fold from 2 repeats up for single frames, from 1 for longer cycles.
      if (k >= (p === 1 ? 2 : 1)) {
        for (let j = 0; j < p; j++) out.push(frames[i + j]!);
        out.push([REPEAT_MARK, "", k, p]);
        i += (k + 1) * p;
        folded = true;
        break;
      }
    }
    if (!folded) out.push(frames[i++]!);
  }
  return out;
}

/**
 * The calling thread's stack as raw frames, innermost first, without `skip` and the frames above
 * it, folded. Used by the probe (in the inspector's interrupt) and by the breadcrumbs.
 */
export function captureFrames(skip: (...args: never[]) => unknown, maxDepth: number = MAX_DEPTH): RawFrame[] {
  const holder: { stack?: unknown } = {};
  const E = Error as unknown as ErrorStatics;
  const savedLimit = E.stackTraceLimit;
  try {
    E.stackTraceLimit = maxDepth;
    E.captureStackTrace(holder, skip);
  } finally {
    E.stackTraceLimit = savedLimit;
  }
  return framesOf(holder);
}

/** The frames of a holder filled by Error.captureStackTrace (formatted now: V8 formats lazily). */
function framesOf(holder: { stack?: unknown }): RawFrame[] {
  const E = Error as unknown as ErrorStatics;
  let sites: NodeJS.CallSite[] = [];
  const savedPrepare = E.prepareStackTrace;
  try {
    E.prepareStackTrace = keepSites;
    // Read while our prepareStackTrace is in place.
    const s = holder.stack;
    if (Array.isArray(s)) sites = s as NodeJS.CallSite[];
    else throw new RangeError("Maximum call stack size exceeded (steward supervisor probe)");
  } finally {
    E.prepareStackTrace = savedPrepare;
  }
  const frames: RawFrame[] = [];
  for (const c of sites) {
    // The evaluated expression's own frame sits right under the probe.
    if (c.getScriptNameOrSourceURL() === PROBE_URL) continue;
    // A recursion repeats the same frames: their names (the costly part) are taken once.
    let name: string | undefined;
    const line = c.getLineNumber();
    const col = c.getColumnNumber();
    for (let p = 1; p <= MAX_PERIOD && p <= frames.length; p++) {
      const prev = frames[frames.length - p]!;
      if (prev[2] === line && prev[3] === col && prev[1] === (c.getFileName() ?? c.getScriptNameOrSourceURL())) {
        name = prev[0];
        break;
      }
    }
    frames.push(toRaw(c, name ?? functionNameOf(c)));
  }
  return foldRepeats(frames);
}

/** The running steward task, read through the hook steward's context module installs. */
export function currentTaskInfo(): { id: number; name?: string } | undefined {
  try {
    const hook = (globalThis as Record<symbol, unknown>)[taskSym];
    const task = typeof hook === "function" ? (hook as () => unknown)() : undefined;
    if (task !== null && typeof task === "object" && typeof (task as { id?: unknown }).id === "number") {
      const t = task as { id: number; name?: unknown };
      return typeof t.name === "string" ? { id: t.id, name: t.name } : { id: t.id };
    }
  } catch {
    // A task hook that throws names no task.
  }
  return undefined;
}

/** What the user's `requestId` option returns now, as a string. */
export function currentRequestId(requestId: (() => unknown) | undefined): string | undefined {
  if (requestId === undefined) return undefined;
  try {
    const r = requestId();
    if (r !== undefined && r !== null) return String(r);
  } catch {
    // The user's hook failed: no request id, the rest of the report stands.
  }
  return undefined;
}

/**
 * Installs this thread's probe; `i32` is its shared heartbeat view. The probe's argument says
 * what to do: 1 take the stack, 0 only the task (the pause method has the frames already).
 */
export function installProbe(i32: Int32Array, requestId: (() => unknown) | undefined): void {
  loadInspectorUrl();
  const probe = (what: number): ProbeResult => {
    const frames = what === 1 ? captureFrames(probe) : [];
    const out: ProbeResult = { threadId, beat: Atomics.load(i32, I_BEAT), frames, debugServer: debugServerOpen() };
    const task = currentTaskInfo();
    if (task !== undefined) out.task = task;
    const rid = currentRequestId(requestId);
    if (rid !== undefined) out.requestId = rid;
    return out;
  };
  (globalThis as Record<symbol, unknown>)[probeSym] = probe;
}

/** Removes this thread's probe. */
export function uninstallProbe(): void {
  delete (globalThis as Record<symbol, unknown>)[probeSym];
}
