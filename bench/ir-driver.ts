/**
 * Runs one hot-path case n times, for instruction counts under callgrind (load-independent, unlike
 * wall time on a shared machine): `valgrind --tool=callgrind node dist/bench/ir-driver.js CASE N
 * [als]`; instructions per op = (Ir(N2) − Ir(N1)) / (N2 − N1), which cancels start-up.
 */
import { channel, Mutex, spawn } from "../src/index.js";
import { bareRingPair } from "./channel.js";

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
  async mutex(n) {
    const m = new Mutex();
    for (let i = 0; i < n; i++) (await m.lock()).release();
  },
};

const [name, count, mode] = process.argv.slice(2);
const run = cases[name!];
if (run === undefined) throw new Error(`case must be one of ${Object.keys(cases).join(", ")}`);
if (mode === "als") await spawn(() => undefined);
await run(Number(count));
