/** runMain: a program's entry point on its own Runtime, with signal-driven graceful shutdown. */
import { constants } from "node:os";
import { checkFunction, checkOptions, typeName } from "../core/validate.js";
import { ShutdownError } from "../errors.js";
import type { TaskContext } from "../task/join-handle.js";
import { describe, formatDump, formatTask, formatUnclean } from "./format.js";
import { Runtime, type RuntimeOptions } from "./runtime.js";

/** Options of {@link runMain}: the runtime's options, plus how the process is driven. */
export interface RunMainOptions extends RuntimeOptions {
  /** Signals that start a graceful shutdown (a second one forces the exit). Default `["SIGINT", "SIGTERM"]`. */
  signals?: NodeJS.Signals[];
  /**
   * Whether to end the process with `process.exit(code)` once done. Default `true`: a program's
   * entry point wants its exit code, and nothing left over (a stray handle) should keep a
   * process alive after its runtime shut down. With `false`, runMain only resolves with the code.
   */
  exit?: boolean;
  /**
   * The signal on which `dump()` is printed to stderr. Default `"SIGUSR2"` (none on Windows);
   * `null` for none. (SIGUSR1 belongs to Node's inspector.)
   */
  dumpSignal?: NodeJS.Signals | null;
}

const write = (s: string): void => void process.stderr.write(s);

/**
 * Runs `main` as a task (named "main") of a new {@link Runtime} and shuts the runtime down
 * (stop, collect, drop) when main returns, when it fails, or on the first SIGINT/SIGTERM.
 * A second signal while shutdown runs prints the tasks still running to stderr and exits at once.
 * On `dumpSignal` (SIGUSR2) it prints `dump()` to stderr. The signal handlers are installed only
 * while runMain runs and removed after.
 *
 * Resolves with the exit code (and, unless `exit: false`, ends the process with it):
 * 0 when main returned or a signal's graceful shutdown finished clean; 1 when main failed, an
 * unobserved panic shut the runtime down (`unhandledPanic: "shutdown"`) or the shutdown was not
 * clean (a task stuck past the deadline, a failed disposer); 128 + n when a second signal n
 * forced the exit.
 *
 * ```ts
 * await runMain(async (ctx) => {
 *   const rt = currentRuntime();
 *   rt.defer(await openDb(), "db");
 *   httpResource(http.createServer(app), { preStopDelayMs: 5_000 }).server.listen(8080);
 *   await ctx.token.cancelled();          // until SIGTERM
 * }, { shutdownTimeoutMs: 30_000 });
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
    const installed: [string, () => void][] = [];
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      for (const [sig, fn] of installed) process.removeListener(sig, fn);
      if (exit) process.exit(code);
      resolveCode(code);
    };

    const onSignal = (sig: NodeJS.Signals): void => {
      if (done) return;
      if (rt.state === "running") {
        write(`${label}: ${sig} received, shutting down (send it again to exit at once)\n`);
        void rt.shutdown({ reason: new ShutdownError(`received ${sig}`) });
        return;
      }
      const tasks = rt.dump().tasks;
      const lines = [`${label}: ${sig} received again, exiting at once; ${tasks.length} task(s) still running`];
      for (const t of tasks) lines.push(`  ${formatTask(t)}`);
      write(lines.join("\n") + "\n");
      finish(128 + (constants.signals[sig] ?? 0));
    };
    for (const sig of new Set(signals)) {
      const fn = (): void => onSignal(sig);
      process.on(sig, fn);
      installed.push([sig, fn]);
    }
    if (dumpSignal !== null) {
      const fn = (): void => {
        const dump = rt.dump();
        write(formatDump(dump, `${label}: dump (${rt.state})`, rt.formatExtensions(dump)));
      };
      process.on(dumpSignal, fn);
      installed.push([dumpSignal, fn]);
    }

    let mainFailed = false;
    // However shutdown starts (main ended, a signal, an unobserved panic, the root token
    // cancelled by hand), its report decides the exit code.
    rt.token.onCancel(() => {
      queueMicrotask(() => {
        void rt.shutdown().then((report) => {
          if (!report.clean) write(formatUnclean(report, label));
          finish(mainFailed || rt.shutdownCause === "panic" || !report.clean ? 1 : 0);
        });
      });
    });

    const handle = rt.spawn(main, { name: "main" });
    void handle.result().then((r) => {
      if (!r.ok && rt.state === "running") {
        mainFailed = true;
        write(`${label}: main failed: ${describe(r.error.cause)}\n`);
      }
      void rt.shutdown();
    });
  });
}

function checkSignalName(s: unknown, name: string): void {
  if (typeof s !== "string" || !Object.hasOwn(constants.signals, s)) {
    throw new TypeError(`${name} must name signals such as "SIGTERM", got ${typeName(s)}`);
  }
}
