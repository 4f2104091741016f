/**
 * Shutdown: the seed experiment's counts (a shutdown in mid-flight, naive vs steward); the
 * latency of shutting down an idle service (goal: the pre-stop delay + < 5 ms) against the same
 * service closed by hand; many idle tasks; the drain of 1,000 requests in flight; and what 1,000
 * keep-alive clients sending back to back through SIGTERM see (resets), steward against a bare
 * node:http `server.close()`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as abortableTimeout } from "node:timers/promises";
import { Pool } from "undici";
import { runShutdownRace, type RaceCounts } from "../examples/shutdown-race/race.js";
import { keepAliveLoad, type LoadOutcome } from "../test/http/keepalive-load.js";
import { Runtime, channel, httpResource, spawn, type ShutdownReport } from "../src/index.js";
import { type BenchContext, log, median, percentile, type Section } from "./harness.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => resolve((server.address() as AddressInfo).port)));
}

/** `conns` keep-alive connections that served a request, then went idle (for longer than a second: an idle service). */
async function idleConnections(port: number, conns: number): Promise<Pool> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: Math.max(1, conns), keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
  if (conns === 0) return pool;
  await Promise.all(Array.from({ length: conns }, () => pool.request({ path: "/", method: "GET" }).then((r) => r.body.text())));
  await pause(1200);
  return pool;
}

interface IdleSample {
  /** shutdown() to its report, minus the pre-stop delay. */
  overMs: number;
  report: ShutdownReport;
}

/**
 * An idle service as the README writes one: an HTTP server with idle keep-alive connections, a
 * worker parked on its queue, main waiting for the announcement. shutdown() to its report.
 */
async function stewardIdleService(conns: number, preStopDelayMs: number): Promise<IdleSample> {
  const rt = new Runtime({ name: "idle", preStopDelayMs });
  const server = createServer((_req, res) => res.end("ok"));
  rt.enter(() => {
    httpResource(server);
    const [tx, rx] = channel<number>(64);
    spawn(
      async () => {
        for await (const _job of rx) await turn();
      },
      { name: "worker" },
    );
    spawn(
      async (ctx) => {
        await ctx.stopping.cancelled();
        tx.close();
      },
      { name: "main" },
    );
  });
  const port = await listen(server);
  const pool = await idleConnections(port, conns);
  const t0 = performance.now();
  const report = await rt.shutdown();
  const ms = performance.now() - t0;
  await pool.destroy();
  if (!report.clean) throw new Error("unclean idle shutdown");
  return { overMs: ms - preStopDelayMs, report };
}

/** The same service closed by hand: close() (which closes idle connections), abort the worker, wait for both. */
async function bareIdleService(conns: number): Promise<number> {
  const server = createServer((_req, res) => res.end("ok"));
  const ctl = new AbortController();
  const worker = abortableTimeout(60_000, undefined, { signal: ctl.signal }).catch(() => {});
  const port = await listen(server);
  const pool = await idleConnections(port, conns);
  const t0 = performance.now();
  ctl.abort();
  await Promise.all([new Promise<void>((r) => server.close(() => r())), worker]);
  const ms = performance.now() - t0;
  await pool.destroy();
  return ms;
}

/** ms from `shutdown()` to its report, with `n` idle tasks each parked on a receive. */
async function stewardIdleTasks(n: number): Promise<number> {
  const rt = new Runtime();
  rt.enter(() => {
    const [, rx] = channel<number>(1);
    for (let i = 0; i < n; i++) spawn(() => rx.recv());
  });
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

interface DrainSample {
  /** The last in-flight response's end to the end of the drain (server closed, every connection gone). */
  tailMs: number;
  /** Shutdown (or close()) to the end of the drain. */
  totalMs: number;
  /** Requests that did not get their complete response. */
  failed: number;
}

/** `conns` keep-alive connections, all with a request in flight when shutdown starts; responses end 50 ms later. */
async function drainInFlight(conns: number, bare: boolean): Promise<DrainSample> {
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
  if (!bare) httpResource(server, { runtime: rt });
  const port = await listen(server);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: conns, keepAliveTimeout: 60_000 });
  const reqs = Array.from({ length: conns }, () =>
    pool.request({ path: "/", method: "GET" }).then(
      (r) => r.body.text().then((b) => (b === "ok" ? 0 : 1)),
      () => 1,
    ),
  );
  await allInP;
  const t0 = performance.now();
  let done: Promise<unknown>;
  if (bare) {
    const closed = new Promise<void>((r) => server.close(() => r()));
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    done = closed.finally(() => clearInterval(sweep));
  } else {
    done = rt.shutdown().then((report) => {
      if (!report.clean) throw new Error("unclean drain");
    });
  }
  release();
  await done;
  const end = performance.now();
  const failed = (await Promise.all(reqs)).reduce((a: number, b) => a + b, 0);
  await pool.destroy();
  return { tailMs: end - lastEnd, totalMs: end - t0, failed };
}

function raceRow(c: RaceCounts): string {
  return `| ${c.variant} | ${c.runs} | ${c.impossible} | ${c.ok} | ${c.cancelled} | ${c.ms} |`;
}

function sum(xs: LoadOutcome[], f: (o: LoadOutcome) => number): number {
  return xs.reduce((a, o) => a + f(o), 0);
}

function loadRow(name: string, xs: LoadOutcome[]): string {
  const cut = sum(xs, (o) => o.stats?.cut ?? 0);
  return `| ${name} | ${xs.length} × ${xs[0]!.clients} | ${sum(xs, (o) => o.ok)} | ${sum(xs, (o) => o.rejected)} | ${sum(xs, (o) => o.refused)} | **${sum(xs, (o) => o.resets)}** | **${sum(xs, (o) => o.unanswered)}** | ${cut} | ${median(xs.map((o) => o.exitMs))} |`;
}

export default async function shutdownBench(ctx: BenchContext): Promise<Section> {
  const runs = ctx.quick ? 2_000 : 10_000;
  log(`shutdown race, ${runs} runs per variant`);
  const race = await runShutdownRace(runs);

  const rounds = ctx.quick ? 3 : 9;
  const conns = ctx.quick ? 100 : 200;
  const phaseMedian = (xs: IdleSample[], k: keyof ShutdownReport["phases"]): string => f2(median(xs.map((s) => s.report.phases[k])));
  const idleRows = ["| case | open idle connections | over the pre-stop delay, median ms | p90 ms | announce | drain | collect | drop |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"];
  for (const n of [0, conns]) {
    log(`idle service, ${n} idle keep-alive connections`);
    await stewardIdleService(n, 0); // warm-up
    await bareIdleService(n);
    const idle0: IdleSample[] = [];
    const idle100: IdleSample[] = [];
    const bareIdle: number[] = [];
    for (let r = 0; r < rounds; r++) {
      idle0.push(await stewardIdleService(n, 0));
      idle100.push(await stewardIdleService(n, 100));
      bareIdle.push(await bareIdleService(n));
    }
    for (const [name, s] of [
      ["steward, pre-stop delay 0", idle0],
      ["steward, pre-stop delay 100 ms", idle100],
    ] as const) {
      idleRows.push(
        `| ${name} | ${n} | ${f2(median(s.map((x) => x.overMs)))} | ${f2(
          percentile(
            s.map((x) => x.overMs),
            90,
          ),
        )} | ${phaseMedian(s, "announceMs")} | ${phaseMedian(s, "drainMs")} | ${phaseMedian(s, "collectMs")} | ${phaseMedian(s, "dropMs")} |`,
      );
    }
    idleRows.push(`| bare: \`server.close()\` + abort the worker | ${n} | ${f2(median(bareIdle))} | ${f2(percentile(bareIdle, 90))} | | | | |`);
  }

  const latency: string[] = ["| idle tasks | steward shutdown() median ms | p90 ms | per task µs | bare AbortControllers median ms |", "| ---: | ---: | ---: | ---: | ---: |"];
  for (const n of [1_000, 10_000]) {
    log(`shutdown latency, ${n} idle tasks`);
    await stewardIdleTasks(n); // warm-up
    await bareAbort(n);
    const s: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      s.push(await stewardIdleTasks(n));
      b.push(await bareAbort(n));
    }
    latency.push(`| ${n} | ${f1(median(s))} | ${f1(percentile(s, 90))} | ${f1((median(s) * 1000) / n)} | ${f1(median(b))} |`);
  }

  const inFlight = ctx.quick ? 200 : 1_000;
  log(`http drain, ${inFlight} requests in flight`);
  const drains: DrainSample[] = [];
  const bareDrains: DrainSample[] = [];
  for (let r = 0; r < (ctx.quick ? 1 : 3); r++) {
    drains.push(await drainInFlight(inFlight, false));
    bareDrains.push(await drainInFlight(inFlight, true));
  }
  const drainRow = (name: string, xs: DrainSample[]): string =>
    `| ${name} | ${f1(median(xs.map((d) => d.totalMs)))} | ${f1(median(xs.map((d) => d.tailMs)))} | ${xs.reduce((a, d) => a + d.failed, 0)} |`;

  const loadRuns = ctx.quick ? 1 : 5;
  const clients = ctx.quick ? 200 : 1_000;
  const steward: LoadOutcome[] = [];
  const bare: LoadOutcome[] = [];
  for (let r = 0; r < loadRuns; r++) {
    log(`keep-alive load through SIGTERM, round ${r + 1} of ${loadRuns}`);
    steward.push(await keepAliveLoad({ clients, trafficMs: 300 }));
    bare.push(await keepAliveLoad({ clients, trafficMs: 300, env: { BARE: "1" } }));
  }

  const markdown = [
    "The post's producer/worker pair (examples/shutdown-race), a shutdown landing 1–4 event-loop turns",
    "in. *naive*: plain async functions, a stop flag, the channels closed at exit; *naive-grace*: one",
    "turn of grace before closing; *steward*: tasks, `defer()` and `shutdown()` — the producer stops at",
    "the announcement (`ctx.stopping`), the worker finishes in the drain, then drop closes the channels.",
    "An *impossible* outcome is the post's panic: the producer's reply channel closed under it.",
    "",
    "| variant | runs | impossible | ok | cancelled | ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    raceRow(race.naive),
    raceRow(race.naiveGrace),
    raceRow(race.steward),
    "",
    "An idle service (README shape: an HTTP server, a worker parked on its queue, main waiting on",
    "`ctx.stopping`), with no connection open or with idle keep-alive connections (idle for over a",
    "second): `shutdown()` to its report, minus the pre-stop delay (goal: < 5 ms), with the median time",
    "of each phase; against the same service closed by hand. Closing the connections is most of it.",
    `Median of ${rounds} alternating rounds, in a process where tasks have run (AsyncLocalStorage active).`,
    "",
    ...idleRows,
    "",
    "`shutdown()` to its report with idle tasks parked on a receive (the drain sees them idle and ends;",
    "cancel, collect, drop), against a bare floor: as many abortable timers, each with its own",
    "AbortController, all aborted.",
    "",
    ...latency,
    "",
    `HTTP drain of ${inFlight} requests in flight on as many keep-alive connections (an undici Pool on`,
    "loopback), their responses ending 50 ms after the stop; steward's `httpResource` against a bare",
    `\`server.close()\` + \`closeIdleConnections()\` every 100 ms. Median of ${drains.length}:`,
    "",
    "| case | stop to drained, ms | last response to drained, ms | responses lost |",
    "| --- | ---: | ---: | ---: |",
    drainRow("steward (shutdown: drain, collect, drop)", drains),
    drainRow("bare node:http", bareDrains),
    "",
    "The tail is steward's idle grace: these responses' headers had gone out with keep-alive before the",
    "stop, so no `Connection: close` could be added; their connections are closed only once idle for",
    "250 ms (more for a slow client or a late loop), so that a client sending its next request meanwhile",
    "gets a 503 with `Connection: close` instead of a closed socket. The bare server closes them at its",
    "next 100 ms sweep: faster, and the source of its resets below.",
    "",
    `${clients} keep-alive clients (one undici Client each, in the bench process) sending requests back to`,
    "back to a service in a child process; SIGTERM after 300 ms of traffic; every client runs until",
    "it is told to go (503 + `Connection: close`, or `Connection: close` on its last response and then a",
    "refused connection) or fails. *resets*: ECONNRESET on a request the client had sent; *unanswered*:",
    "the connection closed with the request sent and no answer. steward: the README's runMain service",
    "with `httpResource`; bare: the same service with `server.close()` and `closeIdleConnections()`",
    "every 100 ms on SIGTERM.",
    "",
    "| service | runs | 200 | 503 + close | refused | resets | unanswered | accepted and cut | SIGTERM to exit, median ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    loadRow("steward", steward),
    loadRow("bare node:http", bare),
  ].join("\n");
  return { title: "Shutdown", markdown };
}
