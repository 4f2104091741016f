/**
 * What the request scopes cost per request: a hello route on bare Fastify 5, Express 5 and
 * node:http against the same app with steward's adapter (`fastifySteward`, `expressSteward`,
 * `handle`), and with the adapter plus a Limiter (`concurrency: 256, queue: 1024`).
 *
 * Two measurements, each comparing variants of the same app in alternating rounds, reported as
 * the median of per-round ratios:
 *
 * 1. In-process, through the framework's own injection (Fastify's `app.inject`, light-my-request
 *    for Express and node:http — the whole request path of the framework and the adapter, no
 *    sockets): each variant in a fresh child process, ns per request, CPU-bound. This is the
 *    steady measure on a shared machine: the network stack and the load generator are out of it.
 *
 * 2. Over real HTTP. Each server runs in a child process of its own; autocannon (32 connections) drives them from
 * this process, one at a time, in alternating rounds (bare first in even rounds, last in odd
 * ones), so drift on this shared machine hits both sides of a pair alike. Each pair gives a ratio
 * in the same round; the report shows the median of those ratios. Two measures per round:
 *  - the server's CPU time per request (user + system, read from the server process itself) at a
 *    fixed rate that every variant sustains: what the adapter costs the server, robust to the
 *    other processes on this shared machine; at saturation req/s is its inverse;
 *  - req/s at full load (as fast as autocannon, on the same two cores, drives it): the direct
 *    measure, and the noisier one.
 *
 * The "bare" servers are measured twice: in a fresh process, and in one where a steward task has
 * run first, so steward's AsyncLocalStorage is active (on Node 20/22 its promise hooks then tax
 * every await in the process — a cost an app using steward anywhere pays with or without the
 * adapter). The first comparison is what adopting the adapter costs a service that used no
 * steward; the second is what the adapter itself adds.
 */
import { type ChildProcess, execFileSync, spawn as spawnChild } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type BenchContext, log, median, type Section } from "./harness.js";
import type { Server } from "node:http";

type Framework = "fastify" | "express" | "http";
type Variant = "bare" | "bare+als" | "steward" | "steward+limiter";
const FRAMEWORKS: Framework[] = ["fastify", "express", "http"];
/** The fixed rate of the CPU measure (req/s): low enough for every variant on a loaded 2-core machine. */
const RATE = 1000;
const VARIANTS: Variant[] = ["bare", "bare+als", "steward", "steward+limiter"];

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

// ---------------------------------------------------------------------------------------------
// The child: one server.

async function childServer(framework: Framework, variant: Variant): Promise<void> {
  const steward = variant === "steward" || variant === "steward+limiter";
  const limits = variant === "steward+limiter" ? { concurrency: 256, queue: 1024 } : {};
  if (variant === "bare+als") {
    const { spawn } = await import("../src/index.js");
    await spawn(() => {});
  }
  let port: number;
  if (framework === "fastify") {
    const { default: Fastify } = await import("fastify");
    const app = Fastify();
    if (steward) {
      const { fastifySteward } = await import("../src/http/fastify.js");
      await app.register(fastifySteward, { ...limits, drain: false });
    }
    app.get("/hello", async () => "hello");
    instrument(app.server);
    await app.listen({ port: 0, host: "127.0.0.1" });
    port = (app.server.address() as { port: number }).port;
  } else if (framework === "express") {
    const { default: express } = await import("express");
    const app = express();
    app.set("etag", false);
    if (steward) {
      const { expressSteward } = await import("../src/http/express.js");
      app.use(expressSteward({ ...limits, drain: false }));
    }
    app.get("/hello", (_req, res) => void res.send("hello"));
    const server = app.listen(0, "127.0.0.1");
    instrument(server);
    await new Promise<void>((r) => server.once("listening", r));
    port = (server.address() as { port: number }).port;
  } else {
    const hello = (_req: unknown, res: { end(s: string): void }): void => res.end("hello");
    let listener: Parameters<typeof createServer>[1] = hello as never;
    if (steward) {
      const { handle } = await import("../src/http/handle.js");
      listener = handle(hello as never, { ...limits, drain: false }) as never;
    }
    const server = createServer(listener);
    instrument(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  }
  process.stdout.write(`${port}\n`);
}

/** Counts requests on the server and answers GET /__cpu with the process's CPU time so far. */
function instrument(server: Server): void {
  let served = 0;
  const emit = server.emit.bind(server);
  server.emit = ((event: string, ...args: unknown[]) => {
    if (event === "request") {
      const [req, res] = args as [{ url?: string }, { end(s: string): void }];
      if (req.url === "/__cpu") {
        const u = process.cpuUsage();
        res.end(JSON.stringify({ cpuUs: u.user + u.system, served }));
        return true;
      }
      served++;
    }
    return emit(event, ...args);
  }) as typeof server.emit;
}

/** Builds the variant's request dispatcher and measures ns per injected request; prints it. */
async function childInject(framework: Framework, variant: Variant, n: number): Promise<void> {
  const steward = variant === "steward" || variant === "steward+limiter";
  const limits = variant === "steward+limiter" ? { concurrency: 256, queue: 1024 } : {};
  if (variant === "bare+als") {
    const { spawn } = await import("../src/index.js");
    await spawn(() => {});
  }
  const { default: inject } = await import("light-my-request");
  let one: () => Promise<unknown>;
  if (framework === "fastify") {
    const { default: Fastify } = await import("fastify");
    const app = Fastify();
    if (steward) {
      const { fastifySteward } = await import("../src/http/fastify.js");
      await app.register(fastifySteward, { ...limits, drain: false });
    }
    app.get("/hello", async () => "hello");
    await app.ready();
    one = () => app.inject({ method: "GET", url: "/hello" });
  } else if (framework === "express") {
    const { default: express } = await import("express");
    const app = express();
    app.set("etag", false);
    if (steward) {
      const { expressSteward } = await import("../src/http/express.js");
      app.use(expressSteward({ ...limits, drain: false }));
    }
    app.get("/hello", (_req, res) => void res.send("hello"));
    one = () => inject(app as never, { method: "GET", url: "/hello" });
  } else {
    const hello = (_req: unknown, res: { end(s: string): void }): void => res.end("hello");
    let dispatch = hello as never as Parameters<typeof inject>[0];
    if (steward) {
      const { handle } = await import("../src/http/handle.js");
      dispatch = handle(hello as never, { ...limits, drain: false }) as never;
    }
    one = () => inject(dispatch, { method: "GET", url: "/hello" });
  }
  for (let i = 0; i < Math.min(5000, n); i++) await one();
  const samples: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await one();
    samples.push(Number(process.hrtime.bigint() - t0) / n);
  }
  process.stdout.write(`${median(samples)}\n`);
}

function runInject(framework: Framework, variant: Variant, n: number): number {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child-inject", framework, variant, String(n)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 300_000,
  });
  return Number(out.trim().split("\n").pop());
}

// ---------------------------------------------------------------------------------------------
// The driver.

interface Child {
  proc: ChildProcess;
  port: number;
}

async function start(framework: Framework, variant: Variant): Promise<Child> {
  const proc = spawnChild(process.execPath, [fileURLToPath(import.meta.url), "--child-server", framework, variant], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(Number(buf.slice(0, i)));
    });
    proc.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { proc, port };
}

async function load(port: number, seconds: number, rate?: number): Promise<AutocannonResult> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/hello`, connections: 32, duration: seconds, ...(rate === undefined ? {} : { overallRate: rate }) });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
  return r;
}

async function cpu(port: number): Promise<{ cpuUs: number; served: number }> {
  const r = await fetch(`http://127.0.0.1:${port}/__cpu`);
  return (await r.json()) as { cpuUs: number; served: number };
}

/** Server CPU µs per request over `seconds` at a fixed `rate`. */
async function cpuPerRequest(port: number, seconds: number, rate: number): Promise<number> {
  const a = await cpu(port);
  await load(port, seconds, rate);
  const b = await cpu(port);
  return (b.cpuUs - a.cpuUs) / Math.max(1, b.served - a.served);
}

function pct(ratio: number): string {
  const v = (1 - ratio) * 100;
  return `${v >= 0 ? "" : "−"}${Math.abs(v).toFixed(1)} %`;
}

export default async function httpAdaptersBench(ctx: BenchContext): Promise<Section> {
  const seconds = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 2 : 6;
  const injectRounds = ctx.quick ? 3 : 7;
  const injectN = ctx.quick ? 5_000 : 20_000;
  const injectRows: string[] = [];
  const injectSummary: string[] = [];
  for (const fw of FRAMEWORKS) {
    log(`http-adapters: ${fw}, injected requests`);
    const ns = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
    for (let r = 0; r < injectRounds; r++) {
      for (const v of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) ns.get(v)!.push(runInject(fw, v, injectN));
      log(`  round ${r + 1}: ${VARIANTS.map((v) => `${v} ${Math.round(ns.get(v)!.at(-1)!)} ns`).join(", ")}`);
    }
    // As a throughput ratio: base ns ÷ variant ns (1 = free).
    const ratio = (v: Variant, base: Variant): number => median(ns.get(v)!.map((x, i) => ns.get(base)![i]! / x));
    const cell = (v: Variant, base: Variant): string => (v === base || (base === "bare+als" && v === "bare") ? "—" : pct(ratio(v, base)));
    for (const v of VARIANTS) injectRows.push(`| ${fw} | ${v} | ${Math.round(median(ns.get(v)!))} | ${cell(v, "bare")} | ${cell(v, "bare+als")} |`);
    injectSummary.push(
      `${fw}: the adapter costs ${pct(ratio("steward", "bare"))} of throughput against the bare framework in a fresh process, ${pct(ratio("steward", "bare+als"))} against it once steward's context is active; with a Limiter, ${pct(ratio("steward+limiter", "bare"))} / ${pct(ratio("steward+limiter", "bare+als"))}`,
    );
  }
  const rows: string[] = [];
  const summary: string[] = [];
  for (const fw of FRAMEWORKS) {
    log(`http-adapters: ${fw}`);
    const children = new Map<Variant, Child>();
    try {
      for (const v of VARIANTS) children.set(v, await start(fw, v));
      for (const v of VARIANTS) await load(children.get(v)!.port, 1); // warm-up (JIT, connections)
      const rps = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
      const cpuUs = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
        for (const v of order) cpuUs.get(v)!.push(await cpuPerRequest(children.get(v)!.port, seconds, RATE));
        for (const v of order) rps.get(v)!.push((await load(children.get(v)!.port, seconds)).requests.average);
        log(`  round ${r + 1}: ${VARIANTS.map((v) => `${v} ${cpuUs.get(v)!.at(-1)!.toFixed(1)} µs CPU, ${Math.round(rps.get(v)!.at(-1)!)} req/s`).join("; ")}`);
      }
      // Throughput equivalent of the CPU measure: bare CPU ÷ variant CPU (1 = free).
      const cpuRatio = (v: Variant, base: Variant): number => median(cpuUs.get(v)!.map((x, i) => cpuUs.get(base)![i]! / x));
      const rpsRatio = (v: Variant, base: Variant): number => median(rps.get(v)!.map((x, i) => x / rps.get(base)![i]!));
      const cell = (f: (v: Variant, b: Variant) => number, v: Variant, base: Variant): string => (v === base || (base === "bare+als" && v === "bare") ? "—" : pct(f(v, base)));
      for (const v of VARIANTS) {
        rows.push(
          `| ${fw} | ${v} | ${median(cpuUs.get(v)!).toFixed(1)} | ${cell(cpuRatio, v, "bare")} | ${cell(cpuRatio, v, "bare+als")} | ${Math.round(median(rps.get(v)!))} | ${cell(rpsRatio, v, "bare")} | ${cell(rpsRatio, v, "bare+als")} |`,
        );
      }
      summary.push(
        `${fw}: the adapter costs ${pct(cpuRatio("steward", "bare"))} by server CPU per request (${pct(rpsRatio("steward", "bare"))} by req/s at full load) against the bare framework; ` +
          `${pct(cpuRatio("steward", "bare+als"))} (${pct(rpsRatio("steward", "bare+als"))}) against it with steward's context active; with a Limiter ${pct(cpuRatio("steward+limiter", "bare"))} (${pct(rpsRatio("steward+limiter", "bare"))})`,
      );
    } finally {
      for (const c of children.values()) c.proc.kill();
    }
  }
  const lines = [
    `Hello route (\`GET /hello\` → "hello"). **Injected** (the framework's own request injection: its whole request path and the adapter's, no sockets), each variant in a fresh child process, ${injectN.toLocaleString("en")} requests × 3 per measurement (median), ${injectRounds} alternating rounds; the cost is 1 − (bare ns ÷ variant ns), the median of the per-round ratios. Node ${process.version}.`,
    "",
    "| framework | variant | ns/request | cost vs bare | cost vs bare+als |",
    "| --- | --- | ---: | ---: | ---: |",
    ...injectRows,
    "",
    ...injectSummary.map((x) => `- ${x}.`),
    "",
    `**Over HTTP**: hello route (\`GET /hello\` → "hello") (\`GET /hello\` → "hello"), each server in its own child process on 127.0.0.1, autocannon with 32 connections from the bench process, ${seconds} s per measurement, ${rounds} alternating rounds; figures are medians over the rounds, costs are medians of the per-round ratios. Server CPU is measured at a fixed ${RATE} req/s (every variant sustains it; the CPU time is the server process's own, so other load on this shared machine does not count); req/s at full load, where the load generator shares the two cores with the server. Node ${process.version}.`,
    "",
    "| framework | variant | server CPU µs/req | cost vs bare | cost vs bare+als | req/s (full load) | cost vs bare | cost vs bare+als |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    ...summary.map((s) => `- ${s}.`),
    "",
    "Variants: `bare` — the framework alone, in a fresh process; `bare+als` — the same after one steward task has run in the process (its AsyncLocalStorage is then active); `steward` — with the adapter (each request a named task with its scope); `steward+limiter` — plus `concurrency: 256, queue: 1024` (never reached here: the cost of admission itself).",
    "",
    "Goal (issue 14): the adapter costs ≤ 5 % req/s on a hello route.",
  ];
  return { title: "HTTP request scopes: adapter cost per request (issue 14)", markdown: lines.join("\n") };
}

const childIdx = process.argv.indexOf("--child-server");
if (childIdx >= 0) await childServer(process.argv[childIdx + 1] as Framework, process.argv[childIdx + 2] as Variant);
const injectIdx = process.argv.indexOf("--child-inject");
if (injectIdx >= 0) await childInject(process.argv[injectIdx + 1] as Framework, process.argv[injectIdx + 2] as Variant, Number(process.argv[injectIdx + 3]));
