/**
 * The watchdog's in-process inspector session to the main thread (and, through the NodeWorker
 * domain, to workers the main thread started). It never calls inspector.open(): no port.
 *
 * Stacks are taken with Runtime.evaluate of the probe, which needs no domain enabled. The
 * Debugger domain, which makes every await on the main thread ~10× slower while enabled and
 * replays scriptParsed for every loaded script when enabled late, is enabled only for the
 * optional `captureMethod: "pause"` and to check whether a debugger has paused the thread, and
 * is disabled again at once.
 */
import type { Session } from "node:inspector";
import { PROBE_URL, probeExpression, type ProbeResult, type RawFrame } from "./shared.js";

type Params = Record<string, unknown>;
interface Message {
  method: string;
  params: Params;
}

export class Timeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(what, ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What a pause-based capture found. */
export interface PauseCapture {
  frames: RawFrame[];
  probe: ProbeResult | undefined;
  /** Time Debugger.enable took: the late-enable cost (scriptParsed replay). */
  enableMs: number;
}

/**
 * The probe could not run because the thread is too close to its stack limit (a deep recursion):
 * V8 cannot even compile the probe there, nor pause. The RangeError it raised instead was made on
 * top of the blocked stack, so its stack text holds the innermost frames (Error.stackTraceLimit
 * of them, 10 by default): `frames`.
 */
export class StackLimitError extends Error {
  constructor(
    readonly frames: RawFrame[],
    /**
     * The RangeError's object group when its stack text came back empty: V8 recorded the frames,
     * but formatting them (Node's prepareStackTrace is JavaScript) needs stack the thread lacks.
     * `recordedFrames()` reads them once the thread has room again.
     */
    readonly objectGroup?: string,
    readonly objectId?: string,
  ) {
    super("the thread runs too close to its stack limit (deep recursion) for the probe");
  }
}

const STACK_LINE = /^\s*at (?:(.*?) \()?(.*?)(?::(\d+):(\d+))?\)?$/;

/** Frames from a V8 stack text (`    at fn (file:line:col)`), innermost first. */
export function parseStackText(text: string): RawFrame[] {
  const frames: RawFrame[] = [];
  for (const line of text.split("\n")) {
    if (!/^\s*at /.test(line)) continue;
    const m = STACK_LINE.exec(line);
    if (m === null) continue;
    const name = m[1] ?? "<anonymous>";
    const file = m[2] ?? "";
    if (m[3] === undefined)
      frames.push([m[1] === undefined ? file : name, "", 0, 0]); // a builtin: "at JSON.parse (<anonymous>)"
    else frames.push([name, file, Number(m[3]), Number(m[4])]);
  }
  return frames;
}

type ExceptionDetails = { text: string; exception?: { description?: string; objectId?: string } };

/** The blocked code's frames in a stack text: those above the probe expression's own are the probe's. */
function framesBelowProbe(text: string): RawFrame[] {
  const frames = parseStackText(text);
  const own = frames.findIndex((f) => f[1] === PROBE_URL || f[1].endsWith(`/${PROBE_URL}`));
  return own >= 0 ? frames.slice(own + 1) : frames;
}

function probeError(res: { exceptionDetails?: ExceptionDetails }, objectGroup?: string): Error {
  const d = res.exceptionDetails!;
  const description = d.exception?.description ?? "";
  if (/Maximum call stack size exceeded|stack overflow/i.test(`${d.text} ${description}`)) {
    const frames = framesBelowProbe(description);
    return frames.length > 0 || objectGroup === undefined ? new StackLimitError(frames) : new StackLimitError(frames, objectGroup, d.exception?.objectId);
  }
  return new Error(`probe threw: ${`${d.text} ${description}`.trim()}`);
}

let nearLimitGroups = 0;

export class InspectorLink {
  private session: Session | undefined;
  /** Why there is no session, when there is none. */
  readonly unavailable: string | undefined;
  private workerSessions = new Map<string, string>();
  private nodeWorkerEnabled: Promise<void> | undefined;
  private workerCalls = new Map<number, (m: { result?: Params; error?: { message: string } }) => void>();
  private nextWorkerCall = 1;
  private scripts = new Map<string, string>();

  private constructor(session: Session | undefined, unavailable: string | undefined) {
    this.session = session;
    this.unavailable = unavailable;
    if (session !== undefined) {
      session.on("NodeWorker.attachedToWorker", (m: Message) => {
        // workerId is the agent's own counter, in no useful order; the title carries the
        // threadId: "[worker 3]" (possibly followed by the worker's name).
        const info = m.params.workerInfo as { workerId: string; title?: string };
        const t = /^\[worker (\d+)\]/.exec(info.title ?? "");
        if (t !== null) this.workerSessions.set(t[1]!, String(m.params.sessionId));
      });
      session.on("NodeWorker.detachedFromWorker", (m: Message) => {
        for (const [k, v] of this.workerSessions) if (v === m.params.sessionId) this.workerSessions.delete(k);
      });
      session.on("NodeWorker.receivedMessageFromWorker", (m: Message) => {
        let msg: { id?: number; result?: Params; error?: { message: string } };
        try {
          msg = JSON.parse(String(m.params.message)) as typeof msg;
        } catch {
          return;
        }
        if (msg.id === undefined) return;
        const cb = this.workerCalls.get(msg.id);
        if (cb !== undefined) {
          this.workerCalls.delete(msg.id);
          cb(msg);
        }
      });
    }
  }

  /** Connects to the main thread; on failure the link reports why and captures nothing. */
  static async connect(missing: string | undefined, mayConnect: () => boolean): Promise<InspectorLink> {
    if (missing !== undefined) return new InspectorLink(undefined, `inspector unavailable: ${missing}`);
    try {
      const inspector = await import("node:inspector");
      const session = new inspector.Session();
      if (!mayConnect()) return new InspectorLink(undefined, "the process is exiting");
      session.connectToMainThread();
      return new InspectorLink(session, undefined);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return new InspectorLink(undefined, `inspector unavailable: ${err.code !== undefined ? `${err.code} ` : ""}${err.message ?? String(e)}`);
    }
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  private post<T = Params>(method: string, params: Params = {}): Promise<T> {
    const s = this.session;
    if (s === undefined) return Promise.reject(new Error(this.unavailable));
    return new Promise<T>((resolve, reject) => {
      s.post(method, params, (err: Error | null, res?: object) => (err !== null ? reject(err) : resolve(res as T)));
    });
  }

  /** Runs the probe on the main thread. Resolves when the thread takes the interrupt. */
  async probeMain(expression: string = probeExpression(1)): Promise<ProbeResult | undefined> {
    // A group of its own, so that a RangeError kept for recordedFrames() is released alone.
    const objectGroup = `steward-probe-${++nearLimitGroups}`;
    const res = await this.post<{ result: { value?: unknown }; exceptionDetails?: ExceptionDetails }>("Runtime.evaluate", {
      expression,
      returnByValue: true,
      silent: true,
      objectGroup,
    });
    if (res.exceptionDetails === undefined) return res.result.value as ProbeResult | undefined;
    const e = probeError(res, objectGroup);
    if (!(e instanceof StackLimitError) || e.objectId === undefined) await this.release(objectGroup);
    throw e;
  }

  /**
   * The frames V8 recorded in a stack-limit RangeError that could not be formatted where it was
   * thrown. Call it once the thread has run again: formatting runs on the thread, in an interrupt.
   * Releases the error either way.
   */
  async recordedFrames(e: StackLimitError): Promise<RawFrame[]> {
    if (e.objectId === undefined || e.objectGroup === undefined) return e.frames;
    try {
      const res = await this.post<{ result: { value?: unknown }; exceptionDetails?: ExceptionDetails }>("Runtime.callFunctionOn", {
        objectId: e.objectId,
        functionDeclaration: "function () { return String(this.stack); }",
        returnByValue: true,
        silent: true,
        objectGroup: e.objectGroup,
      });
      return typeof res.result.value === "string" ? framesBelowProbe(res.result.value) : [];
    } finally {
      await this.release(e.objectGroup);
    }
  }

  private release(objectGroup: string): Promise<void> {
    return this.post("Runtime.releaseObjectGroup", { objectGroup }).then(
      () => undefined,
      () => undefined, // the session closed: the objects went with it
    );
  }

  /** Runs the probe on a worker the main thread started, through the NodeWorker domain. */
  async probeWorker(threadId: number, expression: string = probeExpression(1)): Promise<ProbeResult | undefined> {
    await this.enableNodeWorker();
    const sessionId = this.workerSessions.get(String(threadId));
    if (sessionId === undefined) {
      throw new Error("the inspector reaches only workers started by the main thread (NodeWorker domain); this one is not among them");
    }
    const id = this.nextWorkerCall++;
    const reply = new Promise<{ result?: Params; error?: { message: string } }>((resolve) => this.workerCalls.set(id, resolve));
    const message = JSON.stringify({
      id,
      method: "Runtime.evaluate",
      params: { expression, returnByValue: true, silent: true },
    });
    await this.post("NodeWorker.sendMessageToWorker", { sessionId, message });
    const m = await reply;
    if (m.error !== undefined) throw new Error(m.error.message);
    const r = m.result as { result: { value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } };
    if (r.exceptionDetails !== undefined) throw probeError(r);
    return r.result.value as ProbeResult | undefined;
  }

  private enableNodeWorker(): Promise<void> {
    // Attaches a session to every worker of the main thread (existing and future); a session
    // with no domain enabled costs those threads nothing.
    this.nodeWorkerEnabled ??= this.post("NodeWorker.enable", { waitForDebuggerOnStart: false }).then(() => undefined);
    return this.nodeWorkerEnabled;
  }

  /**
   * True when some debugger has the main thread paused. Enabling the Debugger domain while the
   * thread is paused delivers Debugger.paused before the enable answers; the domain is disabled
   * again at once. Costs a scriptParsed replay, so it is asked only when a debug server is open.
   */
  async pausedByDebugger(timeoutMs: number): Promise<boolean> {
    const s = this.session;
    if (s === undefined) return false;
    let paused = false;
    const onPaused = (): void => {
      paused = true;
    };
    s.on("Debugger.paused", onPaused);
    try {
      await withTimeout(this.post("Debugger.enable"), timeoutMs, "Debugger.enable");
    } finally {
      s.off("Debugger.paused", onPaused);
      this.post("Debugger.disable").catch(() => undefined);
    }
    return paused;
  }

  /**
   * The classic capture: Debugger.enable, Debugger.pause, read the call frames, evaluate the
   * probe on the top frame for the task, always resume, Debugger.disable. CommonJS frames carry
   * an empty url, so urls come from the scriptParsed replay; protocol lines are 0-based.
   */
  async pauseCapture(): Promise<PauseCapture> {
    const s = this.session;
    if (s === undefined) throw new Error(this.unavailable);
    const onScript = (m: Message): void => {
      this.scripts.set(String(m.params.scriptId), String(m.params.url ?? ""));
    };
    let foreignPause = false;
    let ourPause: ((m: Message) => void) | undefined;
    const firstPause = (): void => {
      foreignPause = true;
    };
    s.on("Debugger.scriptParsed", onScript);
    s.on("Debugger.paused", firstPause);
    let paused = false;
    try {
      const t0 = performance.now();
      await this.post("Debugger.enable");
      const enableMs = performance.now() - t0;
      s.off("Debugger.paused", firstPause);
      if (foreignPause) throw new Error("a debugger has the thread paused");
      const pausedEvent = new Promise<Message>((resolve) => {
        ourPause = resolve;
        s.once("Debugger.paused", resolve);
      });
      await this.post("Debugger.pause");
      const ev = await pausedEvent;
      paused = true;
      type CallFrame = {
        callFrameId: string;
        functionName: string;
        url: string;
        location: { scriptId: string; lineNumber: number; columnNumber?: number };
      };
      const callFrames = ev.params.callFrames as CallFrame[];
      const frames: RawFrame[] = callFrames.map((cf) => [
        cf.functionName === "" ? "<anonymous>" : cf.functionName,
        cf.url !== "" ? cf.url : (this.scripts.get(cf.location.scriptId) ?? "<unknown>"),
        cf.location.lineNumber + 1,
        (cf.location.columnNumber ?? 0) + 1,
      ]);
      let probe: ProbeResult | undefined;
      if (callFrames.length > 0) {
        try {
          const r = await this.post<{ result: { value?: unknown } }>("Debugger.evaluateOnCallFrame", {
            callFrameId: callFrames[0]!.callFrameId,
            expression: probeExpression(0),
            returnByValue: true,
            silent: true,
          });
          probe = r.result.value as ProbeResult | undefined;
        } catch {
          probe = undefined;
        }
      }
      return { frames, probe, enableMs };
    } finally {
      s.off("Debugger.scriptParsed", onScript);
      s.off("Debugger.paused", firstPause);
      if (ourPause !== undefined) s.off("Debugger.paused", ourPause);
      if (paused) await this.post("Debugger.resume").catch(() => undefined);
      await this.post("Debugger.disable").catch(() => undefined);
    }
  }

  /** Closes the session; safe to call more than once. */
  disconnect(): void {
    const s = this.session;
    this.session = undefined;
    if (s === undefined) return;
    try {
      s.disconnect();
    } catch {
      // Already gone.
    }
  }
}
