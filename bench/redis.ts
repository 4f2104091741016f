/**
 * Distributed locks on one real Redis (issue 18): acquire + release latency and throughput with
 * 1, 4 and 16 processes contending for the same lock (and for a 4-permit semaphore), steward's
 * RedisMutex / RedisSemaphore against redlock and redis-semaphore, same Redis, same run, cases
 * interleaved over rounds. Runs only where a redis-server binary is found (PATH or
 * STEWARD_REDIS_SERVER); otherwise the section says it did not run.
 */
import { type ChildProcess, fork, spawn as spawnProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { delimiter, join } from "node:path";
import { type BenchContext, log, median, percentile, type Section } from "./harness.js";

function findServer(): string | undefined {
  const env = process.env.STEWARD_REDIS_SERVER;
  if (env !== undefined && env !== "") return env;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, "redis-server"), constants.X_OK);
      return join(dir, "redis-server");
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(bin: string): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawnProcess(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect(port, "127.0.0.1");
      s.on("connect", () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) return { port, proc };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("redis-server did not start");
}

interface Worker {
  proc: ChildProcess;
  next(): Promise<{ ev: string; lat?: number[]; error?: string }>;
}

async function startWorker(url: string): Promise<Worker> {
  const proc = fork(new URL("./redis-worker.js", import.meta.url), [url], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
  const inbox: { ev: string }[] = [];
  let wake: (() => void) | undefined;
  proc.on("message", (m: { ev: string }) => {
    inbox.push(m);
    wake?.();
  });
  const w: Worker = {
    proc,
    async next() {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift()!;
    },
  };
  const first = await w.next();
  if (first.ev !== "ready") throw new Error(`worker: ${JSON.stringify(first)}`);
  return w;
}

interface Row {
  lib: string;
  procs: number;
  permits: number;
  opsPerSec: number[];
  p50: number[];
  p99: number[];
  /** The least-served process's ops as a share of the mean: 1 is perfectly even, 0 is starved. */
  share: number[];
}

export default async function bench(ctx: BenchContext): Promise<Section> {
  const title = "Redis: distributed Mutex and Semaphore (issue 18)";
  const bin = findServer();
  if (bin === undefined) {
    return { title, markdown: "Not run: no `redis-server` on PATH and STEWARD_REDIS_SERVER is not set (Debian: `apt-get install redis-server`)." };
  }
  const redis = await startRedis(bin);
  const url = `redis://127.0.0.1:${redis.port}`;
  const procCounts = [1, 4, 16];
  const workers = await Promise.all(Array.from({ length: 16 }, () => startWorker(url)));
  const ms = ctx.quick ? 400 : 1_500;
  const rounds = ctx.quick ? 1 : 3;
  const mutexLibs = ["steward", "steward in a task", "redlock", "redis-semaphore"];
  const semLibs = ["steward", "redis-semaphore"];
  const cases: { lib: string; procs: number; permits: number }[] = [];
  for (const procs of procCounts) {
    for (const lib of mutexLibs) cases.push({ lib, procs, permits: 1 });
    if (procs > 1) for (const lib of semLibs) cases.push({ lib, procs, permits: 4 });
  }
  const rows = cases.map((c): Row => ({ ...c, opsPerSec: [], p50: [], p99: [], share: [] }));
  let seq = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const row of rows) {
        const name = `bench${seq++}`;
        const ws = workers.slice(0, row.procs);
        for (const w of ws) w.proc.send({ cmd: "run", lib: row.lib, name, ms, permits: row.permits });
        const res = await Promise.all(ws.map((w) => w.next()));
        const bad = res.find((x) => x.ev !== "done");
        if (bad !== undefined) throw new Error(`${row.lib}: ${bad.error}`);
        const all = res.flatMap((x) => x.lat!);
        row.opsPerSec.push(all.length / (ms / 1000));
        row.p50.push(percentile(all, 50));
        row.p99.push(percentile(all, 99));
        const counts = res.map((x) => x.lat!.length);
        row.share.push(Math.min(...counts) / (all.length / counts.length));
        log(`redis ${row.lib} x${row.procs} permits=${row.permits}: ${Math.round(all.length / (ms / 1000))} ops/s p50 ${percentile(all, 50)} µs`);
      }
    }
  } finally {
    for (const w of workers) w.proc.send({ cmd: "exit" });
    redis.proc.kill("SIGKILL");
  }
  const md: string[] = [];
  md.push(
    `Each process runs \`acquire\` → \`release\` in a loop on the same name for ${ms} ms; rows are the median of ${rounds} interleaved round(s). ` +
      "Latency is one acquire + release as the caller sees it (contended: including the wait for the lock). Same Redis 7 on 127.0.0.1, same run. " +
      "Peers: redlock 5.0.0-beta.2 (retryCount −1, retryDelay 10 ms, retryJitter 5 ms — its defaults, 200 ms and 10 tries, give up under contention) " +
      "and redis-semaphore 5.8 (retryInterval 10 ms, its default), both on ioredis; steward on node-redis. " +
      "“steward in a task” runs the loop inside a steward task (AsyncLocalStorage active). " +
      "“Least-served process” is the process that got the fewest grants, as a share of the mean (100 % = every process served equally).",
  );
  for (const permits of [1, 4]) {
    md.push("", permits === 1 ? "**Mutex** (one holder at a time):" : "**Semaphore(4)**:", "");
    md.push("| processes | library | ops/s | p50 µs | p99 µs | least-served process | ops/s × steward |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for (const procs of procCounts) {
      const group = rows.filter((x) => x.procs === procs && x.permits === permits);
      const base = group.find((x) => x.lib === "steward");
      for (const row of group) {
        const ops = median(row.opsPerSec);
        md.push(
          `| ${procs} | ${row.lib} | ${Math.round(ops)} | ${Math.round(median(row.p50))} | ${Math.round(median(row.p99))} | ${procs === 1 ? "" : `${Math.round(median(row.share) * 100)} %`} | ${base === undefined ? "" : (ops / median(base.opsPerSec)).toFixed(2)} |`,
        );
      }
    }
  }
  md.push(
    "",
    "How to read it: steward grants strictly in arrival order — the releasing script grants the next waiter in Redis and tells it by pub/sub — so every contended hand-off goes to another process (see the least-served column). redlock and redis-semaphore waiters poll (every 10 ms here) and the process that just released can take the lock straight back, so their contended throughput is higher and the lock stays in fewer hands. Uncontended, all make two round trips; steward's scripts do more per call (queue, fencing sequence, liveness and tombstones in one atomic step).",
  );
  return { title, markdown: md.join("\n") };
}
