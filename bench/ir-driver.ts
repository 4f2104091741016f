/**
 * Runs one hot-path case n times, for instruction counts under callgrind (load-independent, unlike
 * wall time on a shared machine): `valgrind --tool=callgrind node dist/bench/ir-driver.js CASE N
 * [als]`; instructions per op = (Ir(N2) − Ir(N1)) / (N2 − N1), which cancels start-up. The same
 * driver under `node --cpu-prof` gives the profiles bench/prof-summary.ts summarises. Each steward
 * case has its reference next to it: floor/effectFork for spawn, ring/effectQueue for channel,
 * esfx for mutex; the *NoBudget cases run with `coopBudget: 0` (what the budget costs).
 */
import { channel, configure, Mutex, spawn } from "../src/index.js";
import { bareRingPair } from "./channel.js";

function noBudget(run: (n: number) => Promise<void>): (n: number) => Promise<void> {
  return async (n) => {
    configure({ coopBudget: 0 });
    await run(n);
  };
}

async function asyncFn(i: number): Promise<number> {
  return i;
}

const cases: Record<string, (n: number) => Promise<void>> = {
  async floor(n) {
    for (let i = 0; i < n; i++) await new Promise<number>((r) => queueMicrotask(() => r(asyncFn(i))));
  },
  async spawn(n) {
    for (let i = 0; i < n; i++) await spawn(() => asyncFn(i));
  },
  async channel(n) {
    const [tx, rx] = channel<number>(1024);
    const producer = (async () => {
      for (let i = 0; i < n; i++) await tx.send(i);
      tx.close();
    })();
    while ((await rx.recv()) !== undefined);
    await producer;
  },
  ring: bareRingPair,
  // The peers are imported by their own cases only: under valgrind every module loaded costs time.
  async effectQueue(n) {
    await (await import("./channel.js")).effectPair(n);
  },
  async effectFork(n) {
    const { Effect, Fiber } = await import("effect");
    await Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* Fiber.join(yield* Effect.forkChild(Effect.succeed(i)));
      }),
    );
  },
  async mutex(n) {
    const m = new Mutex();
    for (let i = 0; i < n; i++) (await m.lock()).release();
  },
  async esfx(n) {
    const { AsyncSemaphore } = await import("@esfx/async-semaphore");
    const s = new AsyncSemaphore(1);
    for (let i = 0; i < n; i++) {
      await s.wait();
      s.release();
    }
  },
};
cases.channelNoBudget = noBudget(cases.channel!);
cases.mutexNoBudget = noBudget(cases.mutex!);

const [name, count, mode] = process.argv.slice(2);
const run = cases[name!];
if (run === undefined) throw new Error(`case must be one of ${Object.keys(cases).join(", ")}`);
if (mode === "als") await spawn(() => undefined);
const profileTo = process.env.PROFILE;
if (process.env.PROMISES !== undefined) {
  // Promises made per op (a promise hook: it adds the hook tax, so no timing is taken here).
  const { promiseHooks } = await import("node:v8");
  await run(Number(count));
  let made = 0;
  const stop = promiseHooks.onInit(() => made++);
  await run(Number(count));
  stop();
  process.stdout.write(`${name}: ${(made / Number(count)).toFixed(2)} promises/op\n`);
} else if (profileTo === undefined) await run(Number(count));
else {
  // The CPU profile of the case alone: module loading and the warm-up are not in it. An in-process
  // inspector session: no port is opened.
  await run(Math.max(1, Number(count) >> 2));
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const s = new Session();
  s.connect();
  await s.post("Profiler.enable");
  await s.post("Profiler.setSamplingInterval", { interval: 50 });
  await s.post("Profiler.start");
  await run(Number(count));
  const { profile } = await s.post("Profiler.stop");
  writeFileSync(profileTo, JSON.stringify(profile));
  s.disconnect();
}
