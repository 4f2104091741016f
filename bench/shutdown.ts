/**
 * Shutdown: the seed experiment's counts (a shutdown in mid-flight, naive vs steward), the
 * latency of `shutdown()` with many idle tasks parked on steward waits (against a bare
 * AbortController over as many abortable timers), and the HTTP drain's latency.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as abortableTimeout } from "node:timers/promises";
import { Pool } from "undici";
import { runShutdownRace, type RaceCounts } from "../examples/shutdown-race/race.js";
import { Runtime, httpResource, sleep } from "../src/index.js";
import { type BenchContext, log, median, percentile, type Section } from "./harness.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** ms from `shutdown()` to its report, with `n` idle tasks each parked in sleep(60 s). */
async function stewardIdle(n: number): Promise<number> {
  const rt = new Runtime();
  for (let i = 0; i < n; i++) rt.spawn(() => sleep(60_000));
  await turn();
  await turn();
  const t0 = performance.now();
  const report = await rt.shutdown();
  const ms = performance.now() - t0;
  if (!report.clean || report.tasks.cancelled !== n) throw new Error("unexpected report");
  return ms;
}

/** A bare floor: `n` abortable timers, each with its own AbortController (as each task has its own token), all aborted. */
async function bareAbort(n: number): Promise<number> {
  const ctls: AbortController[] = [];
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const ctl = new AbortController();
    ctls.push(ctl);
    waits.push(abortableTimeout(60_000, undefined, { signal: ctl.signal }).catch(() => {}));
  }
  await turn();
  await turn();
  const t0 = performance.now();
  for (const c of ctls) c.abort();
  await Promise.all(waits);
  return performance.now() - t0;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => resolve((server.address() as AddressInfo).port)));
}

interface DrainSample {
  /** shutdown() to report, with only idle keep-alive connections. */
  idleMs: number;
  /** The last in-flight response's end to the report, with `inFlight` requests draining. */
  tailMs: number;
  total: number;
}

/** shutdown() to report with `conns` idle keep-alive connections open. */
async function idleDrain(conns: number): Promise<number> {
  const rt = new Runtime();
  const server = createServer((_req, res) => res.end("ok"));
  httpResource(server, { runtime: rt });
  const port = await listen(server);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: conns, keepAliveTimeout: 30_000 });
  await Promise.all(Array.from({ length: conns }, () => pool.request({ path: "/", method: "GET" }).then((r) => r.body.text())));
  const t0 = performance.now();
  const report = await rt.shutdown();
  const ms = performance.now() - t0;
  await pool.destroy();
  if (!report.clean) throw new Error("unclean drain");
  return ms;
}

/** One drain: `conns` keep-alive connections, all busy when shutdown starts; responses end 50 ms later. */
async function httpDrain(conns: number): Promise<DrainSample> {
  const idleMs = await idleDrain(conns);
  const rt = new Runtime();
  let lastEnd = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let arrived = 0;
  let allIn!: () => void;
  const allInP = new Promise<void>((r) => (allIn = r));
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Length": "2" });
    if (++arrived === conns) allIn();
    void gate.then(() =>
      setTimeout(() => {
        res.end("ok");
        lastEnd = performance.now();
      }, 50),
    );
  });
  httpResource(server, { runtime: rt });
  const port = await listen(server);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: conns, keepAliveTimeout: 30_000 });
  const reqs = Array.from({ length: conns }, () => pool.request({ path: "/", method: "GET" }).then((r) => r.body.text()));
  await allInP;
  const t0 = performance.now();
  const shutdown = rt.shutdown();
  release();
  const report = await shutdown;
  const end = performance.now();
  await Promise.all(reqs);
  await pool.destroy();
  if (!report.clean) throw new Error("unclean drain");
  return { idleMs, tailMs: end - lastEnd, total: end - t0 };
}

function raceRow(c: RaceCounts): string {
  return `| ${c.variant} | ${c.runs} | ${c.impossible} | ${c.ok} | ${c.cancelled} | ${c.ms} |`;
}

const f1 = (x: number): string => x.toFixed(1);

export default async function shutdownBench(ctx: BenchContext): Promise<Section> {
  const runs = ctx.quick ? 2_000 : 10_000;
  log(`shutdown race, ${runs} runs per variant`);
  const race = await runShutdownRace(runs);

  const rounds = ctx.quick ? 3 : 9;
  const latency: string[] = ["| idle tasks | steward shutdown() median ms | p90 ms | per task µs | bare AbortControllers median ms |", "| ---: | ---: | ---: | ---: | ---: |"];
  for (const n of [1_000, 10_000]) {
    log(`shutdown latency, ${n} idle tasks`);
    await stewardIdle(n); // warm-up
    await bareAbort(n);
    const s: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      s.push(await stewardIdle(n));
      b.push(await bareAbort(n));
    }
    latency.push(`| ${n} | ${f1(median(s))} | ${f1(percentile(s, 90))} | ${f1((median(s) * 1000) / n)} | ${f1(median(b))} |`);
  }

  const conns = ctx.quick ? 200 : 1_000;
  log(`http drain, ${conns} keep-alive connections`);
  const drains: DrainSample[] = [];
  for (let r = 0; r < (ctx.quick ? 1 : 3); r++) drains.push(await httpDrain(conns));

  const markdown = [
    "The post's producer/worker pair (examples/shutdown-race), a shutdown landing 1–4 event-loop turns",
    "in. *naive*: plain async functions, a stop flag, the channels closed at exit; *naive-grace*: one",
    "turn of grace before closing; *steward*: tasks, `defer()` and `shutdown()` (stop, collect, drop).",
    "An *impossible* outcome is the post's panic: the producer's reply channel closed under it.",
    "",
    "| variant | runs | impossible | ok | cancelled | ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    raceRow(race.naive),
    raceRow(race.naiveGrace),
    raceRow(race.steward),
    "",
    "`shutdown()` to its report with idle tasks parked in `sleep(60 s)` (stop, collect, drop; no",
    "deferred resources), against a bare floor: as many abortable timers, each with its own AbortController, all aborted.",
    "Most of steward's per-task cost is building each cancelled task's JoinError (a stack capture).",
    "",
    ...latency,
    "",
    `HTTP drain (httpResource), ${conns} keep-alive connections from an undici Pool on loopback, median of ${drains.length}:`,
    `only idle connections: shutdown() to report ${f1(median(drains.map((d) => d.idleMs)))} ms; all ${conns} busy, their`,
    `responses ending 50 ms after the stop: report ${f1(median(drains.map((d) => d.tailMs)))} ms after the last response ended`,
    `(${f1(median(drains.map((d) => d.total)))} ms in all).`,
  ].join("\n");
  return { title: "Shutdown", markdown };
}
