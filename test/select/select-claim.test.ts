// select's claim protocol without the branch's signal (API.md §3, issue 11): every steward wait a
// branch starts synchronously, and every wait of an async branch, takes part in the claim.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { channel, Mutex, scope, select, sleep, spawn, unboundedChannel } from "../../src/index.js";
import { Pool } from "../helpers/pool.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("two ready channels, branches that ignore their signal: the loser's message stays (20,000 rounds)", async () => {
  const [t1, r1] = unboundedChannel<number>();
  const [t2, r2] = unboundedChannel<number>();
  let lost = 0;
  for (let i = 0; i < 20_000; i++) {
    t1.trySend(i);
    t2.trySend(i);
    const r = await select({ a: () => r1.recv(), b: () => r2.recv() });
    assert.equal(r.value, i);
    const other = r.key === "a" ? r2 : r1;
    if (other.tryRecv() !== i) lost++;
  }
  assert.equal(lost, 0, `${lost} losing messages were taken`);
});

test("two channels that become ready in the same tick: exactly one message is taken (5,000 rounds)", async () => {
  const [t1, r1] = channel<number>(4);
  const [t2, r2] = channel<number>(4);
  for (let i = 0; i < 5_000; i++) {
    const p = select({ a: () => r1.recv(), b: () => r2.recv() });
    t1.trySend(i);
    t2.trySend(i);
    const r = await p;
    assert.equal(r.value, i);
    const other = r.key === "a" ? r2 : r1;
    assert.equal(other.tryRecv(), i, `round ${i}: the losing branch's message was taken`);
    assert.equal(r1.length + r2.length, 0);
  }
});

test("an async branch that awaits something first takes nothing once it has lost", async () => {
  const [t1, r1] = unboundedChannel<string>();
  const [t2, r2] = unboundedChannel<string>();
  t1.trySend("kept");
  t2.trySend("won");
  let reached = false;
  const r = await select({
    slow: async () => {
      await later(5); // not a steward wait: the branch has not claimed anything yet
      reached = true;
      return r1.recv(); // no signal passed on: the branch's frame still carries the claim
    },
    fast: () => r2.recv(),
  });
  assert.deepEqual(r, { key: "fast", value: "won" });
  await later(30);
  assert.equal(reached, true);
  assert.equal(r1.tryRecv(), "kept", "the losing async branch's late recv took no message");
});

test("an async branch that awaits something first can still win with its later wait", async () => {
  const [t1, r1] = unboundedChannel<string>();
  const [, r2] = unboundedChannel<string>();
  t1.trySend("x");
  const r = await select({
    slow: async () => {
      await later(2);
      return r1.recv();
    },
    never: () => r2.recv(),
  });
  assert.deepEqual(r, { key: "slow", value: "x" });
  await turn();
  assert.equal(r2.length, 0);
});

test("a branch running several waits: its first served wait decides the select, the rest is its body", async () => {
  const [t1, r1] = unboundedChannel<number>();
  const [t2, r2] = unboundedChannel<number>();
  t1.trySend(1); // served at once: the looping branch wins here
  const p = select(
    {
      loop: async () => {
        for (;;) {
          const m = (await r1.recv())!;
          if (m > 10) return m;
        }
      },
      other: () => r2.recv(),
    },
    { biased: true },
  );
  await turn();
  t2.trySend(7); // the other branch lost already: it must not take this
  t1.trySend(20);
  assert.deepEqual(await p, { key: "loop", value: 20 });
  assert.equal(r2.tryRecv(), 7);
});

test("a synchronous branch that starts two waits: the first served claims, both belong to the branch", async () => {
  const a = new Pool();
  const b = new Pool();
  const c = new Pool();
  const p = select({ both: () => Promise.all([a.take(), b.take()]), other: () => c.take() });
  a.put(1); // claims for "both"
  c.put(1); // lost: stays in c
  b.put(1);
  const r = await p;
  assert.equal(r.key, "both");
  await turn();
  assert.equal(c.units, 1);
  assert.equal(a.taken + b.taken, 2);
});

test("nested selects: an inner branch's claim claims the outer branch first", async () => {
  for (let i = 0; i < 500; i++) {
    const [p1, p2, p3] = [new Pool(), new Pool(), new Pool()];
    const sel = select({
      inner: () => select({ x: () => p1.take(), y: () => p2.take() }),
      z: () => p3.take(),
    });
    // All three become ready in one tick, in a random order.
    const order = [p1, p2, p3].sort(() => Math.random() - 0.5);
    for (const p of order) p.put(1);
    await sel;
    await turn();
    assert.equal(p1.taken + p2.taken + p3.taken, 1, `round ${i}: exactly one unit taken`);
  }
});

test("a lost branch's pending waits are withdrawn at once: no timer, no queued waiter is left", async () => {
  const m = new Mutex();
  const g = m.tryLock()!;
  const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const [t, rx] = unboundedChannel<number>();
  t.trySend(1);
  const r = await select({ msg: () => rx.recv(), tick: () => sleep(60_000), lock: () => m.lock() });
  assert.equal(r.key, "msg");
  await turn();
  assert.equal(process.getActiveResourcesInfo().filter((x) => x === "Timeout").length, before, "the losing sleep's timer was cleared");
  assert.equal(m.waiting, 0, "the losing lock() left the queue");
  g.release();
  assert.equal(m.isLocked, false);
});

test("a losing branch inside a task is withdrawn; spawned tasks do not inherit a branch", async () => {
  const [t1, r1] = unboundedChannel<number>();
  const [t2, r2] = unboundedChannel<number>();
  t2.trySend(2);
  const h = spawn(() =>
    select({
      spawner: () => spawn(() => r1.recv()), // the task's recv is not the branch's: it runs as a task
      b: () => r2.recv(),
    }),
  );
  const r = await h;
  assert.equal(r.key, "b", "r1 was empty: only b could win");
  t1.trySend(1);
  await turn();
  assert.equal(r1.length, 0, "the spawned task's recv was its own and took the message");
});

test("property: mixed branch shapes over random schedules take at most one unit per select and lose none", async () => {
  type Shape = "sync" | "signal" | "async" | "asyncAwaitFirst";
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.nat({ max: 2 }), { minLength: 4, maxLength: 4 }),
      fc.array(fc.uniqueArray(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }), { maxLength: 8 }),
      fc.array(
        fc.record({
          pools: fc.uniqueArray(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }),
          shapes: fc.array(fc.constantFrom<Shape>("sync", "signal", "async", "asyncAwaitFirst"), { minLength: 4, maxLength: 4 }),
          abort: fc.boolean(),
          biased: fc.boolean(),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      async (s, initial, puts, selects) => {
        const pools = Array.from({ length: 4 }, () => new Pool());
        let put = 0;
        pools.forEach((p, i) => {
          p.put(initial[i]!);
          put += initial[i]!;
        });
        const won: number[] = [];
        const settled: Promise<unknown>[] = [];
        const ctrls: AbortController[] = [];
        for (const sel of selects) {
          const ctrl = new AbortController();
          ctrls.push(ctrl);
          const branches: Record<string, (signal: AbortSignal) => Promise<number>> = {};
          for (const [j, i] of sel.pools.entries()) {
            const pool = pools[i]!;
            const shape = sel.shapes[j]!;
            if (shape === "sync") branches[`p${i}`] = () => pool.take();
            else if (shape === "signal") branches[`p${i}`] = (signal) => pool.take({ signal });
            else if (shape === "async") branches[`p${i}`] = async () => pool.take();
            else
              branches[`p${i}`] = async () => {
                await s.schedule(Promise.resolve(), `branch p${i} resumes`);
                return pool.take();
              };
          }
          settled.push(
            select(branches, { signal: ctrl.signal, biased: sel.biased }).then(
              (r) => won.push(Number(r.key.slice(1))),
              () => {},
            ),
          );
          if (sel.abort) void s.schedule(Promise.resolve(), "abort").then(() => ctrl.abort("abort"));
        }
        for (const batch of puts) {
          void s.schedule(Promise.resolve(), `put ${batch.join(",")}`).then(() => {
            for (const i of batch) {
              pools[i]!.put(1);
              put++;
            }
          });
        }
        await s.waitIdle();
        await sleep(0);
        const taken = pools.reduce((a, p) => a + p.taken, 0);
        const left = pools.reduce((a, p) => a + p.units, 0);
        assert.equal(taken + left, put, "units are conserved");
        assert.equal(taken, won.length, "each taken unit belongs to exactly one resolved select");
        for (const [i, p] of pools.entries()) assert.equal(p.taken, won.filter((w) => w === i).length);
        // Selects still waiting are withdrawn: nothing of theirs may stay queued.
        for (const c of ctrls) c.abort("end");
        await Promise.all(settled);
        await sleep(0);
        for (const p of pools) assert.equal(p.q.length, 0, "no waiter is left queued");
      },
    ),
    { numRuns: 150 },
  );
});

const fixture = fileURLToPath(new URL("./fixtures/select-warning.js", import.meta.url));

/** Runs the fixture; it prints one line per warning code it received, then "done". */
function warningsIn(nodeEnv: string): string[] {
  const out = execFileSync(process.execPath, [fixture], { encoding: "utf8", env: { ...process.env, NODE_ENV: nodeEnv }, stdio: ["ignore", "pipe", "ignore"] });
  const lines = out.trim().split("\n");
  assert.equal(lines.at(-1), "done", out);
  return lines.slice(0, -1);
}

test("development warning: a losing branch nothing can withdraw is reported once per branch source, never in production", () => {
  assert.deepEqual(warningsIn("development"), ["STEWARD_SELECT_UNCLAIMED"]);
  assert.deepEqual(warningsIn("production"), []);
});

test("sends, reserves and locks that ignore their signal: a losing one sends nothing and holds nothing", async () => {
  for (let i = 0; i < 300; i++) {
    const [ut, ur] = unboundedChannel<number>(); // unbounded send: claimed on its own path, not a queue's
    const [bt, br] = channel<number>(1); // bounded: room for one
    const m = new Mutex();
    const r = await select({ usend: () => ut.send(i), bsend: () => bt.send(i), reserve: () => bt.reserve(), lock: () => m.lock() });
    await turn();
    assert.equal(ur.length, r.key === "usend" ? 1 : 0, `round ${i}: unbounded send`);
    assert.equal(br.length, r.key === "bsend" ? 1 : 0, `round ${i}: bounded send`);
    assert.equal(m.isLocked, r.key === "lock", `round ${i}: lock`);
    if (r.key === "reserve") {
      assert.equal(bt.trySend(0), false, "the reserved slot is held");
      (r.value as { release(): void }).release();
    } else assert.equal(bt.trySend(0), r.key !== "bsend", `round ${i}: a losing reserve holds no slot`);
  }
});

test("a long-lived signal collects no listeners from waits that ended (sleep, recv, lock, select, scope, spawn)", async () => {
  const { getEventListeners } = (await import("node:events")).EventEmitter;
  const server = new AbortController();
  const signal = server.signal;
  const [t, rx] = unboundedChannel<number>();
  const m = new Mutex();
  for (let i = 0; i < 200; i++) {
    t.trySend(i);
    await sleep(0, { signal });
    await rx.recv({ signal });
    (await m.lock({ signal })).release();
    await select({ a: () => sleep(0), b: () => sleep(1000) }, { signal });
    await select({ a: (s) => sleep(0, { signal: s }), b: (s) => sleep(1000, { signal: s }) }, { signal });
    await select({ a: async () => sleep(0), b: async () => sleep(1000) }, { signal });
    await scope(async (s) => s.spawn(() => i, { signal }), { signal });
    await spawn(() => i, { signal });
  }
  assert.equal(getEventListeners(signal, "abort").length, 0);
});
