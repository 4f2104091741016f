/** Runs supervisor fixtures in child processes and reads their stderr line by line, with arrival times. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Line {
  text: string;
  /** Arrival time in the test process (epoch ms). */
  t: number;
}

export interface Report {
  steward: "supervisor";
  event: "blocked" | "stack" | "unblocked" | "debugger-paused" | "note" | "summary";
  thread: "main" | number;
  episode?: number;
  startedAt?: number;
  inside?: { call: string; size?: number; sinceMs: number };
  repeat?: { of: number; count: number; firstSeen: number; lastSeen: number };
  sameStackAs?: number;
  text?: string;
  episodes?: number;
  blockedMs?: number;
  at?: number;
  writtenAt: number;
  stack?: { functionName: string; file: string; line: number; column: number; kind?: string; package?: string; count?: number }[];
  task?: { id: number; name?: string };
  requestId?: string;
  stackCapture?: string;
  stackNote?: string;
  native?: { state: string; syscall?: string; wchan?: string };
  starvedMs?: number;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Line[];
  stderr: string;
  durationMs: number;
  /** Index of the first line that starts with `MARK <name> `, or -1. */
  markIndex(name: string): number;
  /** The JSON payload of a MARK line, if any. */
  markData<T = unknown>(name: string): T | undefined;
  /** Every JSON report line, with its index among the lines. */
  reports(): (Report & { index: number })[];
}

export interface RunOptions {
  env?: Record<string, string>;
  execArgv?: string[];
  timeoutMs?: number;
  onLine?: (line: Line, child: ChildProcess) => void;
}

const fixture = fileURLToPath(new URL("./fixtures/blocker.js", import.meta.url));

export function runFixture(scenario: string, supOpts: object = {}, opts: RunOptions = {}): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [...(opts.execArgv ?? []), fixture], {
    env: { ...process.env, ...opts.env, STEWARD_FIXTURE: scenario, STEWARD_SUP_OPTS: JSON.stringify(supOpts) },
    stdio: ["pipe", "ignore", "pipe"],
  });
  const lines: Line[] = [];
  let stderr = "";
  let partial = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr += chunk;
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = { text: partial.slice(0, nl), t: Date.now() };
      partial = partial.slice(nl + 1);
      lines.push(line);
      opts.onLine?.(line, child);
    }
  });
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`fixture ${scenario} timed out after ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (partial !== "") lines.push({ text: partial, t: Date.now() });
      const markIndex = (name: string): number => lines.findIndex((l) => l.text.startsWith(`MARK ${name} `));
      resolve({
        code,
        signal,
        lines,
        stderr,
        durationMs: Date.now() - t0,
        markIndex,
        markData<T>(name: string): T | undefined {
          const l = lines[markIndex(name)];
          if (l === undefined) return undefined;
          const rest = l.text.split(" ").slice(3).join(" ");
          return rest === "" ? undefined : (JSON.parse(rest) as T);
        },
        reports() {
          const out: (Report & { index: number })[] = [];
          lines.forEach((l, index) => {
            if (l.text.startsWith('{"steward":"supervisor"')) out.push({ ...(JSON.parse(l.text) as Report), index });
          });
          return out;
        },
      });
    });
  });
}

/**
 * The report that carries the stack of the first block: the "blocked" record itself, or, when the
 * watchdog had to report before the stack arrived (a starved machine, a native call), the
 * "stack" record that follows it.
 */
export function stackReport(run: Run): (Report & { index: number }) | undefined {
  const b = run.reports().find((r) => r.event === "blocked");
  return b === undefined ? undefined : withStack(run, b);
}

/** The report that carries blocked report `b`'s stack: `b` itself, or the "stack" line that follows it when it was pending. */
export function withStack(run: Run, b: Report & { index: number }): (Report & { index: number }) | undefined {
  if (b.stackCapture !== "pending") return b;
  return run.reports().find((r) => r.event === "stack" && r.index > b.index && r.thread === b.thread && r.episode === b.episode);
}

/**
 * Blocked reports the code is to blame for: a report whose thread spent most of the stall
 * waiting for a CPU (a starved test machine) is the machine's, not the fixture's.
 */
export function codeBlocks(run: Run): (Report & { index: number })[] {
  return run.reports().filter((r) => r.event === "blocked" && !((r.starvedMs ?? 0) * 2 >= (r.blockedMs ?? 0)));
}

/** Blocked reports written between two MARK lines. */
export function blocksBetween(run: Run, from: string, to: string): (Report & { index: number })[] {
  const a = run.markIndex(from);
  const b = run.markIndex(to);
  const [ta, tb] = [markTime(run, from), markTime(run, to)];
  const reports = run.reports();
  return reports.filter((r) => {
    if (r.event !== "blocked" || r.index <= a || r.index >= b) return false;
    // A stall of a starved machine that ran up to the first mark can be reported after it: an
    // episode that began before the window and overlaps less than half of it is not this block.
    if (r.startedAt === undefined || !(r.startedAt < ta) || !Number.isFinite(tb)) return true;
    const end = reports.find((u) => u.event === "unblocked" && u.thread === r.thread && u.episode === r.episode)?.at ?? Infinity;
    return Math.min(end, tb) - ta >= (tb - ta) / 2;
  });
}

/** The time a MARK line carries (its third word), NaN when it has none. */
function markTime(run: Run, name: string): number {
  return Number(run.lines[run.markIndex(name)]!.text.split(" ")[2]);
}

/**
 * Blocked episodes whose span (startedAt to their "unblocked" report) overlaps the time between
 * two MARK lines. Unlike {@link blocksBetween} it keeps an episode that began before the first
 * mark: on a loaded machine a worker's own start-up (Node loading an internal module) can run
 * straight into the block, which is then one episode that started earlier.
 */
export function episodesOverlapping(run: Run, from: string, to: string): (Report & { index: number })[] {
  const a = markTime(run, from);
  const b = markTime(run, to);
  const reports = run.reports();
  return reports.filter((r) => {
    if (r.event !== "blocked" || r.startedAt === undefined) return false;
    const end = reports.find((u) => u.event === "unblocked" && u.thread === r.thread && u.episode === r.episode)?.at ?? Infinity;
    return r.startedAt < b && end > a;
  });
}

/** Blocked reports the code is to blame for outside the given [from, to] mark windows. */
export function strayBlocks(run: Run, ...windows: [string, string][]): (Report & { index: number })[] {
  return codeBlocks(run).filter((r) => !windows.some(([f, t]) => r.index > run.markIndex(f) && r.index < run.markIndex(t)));
}

/** The 1-based line of `marker` in a fixture's TypeScript source. */
export function sourceLine(fixtureName: string, marker: string): number {
  const src = readFileSync(new URL(`../../../test/supervisor/fixtures/${fixtureName}.ts`, import.meta.url), "utf8");
  const i = src.split("\n").findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`no ${marker} in ${fixtureName}.ts`);
  return i + 1;
}

/** A readable dump of a run for assertion messages. */
export function show(run: Run): string {
  return `exit ${run.code ?? run.signal}; stderr:\n${run.stderr}`;
}
