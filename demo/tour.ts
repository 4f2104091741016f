/**
 * `npm run demo`: a self-driving tour. It starts the demo service (service.ts) in a child
 * process, drives it with real HTTP requests and narrates what steward does, then sends SIGTERM
 * and shows the graceful shutdown. Exits 0 when every step behaved as promised.
 *
 * `npm run demo -- --serve` runs the service in the foreground for poking by hand instead.
 */
import { type ChildProcess, spawn as spawnProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SERVICE = fileURLToPath(new URL("./service.js", import.meta.url));
const t0 = performance.now();
const since = (): string => `${(performance.now() - t0).toFixed(0).padStart(5)} ms`;
let failures = 0;

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function check(ok: boolean, what: string): void {
  say(`   ${ok ? "✔" : "✘"} ${what}`);
  if (!ok) failures++;
}

interface Line {
  at: number;
  text: string;
}

/** The service's stderr, line by line, with arrival times (the supervisor writes there). */
class StderrLog {
  lines: Line[] = [];
  constructor(child: ChildProcess) {
    let buf = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        this.lines.push({ at: performance.now(), text: buf.slice(0, i) });
        buf = buf.slice(i + 1);
      }
    });
  }
  after(t: number): Line[] {
    return this.lines.filter((l) => l.at >= t);
  }
}

async function get(base: string, path: string, init?: RequestInit): Promise<{ status: number; body: string; ms: number; end: number }> {
  const start = performance.now();
  const res = await fetch(base + path, init);
  const body = await res.text();
  const end = performance.now();
  return { status: res.status, body, ms: end - start, end };
}

async function startService(): Promise<{ child: ChildProcess; base: string; stderr: StderrLog; stdout: string[] }> {
  const child = spawnProcess(process.execPath, [SERVICE], { env: { ...process.env, DEMO_PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  const stderr = new StderrLog(child);
  const stdout: string[] = [];
  child.stdout!.setEncoding("utf8");
  let pending = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d: string) => {
      pending += d;
      let i: number;
      while ((i = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        stdout.push(line);
        const m = /^LISTENING (\d+)/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`the demo service exited early (${code}): ${stderr.lines.map((l) => l.text).join("\n")}`)));
  });
  return { child, base: `http://127.0.0.1:${port}`, stderr, stdout };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function tour(): Promise<void> {
  say("steward demo — a node:http service under runMain, with the supervisor on (service.ts)");
  const { child, base, stderr, stdout } = await startService();
  say(`${since()}  service listening on ${base}`);
  await sleep(600); // the supervisor's start-up grace (module loading blocks legitimately)

  say("\n1. GET /fast answers, and the supervisor stays quiet.");
  const mark1 = performance.now();
  for (let i = 0; i < 3; i++) {
    const r = await get(base, "/fast");
    say(`   /fast → ${r.status} in ${r.ms.toFixed(1)} ms`);
  }
  await sleep(300);
  check(stderr.after(mark1).length === 0, "no report for a loop that is not blocked");

  say("\n2. GET /slow blocks the event loop for 600 ms in crunchNumbers().");
  const mark2 = performance.now();
  const slow = get(base, "/slow");
  await sleep(100);
  const fastDuringBlock = get(base, "/fast");
  const [s, f] = await Promise.all([slow, fastDuringBlock]);
  await sleep(50);
  const report = stderr.after(mark2);
  const header = report.find((l) => l.text.includes("blocked"));
  say("   the supervisor's report, as the watchdog thread wrote it to stderr:");
  for (const l of report.slice(0, 8)) say(`   │ ${l.text}`);
  if (header !== undefined) {
    say(`   report written ${(header.at - mark2).toFixed(0)} ms after /slow was sent; /slow answered after ${(s.end - mark2).toFixed(0)} ms`);
  }
  check(header !== undefined && header.at < s.end, "the report appeared while the loop was still blocked");
  check(report.some((l) => l.text.includes("crunchNumbers") && l.text.includes("crunch.ts")), "it names crunchNumbers() and its line in crunch.ts (source-mapped)");
  check(report.some((l) => l.text.includes("GET /slow")), "it names the request's task ('GET /slow #n')");
  say(`   meanwhile a /fast request waited ${f.ms.toFixed(0)} ms: everything on the loop stalls`);

  say("\n3. GET /offload runs the same work on blockingPool(): the loop stays free.");
  const mark3 = performance.now();
  const off = get(base, "/offload");
  const fastLatencies: number[] = [];
  await sleep(50);
  for (let i = 0; i < 8; i++) {
    fastLatencies.push((await get(base, "/fast")).ms);
    await sleep(40);
  }
  const o = await off;
  const worst = Math.max(...fastLatencies);
  say(`   /offload → ${o.status} in ${o.ms.toFixed(0)} ms; 8 × /fast meanwhile: worst ${worst.toFixed(1)} ms (vs ${f.ms.toFixed(0)} ms when blocked)`);
  check(worst < f.ms / 3, "/fast stayed fast while the work ran on a pool thread");
  const blocked3 = stderr.after(mark3).filter((l) => l.text.includes("blocked"));
  for (const l of blocked3) say(`   │ ${l.text}`);
  check(blocked3.length === 0, "no blocked-loop report");

  say("\n4. A burst of 400 POST /ingest: a bounded channel(16) and a Semaphore(4) hold memory flat.");
  const before = (await (await fetch(`${base}/stats`)).json()) as { heapMB: number };
  const burst = await Promise.all(Array.from({ length: 400 }, (_, i) => get(base, "/ingest", { method: "POST", body: `job ${i} `.repeat(20) })));
  await sleep(100);
  const st = (await (await fetch(`${base}/stats`)).json()) as { received: number; processed: number; maxBuffered: number; maxWorking: number; heapMB: number };
  say(`   ${burst.filter((r) => r.status === 202).length} accepted, ${st.processed} processed; at most ${st.maxBuffered} buffered and ${st.maxWorking} in progress at once`);
  say(`   heap ${before.heapMB.toFixed(1)} MB before the burst, ${st.heapMB.toFixed(1)} MB after`);
  check(st.maxBuffered <= 16 && st.maxWorking <= 4, "the channel never held more than 16 jobs, the semaphore never let more than 4 run");
  check(st.processed === 400, "no job was lost");

  say("\n5. SIGTERM with 20 requests in flight: they all complete, then the shutdown report.");
  const inflight = Array.from({ length: 20 }, () => get(base, "/work?ms=400").catch((e: Error) => ({ status: 0, body: String((e.cause as Error | undefined)?.message ?? e.message), ms: 0, end: 0 })));
  await sleep(100);
  const mark5 = performance.now();
  child.kill("SIGTERM");
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  await sleep(50);
  const late = await get(base, "/fast").catch((e: Error) => ({ status: 0, body: e.message, ms: 0, end: 0 }));
  const done = await Promise.all(inflight);
  const [code] = await exited;
  for (const l of stderr.after(mark5)) say(`   │ ${l.text}`);
  for (const l of stdout.filter((x) => x.startsWith("SHUTDOWN"))) say(`   │ ${l}`);
  const complete = done.filter((r) => r.status === 200 && r.body === "work: done\n").length;
  say(`   ${complete}/20 in-flight responses complete; a request after SIGTERM got ${late.status === 0 ? "refused" : late.status}`);
  check(complete === 20, "every in-flight request got its whole response");
  for (const r of done) if (r.status !== 200) say(`   (failed: ${r.status} ${r.body})`);
  check(late.status === 503 || late.status === 0, "new requests are turned away while draining");
  check(code === 0, `the service exited with code ${code} (0: main returned and shutdown was clean)`);

  say("\n6. The flight recorder (on by default under runMain) kept the seconds around step 2's blocked loop.");
  const dumpDir = process.env.STEWARD_RECORDER_DIR || join(tmpdir(), "steward-recorder");
  const dumps = existsSync(dumpDir) ? readdirSync(dumpDir).filter((n) => n.startsWith(`steward-${child.pid}-`) && n.endsWith("-blocked.stwrec")) : [];
  const dump = dumps.sort().at(-1); // the latest: a short stall before step 2 may have left one too
  if (dump !== undefined) {
    say(`   dump: ${join(dumpDir, dump)}`);
    say(`   replay it: npx steward replay ${join(dumpDir, dump)}   (a timeline in the browser; --tui in a terminal)`);
  }
  check(dump !== undefined, "the blocked step left a flight-recorder dump");
}

async function serveInForeground(): Promise<void> {
  const child = spawnProcess(process.execPath, [SERVICE, "--serve"], { stdio: "inherit" });
  const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const [code] = (await once(child, "exit")) as [number | null];
  process.exitCode = code ?? 1;
}

if (process.argv.includes("--serve")) {
  await serveInForeground();
} else {
  await tour();
  say(`\n${failures === 0 ? "done: every step behaved as promised" : `${failures} step(s) did not behave as promised`} (${since().trim()}).`);
  process.exitCode = failures === 0 ? 0 : 1;
}
