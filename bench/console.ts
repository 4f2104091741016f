/**
 * The live console's cost (issue 7): spawn+join and awaits inside a task with the console off and
 * on, and an HTTP server under load (autocannon) whose handler is a steward task, with the
 * console off, on, and on with a browser-like client watching the event stream. The server runs
 * in a child process (this file with --child-server), so its numbers are not the load
 * generator's; the watcher runs in a third one.
 *
 * "Off" is the default build with the hooks compiled in but not installed: the cost of the
 * hook sites themselves (one null check each) is measured against a build without them in the
 * issue notes, since it cannot be toggled in one process.
 */
import { type ChildProcess, spawn as spawnChild } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Agent, createServer, get as httpGet, request as httpRequest, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Runtime, Semaphore } from "../src/index.js";
import { consoleOf } from "../src/console/index.js";
import { type BenchContext, type Case, compare, fmt, log, median, type Section } from "./harness.js";

async function asyncFn(i: number): Promise<number> {
  return i;
}

// ---------------------------------------------------------------------------------------------
// Micro: each run makes its runtime (console off or on, no server) and shuts it down, so the
// promise hooks exist only during the "on" runs.

function microCases(): Case[] {
  const run = (console: boolean, body: (rt: Runtime, n: number) => Promise<void>) => async (n: number) => {
    const rt = new Runtime({ console: console ? { server: false } : false });
    await body(rt, n);
    await rt.shutdown();
  };
  const spawnJoin = async (rt: Runtime, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await rt.spawn(() => asyncFn(i));
  };
  const awaits = async (rt: Runtime, n: number): Promise<void> => {
    await rt.spawn(async () => {
      for (let i = 0; i < n; i++) await asyncFn(i);
    });
  };
  return [
    { name: "spawn+join, console off", run: run(false, spawnJoin) },
    { name: "spawn+join, console on", run: run(true, spawnJoin) },
    { name: "await in a task, console off", run: run(false, awaits) },
    { name: "await in a task, console on", run: run(true, awaits) },
  ];
}

// ---------------------------------------------------------------------------------------------
// HTTP: the child server

type Mode = "off" | "on" | "watched" | "burst";

/** Requests per second of the fixed-load rounds: well below what this machine saturates at. */
const RATE = 5000;

async function childServer(mode: Mode, busyMs = 10): Promise<void> {
  // Completed tasks are retained by count, not for `retainMs` of wall time: under valgrind, or on a
  // loaded machine, a run lasts longer and a time window would keep (and mark) more of them per
  // request, so the cost per request would depend on the machine's speed. At 5,000 req/s the count
  // (the default 500) is what binds anyway.
  const consoleOpts = { port: 0, intervalMs: mode === "burst" ? 100 : 1000, retainMs: 3_600_000, maxRetained: 500 };
  const rt = new Runtime({ name: "bench", console: mode === "off" ? false : consoleOpts });
  if (mode === "burst") {
    // 2,000 tasks: half idle, half busy (each resumes every `busyMs`: 10 ms keeps the loop about
    // half busy; 0: all 2,000 idle, for instruction counts that do not depend on how long a run lasts),
    // for the snapshot and stream figures.
    for (let i = 0; i < (busyMs === 0 ? 2000 : 1000); i++) rt.spawn(() => new Promise((r) => setTimeout(r, 600_000)));
    for (let i = 0; i < (busyMs === 0 ? 0 : 1000); i++) {
      rt.spawn(async () => {
        await new Promise((r) => setTimeout(r, (i * busyMs) / 1000));
        for (;;) await new Promise((r) => setTimeout(r, busyMs));
      });
    }
  }
  const sem = new Semaphore(64, { name: "db" });
  const io = (): Promise<void> => new Promise((r) => setImmediate(r));
  const lookup = async (id: number): Promise<{ id: number; name: string }> => {
    await io();
    return { id, name: `user${id}` };
  };
  let served = 0;
  // The console server's request handlers (every server but the bench's own, below): their
  // longest synchronous run and their sum, so a burst's cost is read apart from the machine's
  // scheduling noise (a descheduled process shows as a long turn too).
  const handlers = { maxMs: 0, totalMs: 0 };
  let own: Server | undefined;
  const emit = Server.prototype.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== "request" || this === own) return emit.apply(this, [event, ...args]);
    const t0 = performance.now();
    try {
      return emit.apply(this, [event, ...args]);
    } finally {
      const d = performance.now() - t0;
      handlers.totalMs += d;
      if (d > handlers.maxMs) handlers.maxMs = d;
    }
  } as typeof Server.prototype.emit;
  // The longest loop turn since the last /__stats (1 ms resolution): what a burst does to the app's latency.
  // Only for the burst figures: at 1 ms resolution it wakes the loop 1,000 times a second, a cost
  // per second of wall time that would land on the requests of a valgrind count (a run under
  // valgrind lasts as long as the machine's load makes it).
  const turns = monitorEventLoopDelay({ resolution: 1 });
  if (mode === "burst") turns.enable();
  const server = (own = createServer((req, res) => {
    if (req.url === "/__exit") process.exit(0); // the instruction count's end (see instructions())
    if (req.url === "/__stats") {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      (globalThis as { gc?: () => void }).gc?.();
      const maxTurnMs = turns.max / 1e6;
      turns.reset();
      const maxSliceMs = mode === "off" ? 0 : (consoleOf(rt)!.server?.cachedSnapshot?.maxSliceMs ?? 0);
      const builds = mode === "off" ? 0 : (consoleOf(rt)!.server?.snapshotBuilds ?? 0);
      const body = {
        cpuUs: cpu.user + cpu.system,
        served,
        activeMs: elu.active,
        heap: process.memoryUsage().heapUsed,
        maxTurnMs,
        maxSliceMs,
        builds,
        mainCpuMs: mainThreadCpuMs(),
        handlerMaxMs: handlers.maxMs,
        handlerMs: handlers.totalMs,
      };
      handlers.maxMs = 0;
      res.end(JSON.stringify(body));
      return;
    }
    served++;
    rt.spawn(async () => {
      const permit = await sem.acquire();
      try {
        const id = Number(req.url?.slice(1)) || 1;
        const user = await lookup(id);
        const orders = await Promise.all([lookup(id + 1), lookup(id + 2)]);
        const body = JSON.stringify({ user, orders, at: Date.now() });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
      } finally {
        permit.release();
      }
    });
  }));
  server.listen(0, "127.0.0.1", () => {
    void (async () => {
      const url = mode === "off" ? "" : await consoleOf(rt)!.listening();
      process.stdout.write(`READY ${(server.address() as AddressInfo).port} ${url}\n`);
    })();
  });
}

/** CPU time of this process's main thread (the event loop's), in ms: Linux's schedstat; NaN elsewhere. */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

interface HttpResult {
  rps: number;
  p50: number;
  p99: number;
  /** The server's CPU time (user + system) per request, in µs: what the console costs it, whatever the load generator manages. */
  cpuUs: number;
}

interface ServerStats {
  cpuUs: number;
  served: number;
  activeMs: number;
  heap: number;
  /** The longest loop turn since the previous call (ms). */
  maxTurnMs: number;
  /** The longest slice of the latest shared snapshot build (ms). */
  maxSliceMs: number;
  /** Snapshots the console server built (since start). */
  builds: number;
  /** The main thread's CPU time (ms, since start). */
  mainCpuMs: number;
  /** The console server's request handlers since the previous call: the longest synchronous run, and all of them (ms). */
  handlerMaxMs: number;
  handlerMs: number;
}

async function stats(port: number): Promise<ServerStats> {
  const r = await fetch(`http://127.0.0.1:${port}/__stats`);
  return (await r.json()) as ServerStats;
}

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function startChild(mode: Mode): Promise<{ child: ChildProcess; port: number; consoleUrl: string }> {
  const child = spawnChild(process.execPath, [fileURLToPath(import.meta.url), "--child-server", mode], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const [, port, consoleUrl] = line.split(" ");
  return { child, port: Number(port), consoleUrl: consoleUrl ?? "" };
}

/**
 * Reads the console's event stream like a browser tab would, in a process of its own (in this
 * one it would slow the load generator, which then shows up as server CPU per request).
 */
function watch(url: string): ChildProcess {
  const code = `fetch(${JSON.stringify(`${url}api/events`)}).then(async (r) => { for await (const _ of r.body); }).catch(() => {});`;
  return spawnChild(process.execPath, ["-e", code], { stdio: "ignore" });
}

/**
 * One server, one mode: a warm-up, then `seconds` of load. With `rate` the load is fixed (the
 * same for every mode, below saturation), so CPU per request compares like with like; without,
 * autocannon goes as fast as the machine lets it.
 */
async function httpRound(mode: Mode, seconds: number, rate?: number): Promise<HttpResult> {
  const { child, port, consoleUrl } = await startChild(mode);
  const watcher = mode === "watched" ? watch(consoleUrl) : undefined;
  const load = { url: `http://127.0.0.1:${port}/7`, connections: 32, ...(rate === undefined ? {} : { overallRate: rate }) };
  try {
    await autocannon({ ...load, duration: 1 });
    const s0 = await stats(port);
    const r = await autocannon({ ...load, duration: seconds });
    const s1 = await stats(port);
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUs: (s1.cpuUs - s0.cpuUs) / Math.max(1, s1.served - s0.served) };
  } finally {
    watcher?.kill();
    child.kill();
  }
}

/** `n` GETs of `url`, `conc` at a time on keep-alive connections. */
async function drive(url: string, n: number, conc: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: conc });
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next++ < n) await one();
    }),
  );
  agent.destroy();
}

/**
 * Instructions the server process executes for `n` requests (valgrind's cachegrind, no cache
 * simulation: the count does not depend on the machine's load). The server runs under valgrind
 * (\`node --single-threaded\`, so V8's background threads do not make the count depend on
 * scheduling); the load comes from this process, 8 requests at a time, then GET /__exit.
 * Per request: the difference between two `n`.
 */
async function instructions(mode: "off" | "on", n: number): Promise<number> {
  const out = `${tmpdir()}/steward-console-cg-${process.pid}.out`;
  const child = spawnChild(
    "valgrind",
    ["--tool=cachegrind", "--cache-sim=no", `--cachegrind-out-file=${out}`, process.execPath, "--single-threaded", fileURLToPath(import.meta.url), "--child-server", mode],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+)/.exec(buf);
      if (m !== null) resolve(m[1]!);
    });
    child.once("exit", () => reject(new Error(`valgrind: ${err.slice(-500)}`)));
  });
  await drive(`http://127.0.0.1:${port}/7`, n, 8);
  await fetchRaw(`http://127.0.0.1:${port}/__exit`, {}).catch(() => 0);
  await exited;
  rmSync(out, { force: true });
  const m = /I\s+refs:\s+([\d,]+)/.exec(err);
  if (m === null) throw new Error(`valgrind gave no count: ${err.slice(-500)}`);
  return Number(m[1]!.replaceAll(",", ""));
}

/**
 * Instructions the app executes for one burst of 100 concurrent GET /api/snapshot against its
 * 2,000 tasks (all idle here, so nothing but the burst depends on how long a run lasts), under
 * valgrind like {@link instructions}: the difference between runs with 3 and 1 bursts, halved.
 * Returns instructions per burst and the bytes each response carried.
 */
export async function burstInstructions(gzip: boolean): Promise<{ instr: number; bytes: number }> {
  const run = async (bursts: number): Promise<{ instr: number; bytes: number }> => {
    const out = `${tmpdir()}/steward-console-burst-cg-${process.pid}.out`;
    const child = spawnChild(
      "valgrind",
      ["--tool=cachegrind", "--cache-sim=no", `--cachegrind-out-file=${out}`, process.execPath, "--single-threaded", fileURLToPath(import.meta.url), "--child-server", "burst", "0"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const [port, url] = await new Promise<[string, string]>((resolve, reject) => {
      let buf = "";
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const m = /READY (\d+) (\S+)/.exec(buf);
        if (m !== null) resolve([m[1]!, m[2]!]);
      });
      child.once("exit", () => reject(new Error(`valgrind: ${err.slice(-500)}`)));
    });
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      // The same pauses in every run (the loop sampler's ticks go on meanwhile); a burst or not.
      await new Promise((r) => setTimeout(r, 2000));
      if (i < bursts) bytes = (await Promise.all(Array.from({ length: 100 }, () => fetchRaw(`${url}api/snapshot`, gzip ? { "accept-encoding": "gzip" } : {}))))[0]!;
    }
    await fetchRaw(`http://127.0.0.1:${port}/__exit`, {}).catch(() => 0);
    await exited;
    rmSync(out, { force: true });
    const m = /I\s+refs:\s+([\d,]+)/.exec(err);
    if (m === null) throw new Error(`valgrind gave no count: ${err.slice(-500)}`);
    return { instr: Number(m[1]!.replaceAll(",", "")), bytes };
  };
  const one = await run(1);
  const three = await run(3);
  return { instr: (three.instr - one.instr) / 2, bytes: three.bytes };
}

/** One GET with the headers given; resolves when the body is read. */
function fetchRaw(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers, agent: false }, (res) => {
      let n = 0;
      res.on("data", (d: Buffer) => (n += d.length));
      res.on("end", () => resolve(n));
    });
    req.on("error", reject);
  });
}

interface BurstResult {
  /** Loop time the burst cost the app (its active time over the burst, minus a quiet period's). */
  loopMs: number;
  bytes: number;
  /** The app's longest loop turn during the burst, and during the quiet second before it (ms). */
  maxTurnMs: number;
  quietMaxTurnMs: number;
  /** The longest slice of the snapshot build (ms). */
  maxSliceMs: number;
  /** Snapshots built for the burst. */
  builds: number;
  /** The app's main-thread CPU time over the burst, minus a quiet period's (ms). */
  cpuMs: number;
  /** The longest synchronous run of a console request handler, and their sum, during the burst (ms). */
  handlerMaxMs: number;
  handlerMs: number;
}

/** 100 concurrent GET /api/snapshot against an app with 2,000 tasks, 1,000 of them resuming every `busyMs`. */
export async function snapshotBurst(gzip: boolean, busyMs = 10): Promise<BurstResult> {
  const child = spawnChild(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child-server", "burst", String(busyMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const [, port, consoleUrl] = line.split(" ");
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const q0 = await stats(Number(port));
    await new Promise((r) => setTimeout(r, 1000));
    const q1 = await stats(Number(port));
    const quietRate = (q1.activeMs - q0.activeMs) / 1000;
    const a0 = await stats(Number(port));
    const t0 = performance.now();
    const sizes = await Promise.all(Array.from({ length: 100 }, () => fetchRaw(`${consoleUrl}api/snapshot`, gzip ? { "accept-encoding": "gzip" } : {})));
    const elapsed = performance.now() - t0;
    const a1 = await stats(Number(port));
    return {
      loopMs: Math.max(0, a1.activeMs - a0.activeMs - quietRate * elapsed),
      bytes: sizes[0]!,
      maxTurnMs: a1.maxTurnMs,
      quietMaxTurnMs: q1.maxTurnMs,
      maxSliceMs: a1.maxSliceMs,
      builds: a1.builds - a0.builds,
      cpuMs: Math.max(0, a1.mainCpuMs - a0.mainCpuMs - ((q1.mainCpuMs - q0.mainCpuMs) / 1000) * elapsed),
      handlerMaxMs: a1.handlerMaxMs,
      handlerMs: a1.handlerMs - a0.handlerMs,
    };
  } finally {
    child.kill();
  }
}

/** A paused event-stream client against 2,000 tasks: the app's heap growth per second. */
async function pausedClient(seconds: number): Promise<number> {
  const child = spawnChild(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child-server", "burst"], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(buf.slice(0, i));
    });
  });
  const [, port, consoleUrl] = line.split(" ");
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const req = httpGet(`${consoleUrl}api/events`, (res) => res.pause());
    req.on("error", () => undefined);
    await new Promise((r) => setTimeout(r, 2000));
    const h0 = await stats(Number(port));
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const h1 = await stats(Number(port));
    req.destroy();
    return (h1.heap - h0.heap) / 2 ** 20 / seconds;
  } finally {
    child.kill();
  }
}

export default async function run(ctx: BenchContext): Promise<Section> {
  log("console: spawn/join and awaits, console off vs on");
  const n = ctx.quick ? 20_000 : 100_000;
  const micro = await compare(microCases(), { n, rounds: ctx.quick ? 3 : 7 });
  const get = (name: string): number => micro.find((r) => r.name === name)!.nsPerOp;
  const microRows = [
    ["spawn+join", get("spawn+join, console off"), get("spawn+join, console on")],
    ["await in a task", get("await in a task, console off"), get("await in a task, console on")],
  ] as const;

  const seconds = ctx.quick ? 2 : 5;
  const rounds = ctx.quick ? 1 : 5;
  const modes: Mode[] = ["off", "on", "watched"];
  const measure = async (rate: number | undefined): Promise<Record<Mode, HttpResult[]>> => {
    const res: Record<Mode, HttpResult[]> = { off: [], on: [], watched: [], burst: [] };
    for (let r = 0; r < rounds; r++) {
      for (const m of r % 2 === 0 ? modes : [...modes].reverse()) {
        res[m].push(await httpRound(m, seconds, rate));
        log(`  ${rate === undefined ? "max" : `${rate}/s`} round ${r + 1} ${m}: ${Math.round(res[m].at(-1)!.rps)} req/s, ${res[m].at(-1)!.cpuUs.toFixed(1)} µs CPU/request`);
      }
    }
    return res;
  };
  log(`console: HTTP server at a fixed ${RATE} req/s (autocannon, 32 connections), console off / on / on + watched`);
  const fixed = await measure(RATE);
  log("console: HTTP server at full load");
  const full = ctx.quick ? undefined : await measure(undefined);
  const med = (res: Record<Mode, HttpResult[]>, m: Mode, k: keyof HttpResult): number => median(res[m].map((x) => x[k]));
  // Rounds of the modes alternate; round r of each mode ran back to back, so compare within a
  // round and take the median of those per-round ratios (the machine drifts between rounds).
  const cost = (res: Record<Mode, HttpResult[]>, m: Mode, k: keyof HttpResult, higherIsWorse: boolean): string => {
    if (m === "off") return "—";
    const ratio = median(res[m].map((x, i) => x[k] / res.off[i]![k]));
    return `${((higherIsWorse ? ratio - 1 : 1 - ratio) * 100).toFixed(1)} %`;
  };
  log("console: 100 concurrent GET /api/snapshot, 2,000 tasks (plain, then gzip)");
  const bursts = { plain: [] as BurstResult[], gzip: [] as BurstResult[] };
  for (let i = 0; i < (ctx.quick ? 1 : 3); i++) {
    bursts.plain.push(await snapshotBurst(false));
    bursts.gzip.push(await snapshotBurst(true));
  }
  // BENCH_INSTRUCTIONS=1: the server's instructions per request under valgrind, off and on (slow: minutes).
  const instr: string[] = [];
  if (process.env.BENCH_INSTRUCTIONS === "1") {
    const [n1, n2] = ctx.quick ? [300, 1300] : [500, 2500];
    const per = async (m: "off" | "on"): Promise<number> => ((await instructions(m, n2)) - (await instructions(m, n1))) / (n2 - n1);
    log("console: instructions per request under valgrind, off / on");
    const off = await per("off");
    const on = await per("on");
    log("console: instructions per burst of 100 snapshot requests under valgrind, plain / gzip");
    const plain = await burstInstructions(false);
    const gz = await burstInstructions(true);
    instr.push(
      `Instructions the app executes for one burst of 100 concurrent GET /api/snapshot against 2,000 idle tasks (valgrind, the difference between runs with 3 and 1 bursts; gzip's deflate runs on the thread pool and is counted too): plain ${(plain.instr / 1e6).toFixed(0)} M (${Math.round(plain.bytes / 1024)} KiB per response), gzip ${(gz.instr / 1e6).toFixed(0)} M (${Math.round(gz.bytes / 1024)} KiB per response).`,
      "",
    );
    instr.push(
      `Instructions per request of the server process (valgrind cachegrind, \`node --single-threaded\`, the difference between runs of ${n1} and ${n2} requests, 8 at a time on keep-alive connections; immune to the machine's load): off ${Math.round(off).toLocaleString("en")}, on ${Math.round(on).toLocaleString("en")}, cost ${((on / off - 1) * 100).toFixed(1)} %.`,
      "",
    );
  }
  log("console: a paused event-stream client, 2,000 tasks");
  const growth = await pausedClient(ctx.quick ? 3 : 6);
  const label = (m: Mode): string => (m === "watched" ? "on + event stream watched" : m);
  const lines = [
    "Instrumentation cost: console off (the default: no promise hook, a null check per hook site) against on (`new Runtime({ console: { server: false } })`).",
    "",
    "| case | console off, ns/op | console on, ns/op | × off |",
    "| --- | ---: | ---: | ---: |",
    ...microRows.map(([name, a, b]) => `| ${name} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(2)} |`),
    "",
    `HTTP server (node:http on 127.0.0.1 in a child process; every request is a steward task taking a Semaphore permit and ` +
      `awaiting three setImmediate-backed lookups; autocannon with 32 connections, ${seconds} s × ${rounds} round${rounds === 1 ? "" : "s"} per mode, interleaved, medians).`,
    "",
    `At a fixed ${RATE} req/s (the same load for every mode, so the server's CPU time per request compares like with like):`,
    "",
    "| console | server CPU µs/request | CPU cost | p50 ms | p99 ms |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...modes.map((m) => `| ${label(m)} | ${med(fixed, m, "cpuUs").toFixed(1)} | ${cost(fixed, m, "cpuUs", true)} | ${med(fixed, m, "p50").toFixed(1)} | ${med(fixed, m, "p99").toFixed(1)} |`),
    ...(full === undefined
      ? []
      : [
          "",
          "At full load (as fast as autocannon, on the same two cores, can drive it: noisier):",
          "",
          "| console | req/s | throughput cost | server CPU µs/request | p99 ms |",
          "| --- | ---: | ---: | ---: | ---: |",
          ...modes.map((m) => `| ${label(m)} | ${Math.round(med(full, m, "rps"))} | ${cost(full, m, "rps", false)} | ${med(full, m, "cpuUs").toFixed(1)} | ${med(full, m, "p99").toFixed(1)} |`),
        ]),
    "",
    ...instr,
    "Goal: ≤ 10 % on the HTTP server with the console on; nothing when off. Costs are medians of per-round ratios (each round runs every mode back to back).",
    "",
    "The console at scale: an app with 2,000 tasks (1,000 idle, 1,000 resuming every 10 ms).",
    "",
    "| case | figure | goal |",
    "| --- | ---: | ---: |",
    `| 100 concurrent GET /api/snapshot: app loop time, plain JSON (${Math.round(median(bursts.plain.map((b) => b.bytes)) / 1024)} KiB each) | ${median(bursts.plain.map((b) => b.loopMs)).toFixed(1)} ms | < 20 ms |`,
    `| the same, gzip accepted (${Math.round(median(bursts.gzip.map((b) => b.bytes)) / 1024)} KiB each, compressed once off the loop) | ${median(bursts.gzip.map((b) => b.loopMs)).toFixed(1)} ms | < 20 ms |`,
    `| the app's longest loop turn during a burst, plain / gzip (in the quiet second before it) | ${median(bursts.plain.map((b) => b.maxTurnMs)).toFixed(1)} / ${median(bursts.gzip.map((b) => b.maxTurnMs)).toFixed(1)} ms (${median([...bursts.plain, ...bursts.gzip].map((b) => b.quietMaxTurnMs)).toFixed(1)} ms) | |`,
    `| the same bursts: the app's main-thread CPU time, plain / gzip (scheduling noise left out) | ${median(bursts.plain.map((b) => b.cpuMs)).toFixed(1)} / ${median(bursts.gzip.map((b) => b.cpuMs)).toFixed(1)} ms | |`,
    `| the console's request handlers in a burst: the longest synchronous run / all of them, plain | ${median(bursts.plain.map((b) => b.handlerMaxMs)).toFixed(1)} / ${median(bursts.plain.map((b) => b.handlerMs)).toFixed(1)} ms | |`,
    `| snapshots built per burst | ${median([...bursts.plain, ...bursts.gzip].map((b) => b.builds))} | 1 |`,
    `| the longest slice of a snapshot build | ${median([...bursts.plain, ...bursts.gzip].map((b) => b.maxSliceMs)).toFixed(1)} ms | |`,
    `| one paused event-stream client: the app's heap growth | ${growth.toFixed(3)} MB/s | bounded (was 0.46 MB/s) |`,
  ];
  return { title: "Live console overhead (API.md §9, issue 7)", markdown: lines.join("\n") };
}

const childIdx = process.argv.indexOf("--child-server");
if (childIdx >= 0) await childServer(process.argv[childIdx + 1] as Mode, Number(process.argv[childIdx + 2] ?? 10));
