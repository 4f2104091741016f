/** runMain: a program's entry point on its own Runtime, with signal-driven graceful shutdown. */
import { schedule } from "../core/timer.js";
import { say } from "../core/log.js";
import { checkFunction, checkOptions, typeName } from "../util/validate.js";
import { ShutdownError } from "../errors.js";
import type { TaskContext } from "../task/join-handle.js";
import { describe, formatDump, formatReport, formatTaskGroups } from "./format.js";
import { Runtime, type RuntimeOptions } from "./runtime.js";
import { dumpWithAwaitSites } from "../diagnostics/index.js";

/** Options of {@link runMain}: the runtime's options, plus how the process is driven. */
export interface RunMainOptions extends RuntimeOptions {
  /**
   * Signals that start a graceful shutdown (a second one forces the exit).
   * @default ["SIGINT", "SIGTERM"]
   */
  signals?: NodeJS.Signals[];
  /**
   * Whether to end the process with `process.exit(code)` once done: a program's entry point
   * wants its exit code, and nothing left over (a stray handle) should keep a process alive after
   * its runtime shut down. With `false`, runMain only resolves with the code.
   * @default true
   */
  exit?: boolean;
  /**
   * The signal on which `dump()` is printed to stderr; `null` for none. (SIGUSR1 belongs to
   * Node's inspector.)
   * @default "SIGUSR2" (none on Windows)
   */
  dumpSignal?: NodeJS.Signals | null;
}

/**
 * Runs `main` as a task (named "main") of a new {@link Runtime}, holds the process open, and
 * shuts the runtime down — announce, drain, cancel, collect, drop — when main returns, when it
 * fails, on the first SIGINT/SIGTERM, or on an uncaught exception or unhandled rejection (reported
 * once, then the same orderly shutdown: the drop phase runs). A second signal prints the tasks
 * still running, grouped by spawn site, and exits at once. On `dumpSignal` (SIGUSR2) it prints
 * `dump()` to stderr. Its handlers are installed only while it runs and removed after.
 *
 * The process stays alive from the call until the shutdown has ended, even when nothing else
 * holds the event loop (main parked on `ctx.stopping.cancelled()`, a task stuck on a promise that
 * never settles): it never ends with Node's exit code 13.
 *
 * Resolves with the exit code (and, unless `exit: false`, ends the process with it):
 * 0 when main returned or a graceful shutdown finished clean; 1 when main failed, an uncaught
 * exception or unhandled rejection happened, an unobserved panic shut the runtime down
 * (`unhandledPanic: "shutdown"`), or the shutdown was not clean (work lost, a task stuck past the
 * deadline, a failed disposer or callback); 128 + n when a second signal n forced the exit.
 * What was not clean is printed to stderr, grouped (200 stuck requests are one line).
 *
 * ```ts
 * await runMain(async (ctx) => {
 *   const rt = currentRuntime();
 *   rt.defer(await openDb(), "db");                      // closed in the drop phase, last
 *   const [tx, rx] = channel<Job>(64);
 *   spawn(async () => { for await (const job of rx) await work(job); }, { name: "worker" });
 *   httpResource(http.createServer(app), { readinessPath: "/readyz" }).server.listen(8080);
 *   await ctx.stopping.cancelled();                      // SIGTERM: intake stops...
 *   tx.close();                                          // ...the worker drains the queue and ends
 * });
 * ```
 * @throws TypeError for a non-function `main` or malformed options (synchronously).
 */
export function runMain(main: (ctx: TaskContext) => unknown, opts?: RunMainOptions): Promise<number> {
  checkFunction(main, "main");
  checkOptions(opts, "opts");
  const { signals = ["SIGINT", "SIGTERM"], exit = true, dumpSignal = process.platform === "win32" ? null : "SIGUSR2", ...runtimeOpts } = opts ?? {};
  if (!Array.isArray(signals)) throw new TypeError(`opts.signals must be an array of signal names, got ${typeName(signals)}`);
  for (const s of signals) checkSignalName(s, "opts.signals");
  if (typeof exit !== "boolean") throw new TypeError(`opts.exit must be a boolean, got ${typeName(exit)}`);
  if (dumpSignal !== null) {
    checkSignalName(dumpSignal, "opts.dumpSignal");
    if (signals.includes(dumpSignal)) throw new TypeError(`opts.dumpSignal ${dumpSignal} is also in opts.signals`);
  }
  const rt = new Runtime({ name: "main", recorder: true, ...runtimeOpts });
  const label = `steward (${rt.name ?? "main"})`;

  return new Promise<number>((resolveCode) => {
    // A ref'd timer that never fires: the process lives until finish(), whatever else holds it.
    const hold = schedule(() => {}, Infinity);
    const installed: [string, (...args: unknown[]) => void][] = [];
    const listen = (event: string, fn: (...args: unknown[]) => void): void => {
      process.on(event, fn);
      installed.push([event, fn]);
    };
    let done = false;
    /** main failed, or an uncaught error happened: exit 1 whatever the report says. */
    let failed = false;
    /** Signals, uncaught errors: the shutdown's start is worth a line in the logs, and so is its end. */
    let eventful = false;
    let signalled = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      hold.cancel();
      for (const [event, fn] of installed) process.removeListener(event, fn);
      if (exit) process.exit(code);
      resolveCode(code);
    };
    // Never as the task that happens to run (an uncaught error's, a token cancelled in a task):
    // that task must still be drained and collected like any other.
    const startShutdown = (reason: unknown): void => {
      if (rt.state === "running") void rt.requestShutdown({ reason });
    };

    const onSignal = (sig: NodeJS.Signals): void => {
      if (done) return;
      if (!signalled) {
        signalled = true;
        eventful = true;
        const already = rt.state !== "running";
        say("info", { signal: sig, runtime: rt.name }, `${label}: ${sig} received, ${already ? "shutdown already under way" : "shutting down"} (send it again to exit at once)\n`);
        startShutdown(new ShutdownError(`received ${sig}`));
        return;
      }
      const tasks = rt.tasks();
      const lines = [`${label}: ${sig} received again, exiting at once (${rt.state}); ${tasks.length} task(s) still running`];
      lines.push(...formatTaskGroups(tasks));
      say("warn", { signal: sig, runtime: rt.name, tasks: tasks.length }, lines.join("\n") + "\n");
      finish(128 + (signalNumbers()[sig] ?? 0));
    };
    for (const sig of new Set(signals)) listen(sig, () => onSignal(sig));
    if (dumpSignal !== null) {
      listen(dumpSignal, () => {
        // With every waiting task's await site: probed in chunks, so the loop is never held long.
        dumpWithAwaitSites(rt).then(
          (dump) => say("info", { dump }, formatDump(dump, `${label}: dump (${rt.state})`, rt.formatExtensions(dump))),
          (e: unknown) => say("error", { err: e }, `${label}: dump failed: ${describe(e)}\n`),
        );
      });
    }
    // Uncaught errors: reported once here (the listener replaces Node's own report and exit),
    // then the same orderly shutdown as a signal's, with its deadlines and its drop phase.
    const onUncaught = (what: string, error: unknown): void => {
      if (done) return;
      failed = true;
      eventful = true;
      const next = rt.state === "running" ? "; shutting down" : "";
      say("error", { err: error, runtime: rt.name }, `${label}: ${what}${next}: ${describe(error)}\n`);
      startShutdown(error);
    };
    listen("uncaughtException", (error: unknown) => onUncaught("uncaught exception", error));
    listen("unhandledRejection", (reason: unknown) => onUncaught("unhandled rejection", reason));

    // However shutdown starts (main ended, a signal, an uncaught error, an unobserved panic,
    // `stopping` or the root token cancelled by hand), its report decides the exit code.
    rt.token.onCancel((reason) => startShutdown(reason));
    rt.stopping.onCancel(() => {
      queueMicrotask(() => {
        void rt.requestShutdown().then((report) => {
          if (!report.clean || eventful || report.drain.endedBy === "deadline") say(report.clean ? "info" : "warn", { report }, formatReport(report, label));
          finish(failed || rt.shutdownCause === "panic" || !report.clean ? 1 : 0);
        });
      });
    });

    const handle = rt.spawn(main, { name: "main" });
    void handle.result().then((r) => {
      // A main cancelled by the shutdown is no failure; one that threw is, even while draining.
      if (!r.ok && r.error.isPanic()) {
        failed = true;
        say("error", { err: r.error.cause, runtime: rt.name }, `${label}: main failed: ${describe(r.error.cause)}\n`);
      }
      startShutdown(new ShutdownError("main returned"));
    });
  });
}

function checkSignalName(s: unknown, name: string): void {
  if (typeof s !== "string" || !Object.hasOwn(signalNumbers(), s)) {
    throw new TypeError(`${name} must name signals such as "SIGTERM", got ${typeName(s)}`);
  }
}

/** Signal numbers by name. node:os is looked up, not imported: the package root's import would load it for a table only runMain reads. */
function signalNumbers(): Readonly<Record<string, number>> {
  return process.getBuiltinModule("node:os").constants.signals;
}
