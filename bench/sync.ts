/**
 * Synchronisation: steward's Mutex and Semaphore against the peers a user would otherwise pick
 * (async-mutex, @esfx/async-semaphore, async-sema, p-limit, Effect's Semaphore) and against bare
 * hand-written FIFO primitives, all measured in the same run.
 *
 * Peers are loaded the way a user would load them. async-mutex is measured both ways, because
 * its ESM build (what `import` resolves to) is a generator-based down-level of its CommonJS build
 * and is several times slower (FINDINGS.md).
 *
 * The measurements run in a fresh child process: on Node 20, once any AsyncLocalStorage has been
 * entered (steward enters one for every task; the core bench module spawns thousands before this
 * one runs), promise hooks make every `await` in the process slower, for every library alike, and
 * that fixed cost would flatten the comparison. The child measures the libraries first in a clean
 * state, then the same uncontended loop again with steward's context active.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { AsyncSemaphore } from "@esfx/async-semaphore";
import * as asyncMutexEsm from "async-mutex";
import { Sema } from "async-sema";
import { Effect, Semaphore as EffectSemaphore } from "effect";
import pLimit from "p-limit";
import { configure, Mutex, Semaphore, spawn } from "../src/index.js";
import { type BenchContext, type Case, compare, log, ratioTable, type Result, type Section } from "./harness.js";

const require = createRequire(import.meta.url);
/** What each critical section awaits: one microtask turn while holding the lock or permit. */
const resolved = Promise.resolve();
const asyncMutexCjs = require("async-mutex") as typeof asyncMutexEsm;

// ---------------------------------------------------------------------------------------------
// Bare baselines: the least a FIFO mutex or semaphore can do in JavaScript.

/** A FIFO mutex that returns no promise at all when it is free (so `await` gets a plain value). */
class BareMutex {
  private locked = false;
  private readonly waiters: (() => void)[] = [];
  lock(): Promise<void> | undefined {
    if (!this.locked) {
      this.locked = true;
      return undefined;
    }
    return new Promise<void>((r) => this.waiters.push(r));
  }
  unlock(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.locked = false;
  }
}

/** The same, but returning a promise every time, as any `lock(): Promise<Guard>` API must. */
class BarePromiseMutex {
  private locked = false;
  private readonly waiters: (() => void)[] = [];
  lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((r) => this.waiters.push(r));
  }
  unlock(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.locked = false;
  }
}

class BareSemaphore {
  private readonly waiters: (() => void)[] = [];
  constructor(private permits: number) {}
  acquire(): Promise<void> | undefined {
    if (this.permits > 0 && this.waiters.length === 0) {
      this.permits--;
      return undefined;
    }
    return new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.permits++;
  }
}

// ---------------------------------------------------------------------------------------------
// Cases

/** Runs `workers` loops concurrently, `n` iterations between them; resolves when all are done. */
async function workers(count: number, n: number, body: (iterations: number) => Promise<void>): Promise<void> {
  const per = Math.ceil(n / count);
  await Promise.all(Array.from({ length: count }, () => body(per)));
}

function uncontendedCases(): Case[] {
  const m = new Mutex();
  const bare = new BareMutex();
  const barePromise = new BarePromiseMutex();
  const amCjs = new asyncMutexCjs.Mutex();
  const amEsm = new asyncMutexEsm.Mutex();
  const esfx = new AsyncSemaphore(1);
  const eff = EffectSemaphore.makeUnsafe(1);
  return [
    {
      name: "steward Mutex",
      async run(n) {
        for (let i = 0; i < n; i++) (await m.lock()).release();
      },
    },
    {
      name: "steward Mutex, coopBudget 0",
      async run(n) {
        configure({ coopBudget: 0 });
        try {
          for (let i = 0; i < n; i++) (await m.lock()).release();
        } finally {
          configure({ coopBudget: 128 });
        }
      },
    },
    {
      name: "async-mutex (require)",
      async run(n) {
        for (let i = 0; i < n; i++) (await amCjs.acquire())();
      },
    },
    {
      name: "async-mutex (import)",
      async run(n) {
        for (let i = 0; i < n; i++) (await amEsm.acquire())();
      },
    },
    {
      name: "@esfx/async-semaphore(1)",
      async run(n) {
        for (let i = 0; i < n; i++) {
          await esfx.wait();
          esfx.release();
        }
      },
    },
    {
      name: "Effect Semaphore(1) withPermit",
      async run(n) {
        await Effect.runPromise(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) yield* eff.withPermit(Effect.void);
          }),
        );
      },
    },
    {
      name: "bare FIFO mutex (no promise when free)",
      async run(n) {
        for (let i = 0; i < n; i++) {
          await bare.lock();
          bare.unlock();
        }
      },
    },
    {
      name: "bare FIFO mutex (always a promise)",
      async run(n) {
        for (let i = 0; i < n; i++) {
          await barePromise.lock();
          barePromise.unlock();
        }
      },
    },
  ];
}

/** Run last: after these, steward's AsyncLocalStorage is active for the rest of the process. */
function alsCases(): Case[] {
  const m = new Mutex();
  const barePromise = new BarePromiseMutex();
  const amCjs = new asyncMutexCjs.Mutex();
  return [
    {
      name: "steward Mutex",
      async run(n) {
        for (let i = 0; i < n; i++) (await m.lock()).release();
      },
    },
    {
      name: "steward Mutex, inside a task",
      async run(n) {
        await spawn(async () => {
          for (let i = 0; i < n; i++) (await m.lock()).release();
        });
      },
    },
    {
      name: "async-mutex (require)",
      async run(n) {
        for (let i = 0; i < n; i++) (await amCjs.acquire())();
      },
    },
    {
      name: "bare FIFO mutex (always a promise)",
      async run(n) {
        for (let i = 0; i < n; i++) {
          await barePromise.lock();
          barePromise.unlock();
        }
      },
    },
  ];
}

/** 4 workers, each holding the lock across one await, so every lock after the first is contended. */
function contendedCases(): Case[] {
  const m = new Mutex();
  const bare = new BareMutex();
  const amCjs = new asyncMutexCjs.Mutex();
  const amEsm = new asyncMutexEsm.Mutex();
  const esfx = new AsyncSemaphore(1);
  const eff = EffectSemaphore.makeUnsafe(1);
  return [
    {
      name: "steward Mutex",
      run: (n) =>
        workers(4, n, async (k) => {
          for (let i = 0; i < k; i++) {
            const g = await m.lock();
            await resolved;
            g.release();
          }
        }),
    },
    {
      name: "async-mutex (require)",
      run: (n) =>
        workers(4, n, async (k) => {
          for (let i = 0; i < k; i++) {
            const release = await amCjs.acquire();
            await resolved;
            release();
          }
        }),
    },
    {
      name: "async-mutex (import)",
      run: (n) =>
        workers(4, n, async (k) => {
          for (let i = 0; i < k; i++) {
            const release = await amEsm.acquire();
            await resolved;
            release();
          }
        }),
    },
    {
      name: "@esfx/async-semaphore(1)",
      run: (n) =>
        workers(4, n, async (k) => {
          for (let i = 0; i < k; i++) {
            await esfx.wait();
            await resolved;
            esfx.release();
          }
        }),
    },
    {
      name: "Effect Semaphore(1) withPermit",
      async run(n) {
        const per = Math.ceil(n / 4);
        const worker = Effect.gen(function* () {
          for (let i = 0; i < per; i++) yield* eff.withPermit(Effect.yieldNow);
        });
        await Effect.runPromise(Effect.all([worker, worker, worker, worker], { concurrency: "unbounded" }));
      },
    },
    {
      name: "bare FIFO mutex",
      run: (n) =>
        workers(4, n, async (k) => {
          for (let i = 0; i < k; i++) {
            await bare.lock();
            await resolved;
            bare.unlock();
          }
        }),
    },
  ];
}

/** Semaphore(4) shared by 16 workers, each holding its permit across one await. */
function semaphoreCases(): Case[] {
  const s = new Semaphore(4);
  const sema = new Sema(4);
  const limit = pLimit(4);
  const esfx = new AsyncSemaphore(4);
  const amCjs = new asyncMutexCjs.Semaphore(4);
  const eff = EffectSemaphore.makeUnsafe(4);
  const bare = new BareSemaphore(4);
  const work = (): Promise<void> => resolved;
  return [
    {
      name: "steward Semaphore",
      run: (n) =>
        workers(16, n, async (k) => {
          for (let i = 0; i < k; i++) {
            const p = await s.acquire();
            await resolved;
            p.release();
          }
        }),
    },
    {
      name: "steward Semaphore, coopBudget 0",
      async run(n) {
        configure({ coopBudget: 0 });
        try {
          await workers(16, n, async (k) => {
            for (let i = 0; i < k; i++) {
              const p = await s.acquire();
              await resolved;
              p.release();
            }
          });
        } finally {
          configure({ coopBudget: 128 });
        }
      },
    },
    {
      name: "async-sema",
      run: (n) =>
        workers(16, n, async (k) => {
          for (let i = 0; i < k; i++) {
            await sema.acquire();
            await resolved;
            sema.release();
          }
        }),
    },
    {
      name: "@esfx/async-semaphore",
      run: (n) =>
        workers(16, n, async (k) => {
          for (let i = 0; i < k; i++) {
            await esfx.wait();
            await resolved;
            esfx.release();
          }
        }),
    },
    {
      name: "async-mutex Semaphore (require)",
      run: (n) =>
        workers(16, n, async (k) => {
          for (let i = 0; i < k; i++) {
            const [, release] = await amCjs.acquire();
            await resolved;
            release();
          }
        }),
    },
    {
      name: "p-limit",
      run: (n) =>
        workers(16, n, async (k) => {
          for (let i = 0; i < k; i++) await limit(work);
        }),
    },
    {
      name: "Effect Semaphore(4) withPermit",
      async run(n) {
        const per = Math.ceil(n / 16);
        const worker = Effect.gen(function* () {
          for (let i = 0; i < per; i++) yield* eff.withPermit(Effect.yieldNow);
        });
        await Effect.runPromise(
          Effect.all(
            Array.from({ length: 16 }, () => worker),
            { concurrency: "unbounded" },
          ),
        );
      },
    },
    {
      name: "bare FIFO semaphore",
      run: (n) =>
        workers(16, n, async (k) => {
          for (let i = 0; i < k; i++) {
            await bare.acquire();
            await resolved;
            bare.release();
          }
        }),
    },
  ];
}

function ratio(results: Result[], a: string, b: string): string {
  const x = results.find((r) => r.name === a)!.nsPerOp;
  const y = results.find((r) => r.name === b)!.nsPerOp;
  return (y / x).toFixed(1);
}

interface Measured {
  node: string;
  uncontended: Result[];
  contended: Result[];
  semaphore: Result[];
  withContext: Result[];
  /** For each contended case: did a setTimeout(0) armed before a run fire while it ran? */
  timers: { name: string; fired: boolean }[];
}

/** Runs each case once with a setTimeout(0) pending: does the loop let the event loop turn? */
async function timersDuring(cases: Case[], n: number): Promise<{ name: string; fired: boolean }[]> {
  const out: { name: string; fired: boolean }[] = [];
  for (const c of cases) {
    await new Promise<void>((r) => setTimeout(r, 2));
    let fired = false;
    const t = setTimeout(() => (fired = true), 0);
    await c.run(n);
    clearTimeout(t);
    out.push({ name: c.name, fired });
  }
  return out;
}

async function measure(quick: boolean): Promise<Measured> {
  const rounds = quick ? 5 : 7;
  log("sync: uncontended lock+release");
  const uncontended = await compare(uncontendedCases(), { n: quick ? 20_000 : 100_000, rounds });
  log("sync: 4 contenders");
  const contended = await compare(contendedCases(), { n: quick ? 20_000 : 80_000, rounds });
  log("sync: Semaphore(4), 16 workers");
  const semaphore = await compare(semaphoreCases(), { n: quick ? 20_000 : 80_000, rounds });
  log("sync: do timers fire during the contended loops?");
  const timers = await timersDuring([...contendedCases(), ...semaphoreCases()], quick ? 20_000 : 80_000);
  log("sync: uncontended, with steward's AsyncLocalStorage active");
  const withContext = await compare(alsCases(), { n: quick ? 20_000 : 100_000, rounds });
  return { node: process.version, uncontended, contended, semaphore, withContext, timers };
}

/** Measures in a fresh process (see the module comment); in this one if that fails. */
async function measureClean(quick: boolean): Promise<{ m: Measured; note: string }> {
  const self = fileURLToPath(import.meta.url);
  try {
    const out = execFileSync(process.execPath, [self, "--child", quick ? "--quick" : ""], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 300_000,
    });
    return { m: JSON.parse(out.trim().split("\n").pop()!) as Measured, note: "Measured in a fresh child process." };
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    return { m: await measure(quick), note: `Measured in the bench process (the child process failed: ${why}).` };
  }
}

function yesNo(timers: { name: string; fired: boolean }[], fired: boolean): string {
  const names = timers.filter((t) => t.fired === fired).map((t) => t.name);
  return names.length === 0 ? "none" : names.map((n) => `\`${n}\``).join(", ");
}

export default async function syncBench(ctx: BenchContext): Promise<Section> {
  const { m, note } = await measureClean(ctx.quick);
  const base = "steward Mutex";
  const unc = m.uncontended;
  const lines = [
    `${note} Node ${m.node}. Ratio columns are how many times slower than steward a case is`,
    "(above 1: steward is faster).",
    "",
    "Mutex lock+release, uncontended (ns per lock+release):",
    "",
    ratioTable(unc, base, "× steward"),
    "",
    `steward's Mutex is **${ratio(unc, base, "async-mutex (import)")}×** faster than async-mutex loaded with \`import\``,
    `(which resolves to its generator-based ESM build) and **${ratio(unc, base, "async-mutex (require)")}×** faster than`,
    `async-mutex loaded with \`require\` (its CommonJS build); ${ratio(unc, base, "Effect Semaphore(1) withPermit")}× against`,
    `Effect's Semaphore(1) and ${ratio(unc, base, "@esfx/async-semaphore(1)")}× against @esfx/async-semaphore, whose`,
    "`wait()` resolves `undefined` and checks nothing else. An uncontended lock creates no waiter:",
    "one guard object (what makes `release()` idempotent) and one resolved promise. The bare",
    "mutex that also returns a promise is the floor for a `lock(): Promise<Guard>` signature.",
    "The cooperative budget (a macrotask hop every 128 ready locks, so a lock loop cannot starve",
    "timers and I/O) is the difference to the `coopBudget 0` row.",
    "",
    "The same loop once steward's AsyncLocalStorage context is active in the process (it is as",
    "soon as any task has run). On Node 20 its promise hooks tax every `await`, steward's and",
    "everyone else's alike; inside a task, each wait also checks the task's cancellation:",
    "",
    ratioTable(m.withContext, base, "× steward"),
    "",
    "Mutex with 4 contenders, each holding the lock across one `await` (ns per lock):",
    "",
    ratioTable(m.contended, base, "× steward"),
    "",
    "Semaphore(4) shared by 16 workers, each holding its permit across one `await` (ns per",
    "acquire):",
    "",
    ratioTable(m.semaphore, "steward Semaphore", "× steward"),
    "",
    "When contended, steward hands the lock or permits straight to the next waiter in line",
    "(strict FIFO: no barging, and a large `acquire(n)` is never starved) and each wake-up draws",
    "on the cooperative budget. Without that, a hand-off loop like these runs entirely in",
    "microtasks and starves timers and I/O for as long as it runs. A `setTimeout(0)` armed before",
    "one run of each contended loop above fired during the run for:",
    `${yesNo(m.timers, true)}; it did not for: ${yesNo(m.timers, false)}.`,
    "steward yields to the event loop every 128 hand-offs (the `coopBudget 0` rows show what that",
    "costs); Effect's wake-ups go through setImmediate. Effect's Semaphore runs inside one",
    "`Effect.runPromise` per round, so its figures carry no per-operation runPromise.",
  ];
  return { title: "Synchronisation: Mutex and Semaphore (API.md §5)", markdown: lines.join("\n") };
}

if (process.argv.includes("--child") && process.argv[1] === fileURLToPath(import.meta.url)) {
  const m = await measure(process.argv.includes("--quick"));
  process.stdout.write(`${JSON.stringify(m)}\n`);
}
