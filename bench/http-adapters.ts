/**
 * What the request scopes cost per request: a hello route on bare Fastify 5, Express 5 and
 * node:http against the same app with steward's adapter (`fastifySteward`, `expressSteward`,
 * `handle`), and with the adapter plus a Limiter (`concurrency: 256, queue: 1024`, never reached:
 * the cost of admission itself). Every comparison runs its cases in alternating order and reports
 * the median of per-round ratios. Three measures:
 *
 * 1. The adapter's own cost, in one process: the bare app, the adapter and the adapter + Limiter
 *    side by side, requests through the framework's own injection (Fastify's `app.inject`,
 *    light-my-request for Express and node:http: the whole request path, no sockets), in short
 *    alternating batches, each batch timed by the process's CPU time. Short batches and CPU time
 *    make this the steady measure on a shared machine: descheduling costs no CPU time, and drift
 *    hits neighbouring batches alike. Steward's AsyncLocalStorage is active in this process (the
 *    adapter activates it), so the bare app pays its promise hooks too: this isolates the adapter.
 *
 * 2. What activating steward's AsyncLocalStorage costs the bare app (on Node 20/22 its promise
 *    hooks then tax every await in the process — any use of steward pays it, adapter or not):
 *    the bare app in fresh child processes, with and without one steward task run first.
 *
 * 3. Over real HTTP, as the issue states its goal: each server in its own child process,
 *    autocannon (32 connections) from this process, in alternating rounds — req/s at full load,
 *    and the server's own CPU time per request at a fixed rate. The load generator shares the two
 *    cores with the server, and other processes share the machine: the noisiest measure.
 */
import { type ChildProcess, execFileSync, spawn as spawnChild, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type BenchContext, log, median, type Section } from "./harness.js";

type Framework = "fastify" | "express" | "http";
type Variant = "bare" | "bare+als" | "steward" | "steward+limiter";
const FRAMEWORKS: Framework[] = ["fastify", "express", "http"];
const VARIANTS: Variant[] = ["bare", "bare+als", "steward", "steward+limiter"];
/** The variants that share one process in measure 1. */
const IN_PROCESS: Variant[] = ["bare", "steward", "steward+limiter"];
/** How measures 1 and 4 send their requests: "socket" (a real keep-alive connection, the default) or "inject" (BENCH_HARNESS=inject). */
const INSTR_HARNESS = process.env.BENCH_HARNESS === "inject" ? "inject" : "socket";
/** The fixed rate of the HTTP CPU measure (req/s): low enough for every variant on a loaded 2-core machine. */
const RATE = 1000;

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

function adapterOptions(variant: Variant): Record<string, unknown> {
  return variant === "steward+limiter" ? { concurrency: 256, queue: 1024, drain: false } : { drain: false };
}

// ---------------------------------------------------------------------------------------------
// The apps.

/** The framework's app for `variant`: its node:http request listener, and a way to inject one request. */
async function makeApp(
  framework: Framework,
  variant: Variant,
): Promise<{ listener: (req: never, res: never) => void; inject: () => Promise<unknown>; fastifyServer?: Server; listen?: () => Promise<number> }> {
  const steward = variant === "steward" || variant === "steward+limiter";
  const { default: inject } = await import("light-my-request");
  if (framework === "fastify") {
    const { default: Fastify } = await import("fastify");
    const app = Fastify();
    if (steward) {
      const { fastifySteward } = await import("../src/http/fastify.js");
      await app.register(fastifySteward, adapterOptions(variant));
    }
    app.get("/hello", async () => "hello");
    await app.ready();
    return {
      listener: app.routing as never,
      inject: () => app.inject({ method: "GET", url: "/hello" }),
      fastifyServer: app.server,
      listen: async () => {
        await app.listen({ port: 0, host: "127.0.0.1" });
        return (app.server.address() as { port: number }).port;
      },
    };
  }
  if (framework === "express") {
    const { default: express } = await import("express");
    const app = express();
    app.set("etag", false);
    if (steward) {
      const { expressSteward } = await import("../src/http/express.js");
      app.use(expressSteward(adapterOptions(variant)));
    }
    app.get("/hello", (_req, res) => void res.send("hello"));
    return { listener: app as never, inject: () => inject(app as never, { method: "GET", url: "/hello" }) };
  }
  const hello = (_req: unknown, res: { end(s: string): void }): void => res.end("hello");
  let listener = hello as never as (req: never, res: never) => void;
  if (steward) {
    const { handle } = await import("../src/http/handle.js");
    listener = handle(hello as never, adapterOptions(variant)) as never;
  }
  return { listener, inject: () => inject(listener as never, { method: "GET", url: "/hello" }) };
}

/** CPU ns per request over `n` injected requests. */
async function cpuNs(one: () => Promise<unknown>, n: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await one();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / n;
}

// ---------------------------------------------------------------------------------------------
// Child processes.

/** Measure 1: the in-process variants side by side; prints { variant: ns[] } as JSON. */
async function childPairs(framework: Framework, batches: number, batch: number): Promise<void> {
  const { spawn } = await import("../src/index.js");
  await spawn(() => {}); // steward's context active from the start, for every variant alike
  const apps = new Map<Variant, () => Promise<unknown>>();
  const open: { server: Server; client: SocketClient }[] = [];
  for (const v of IN_PROCESS) {
    const app = await makeApp(framework, v);
    if (INSTR_HARNESS === "inject") apps.set(v, app.inject);
    else {
      const c = await listenWithClient(app);
      open.push(c);
      apps.set(v, c.client.one);
    }
  }
  for (const one of apps.values()) await cpuNs(one, batch * 10); // warm-up (JIT)
  const out: Record<string, number[]> = Object.fromEntries(IN_PROCESS.map((v) => [v, []]));
  for (let b = 0; b < batches; b++) {
    for (const v of b % 2 === 0 ? IN_PROCESS : [...IN_PROCESS].reverse()) out[v]!.push(await cpuNs(apps.get(v)!, batch));
  }
  for (const { server, client } of open) {
    client.close();
    server.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Measure 2: the bare app alone in this process, with or without steward's context; prints CPU ns/request. */
async function childBare(framework: Framework, als: boolean, n: number): Promise<void> {
  if (als) {
    const { spawn } = await import("../src/index.js");
    await spawn(() => {});
  }
  const { inject } = await makeApp(framework, "bare");
  await cpuNs(inject, n);
  const samples = [await cpuNs(inject, n), await cpuNs(inject, n), await cpuNs(inject, n)];
  process.stdout.write(`${median(samples)}\n`);
}

/**
 * Measure 4: `n` requests of one variant, nothing else (run under valgrind). Steward's context is
 * active except in `bare`. Over a real keep-alive socket (see {@link socketClient}), or injected.
 * With `warm` > 0 (under callgrind started with `--instr-atstart=no`), `warm` requests run first
 * uncounted and then the count is switched on: V8 keeps compiling a service's functions for the
 * first few thousand requests, and a count that includes those compilations measures the JIT's
 * warm-up, not a request (see {@link instructions}).
 */
async function childCount(framework: Framework, variant: Variant, n: number, harness: string, warm: number): Promise<void> {
  if (variant !== "bare") {
    const { spawn } = await import("../src/index.js");
    await spawn(() => {});
  }
  const app = await makeApp(framework, variant === "bare+als" ? "bare" : variant);
  if (harness === "inject") {
    for (let i = 0; i < warm; i++) await app.inject();
    if (warm > 0) countFromHere((globalThis as { gc?: () => void }).gc);
    for (let i = 0; i < n; i++) await app.inject();
    return;
  }
  const { server, client } = await listenWithClient(app);
  for (let i = 0; i < warm; i++) await client.one();
  if (warm > 0) countFromHere((globalThis as { gc?: () => void }).gc);
  for (let i = 0; i < n; i++) await client.one();
  client.close();
  server.close();
}

/**
 * Switches callgrind's instrumentation on for this process (`callgrind_control -i on`), and returns
 * once it is on: the process waits in a syscall, where vgdb reaches it through ptrace, so no
 * instruction of the wait is counted.
 */
function countFromHere(gc: (() => void) | undefined): void {
  // A full collection first: both runs of a difference then start from the same heap, so a major
  // GC does not fall into one run and not the other.
  gc?.();
  const out = execFileSync("callgrind_control", ["-i", "on", String(process.pid)], { encoding: "utf8", timeout: 120_000 });
  if (!out.includes("OK")) throw new Error(`callgrind_control: ${out}`);
}

/** Starts `app` on 127.0.0.1 and connects a {@link socketClient} to it. */
async function listenWithClient(app: Awaited<ReturnType<typeof makeApp>>): Promise<{ server: Server; client: SocketClient }> {
  let server: Server;
  let port: number;
  if (app.listen !== undefined) {
    server = app.fastifyServer!;
    port = await app.listen();
  } else {
    server = createServer(app.listener as never);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  }
  // A slow client (a process under valgrind, paused while its count is switched on) must not
  // find its keep-alive connection closed.
  server.keepAliveTimeout = 0;
  return { server, client: await socketClient(port) };
}

interface SocketClient {
  /** One GET /hello, resolved when its whole answer arrived. */
  one(): Promise<void>;
  close(): void;
}

/**
 * A minimal HTTP/1.1 client on one keep-alive connection, one request at a time: the server's
 * whole path (parser, socket writes) for a few hundred instructions of client per request, and
 * nothing retained per request (light-my-request's injection keeps ≈ 10 KB per request in bare
 * Fastify, which made the in-process figures measure its garbage).
 */
async function socketClient(port: number): Promise<SocketClient> {
  const { connect } = await import("node:net");
  const sock = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  sock.setNoDelay(true);
  sock.setEncoding("latin1");
  const req = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  let buf = "";
  let pending: { resolve(): void; reject(e: Error): void } | undefined;
  sock.on("error", (e) => pending?.reject(e));
  sock.on("data", (d: string) => {
    buf += d;
    if (!buf.endsWith("hello")) return;
    const p = pending!;
    pending = undefined;
    if (!buf.startsWith("HTTP/1.1 200")) p.reject(new Error(`unexpected answer: ${buf.slice(0, 200)}`));
    else p.resolve();
    buf = "";
  });
  return {
    one: () =>
      new Promise<void>((resolve, reject) => {
        pending = { resolve, reject };
        sock.write(req);
      }),
    close: () => sock.destroy(),
  };
}

/**
 * Instructions executed by a child's `n` requests after `warm` uncounted ones (valgrind's
 * callgrind, instrumentation off until the warm-up is done; see {@link childCount}).
 * `--single-threaded` keeps V8's compiler and GC on the main thread, so the count does not depend
 * on how background threads were scheduled. The difference between two such runs of different `n`
 * is the steady cost of a request: a count from the process's start (the earlier method) included
 * the compilation of every function that became hot between the two runs' ends — with runs of 500
 * and 2,000 requests, more than 80 % of the "per request" figure.
 */
function instructions(framework: Framework, variant: Variant, n: number, harness = INSTR_HARNESS, warm = WARM_UP): number {
  const r = spawnSync(
    "valgrind",
    [
      "--tool=callgrind",
      "--instr-atstart=no",
      "--callgrind-out-file=/dev/null",
      process.execPath,
      "--single-threaded",
      // V8 sizes its heap and schedules GC by measured time, which under valgrind on a loaded
      // machine varies between runs: this fixes the schedule (two runs then agree within 0.3 %).
      "--predictable-gc-schedule",
      "--expose-gc",
      fileURLToPath(import.meta.url),
      "--child-count",
      framework,
      variant,
      String(n),
      harness,
      String(warm),
    ],
    { encoding: "utf8", timeout: 1_800_000 },
  );
  const m = /Collected\s*:\s*(\d+)/.exec(r.stderr ?? "");
  if (m === null) throw new Error(`valgrind gave no count: ${(r.stderr ?? "").slice(-500)}`);
  return Number(m[1]);
}

/** Uncounted requests before the instruction count starts (BENCH_WARMUP): by then V8 has compiled what a request runs. */
const WARM_UP = Number(process.env.BENCH_WARMUP ?? 4000);

function hasValgrind(): boolean {
  return spawnSync("valgrind", ["--version"], { encoding: "utf8" }).status === 0;
}

/** Measure 3: one server; prints its port. GET /__cpu answers the process's CPU time and requests served. */
async function childServer(framework: Framework, variant: Variant): Promise<void> {
  if (variant === "bare+als") {
    const { spawn } = await import("../src/index.js");
    await spawn(() => {});
  }
  const app = await makeApp(framework, variant);
  let server: Server;
  let port: number;
  if (app.listen !== undefined) {
    server = app.fastifyServer!;
    instrument(server);
    port = await app.listen();
  } else {
    server = createServer(app.listener as never);
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

function runChild(args: string[]): string {
  return execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 })
    .trim()
    .split("\n")
    .pop()!;
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

/** "4.2 %": what a throughput ratio (variant ÷ base, 1 = free) costs; negative when faster. */
function pct(ratio: number): string {
  const v = (1 - ratio) * 100;
  return `${v >= 0 ? "" : "−"}${Math.abs(v).toFixed(1)} %`;
}

export default async function httpAdaptersBench(ctx: BenchContext): Promise<Section> {
  const quick = ctx.quick;
  // BENCH_INSTRUCTIONS=1 adds the valgrind instruction counts; "only" runs just those.
  const only = process.env.BENCH_INSTRUCTIONS === "only";
  // 1. The adapter's own cost, in one process.
  const batches = quick ? 20 : 60;
  const batch = quick ? 100 : 200;
  const adapterRows: string[] = [];
  const adapterSummary: string[] = [];
  for (const fw of only ? [] : FRAMEWORKS) {
    log(`http-adapters: ${fw}, in-process batches`);
    const ns = JSON.parse(runChild(["--child-pairs", fw, String(batches), String(batch)])) as Record<Variant, number[]>;
    const ratio = (v: Variant): number => median(ns[v].map((x, i) => ns.bare[i]! / x));
    for (const v of IN_PROCESS) adapterRows.push(`| ${fw} | ${v} | ${Math.round(median(ns[v]))} | ${v === "bare" ? "—" : pct(ratio(v))} |`);
    adapterSummary.push(`${fw}: ${pct(ratio("steward"))} (with a Limiter: ${pct(ratio("steward+limiter"))})`);
    log(`  adapter ${pct(ratio("steward"))}, with a Limiter ${pct(ratio("steward+limiter"))}`);
  }
  // 2. Steward's context in the process, on the bare app.
  const alsRounds = quick ? 3 : 7;
  const alsN = quick ? 1000 : 3000;
  const alsRows: string[] = [];
  for (const fw of only ? [] : FRAMEWORKS) {
    log(`http-adapters: ${fw}, bare app with and without steward's context`);
    const fresh: number[] = [];
    const als: number[] = [];
    for (let r = 0; r < alsRounds; r++) {
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const a of order) (a ? als : fresh).push(Number(runChild(["--child-bare", fw, a ? "als" : "fresh", String(alsN)])));
    }
    const ratio = median(als.map((x, i) => fresh[i]! / x));
    alsRows.push(`| ${fw} | ${Math.round(median(fresh))} | ${Math.round(median(als))} | ${pct(ratio)} |`);
  }
  // 3. Over HTTP.
  const seconds = quick ? 1 : 3;
  const rounds = quick ? 2 : 5;
  const httpRows: string[] = [];
  for (const fw of only ? [] : FRAMEWORKS) {
    log(`http-adapters: ${fw}, over HTTP`);
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
      const cpuRatio = (v: Variant, base: Variant): number => median(cpuUs.get(v)!.map((x, i) => cpuUs.get(base)![i]! / x));
      const rpsRatio = (v: Variant, base: Variant): number => median(rps.get(v)!.map((x, i) => x / rps.get(base)![i]!));
      const cell = (f: (v: Variant, b: Variant) => number, v: Variant, base: Variant): string => (v === base || (base === "bare+als" && v === "bare") ? "—" : pct(f(v, base)));
      for (const v of VARIANTS) {
        httpRows.push(
          `| ${fw} | ${v} | ${Math.round(median(rps.get(v)!))} | ${cell(rpsRatio, v, "bare")} | ${cell(rpsRatio, v, "bare+als")} | ${median(cpuUs.get(v)!).toFixed(1)} | ${cell(cpuRatio, v, "bare")} | ${cell(cpuRatio, v, "bare+als")} |`,
        );
      }
    } finally {
      for (const c of children.values()) c.proc.kill();
    }
  }
  // 4. Instructions per request (valgrind), when asked: immune to the machine's load, slow (≈ 1 min a run).
  const instrRows: string[] = [];
  const wantInstr = process.env.BENCH_INSTRUCTIONS === "1" || only;
  if (wantInstr && hasValgrind()) {
    const [small, large] = quick ? [500, 1500] : [1000, 4000];
    // BENCH_FRAMEWORKS=fastify,http limits the (slow) counts to some frameworks.
    const fws = process.env.BENCH_FRAMEWORKS === undefined ? FRAMEWORKS : (process.env.BENCH_FRAMEWORKS.split(",") as Framework[]);
    for (const fw of fws) {
      log(`http-adapters: ${fw}, instructions per request under valgrind (${INSTR_HARNESS})`);
      const per = new Map<Variant, number>();
      for (const v of VARIANTS) per.set(v, (instructions(fw, v, large) - instructions(fw, v, small)) / (large - small));
      const cost = (v: Variant, base: Variant): string => (v === base || (base === "bare+als" && v === "bare") ? "—" : pct(per.get(base)! / per.get(v)!));
      for (const v of VARIANTS) instrRows.push(`| ${fw} | ${v} | ${Math.round(per.get(v)!).toLocaleString("en")} | ${cost(v, "bare")} | ${cost(v, "bare+als")} |`);
      log(`  ${VARIANTS.map((v) => `${v} ${Math.round(per.get(v)!)}`).join(", ")}`);
    }
  }
  const lines = [
    `Node ${process.version}. A hello route (\`GET /hello\` → "hello") on each framework, bare and with steward's adapter; "cost" is the throughput a variant loses against the bare app, 1 − (bare ÷ variant) in CPU time or variant ÷ bare in req/s, as the median of per-round ratios (negative: faster). Goal (issue 14): the adapter costs ≤ 5 % req/s on a hello route.`,
    "",
    `**The adapter's own cost** — bare, adapter and adapter + Limiter in one process, ${batches} alternating batches of ${batch} requests each (${INSTR_HARNESS === "socket" ? "each app listening on 127.0.0.1, its requests sent one at a time over one keep-alive connection by a minimal client in the same process" : "injected: the framework's whole request path, no sockets"}), timed by the process's CPU time; steward's AsyncLocalStorage is active for all three:`,
    "",
    "| framework | variant | CPU ns/request | cost |",
    "| --- | --- | ---: | ---: |",
    ...adapterRows,
    "",
    `**Steward's context in the process** — the bare app in fresh child processes, alone or after one steward task has run (its AsyncLocalStorage active: on Node 20/22 its promise hooks tax every await; any use of steward pays this, with or without the adapter); ${alsRounds} alternating rounds of ${alsN.toLocaleString("en")} × 3 injected requests:`,
    "",
    "| framework | fresh, CPU ns/request | context active | cost |",
    "| --- | ---: | ---: | ---: |",
    ...alsRows,
    "",
    `**Over HTTP** — each variant's server in its own child process on 127.0.0.1, autocannon (32 connections) from the bench process, ${seconds} s per measurement, ${rounds} alternating rounds: req/s at full load (the load generator shares the two cores with the server), and the server process's own CPU time per request at a fixed ${RATE} req/s. On this shared machine this is the noisiest of the three.`,
    "",
    "| framework | variant | req/s | cost vs bare | cost vs bare+als | server CPU µs/req | cost vs bare | cost vs bare+als |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...httpRows,
    "",
    ...(instrRows.length === 0
      ? [
          `**Instructions per request** (immune to the machine's load): \`BENCH_INSTRUCTIONS=1 npm run bench -- --only http-adapters\` with valgrind installed${wantInstr ? " (valgrind was not found)" : ""}.`,
          "",
        ]
      : [
          `**Instructions per request** — valgrind (callgrind) counts every instruction the process executes, so other load on the machine does not change it: each variant alone in a process (\`node --single-threaded\`, so V8's background compiler and GC threads do not make the count depend on scheduling), ${WARM_UP.toLocaleString("en")} uncounted warm-up requests (V8 is still compiling the request path's functions for the first few thousand), then the difference between counted runs of ${quick ? "1,500 and 500" : "4,000 and 1,000"} requests, per request, ${INSTR_HARNESS === "socket" ? "sent one at a time over one real keep-alive connection from a minimal client in the same process (the server's whole path: parser, socket writes)" : "injected (light-my-request)"}. The cost columns read instructions as time:`,
          "",
          "| framework | variant | instructions/request | cost vs bare | cost vs bare+als |",
          "| --- | --- | ---: | ---: | ---: |",
          ...instrRows,
          "",
        ]),
    "Variants: `bare` — the framework alone (a fresh process); `bare+als` — after one steward task has run in the process; `steward` — with the adapter (each request a named task with its scope); `steward+limiter` — plus `concurrency: 256, queue: 1024`, never reached here (the cost of admission itself).",
    "",
    `The adapter's own cost per request: ${adapterSummary.join("; ")}.`,
  ];
  return { title: "HTTP request scopes: adapter cost per request (issue 14)", markdown: lines.join("\n") };
}

const argv = process.argv;
const at = (flag: string): number => argv.indexOf(flag);
if (at("--child-server") >= 0) await childServer(argv[at("--child-server") + 1] as Framework, argv[at("--child-server") + 2] as Variant);
if (at("--child-pairs") >= 0) await childPairs(argv[at("--child-pairs") + 1] as Framework, Number(argv[at("--child-pairs") + 2]), Number(argv[at("--child-pairs") + 3]));
if (at("--child-count") >= 0) {
  const i = at("--child-count");
  await childCount(argv[i + 1] as Framework, argv[i + 2] as Variant, Number(argv[i + 3]), argv[i + 4] ?? "socket", Number(argv[i + 5] ?? 0));
}
if (at("--child-bare") >= 0) await childBare(argv[at("--child-bare") + 1] as Framework, argv[at("--child-bare") + 2] === "als", Number(argv[at("--child-bare") + 3]));
