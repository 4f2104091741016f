/**
 * The recorder's life in a process: one recorder and one dump scheduler, shared by every runtime
 * that turns it on (the first one's options win), with its signal handler and its console routes;
 * removed when the last of those runtimes closes. Per runtime: the shutdown triggers.
 */
import { registerConsoleRoute } from "../console/server/routes.js";
import type { DumpHost } from "./dump.js";
import type { TriggerKind } from "./format.js";
import { recorderRoute } from "./http.js";
import type { ResolvedRecorderOptions } from "./options.js";
import { FlightRecorder } from "./recorder.js";
import { type DumpResult, DumpScheduler } from "./triggers.js";

/** A runtime as the recorder sees it (the Runtime class fits; structural, no import cycle). */
export interface RecorderHost extends DumpHost {
  readonly state: string;
  readonly taskCount?: number;
  readonly token?: { onCancel(fn: () => void): unknown };
  /** Cancelled when shutdown is announced (its first phase): the deadline counts from there. */
  readonly stopping?: { onCancel(fn: () => void): unknown };
  readonly options?: { readonly shutdownTimeoutMs?: number };
  defer(resource: AsyncDisposable | Disposable | (() => unknown), name?: string): void;
}

/** The process-wide recorder while any runtime has it on. */
export interface ActiveRecorder {
  readonly recorder: FlightRecorder;
  readonly scheduler: DumpScheduler;
  readonly options: ResolvedRecorderOptions;
  readonly hosts: Set<RecorderHost>;
}

let active: ActiveRecorder | undefined;
let cleanup: (() => void)[] = [];

/** The recorder, while one is on. */
export function activeRecorder(): ActiveRecorder | undefined {
  return active;
}

/** Asks for a dump now (an API call, the console, a signal). */
export function requestDump(kind: TriggerKind, detail?: string): Promise<DumpResult> {
  if (active === undefined) return Promise.resolve({ file: undefined, trigger: kind, reason: "the flight recorder is off" });
  return active.scheduler.request(kind, detail);
}

function start(options: ResolvedRecorderOptions): ActiveRecorder {
  const recorder = new FlightRecorder(options.bytes, options.blockedMs);
  const hosts = new Set<RecorderHost>();
  const scheduler = new DumpScheduler(recorder, options, () => hosts);
  const a: ActiveRecorder = { recorder, scheduler, options, hosts };
  // Each episode is dumped at most once. One that turns out (its final duration) at least twice
  // as long as the last one dumped, or that has a stack when the last had none, gets a dump of its
  // own even within minIntervalMs: a short stall (a GC pause on a loaded machine) must not hide
  // the long one that follows it.
  const dumped = new WeakSet<object>();
  let lastDumpedMs = 0;
  let lastHadStack = true;
  recorder.listener = {
    blocked: (ep) => {
      if (!options.triggers.blocked || dumped.has(ep)) return;
      const where = ep.frame === undefined ? "" : ` at ${ep.frame}`;
      const task = ep.task === undefined ? "" : ` in task ${ep.task.id}${ep.task.name === undefined ? "" : ` '${ep.task.name}'`}`;
      const escalate = lastDumpedMs > 0 && (ep.durationMs >= 2 * lastDumpedMs || (ep.stack !== undefined && !lastHadStack));
      void scheduler.request("blocked", `event loop blocked${task}${where}`, options.afterMs, escalate).then((r) => {
        if (r.file === undefined) return;
        dumped.add(ep);
        lastDumpedMs = Math.max(ep.durationMs, options.blockedMs);
        lastHadStack = ep.stack !== undefined;
      });
    },
    panic: (t) => {
      if (!options.triggers.panic) return;
      void scheduler.request("panic", `task ${t.id}${t.name === undefined ? "" : ` '${t.name}'`} panicked`, options.afterMs);
    },
  };
  recorder.install();
  const signal = options.signal;
  if (signal !== null) {
    const onSignal = (): void => void scheduler.request("signal", signal);
    try {
      process.on(signal, onSignal);
      cleanup.push(() => process.off(signal, onSignal));
    } catch {
      // a signal this platform does not have
    }
  }
  const route = registerConsoleRoute("/api/recorder", recorderRoute(a));
  const recording = registerConsoleRoute("/api/recording", recorderRoute(a));
  cleanup.push(
    () => route[Symbol.dispose](),
    () => recording[Symbol.dispose](),
  );
  return a;
}

function stop(): void {
  active?.recorder.uninstall();
  for (const fn of cleanup) fn();
  cleanup = [];
  active = undefined;
}

/**
 * @internal Turns the recorder on for `host` (starting it on the first), with the shutdown
 * triggers: `shutdown-stuck` when tasks still run 100 ms before the runtime's shutdown deadline,
 * `shutdown-unclean` when tasks still run at the end of the drop phase. The runtime disposes the
 * returned attachment in its drop phase; the last one stops the recorder.
 */
export function attachRecorder(host: RecorderHost, options: ResolvedRecorderOptions): ActiveRecorder {
  const a = (active ??= start(options));
  a.hosts.add(host);
  a.recorder.addRuntime(host, host.name ?? "unnamed");
  let stuckTimer: NodeJS.Timeout | undefined;
  let stuckDumped = false;
  const announced = host.stopping ?? host.token;
  if (a.options.triggers.shutdown && announced !== undefined) {
    announced.onCancel(() => {
      const deadline = host.options?.shutdownTimeoutMs ?? 10_000;
      stuckTimer = setTimeout(
        () => {
          const n = host.taskCount ?? 0;
          if (n === 0 || host.state === "closed" || host.state === "dropping") return;
          stuckDumped = true;
          void a.scheduler.request("shutdown-stuck", `${n} task(s) of runtime '${host.name ?? "unnamed"}' still running near the shutdown deadline`);
        },
        Math.max(0, deadline - 100),
      );
      stuckTimer.unref();
    });
  }
  host.defer(async () => {
    if (stuckTimer !== undefined) clearTimeout(stuckTimer);
    const n = host.taskCount ?? 0;
    if (a.options.triggers.shutdown && n > 0 && !stuckDumped) {
      await a.scheduler.request("shutdown-unclean", `${n} task(s) of runtime '${host.name ?? "unnamed"}' still running after shutdown`);
    }
    await a.scheduler.flush();
    a.hosts.delete(host);
    if (a.hosts.size === 0 && active === a) stop();
  }, "recorder");
  return a;
}
