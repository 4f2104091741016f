/**
 * Benchmark harness: every comparison is measured in the same process run, interleaved over
 * several rounds, and reported as ns/op with the median round, plus ratios against a baseline.
 */
import os from "node:os";

export interface BenchContext {
  /** `npm run bench -- --quick`: fewer iterations, the whole run under a minute. */
  quick: boolean;
}

/** One section of BENCHMARKS.md, produced by one bench module. */
export interface Section {
  title: string;
  markdown: string;
}

export interface Case {
  name: string;
  /** Runs `n` operations; the harness divides the elapsed time by n. */
  run(n: number): Promise<void> | void;
}

export interface Result {
  name: string;
  nsPerOp: number;
}

/**
 * Measures every case for `rounds` rounds, interleaving the cases so that drift (GC, thermal,
 * the other core's load) hits all of them alike; each case's figure is its median round.
 */
export async function compare(cases: Case[], opts: { n: number; rounds?: number; warmup?: number }): Promise<Result[]> {
  const rounds = opts.rounds ?? 7;
  const warm = opts.warmup ?? Math.max(1, Math.floor(opts.n / 5));
  for (const c of cases) await c.run(warm);
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const t0 = process.hrtime.bigint();
      await c.run(opts.n);
      const dt = Number(process.hrtime.bigint() - t0);
      samples[i]!.push(dt / opts.n);
    }
  }
  return cases.map((c, i) => ({ name: c.name, nsPerOp: median(samples[i]!) }));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** A markdown table of results with a ratio column against `baseline` (a case name). */
export function ratioTable(results: Result[], baseline: string, ratioLabel = `× ${baseline}`): string {
  const base = results.find((r) => r.name === baseline);
  if (base === undefined) throw new Error(`no baseline ${baseline}`);
  const lines = [`| case | ns/op | ${ratioLabel} |`, "| --- | ---: | ---: |"];
  for (const r of results) lines.push(`| ${r.name} | ${fmt(r.nsPerOp)} | ${(r.nsPerOp / base.nsPerOp).toFixed(2)} |`);
  return lines.join("\n");
}

export function fmt(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Prints progress to stderr so stdout stays a clean report. */
export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}
