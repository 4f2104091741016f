/**
 * The longest event-loop turn while 10 000 parked tasks are dumped: `runtime.dump()` (one
 * synchronous call) and the sliced path the library itself uses (`dumpWithAwaitSites`: await
 * sites probed, TaskInfo built in slices). A self re-arming setImmediate measures the wall gap of
 * every turn; GC pauses seen meanwhile are reported beside it (a gap may be a GC, or the process
 * not being scheduled on a loaded machine).
 * The synchronous `runtime.dump()` is timed in wall and main-thread CPU time, cold (its first
 * call: V8 runs its code unoptimised) and warm, for tasks just spawned (young objects) and for
 * tasks parked a while (`named`: every task named, so every one has a spawn site to format;
 * `old`: two full GCs first, so the tasks are old-generation objects, as in a service that has
 * run for a while).
 * `garbage`: first, with no dump, allocate unrelated garbage over 40 turns: the GC pauses any code
 * pays while the tasks are young (compare with the probing's).
 * Run: `node --expose-gc dist/bench/dump-stall.js [tasks] [sync-first|-] [named] [old] [garbage]` (after `npx tsc`).
 */
import { PerformanceObserver } from "node:perf_hooks";
import { dumpWithAwaitSites } from "../src/diagnostics/index.js";
import { Mutex, Runtime, sleep } from "../src/index.js";

const N = Number(process.argv[2] ?? 10_000);

let gcs: number[] = [];
const gcAt: [number, number, number][] = [];
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcs.push(e.duration);
    gcAt.push([e.startTime, e.duration, (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0]);
  }
});
const gaps: [number, number][] = [];
obs.observe({ entryTypes: ["gc"] });

async function level3(m: Mutex<number>): Promise<void> {
  (await m.lock()).release();
}
async function level2(m: Mutex<number>): Promise<void> {
  await level3(m);
}
async function level1(m: Mutex<number>): Promise<void> {
  await level2(m);
}

/** Runs `f` while measuring every turn's wall gap; returns the worst, turns over 10 ms, and the GC pauses meanwhile. */
async function watch(f: () => Promise<unknown>): Promise<string> {
  gcs = [];
  let worst = 0;
  let over = 0;
  let turns = 0;
  let last = performance.now();
  let on = true;
  // Main-thread CPU per turn where Node has it (24+): a wall gap also counts time the process
  // was not scheduled on a loaded machine, and process.cpuUsage() counts GC helper threads.
  const cpuOf = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage ?? (() => process.cpuUsage());
  const cpu: number[] = [];
  let lastCpu = cpuOf();
  const tick = (): void => {
    const now = performance.now();
    const c = cpuOf();
    cpu.push((c.user - lastCpu.user + c.system - lastCpu.system) / 1000);
    lastCpu = c;
    worst = Math.max(worst, now - last);
    if (now - last > 10) {
      over++;
      if (process.env.GAPS) gaps.push([last, now - last]);
    }
    turns++;
    last = now;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  on = false;
  await new Promise((r) => setImmediate(r));
  const g = [...gcs].sort((a, b) => b - a);
  cpu.sort((a, b) => a - b);
  const cpuOver = cpu.filter((x) => x > 10).length;
  return `${ms.toFixed(0)} ms in all over ${turns} turns; longest turn ${worst.toFixed(1)} ms wall (${over} over 10 ms); CPU per turn median ${(cpu[cpu.length >> 1] ?? 0).toFixed(1)} ms, max ${(cpu[cpu.length - 1] ?? 0).toFixed(1)} ms (${cpuOver} over 10 ms); GC pauses ${g.length}, longest ${(g[0] ?? 0).toFixed(1)} ms`;
}

const NAMED = process.argv.includes("named");
const OLD = process.argv.includes("old");
const cpuNow = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage ?? (() => process.cpuUsage());
/** One synchronous call's wall and main-thread CPU time (Node 24; process CPU on Node 20, which counts GC helper threads too). */
function timed(f: () => unknown): string {
  const c0 = cpuNow();
  const t = performance.now();
  f();
  const ms = performance.now() - t;
  const c = cpuNow();
  return `${ms.toFixed(1)} ms wall, ${((c.user - c0.user + c.system - c0.system) / 1000).toFixed(1)} ms CPU`;
}

const rt = new Runtime({ name: "dump-stall" });
const m = new Mutex(0, { name: "m" });
const g = await m.lock();
for (let i = 0; i < N; i++) rt.spawn(() => level1(m), NAMED ? { name: `request ${i}` } : undefined);
await sleep(100);
const gc = (globalThis as { gc?: () => void }).gc;
if (OLD) {
  gc?.();
  gc?.();
  await sleep(100);
}

console.log(`${N} parked tasks${NAMED ? " (named: spawn sites captured)" : ""}${OLD ? ", old-generation (two full GCs after spawning)" : ", just spawned"}; Node ${process.version}`);
if (process.argv.includes("garbage")) {
  // No dump: unrelated allocation in small turns, to see what a minor GC costs with these tasks alive.
  console.log(
    `no dump, garbage in 40 turns: ${await watch(async () => {
      for (let turn = 0; turn < 40; turn++) {
        const junk: unknown[] = [];
        for (let i = 0; i < 20_000; i++) junk.push([i, i + 1, { i }]);
        if (junk.length < 0) console.log(junk);
        await new Promise((r) => setImmediate(r));
      }
    })}`,
  );
}
if (process.argv[3] === "sync-first") {
  console.log(`runtime.dump() (sync, cold: its first call, queues the probes): ${timed(() => rt.dump())}`);
  console.log(`runtime.dump() (sync, second call): ${timed(() => rt.dump())}`);
}
console.log(`dumpWithAwaitSites() (sliced, probes every await site): ${await watch(() => dumpWithAwaitSites(rt))}`);
if (OLD) gc?.();
await sleep(50);
let d = rt.dump();
console.log(`runtime.dump() (sync, sites known, warm): ${timed(() => (d = rt.dump()))}; ${d.tasks.filter((t) => t.awaitSite !== undefined).length} with a site`);
console.log(`dumpWithAwaitSites() again (sites known): ${await watch(() => dumpWithAwaitSites(rt))}`);
if (process.env.GAPS) {
  console.log("gaps", gaps.map(([a, b]) => `${a.toFixed(0)}+${b.toFixed(0)}`).join(" "));
  console.log(
    "gcs",
    gcAt
      .filter(([, d]) => d > 2)
      .map(([a, b, k]) => `${a.toFixed(0)}+${b.toFixed(0)}k${k}`)
      .join(" "),
  );
}
g.release();
await rt.shutdown();
obs.disconnect();
