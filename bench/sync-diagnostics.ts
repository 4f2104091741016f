/**
 * The cost of deadlock detection and lock-order checking on the sync primitives' paths, side by
 * side in one process: each case runs with `configure({ deadlocks, lockOrder })` on (the
 * defaults) and off, alternately, several rounds; the median of each is reported. First fresh
 * (no task has run), then inside a task (steward's AsyncLocalStorage context active).
 * Run: `node dist/bench/sync-diagnostics.js` (after `npx tsc`).
 */
import { configure, Mutex, Semaphore, spawn } from "../src/index.js";

const resolved = Promise.resolve();

async function uncontendedMutex(n: number): Promise<void> {
  const m = new Mutex(0);
  for (let i = 0; i < n; i++) {
    const g = await m.lock();
    await resolved;
    g.release();
  }
}

async function contendedMutex(n: number): Promise<void> {
  const m = new Mutex(0);
  const workers = 8;
  const per = n / workers;
  await Promise.all(
    Array.from({ length: workers }, () =>
      spawn(async () => {
        for (let i = 0; i < per; i++) {
          const g = await m.lock();
          await resolved;
          g.release();
        }
      }),
    ),
  );
}

async function nestedMutex(n: number): Promise<void> {
  const a = new Mutex(0, { name: "bench-a" });
  const b = new Mutex(0, { name: "bench-b" });
  for (let i = 0; i < n; i++) {
    const ga = await a.lock();
    const gb = await b.lock();
    await resolved;
    gb.release();
    ga.release();
  }
}

async function semaphore(n: number): Promise<void> {
  const s = new Semaphore(4);
  const workers = 8;
  const per = n / workers;
  await Promise.all(
    Array.from({ length: workers }, () =>
      spawn(async () => {
        for (let i = 0; i < per; i++) {
          const p = await s.acquire();
          await resolved;
          p.release();
        }
      }),
    ),
  );
}

const CASES: [string, (n: number) => Promise<void>, number][] = [
  ["uncontended Mutex lock/release", uncontendedMutex, 200_000],
  ["nested Mutex a→b (lock-order check)", nestedMutex, 100_000],
  ["contended Mutex, 8 tasks", contendedMutex, 80_000],
  ["Semaphore(4), 8 tasks", semaphore, 80_000],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function measure(label: string): Promise<string[]> {
  const rows: string[] = [];
  for (const [name, fn, n] of CASES) {
    const on: number[] = [];
    const off: number[] = [];
    await fn(n / 10); // warm up
    for (let round = 0; round < 7; round++) {
      for (const mode of round % 2 === 0 ? ["on", "off"] : ["off", "on"]) {
        configure(mode === "on" ? { deadlocks: "reject", lockOrder: "warn" } : { deadlocks: "off", lockOrder: "off" });
        const t0 = performance.now();
        await fn(n);
        const ns = ((performance.now() - t0) * 1e6) / n;
        (mode === "on" ? on : off).push(ns);
      }
    }
    configure({ deadlocks: "reject", lockOrder: "warn" });
    const a = median(on);
    const b = median(off);
    rows.push(`| ${label} | ${name} | ${b.toFixed(0)} | ${a.toFixed(0)} | ${(a / b).toFixed(2)} |`);
  }
  return rows;
}

const rows = [...(await measure("fresh"))];
rows.push(...(await spawn(() => measure("in a task"))));
console.log("| context | case | off ns/op | on ns/op | on/off |\n|---|---|---:|---:|---:|");
console.log(rows.join("\n"));
