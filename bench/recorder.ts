/**
 * The flight recorder's cost (issue 15: ≤ 3 % req/s and ≤ 5 % CPU per request on the HTTP
 * benchmark). The server (this file with --child-server, in a child process) is the console
 * bench's: node:http on 127.0.0.1, each request a steward task that takes a Semaphore permit and
 * awaits three setImmediate-backed lookups. It runs with the recorder off and on (runMain's
 * default) in alternating rounds of one run; each pair of rounds gives a ratio, and the table
 * shows the median of those ratios (a 2-core machine under parallel load drifts ±15–30 % between
 * rounds, so only pairs measured back to back compare). Micro-benchmarks: spawn+join, a contended
 * lock hand-over and a channel round trip, recorder off vs on, in a fresh process and in one where
 * steward's context is already active.
 */
import { type ChildProcess, spawn as spawnChild } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { channel, Mutex, Runtime, Semaphore } from "../src/index.js";
import { type BenchContext, type Case, compare, fmt, log, median, type Section } from "./harness.js";

/** Dumps are off in the bench (no trigger fires); the ring and its hooks are what is measured. */
const RECORDER = { dir: join(tmpdir(), "steward-bench-recorder"), signal: null, log: false, triggers: { blocked: false, panic: false, shutdown: false } };

function microCases(): Case[] {
  const run = (recorder: boolean, body: (rt: Runtime, n: number) => Promise<void>) => async (n: number) => {
    const rt = new Runtime({ recorder: recorder ? RECORDER : false });
    await body(rt, n);
    await rt.shutdown();
  };
  const spawnJoin = async (rt: Runtime, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await rt.spawn(() => i);
  };
  const lock = async (rt: Runtime, n: number): Promise<void> => {
    const m = new Mutex();
    const worker = async (): Promise<void> => {
      for (let i = 0; i < n / 2; i++) (await m.lock()).release();
    };
    await Promise.all([rt.spawn(worker), rt.spawn(worker)]);
  };
  const chan = async (rt: Runtime, n: number): Promise<void> => {
    const [tx, rx] = channel<number>(16);
    const consumer = rt.spawn(async () => {
      for (let i = 0; i < n; i++) await rx.recv();
    });
    await rt.spawn(async () => {
      for (let i = 0; i < n; i++) await tx.send(i);
    });
    await consumer;
  };
  // The HTTP bench's request handler, without HTTP: a task with a permit and three setImmediate lookups, 32 at a time.
  const sem = new Semaphore(64);
  const io = (): Promise<void> => new Promise((r) => setImmediate(r));
  const request = async (rt: Runtime, n: number): Promise<void> => {
    const batch: PromiseLike<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      batch.push(
        rt.spawn(async () => {
          const p = await sem.acquire();
          try {
            await io();
            await Promise.all([io(), io()]);
          } finally {
            p.release();
          }
        }),
      );
      if (batch.length === 32) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
  };
  return [
    { name: "request-shaped task, recorder off", run: run(false, request) },
    { name: "request-shaped task, recorder on", run: run(true, request) },
    { name: "spawn+join, recorder off", run: run(false, spawnJoin) },
    { name: "spawn+join, recorder on", run: run(true, spawnJoin) },
    { name: "mutex hand-over, recorder off", run: run(false, lock) },
    { name: "mutex hand-over, recorder on", run: run(true, lock) },
    { name: "channel(16) message, recorder off", run: run(false, chan) },
    { name: "channel(16) message, recorder on", run: run(true, chan) },
  ];
}

type Mode = "off" | "on";

async function childServer(mode: Mode): Promise<void> {
  const rt = new Runtime({ name: "bench", recorder: mode === "on" ? RECORDER : false });
  const sem = new Semaphore(64, { name: "db" });
  const io = (): Promise<void> => new Promise((r) => setImmediate(r));
  const lookup = async (id: number): Promise<{ id: number; name: string }> => {
    await io();
    return { id, name: `user${id}` };
  };
  let served = 0;
  const server = createServer((req, res) => {
    if (req.url === "/__stats") {
      const cpu = process.cpuUsage();
      res.end(JSON.stringify({ cpuUs: cpu.user + cpu.system, served }));
      return;
    }
    served++;
    rt.spawn(async () => {
      const permit = await sem.acquire();
      try {
        const id = Number(req.url?.slice(1)) || 1;
        const user = await lookup(id);
        const orders = await Promise.all([lookup(id + 1), lookup(id + 2)]);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ user, orders, at: Date.now() }));
      } finally {
        permit.release();
      }
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
}

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function startChild(mode: Mode): Promise<{ child: ChildProcess; port: number }> {
  const child = spawnChild(process.execPath, [fileURLToPath(import.meta.url), "--child-server", mode], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, port };
}

async function stats(port: number): Promise<{ cpuUs: number; served: number }> {
  return (await (await fetch(`http://127.0.0.1:${port}/__stats`)).json()) as { cpuUs: number; served: number };
}

interface Round {
  rps: number;
  cpuUs: number;
  p99: number;
}

async function round(mode: Mode, seconds: number, rate?: number): Promise<Round> {
  const { child, port } = await startChild(mode);
  const load = { url: `http://127.0.0.1:${port}/7`, connections: 32, ...(rate === undefined ? {} : { overallRate: rate }) };
  try {
    await autocannon({ ...load, duration: 1 });
    const s0 = await stats(port);
    const r = await autocannon({ ...load, duration: seconds });
    const s1 = await stats(port);
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return { rps: r.requests.average, p99: r.latency.p99, cpuUs: (s1.cpuUs - s0.cpuUs) / Math.max(1, s1.served - s0.served) };
  } finally {
    child.kill();
  }
}

/** Alternating off/on rounds; per-pair ratios of on to off. */
async function pairs(n: number, seconds: number, rate: number | undefined): Promise<{ off: Round[]; on: Round[] }> {
  const off: Round[] = [];
  const on: Round[] = [];
  for (let i = 0; i < n; i++) {
    const order: Mode[] = i % 2 === 0 ? ["off", "on"] : ["on", "off"];
    for (const m of order) {
      const r = await round(m, seconds, rate);
      (m === "off" ? off : on).push(r);
      log(`  ${rate === undefined ? "max" : `${rate}/s`} pair ${i + 1} ${m}: ${Math.round(r.rps)} req/s, ${r.cpuUs.toFixed(1)} µs CPU/request`);
    }
  }
  return { off, on };
}

const pct = (x: number): string => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;

export default async function run(ctx: BenchContext): Promise<Section> {
  log("recorder: micro-benchmarks, recorder off vs on");
  const n = ctx.quick ? 20_000 : 100_000;
  const micro = await compare(microCases(), { n, rounds: ctx.quick ? 3 : 7 });
  // The same after steward's context is active in the process (a task has run): every await pays ALS on Node 20/22.
  const warm = new Runtime({ recorder: false });
  await warm.spawn(() => 1);
  const microWarm = await compare(microCases(), { n, rounds: ctx.quick ? 3 : 5 });
  await warm.shutdown();
  const get = (res: typeof micro, name: string): number => res.find((r) => r.name === name)!.nsPerOp;
  const rows = ["request-shaped task", "spawn+join", "mutex hand-over", "channel(16) message"].map(
    (k) => [k, get(micro, `${k}, recorder off`), get(micro, `${k}, recorder on`), get(microWarm, `${k}, recorder off`), get(microWarm, `${k}, recorder on`)] as const,
  );

  const seconds = ctx.quick ? 2 : 5;
  const n2 = ctx.quick ? 2 : 6;
  const RATE = 4000;
  log(`recorder: HTTP at a fixed ${RATE} req/s, ${n2} alternating pairs`);
  const fixed = await pairs(n2, seconds, RATE);
  log("recorder: HTTP at full load, alternating pairs");
  const full = await pairs(n2, seconds, undefined);
  const pairRatio = (p: { off: Round[]; on: Round[] }, k: keyof Round): number => median(p.on.map((r, i) => r[k] / p.off[i]![k]));
  const cpuFixed = pairRatio(fixed, "cpuUs") - 1;
  const cpuFull = pairRatio(full, "cpuUs") - 1;
  const rpsFull = pairRatio(full, "rps") - 1;
  const lines = [
    "The flight recorder on (runMain's default: a 4 MiB ring, no promise hook) against off, same process run.",
    "",
    "| case | off, ns/op | on, ns/op | × off | off, ns/op (context active) | on, ns/op (context active) | × off |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(([name, a, b, c, d]) => `| ${name} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(2)} | ${fmt(c)} | ${fmt(d)} | ${(d / c).toFixed(2)} |`),
    "",
    `HTTP server (the console bench's: every request a steward task with a Semaphore permit and three setImmediate lookups; autocannon, 32 connections, ${seconds} s per round), ${n2} pairs of rounds alternating off/on; each pair gives a ratio, the median of the ratios is shown.`,
    "",
    "| load | off (median) | on (median) | median per-pair change | goal |",
    "| --- | ---: | ---: | ---: | ---: |",
    `| ${RATE} req/s: server CPU µs/request | ${median(fixed.off.map((r) => r.cpuUs)).toFixed(1)} | ${median(fixed.on.map((r) => r.cpuUs)).toFixed(1)} | ${pct(cpuFixed)} | ≤ +5 % |`,
    `| full load: req/s | ${Math.round(median(full.off.map((r) => r.rps)))} | ${Math.round(median(full.on.map((r) => r.rps)))} | ${pct(rpsFull)} | ≥ −3 % |`,
    `| full load: server CPU µs/request | ${median(full.off.map((r) => r.cpuUs)).toFixed(1)} | ${median(full.on.map((r) => r.cpuUs)).toFixed(1)} | ${pct(cpuFull)} | ≤ +5 % |`,
    `| full load: p99 latency ms | ${median(full.off.map((r) => r.p99)).toFixed(1)} | ${median(full.on.map((r) => r.p99)).toFixed(1)} | | |`,
  ];
  return { title: "Flight recorder overhead (issue 15)", markdown: lines.join("\n") };
}

const childIdx = process.argv.indexOf("--child-server");
if (childIdx >= 0) await childServer(process.argv[childIdx + 1] as Mode);
