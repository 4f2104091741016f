/**
 * `npm run demo`: a self-driving tour of steward. Prints what it does and exits 0.
 */
import { CancelledError, JoinSet, TaskTracker, select, sleep, spawn, timeout, yieldNow } from "../src/index.js";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function tasks(): Promise<void> {
  say("\n1. Tasks are owned and joined: a JoinSet hands back results in completion order.");
  const set = new JoinSet<string>();
  for (const [name, ms] of [["slow", 60], ["fast", 10], ["medium", 30]] as const) {
    set.spawn(async () => (await sleep(ms), name), { name });
  }
  for await (const r of set) say(`   joined task ${r.id}: ${r.ok ? r.value : r.error.message}`);
}

async function cancellation(): Promise<void> {
  say("\n2. abort() reaches the task at its next steward wait, and the join says so.");
  const h = spawn(
    async () => {
      await sleep(60_000);
      return "never";
    },
    { name: "sleeper" },
  );
  await sleep(10);
  h.abort();
  const r = await h.result();
  say(`   task '${h.name}' ended: ${r.ok ? "ok" : `${r.error.kind} (${r.error.cause instanceof CancelledError ? "CancelledError" : String(r.error.cause)})`}`);
}

async function selecting(): Promise<void> {
  say("\n3. select() races waits; the loser is withdrawn and takes nothing.");
  const r = await select({
    timer: (signal) => sleep(20, { signal }).then(() => "20 ms timer"),
    slower: (signal) => sleep(500, { signal }).then(() => "500 ms timer"),
  });
  say(`   winner: ${r.key} (${r.value}); the 500 ms timer was cleared`);
  try {
    await timeout(15, (signal) => sleep(1_000, { signal }));
  } catch (e) {
    say(`   timeout(15 ms) around a 1 s wait: ${(e as Error).name}`);
  }
}

async function budget(): Promise<void> {
  say("\n4. The cooperative budget: a busy chain of ready waits cannot starve a timer.");
  let fired = false;
  const t0 = performance.now();
  setTimeout(() => (fired = true), 0);
  let spins = 0;
  while (!fired) {
    await yieldNow();
    spins++;
  }
  say(`   setTimeout(0) fired after ${spins} yields, ${(performance.now() - t0).toFixed(1)} ms`);
}

async function tracker(): Promise<void> {
  say("\n5. A TaskTracker waits for fire-and-forget work before exit.");
  const t = new TaskTracker();
  for (let i = 0; i < 5; i++) t.spawn(() => sleep(5 * i));
  t.close();
  const t0 = performance.now();
  await t.wait();
  say(`   5 tracked tasks done after ${(performance.now() - t0).toFixed(0)} ms`);
}

say("steward tour");
await tasks();
await cancellation();
await selecting();
await budget();
await tracker();
say("\ndone.");
