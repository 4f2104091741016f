/**
 * The Limiter against what a user would otherwise pick for "at most N at a time": p-limit and
 * p-queue, in-process, same run, interleaved rounds (harness.compare).
 *
 * Each job awaits one microtask (an already-resolved promise), so the figures are the limiter's
 * own cost per job plus that await. Measured first in this fresh process, then again once a
 * steward task has run (steward's AsyncLocalStorage is then active: on Node 20/22 every await in
 * the process pays its promise hooks, the peers' included).
 */
import PQueue from "p-queue";
import pLimit from "p-limit";
import { Limiter, spawn } from "../src/index.js";
import { type BenchContext, type Case, compare, log, ratioTable, type Result, type Section } from "./harness.js";

const resolved = Promise.resolve();
const job = async (): Promise<void> => {
  await resolved;
};

/** One job at a time through a limiter of 4: the admission fast path. */
function sequentialCases(): Case[] {
  const lim = new Limiter({ concurrency: 4 });
  const limit = pLimit(4);
  const queue = new PQueue({ concurrency: 4 });
  return [
    {
      name: "steward Limiter.run",
      async run(n) {
        for (let i = 0; i < n; i++) await lim.run(job);
      },
    },
    {
      name: "p-limit",
      async run(n) {
        for (let i = 0; i < n; i++) await limit(job);
      },
    },
    {
      name: "p-queue add",
      async run(n) {
        for (let i = 0; i < n; i++) await queue.add(job);
      },
    },
    {
      name: "no limiter (await job())",
      async run(n) {
        for (let i = 0; i < n; i++) await job();
      },
    },
  ];
}

const BATCH = 1000;

async function batches(n: number, submit: () => Promise<unknown>): Promise<void> {
  const ps: Promise<unknown>[] = new Array<Promise<unknown>>(BATCH);
  for (let done = 0; done < n; done += BATCH) {
    const k = Math.min(BATCH, n - done);
    ps.length = k;
    for (let i = 0; i < k; i++) ps[i] = submit();
    await Promise.all(ps);
  }
}

/** 1,000 jobs submitted at once into a limit of 4: 996 wait, in order. */
function burstCases(): Case[] {
  const lim = new Limiter({ concurrency: 4 });
  const keyed = new Limiter({ concurrency: 4 });
  const bounded = new Limiter({ concurrency: 4, queue: BATCH, queueTimeoutMs: 60_000 });
  const limit = pLimit(4);
  const queue = new PQueue({ concurrency: 4 });
  const keys = ["a", "b", "c", "d"];
  let k = 0;
  return [
    { name: "steward Limiter.run", run: (n) => batches(n, () => lim.run(job)) },
    { name: "steward, 4 keys round-robin", run: (n) => batches(n, () => keyed.run(job, { key: keys[k++ & 3] })) },
    { name: "steward, bounded queue + queueTimeoutMs", run: (n) => batches(n, () => bounded.run(job)) },
    { name: "p-limit", run: (n) => batches(n, () => limit(job)) },
    { name: "p-queue add", run: (n) => batches(n, () => queue.add(job)) },
  ];
}

/** Queue a job behind a busy limiter and withdraw it with its AbortSignal (p-queue's `signal`). */
function abortCases(): Case[] {
  const lim = new Limiter({ concurrency: 1 });
  const queue = new PQueue({ concurrency: 1 });
  const never = new Promise<void>(() => {});
  void lim.run(() => never);
  void queue.add(() => never);
  return [
    {
      name: "steward Limiter.run + abort",
      async run(n) {
        for (let i = 0; i < n; i++) {
          const c = new AbortController();
          const p = lim.run(job, { signal: c.signal });
          c.abort();
          await p.catch(() => {});
        }
      },
    },
    {
      name: "p-queue add + abort",
      async run(n) {
        for (let i = 0; i < n; i++) {
          const c = new AbortController();
          const p = queue.add(job, { signal: c.signal });
          c.abort();
          await p.catch(() => {});
        }
      },
    },
  ];
}

interface Measured {
  sequential: Result[];
  burst: Result[];
  abort: Result[];
  sequentialAls: Result[];
  burstAls: Result[];
}

export default async function limiterBench(ctx: BenchContext): Promise<Section> {
  const rounds = ctx.quick ? 3 : 7;
  const n = ctx.quick ? 20_000 : 100_000;
  log("limiter: one job at a time");
  const sequential = await compare(sequentialCases(), { n, rounds });
  log("limiter: 1,000 at once into a limit of 4");
  const burst = await compare(burstCases(), { n, rounds });
  log("limiter: queue then abort");
  const abort = await compare(abortCases(), { n: ctx.quick ? 5_000 : 20_000, rounds });
  // From here on steward's AsyncLocalStorage is active in this process.
  await spawn(() => {});
  log("limiter: again, with steward's AsyncLocalStorage active");
  const sequentialAls = await compare(sequentialCases(), { n, rounds });
  const burstAls = await compare(burstCases(), { n, rounds });
  const m: Measured = { sequential, burst, abort, sequentialAls, burstAls };
  const ratio = (rs: Result[], a: string, b: string): string => (rs.find((r) => r.name === b)!.nsPerOp / rs.find((r) => r.name === a)!.nsPerOp).toFixed(2);
  const base = "steward Limiter.run";
  const lines = [
    `Node ${process.version}, in a fresh process; ns per job, each job awaiting one resolved promise. Ratio columns: how many times slower than steward a case is (above 1: steward is faster).`,
    "",
    "One job at a time, limit 4 (the admission fast path):",
    "",
    ratioTable(m.sequential, base, "× steward"),
    "",
    "1,000 jobs submitted at once into a limit of 4 (996 wait, served in order):",
    "",
    ratioTable(m.burst, base, "× steward"),
    "",
    "A job queued behind a busy limit, then withdrawn by its AbortSignal (p-limit has no abort; p-queue takes `signal`):",
    "",
    ratioTable(m.abort, "steward Limiter.run + abort", "× steward"),
    "",
    "The same after a steward task has run (AsyncLocalStorage active; on Node 20/22 every await pays its hooks, the peers' too):",
    "",
    ratioTable(m.sequentialAls, base, "× steward"),
    "",
    ratioTable(m.burstAls, base, "× steward"),
    "",
    `Summary: one at a time, p-limit costs ${ratio(m.sequential, base, "p-limit")}× and p-queue ${ratio(m.sequential, base, "p-queue add")}× steward's Limiter; ` +
      `in a burst, ${ratio(m.burst, base, "p-limit")}× and ${ratio(m.burst, base, "p-queue add")}×; ` +
      `with the AsyncLocalStorage active, ${ratio(m.sequentialAls, base, "p-limit")}×/${ratio(m.sequentialAls, base, "p-queue add")}× and ${ratio(m.burstAls, base, "p-limit")}×/${ratio(m.burstAls, base, "p-queue add")}×.`,
  ];
  return { title: "Limiter against p-limit and p-queue (issue 14)", markdown: lines.join("\n") };
}
