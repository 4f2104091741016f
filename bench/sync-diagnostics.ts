/**
 * The cost of deadlock detection and lock-order checking on the sync primitives' paths, side by
 * side in one process: each case runs with `configure({ deadlocks, lockOrder })` on (the
 * defaults) and off, alternately, several rounds; the median of each is reported. First fresh
 * (no task has run), then inside a task (steward's AsyncLocalStorage context active).
 * Run: `node dist/bench/sync-diagnostics.js` (after `npx tsc`).
 *
 * `--instructions`: instructions per op under valgrind (load-independent, unlike the times above)
 * of each case in a task, with `configure({ lockSites })` off (the default) and on: what recording
 * acquisition sites costs, and (run the same child against another build) that off costs nothing.
 * `--instructions-detection [case prefix]`: the same, detection and lock-order checking on vs off.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
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

/** `--child CASE N on|off [detection-off]`: runs one case in a task, for valgrind. */
async function child(name: string, n: number, sites: boolean, detection = true): Promise<void> {
  configure({ lockSites: sites });
  if (!detection) configure({ deadlocks: "off", lockOrder: "off" });
  const c = CASES.find(([label]) => label === name);
  if (c === undefined) throw new Error(`no case ${name}`);
  await spawn(() => c[1](n));
}

function instructions(name: string, n: number, sites: boolean, detection = true): number {
  const r = spawnSync(
    "valgrind",
    [
      "--tool=cachegrind",
      "--cache-sim=no",
      "--cachegrind-out-file=/dev/null",
      process.execPath,
      "--single-threaded",
      fileURLToPath(import.meta.url),
      "--child",
      name,
      String(n),
      sites ? "on" : "off",
      detection ? "" : "detection-off",
    ],
    {
      encoding: "utf8",
      timeout: 1_800_000,
    },
  );
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr ?? "");
  if (m === null) throw new Error(`valgrind gave no count: ${(r.stderr ?? "").slice(-500)}`);
  return Number(m[1]!.replaceAll(",", ""));
}

if (process.argv[2] === "--child") {
  await child(process.argv[3]!, Number(process.argv[4]), process.argv[5] === "on", process.argv[6] !== "detection-off");
  process.exit(0);
}
if (process.argv[2] === "--instructions-detection") {
  // What deadlock detection and lock-order checking cost per op, load-independent: the same case
  // with `configure({ deadlocks, lockOrder })` at their defaults and both "off".
  console.log("| case (in a task) | detection off, Ir/op | detection on, Ir/op | on − off |\n|---|---:|---:|---:|");
  for (const [name] of CASES.filter(([label]) => process.argv[3] === undefined || label.startsWith(process.argv[3]))) {
    const per = (on: boolean): number => (instructions(name, 24_000, false, on) - instructions(name, 8_000, false, on)) / 16_000;
    const off = per(false);
    const on = per(true);
    console.log(`| ${name} | ${off.toFixed(0)} | ${on.toFixed(0)} | ${(on - off).toFixed(0)} |`);
  }
  process.exit(0);
}
if (process.argv[2] === "--instructions") {
  console.log("| case (in a task) | lockSites off, Ir/op | lockSites on, Ir/op | on − off |\n|---|---:|---:|---:|");
  for (const [name] of CASES) {
    const per = (sites: boolean): number => (instructions(name, 24_000, sites) - instructions(name, 8_000, sites)) / 16_000;
    const off = per(false);
    const on = per(true);
    console.log(`| ${name} | ${off.toFixed(0)} | ${on.toFixed(0)} | ${(on - off).toFixed(0)} |`);
  }
  process.exit(0);
}

const rows = [...(await measure("fresh"))];
rows.push(...(await spawn(() => measure("in a task"))));
console.log("| context | case | off ns/op | on ns/op | on/off |\n|---|---|---:|---:|---:|");
console.log(rows.join("\n"));
