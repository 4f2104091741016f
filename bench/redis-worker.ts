/**
 * One contending process for bench/redis.ts: connects node-redis (steward) and ioredis (redlock,
 * redis-semaphore) to the same Redis, then on each { run } message does acquire + release in a
 * loop for `ms` and replies with its per-operation latencies in µs.
 */
import { Redis } from "ioredis";
// @ts-expect-error -- redlock 5's "exports" map has no "types" condition, so NodeNext cannot find its types
import RedlockModule from "redlock";
import { Mutex as RsMutex, Semaphore as RsSemaphore } from "redis-semaphore";
import { createClient } from "redis";
import { spawn } from "../src/index.js";
import { RedisMutex, RedisSemaphore } from "../src/redis/index.js";

interface RedlockLike {
  acquire(resources: string[], ttlMs: number): Promise<{ release(): Promise<unknown> }>;
}
const Redlock = RedlockModule as new (clients: unknown[], opts: { retryCount: number; retryDelay: number; retryJitter: number }) => RedlockLike;

const url = process.argv[2]!;
const client = createClient({ url });
client.on("error", () => {});
await client.connect();
const io = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: null });
io.on("error", () => {});

export interface RunMsg {
  cmd: "run";
  lib: string;
  name: string;
  ms: number;
  permits: number;
}

type Op = () => Promise<void>;

function makeOp(m: RunMsg): Op {
  switch (m.lib) {
    case "steward":
    case "steward in a task": {
      if (m.permits === 1) {
        const mx = new RedisMutex(client, m.name, { leaseMs: 5_000 });
        return async () => {
          const l = await mx.lock();
          await l.release();
        };
      }
      const s = new RedisSemaphore(client, m.name, m.permits, { leaseMs: 5_000 });
      return async () => {
        const l = await s.acquire();
        await l.release();
      };
    }
    case "redlock": {
      // Tuned for throughput: the default retryDelay (200 ms) and retryCount (10) would make it
      // wait far longer and give up under contention.
      const rl = new Redlock([io], { retryCount: -1, retryDelay: 10, retryJitter: 5 });
      return async () => {
        const lock = await rl.acquire([m.name], 5_000);
        await lock.release();
      };
    }
    case "redis-semaphore": {
      // retryInterval 10 ms is its default.
      const opts = { lockTimeout: 5_000, acquireTimeout: 60_000, retryInterval: 10, refreshInterval: 0 };
      const mk = () => (m.permits === 1 ? new RsMutex(io, m.name, opts) : new RsSemaphore(io, m.name, m.permits, opts));
      return async () => {
        const x = mk();
        await x.acquire();
        await x.release();
      };
    }
  }
  throw new Error(`unknown lib ${m.lib}`);
}

async function loop(op: Op, ms: number): Promise<number[]> {
  const lat: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    await op();
    lat.push(Math.round((performance.now() - t0) * 1000));
  }
  return lat;
}

process.on("message", (m: RunMsg | { cmd: "exit" }) => {
  if (m.cmd === "exit") {
    client.destroy();
    io.disconnect();
    process.exit(0);
  }
  const op = makeOp(m);
  const run = m.lib === "steward in a task" ? spawn(() => loop(op, m.ms)) : loop(op, m.ms);
  void Promise.resolve(run).then(
    (lat) => process.send!({ ev: "done", lat }),
    (e: unknown) => process.send!({ ev: "error", error: String(e) }),
  );
});
process.send!({ ev: "ready" });
