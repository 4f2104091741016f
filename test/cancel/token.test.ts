import { test } from "node:test";
import assert from "node:assert/strict";
import { CancellationToken, CancelledError, select, sleep, spawn } from "../../src/index.js";

test("cancel is idempotent, default reason is a CancelledError, signal aborts with the reason", () => {
  const t = new CancellationToken();
  assert.equal(t.isCancelled, false);
  assert.equal(t.reason, undefined);
  const sig = t.signal;
  t.cancel();
  const first: unknown = t.reason;
  assert.ok(first instanceof CancelledError);
  t.cancel("again");
  assert.equal(t.reason, first);
  assert.equal(sig.aborted, true);
  assert.equal(sig.reason, first);
  const u = new CancellationToken();
  u.cancel("why");
  assert.equal(u.signal.reason, "why"); // signal made after the cancel
});

test("children are cancelled with the parent, never the other way round", () => {
  const p = new CancellationToken();
  const a = p.child();
  const b = a.child();
  const c = p.child();
  c.cancel();
  assert.equal(p.isCancelled, false);
  p.cancel("down");
  assert.equal(a.isCancelled && b.isCancelled, true);
  assert.equal(b.reason, "down");
  const late = p.child();
  assert.equal(late.isCancelled, true);
});

test("onCancel runs once, in registration order; disposing unregisters", () => {
  const t = new CancellationToken();
  const seen: string[] = [];
  t.onCancel(() => seen.push("a"));
  const d = t.onCancel(() => seen.push("b"));
  t.onCancel((r) => seen.push(`c:${String(r)}`));
  d[Symbol.dispose]();
  t.cancel("r");
  t.cancel("r2");
  assert.deepEqual(seen, ["a", "c:r"]);
  t.onCancel(() => seen.push("late")); // already cancelled: at once
  assert.deepEqual(seen.at(-1), "late");
  assert.throws(() => t.onCancel(5 as never), /cb must be a function/);
});

test("throwIfCancelled, dropGuard and disarm", () => {
  const t = new CancellationToken();
  t.throwIfCancelled();
  {
    using _g = t.dropGuard();
  }
  assert.throws(() => t.throwIfCancelled(), CancelledError);
  const u = new CancellationToken();
  {
    using g = u.dropGuard();
    assert.equal(g.disarm(), u);
  }
  assert.equal(u.isCancelled, false);
});

test("cancelled() resolves on cancel; select-safe; resolves inside the task it cancels", async () => {
  const t = new CancellationToken();
  setTimeout(() => t.cancel(), 5);
  await t.cancelled();
  await t.cancelled(); // already cancelled: at once
  const h = spawn(async (ctx) => {
    await ctx.token.cancelled();
    return "saw it";
  });
  await sleep(2);
  h.abort();
  assert.equal(await h, "saw it");
  const u = new CancellationToken();
  const r = await select({ c: (s) => u.cancelled({ signal: s }), s: (s) => sleep(5, { signal: s }) });
  assert.equal(r.key, "s");
});

test("fromSignal follows an AbortSignal", () => {
  const c = new AbortController();
  const t = CancellationToken.fromSignal(c.signal);
  c.abort("x");
  assert.equal(t.reason, "x");
  assert.equal(CancellationToken.fromSignal(AbortSignal.abort("y")).reason, "y");
  assert.throws(() => CancellationToken.fromSignal({} as never), TypeError);
});

test("runUntilCancelled gives fn's value, or undefined once cancelled", async () => {
  const t = new CancellationToken();
  assert.equal(await t.runUntilCancelled(async () => 3), 3);
  let aborted = false;
  const p = t.runUntilCancelled(
    (signal) =>
      new Promise<number>((_, rej) => {
        signal.addEventListener("abort", () => {
          aborted = true;
          rej(new Error("stopped"));
        });
      }),
  );
  t.cancel();
  assert.equal(await p, undefined);
  assert.equal(aborted, true);
  assert.equal(await t.runUntilCancelled(async () => 4), undefined);
  await assert.rejects(
    new CancellationToken().runUntilCancelled(async () => Promise.reject(new Error("own"))),
    /own/,
  );
});

test("fromSignal: one listener per signal at most, removed when the tokens are cancelled", async () => {
  const { getEventListeners } = (await import("node:events")).EventEmitter;
  const c = new AbortController();
  const tokens = Array.from({ length: 1000 }, () => CancellationToken.fromSignal(c.signal));
  assert.ok(getEventListeners(c.signal, "abort").length <= 1, `${getEventListeners(c.signal, "abort").length} listeners`);
  for (const t of tokens) t.cancel();
  assert.equal(getEventListeners(c.signal, "abort").length, 0);
  const live = CancellationToken.fromSignal(c.signal);
  c.abort("why");
  assert.equal(live.isCancelled, true);
  assert.equal(live.reason, "why");
  assert.equal(tokens[0]!.reason instanceof CancelledError, true, "a token cancelled on its own keeps its own reason");
});

test("fromSignal: a non-AbortSignal is a TypeError naming the argument", () => {
  for (const bad of [undefined, null, {}, 1, new EventTarget()]) {
    assert.throws(() => CancellationToken.fromSignal(bad as never), { name: "TypeError", message: /signal must be an AbortSignal/ });
  }
});

test("a child cancelled on its own leaves its parent (collectable), one never cancelled stays linked", async () => {
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const p = new CancellationToken();
  const refs: WeakRef<CancellationToken>[] = [];
  const seen: unknown[] = [];
  let live: CancellationToken | undefined = p.child();
  live.onCancel((r) => seen.push(r));
  // In a function of its own: a suspended async function's registers would keep the last child.
  ((): void => {
    for (let i = 0; i < 50; i++) {
      const c = p.child();
      c.onCancel(() => seen.push("own"));
      c.cancel("own");
      refs.push(new WeakRef(c));
    }
  })();
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
  assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, "children cancelled on their own were collected");
  assert.equal(seen.length, 50);
  const liveRef = new WeakRef(live);
  live = undefined;
  gc();
  assert.ok(liveRef.deref() !== undefined, "a live child is kept by its parent (it must still hear the parent's cancel)");
  p.cancel("down");
  assert.deepEqual(seen.slice(50), ["down"]);
  assert.equal(liveRef.deref()?.reason, "down");
});
