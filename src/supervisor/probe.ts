/**
 * The probe a watched thread installs on its globalThis. The watchdog runs it with the
 * inspector's Runtime.evaluate, which V8 executes in an interrupt on top of the blocked code, so
 * `Error.captureStackTrace` sees exactly the frames that are blocking. It costs nothing until it
 * is called: no hook, no per-task bookkeeping.
 */
import { createRequire } from "node:module";
import { threadId } from "node:worker_threads";
import { I_BEAT, PROBE_KEY, PROBE_URL, type ProbeResult, type RawFrame } from "./shared.js";

const probeSym = Symbol.for(PROBE_KEY);
const taskSym = Symbol.for("steward.currentTask");

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

function toRaw(c: NodeJS.CallSite): RawFrame {
  let file = c.getFileName() ?? c.getScriptNameOrSourceURL() ?? "";
  if (file === "") file = c.isEval() ? "<eval>" : "<anonymous>";
  return [functionNameOf(c), file, c.getLineNumber() ?? 0, c.getColumnNumber() ?? 0];
}

/** Installs this thread's probe; `i32` is its shared heartbeat view. */
export function installProbe(i32: Int32Array, requestId: (() => unknown) | undefined): void {
  loadInspectorUrl();
  const probe = (maxFrames: number): ProbeResult => {
    const E = Error as unknown as ErrorStatics;
    const holder: { stack?: unknown } = {};
    let sites: NodeJS.CallSite[] = [];
    if (maxFrames > 0) {
      const savedLimit = E.stackTraceLimit;
      const savedPrepare = E.prepareStackTrace;
      try {
        E.stackTraceLimit = maxFrames + 1;
        E.prepareStackTrace = keepSites;
        E.captureStackTrace(holder, probe);
        // Read while our prepareStackTrace is in place: V8 formats lazily on first access.
        const s = holder.stack;
        if (Array.isArray(s)) sites = s as NodeJS.CallSite[];
      } finally {
        E.stackTraceLimit = savedLimit;
        E.prepareStackTrace = savedPrepare;
      }
    }
    const frames: RawFrame[] = [];
    for (const c of sites) {
      // The evaluated expression's own frame sits right under the probe.
      if (c.getScriptNameOrSourceURL() === PROBE_URL) continue;
      frames.push(toRaw(c));
      if (frames.length >= maxFrames) break;
    }
    const out: ProbeResult = { threadId, beat: Atomics.load(i32, I_BEAT), frames, debugServer: debugServerOpen() };
    try {
      const hook = (globalThis as Record<symbol, unknown>)[taskSym];
      const task = typeof hook === "function" ? (hook as () => unknown)() : undefined;
      if (task !== null && typeof task === "object" && typeof (task as { id?: unknown }).id === "number") {
        const t = task as { id: number; name?: unknown };
        out.task = typeof t.name === "string" ? { id: t.id, name: t.name } : { id: t.id };
      }
    } catch {
      // A task hook that throws names no task.
    }
    if (requestId !== undefined) {
      try {
        const r = requestId();
        if (r !== undefined && r !== null) out.requestId = String(r);
      } catch {
        // The user's hook failed: no request id, the rest of the report stands.
      }
    }
    return out;
  };
  (globalThis as Record<symbol, unknown>)[probeSym] = probe;
}

/** Removes this thread's probe. */
export function uninstallProbe(): void {
  delete (globalThis as Record<symbol, unknown>)[probeSym];
}
