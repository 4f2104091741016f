/**
 * Supervisor benchmarks. Every heavy measurement runs in its own child process (this same file,
 * started with `--supervisor-bench-child`), so one case's JIT state, heap and threads never touch
 * another's.
 *
 * 1. Overhead: a node:http server on 127.0.0.1 under autocannon load, without a supervisor, with
 *    it, and with blocked-at; rounds interleaved; req/s and RSS.
 * 2. Detection latency: blocks of random length (150–400 ms) with a 100 ms threshold; from the
 *    block's start (recorded by the blocked thread) to the watchdog's detection and to its report
 *    write (timestamps in the JSON report, same clock).
 * 3. The hot path: ns per await with no supervisor, with it, and with the Debugger domain enabled
 *    (which the supervisor avoids).
 * 4. Breadcrumbs below their gate: ns per small JSON.parse, Buffer.from, Buffer#toString and
 *    Hash#update with the supervisor's wrappers installed and without.
 * 5. The diagnosis table (supervisor-diagnosis.ts): 22 real cases, this build and last round's.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { type BenchContext, log, median, percentile, type Section } from "./harness.js";

const require = createRequire(import.meta.url);
const CHILD_FLAG = "--supervisor-bench-child";
const SELF = fileURLToPath(import.meta.url);

function now(): number {
  return performance.timeOrigin + performance.now();
}

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

function busyWork(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Loads a few hundred CommonJS scripts, as a real application has (for the Debugger.enable replay cost). */
function loadManyScripts(): number {
  for (const m of ["undici", "autocannon", "piscina", "typescript-eslint"]) {
    try {
      require(m);
    } catch {
      // Not installed: fewer scripts, still measured.
    }
  }
  return Object.keys(require.cache).length;
}

// =============================================================================================
// Children

type HttpMode = "none" | "supervisor" | "supervisor-no-crumbs" | "blocked-at";

async function childHttp(mode: HttpMode): Promise<void> {
  const { Supervisor } = await import("../src/index.js");
  if (mode === "supervisor") await Supervisor.start({ report: "none" }).ready();
  if (mode === "supervisor-no-crumbs") await Supervisor.start({ report: "none", breadcrumbs: false }).ready();
  if (mode === "blocked-at") {
    const blocked = require("blocked-at") as (cb: (ms: number, stack: string[]) => void, o: { threshold: number }) => void;
    blocked(() => {}, { threshold: 100 });
  }
  let n = 0;
  const requestBody = JSON.stringify({ user: "someone@example.com", items: [1, 2, 3], note: "a small request body" });
  const handle = async (): Promise<string> => {
    // A handler with a few awaits, as real ones have (they are what async hooks make slower),
    // that parses a small body (a wrapped call, below the breadcrumbs' gate).
    const parsed = JSON.parse(requestBody) as { items: number[] };
    for (let i = 0; i < 4; i++) await Promise.resolve();
    if (parsed.items.length !== 3) throw new Error("unreachable");
    return JSON.stringify({ ok: true, n: ++n, at: Date.now() });
  };
  const server = createServer((_req, res) => {
    void handle().then((body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  await delay(300);
  const addr = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: addr.port, rssIdle: rssMb() })}\n`);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === "mark") {
      // CPU of the whole process (all its threads, the watchdog's too) and requests served.
      const u = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ rss: rssMb(), cpuUs: u.user + u.system, requests: n })}\n`);
    }
    if (line === "exit") break;
  }
  server.close();
  process.exit(0);
}

async function childLatency(method: "evaluate" | "pause" | "blocked-at", blocks: number, heavy: boolean): Promise<void> {
  const scripts = heavy ? loadManyScripts() : 0;
  const starts: { start: number; ms: number }[] = [];
  const blockedAt: number[] = [];
  let stop: (() => Promise<void>) | undefined;
  if (method === "blocked-at") {
    const blocked = require("blocked-at") as (cb: (ms: number) => void, o: { threshold: number }) => void;
    blocked(() => blockedAt.push(now()), { threshold: 100 });
  } else {
    const { Supervisor } = await import("../src/index.js");
    // Every episode written (the blocks share one stack, which the default would group).
    const sup = Supervisor.start({ report: "json", thresholdMs: 100, startupGraceMs: 0, captureMethod: method, group: false });
    await sup.ready();
    stop = () => sup.stop();
  }
  await delay(200);
  for (let i = 0; i < blocks; i++) {
    await delay(50 + Math.random() * 100);
    const ms = 150 + Math.random() * 250;
    starts.push({ start: now(), ms });
    busyWork(ms);
  }
  await delay(300);
  await stop?.();
  process.stdout.write(`${JSON.stringify({ starts, blockedAt, scripts })}\n`);
}

async function childAwait(mode: "none" | "supervisor" | "debugger", n: number): Promise<void> {
  const { Supervisor } = await import("../src/index.js");
  let cleanup: (() => Promise<unknown>) | undefined;
  if (mode === "supervisor") {
    const sup = Supervisor.start({ report: "none" });
    await sup.ready();
    cleanup = () => sup.stop();
  } else if (mode === "debugger") {
    // What the supervisor avoids: a session that keeps the Debugger domain enabled.
    const w = new Worker(
      `const { Session } = require("node:inspector"); const { parentPort } = require("node:worker_threads");
       const s = new Session(); s.connectToMainThread();
       s.post("Debugger.enable", {}, () => parentPort.postMessage("ready"));
       parentPort.on("message", () => { s.disconnect(); process.exit(0); });`,
      { eval: true },
    );
    await new Promise((r) => w.once("message", r));
    cleanup = async () => {
      w.postMessage("bye");
      await new Promise((r) => w.once("exit", r));
    };
  }
  const f = async (i: number): Promise<number> => i;
  const run = async (count: number): Promise<number> => {
    let s = 0;
    for (let i = 0; i < count; i++) s += await f(i);
    return s;
  };
  await run(n / 4);
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await run(n);
    samples.push(((performance.now() - t0) * 1e6) / n);
  }
  await cleanup?.();
  process.stdout.write(`${JSON.stringify({ nsPerAwait: median(samples) })}\n`);
}

/** Below-the-gate cost of the wrappers: rounds alternate breadcrumbs on and off in one process. */
async function childCrumbs(rounds: number, n: number): Promise<void> {
  const { Supervisor } = await import("../src/index.js");
  const { createHash } = await import("node:crypto");
  const body = JSON.stringify({ user: "someone@example.com", items: [1, 2, 3], note: "a small request body" });
  const kb = Buffer.alloc(1024, 97);
  const text = "hello, world: a short string to encode";
  // Called through the globals each time, as user code does (the wrappers replace them).
  const ops: Record<string, () => unknown> = {
    "JSON.parse (80 B)": () => JSON.parse(body),
    "Buffer.from(string)": () => Buffer.from(text),
    "Buffer#toString (1 KB)": () => kb.toString("utf8"),
    "Hash#update (1 KB) + digest": () => createHash("sha256").update(kb).digest(),
  };
  const out: Record<string, { on: number[]; off: number[] }> = {};
  for (const name of Object.keys(ops)) out[name] = { on: [], off: [] };
  for (let r = 0; r < rounds * 2; r++) {
    const on = r % 2 === 0;
    const sup = Supervisor.start({ report: "none", breadcrumbs: on });
    await sup.ready();
    for (const [name, op] of Object.entries(ops)) {
      for (let i = 0; i < n / 4; i++) op();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) op();
      out[name]![on ? "on" : "off"].push(((performance.now() - t0) * 1e6) / n);
    }
    await sup.stop();
  }
  process.stdout.write(`${JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { on: median(v.on), off: median(v.off) }])))}\n`);
}

async function child(argv: string[]): Promise<void> {
  const [role, a, b, c] = argv;
  if (role === "http") return childHttp(a as HttpMode);
  if (role === "latency") return childLatency(a as "evaluate" | "pause" | "blocked-at", Number(b), c === "heavy");
  if (role === "await") return childAwait(a as "none" | "supervisor" | "debugger", Number(b));
  if (role === "crumbs") return childCrumbs(Number(a), Number(b));
  throw new Error(`unknown child role ${role}`);
}

// =============================================================================================
// Parent side

interface Spawned {
  lines: AsyncIterableIterator<string>;
  stderr: string[];
  write(s: string): void;
  done: Promise<number | null>;
}

function startChild(args: string[]): Spawned {
  const cp = spawn(process.execPath, [SELF, CHILD_FLAG, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const stderr: string[] = [];
  createInterface({ input: cp.stderr! }).on("line", (l) => stderr.push(l));
  const lines = createInterface({ input: cp.stdout! })[Symbol.asyncIterator]();
  return {
    lines,
    stderr,
    write: (s) => cp.stdin!.write(s),
    done: new Promise((r) => cp.on("close", (code) => r(code))),
  };
}

async function nextJson<T>(c: Spawned): Promise<T> {
  const r = await c.lines.next();
  if (r.done === true) throw new Error(`child ended early; stderr:\n${c.stderr.join("\n")}`);
  return JSON.parse(r.value) as T;
}

interface AutocannonResult {
  requests: { average: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (o: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

interface Mark {
  rss: number;
  cpuUs: number;
  requests: number;
}

async function httpRound(mode: HttpMode, seconds: number, warmSeconds: number): Promise<{ rps: number; cpuPerReq: number; rssIdle: number; rssLoaded: number }> {
  const autocannon = require("autocannon") as Autocannon;
  const c = startChild(["http", mode]);
  const { port, rssIdle } = await nextJson<{ port: number; rssIdle: number }>(c);
  const url = `http://127.0.0.1:${port}/`;
  await autocannon({ url, connections: 32, duration: warmSeconds }); // warm-up
  c.write("mark\n");
  const m0 = await nextJson<Mark>(c);
  const res = await autocannon({ url, connections: 32, duration: seconds });
  c.write("mark\n");
  const m1 = await nextJson<Mark>(c);
  c.write("exit\n");
  await c.done;
  if (res.errors > 0 || res.non2xx > 0) log(`  ${mode}: ${res.errors} errors, ${res.non2xx} non-2xx`);
  return { rps: res.requests.average, cpuPerReq: (m1.cpuUs - m0.cpuUs) / Math.max(1, m1.requests - m0.requests), rssIdle, rssLoaded: m1.rss };
}

interface LatencyStats {
  label: string;
  blocks: number;
  reported: number;
  spurious: number;
  detect: number[];
  written: number[];
  capture: number[];
  late: number;
  scripts: number;
}

async function latencyRun(label: string, method: "evaluate" | "pause", blocks: number, heavy: boolean): Promise<LatencyStats> {
  const c = startChild(["latency", method, String(blocks), heavy ? "heavy" : "light"]);
  const out = await nextJson<{ starts: { start: number; ms: number }[]; scripts: number }>(c);
  await c.done;
  const reports = c.stderr.filter((l) => l.startsWith('{"steward":"supervisor"')).map((l) => JSON.parse(l) as { event: string; at: number; writtenAt: number; stackCapture?: string });
  const blockedReports = reports.filter((r) => r.event === "blocked");
  const stats: LatencyStats = { label, blocks, reported: 0, spurious: 0, detect: [], written: [], capture: [], late: 0, scripts: out.scripts };
  const used = new Set<number>();
  for (const b of out.starts) {
    const i = blockedReports.findIndex((r, k) => !used.has(k) && r.at >= b.start && r.at <= b.start + b.ms + 60);
    if (i < 0) continue;
    used.add(i);
    const r = blockedReports[i]!;
    stats.reported++;
    stats.detect.push(r.at - b.start);
    stats.written.push(r.writtenAt - b.start);
    stats.capture.push(r.writtenAt - r.at);
    if (r.stackCapture !== "live") stats.late++;
  }
  stats.spurious = blockedReports.length - used.size;
  return stats;
}

async function blockedAtRun(blocks: number): Promise<{ after: number[]; blocks: number }> {
  const c = startChild(["latency", "blocked-at", String(blocks), "light"]);
  const out = await nextJson<{ starts: { start: number; ms: number }[]; blockedAt: number[] }>(c);
  await c.done;
  const after: number[] = [];
  for (const b of out.starts) {
    const t = out.blockedAt.find((x) => x >= b.start);
    if (t !== undefined) after.push(t - b.start);
  }
  return { after, blocks: out.starts.length };
}

async function awaitRun(mode: string, n: number): Promise<number> {
  const c = startChild(["await", mode, String(n)]);
  const { nsPerAwait } = await nextJson<{ nsPerAwait: number }>(c);
  await c.done;
  return nsPerAwait;
}

const f0 = (x: number): string => x.toFixed(0);
const f1 = (x: number): string => x.toFixed(1);

export default async function supervisorBench(ctx: BenchContext): Promise<Section> {
  const quick = ctx.quick;
  const md: string[] = [];
  // SUPERVISOR_BENCH_PARTS=http,latency,await,crumbs,diagnosis runs only those parts.
  const parts = process.env.SUPERVISOR_BENCH_PARTS?.split(",");
  const part = (p: string): boolean => parts === undefined || parts.includes(p);

  if (part("http")) {
    // --- 1. HTTP overhead -------------------------------------------------------------------
    // none and Supervisor run back to back in each round (alternating which goes first) and each
    // round gives a ratio: slow drift of the shared machine's load cancels out of the ratios.
    const rounds = quick ? 1 : 7;
    const seconds = quick ? 1 : 3;
    const warm = quick ? 0.5 : 1;
    const modes: HttpMode[] = ["none", "supervisor", "supervisor-no-crumbs", "blocked-at"];
    const http = new Map<HttpMode, { rps: number[]; cpu: number[]; rssIdle: number[]; rssLoaded: number[] }>();
    for (const m of modes) http.set(m, { rps: [], cpu: [], rssIdle: [], rssLoaded: [] });
    const add = (m: HttpMode, res: Awaited<ReturnType<typeof httpRound>>): void => {
      const h = http.get(m)!;
      h.rps.push(res.rps);
      h.cpu.push(res.cpuPerReq);
      h.rssIdle.push(res.rssIdle);
      h.rssLoaded.push(res.rssLoaded);
    };
    for (let r = 0; r < rounds; r++) {
      const order = ["none", "supervisor", "supervisor-no-crumbs"] as const;
      for (const m of r % 2 === 0 ? order : ([...order].reverse() as HttpMode[])) {
        log(`  http ${m} round ${r + 1}/${rounds}`);
        add(m, await httpRound(m, seconds, warm));
      }
    }
    // blocked-at is ~30× slower: one run tells all there is to know.
    log("  http blocked-at");
    add("blocked-at", await httpRound("blocked-at", seconds, warm));
    const base = http.get("none")!;
    const sup = http.get("supervisor")!;
    const rpsRatios = sup.rps.map((v, i) => v / base.rps[i]!);
    const cpuRatios = sup.cpu.map((v, i) => v / base.cpu[i]!);
    const noCrumbs = http.get("supervisor-no-crumbs")!;
    const ratioOf = (m: HttpMode, k: "rps" | "cpu"): number => median(http.get(m)![k].map((v, i) => v / base[k][i]!));
    md.push(
      `### Overhead on an HTTP server`,
      "",
      `node:http on 127.0.0.1, a handler with four awaits, autocannon (32 connections) in the bench process; ` +
        `${rounds} rounds of ${seconds} s, none and Supervisor back to back in each round; the ratio columns are the ` +
        `median of the per-round ratios. *CPU/req*: CPU time of the whole server process (all threads, the ` +
        `watchdog's included) per request served. RSS of the server process, idle after start and after the load.`,
      "",
      "| server | req/s | × none | CPU µs/req | × none | RSS idle MB | Δ idle | RSS loaded MB | Δ loaded |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const m of modes) {
      const h = http.get(m)!;
      const rps = median(h.rps);
      const cpu = median(h.cpu);
      const rpsX = m === "none" ? 1 : m === "blocked-at" ? rps / median(base.rps) : ratioOf(m, "rps");
      const cpuX = m === "none" ? 1 : m === "blocked-at" ? cpu / median(base.cpu) : ratioOf(m, "cpu");
      const idle = median(h.rssIdle);
      const loaded = median(h.rssLoaded);
      md.push(
        `| ${m === "supervisor" ? "Supervisor.start() (breadcrumbs on, the default)" : m === "supervisor-no-crumbs" ? "Supervisor.start({ breadcrumbs: false })" : m} | ${f0(rps)} | ${rpsX.toFixed(3)} | ${f1(cpu)} | ${cpuX.toFixed(3)} | ${f1(idle)} | ` +
          `${m === "none" ? "" : `+${f1(idle - median(base.rssIdle))}`} | ${f1(loaded)} | ${m === "none" ? "" : `+${f1(loaded - median(base.rssLoaded))}`} |`,
      );
    }
    md.push(
      "",
      `Per-round Supervisor ÷ none — req/s: ${rpsRatios.map((x) => x.toFixed(3)).join(", ")} (breadcrumbs off: ${noCrumbs.rps.map((v, i) => (v / base.rps[i]!).toFixed(3)).join(", ")}); ` +
        `CPU/req: ${cpuRatios.map((x) => x.toFixed(3)).join(", ")}. The spread of these is the noise of the ` +
        `shared machine; read the medians.`,
    );
    md.push(
      "",
      "Sentry's eventLoopBlockIntegration is not installable offline here, so it is not measured; " +
        "see FINDINGS.md for its figures from the same kind of machine (+37 MB RSS, report 107–158 ms after the block starts).",
      "",
    );
  }
  if (part("latency")) {
    // --- 2. Detection latency ---------------------------------------------------------------
    const nLight = quick ? 10 : 50;
    const nHeavy = quick ? 4 : 25;
    const runs: LatencyStats[] = [];
    log(`  latency evaluate (${nLight} blocks)`);
    runs.push(await latencyRun("evaluate (default)", "evaluate", nLight, false));
    log(`  latency evaluate, many scripts (${nHeavy} blocks)`);
    runs.push(await latencyRun("evaluate, many scripts loaded", "evaluate", nHeavy, true));
    log(`  latency pause, many scripts (${nHeavy} blocks)`);
    runs.push(await latencyRun('captureMethod "pause", many scripts loaded', "pause", nHeavy, true));
    const pct = (xs: number[], p: number): string => (xs.length === 0 ? "–" : f0(percentile(xs, p)));
    md.push(
      `### Detection latency`,
      "",
      "Blocks of random length (150–400 ms, random gaps of 50–150 ms), threshold 100 ms. *detected*: from the block's " +
        "start (recorded by the blocked thread) to the watchdog seeing it; *written*: to the report being written to " +
        "stderr with its source-mapped stack; *capture*: written − detected (stack capture, source mapping, write). " +
        "Goal: p99 written ≤ threshold + 50 ms = 150 ms.",
      "",
      "| capture | scripts loaded | blocks | reported | spurious | detected p50 / p99 | written p50 / p95 / p99 / max | capture p50 / p99 | not live |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const s of runs) {
      md.push(
        `| ${s.label} | ${s.scripts || "few"} | ${s.blocks} | ${s.reported} | ${s.spurious} | ${pct(s.detect, 50)} / ${pct(s.detect, 99)} | ` +
          `${pct(s.written, 50)} / ${pct(s.written, 95)} / ${pct(s.written, 99)} / ${pct(s.written, 100)} | ${pct(s.capture, 50)} / ${pct(s.capture, 99)} | ${s.late} |`,
      );
    }
    log("  latency blocked-at");
    const ba = await blockedAtRun(quick ? 3 : 20);
    md.push(
      "",
      `blocked-at (threshold 100 ms) on the same kind of blocks: it can only report after the block ended, ` +
        `${ba.after.length}/${ba.blocks} reported, median ${ba.after.length > 0 ? f0(median(ba.after)) : "–"} ms after the block's start ` +
        "(≈ the block's whole length), naming the site that scheduled the callback rather than the blocking frame.",
      "",
    );
  }
  if (part("await")) {
    // --- 3. The hot path ----------------------------------------------------------------------
    const n = quick ? 300_000 : 2_000_000;
    const awaitModes = ["none", "supervisor", "debugger"] as const;
    const ns = new Map<string, number[]>();
    for (const m of awaitModes) ns.set(m, []);
    for (let r = 0; r < (quick ? 2 : 5); r++) {
      for (const m of awaitModes) {
        log(`  await ${m}`);
        ns.get(m)!.push(await awaitRun(m, n));
      }
    }
    const none = ns.get("none")!;
    md.push(
      "### The hot path",
      "",
      `ns per \`await\` of an async function, ${n} awaits, in a child process each, the cases interleaved; the ratio is ` + "the median of per-round ratios.",
      "",
      "| case | ns/await | × none |",
      "| --- | ---: | ---: |",
      ...awaitModes.map((m) => {
        const v = ns.get(m)!;
        const label = m === "none" ? "no supervisor" : m === "supervisor" ? "Supervisor running (session connected, no domain enabled)" : "Debugger domain enabled (what the supervisor avoids)";
        return `| ${label} | ${f1(median(v))} | ${median(v.map((x, i) => x / none[i]!)).toFixed(2)} |`;
      }),
    );
  }
  if (part("crumbs")) {
    // --- 4. Breadcrumbs below their gate -------------------------------------------------------
    const nOps = quick ? 100_000 : 500_000;
    log("  breadcrumbs");
    const cc = startChild(["crumbs", String(quick ? 2 : 7), String(nOps)]);
    const crumbs = await nextJson<Record<string, { on: number; off: number }>>(cc);
    await cc.done;
    md.push(
      "",
      "### Breadcrumbs below their gate",
      "",
      "The supervisor wraps the few heavy native calls V8 cannot interrupt (JSON.parse, scryptSync, pbkdf2Sync, key and prime " +
        "generation, Buffer.from, Buffer#toString, Hash#update): above a size gate (256 K characters, 1 MiB) a call leaves its " +
        `caller's stack in shared memory. Below the gate it costs a type check and a comparison: ns per call, ${nOps} calls per ` +
        "round, rounds alternating on and off in one process (the supervisor restarted each round), median of rounds.",
      "",
      "| call | breadcrumbs off ns | on ns | Δ ns |",
      "| --- | ---: | ---: | ---: |",
      ...Object.entries(crumbs).map(([k, { on, off }]) => {
        return `| ${k} | ${f1(off)} | ${f1(on)} | ${(on - off >= 0 ? "+" : "") + f1(on - off)} |`;
      }),
    );
  }
  if (part("diagnosis")) {
    // --- 5. Diagnosis ---------------------------------------------------------------------------
    const { diagnose, diagnosisTable } = await import("./supervisor-diagnosis.js");
    log("  diagnosis");
    const runsPerCase = quick ? 1 : 3;
    const now = diagnosisTable(await diagnose(runsPerCase, undefined, log));
    md.push(
      "",
      "### Diagnosis: 22 real cases",
      "",
      `Each case blocks the loop for ≥ 0.5 s inside an HTTP request's task (node:http on 127.0.0.1, \`spawn\` per request, ` +
        `the supervisor with its defaults, \`report: "json"\`); ${runsPerCase} run(s) per case; a column counts the runs that got it ` +
        "right: the user's function named (a frame in bench/supervisor-diagnosis-cases.ts), at the marked .ts line, the request's " +
        "task named, the stack written while the loop was still blocked; latency from the block's start to the stack being written.",
      "",
      now.markdown,
      "",
      `**${now.full}/${now.total} cases** right in most runs (all four columns; ${now.allRight}/${now.runs} runs); stack written ` +
        `${f0(now.medianMs)} ms (p50) / ${f0(now.p90Ms)} ms (p90) after the block began (threshold 100 ms). Last round: 18/22, 114 ms ` +
        "median (p90 158 ms).",
    );
  }
  return { title: "Supervisor", markdown: md.join("\n") };
}

// Run as a child when started directly with the child flag.
if (process.argv[2] === CHILD_FLAG && import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await child(process.argv.slice(3));
}
