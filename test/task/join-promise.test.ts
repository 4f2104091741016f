// The join promise of a task whose function returns a native promise: it is the derived promise of
// the task's own completion reaction (issue 17), so these pin what a join must still do through it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { currentTask, JoinError, Runtime, sleep, spawn } from "../../src/index.js";
import { noEscapes } from "../helpers/escapes.js";

test("an async task awaited right after spawn: its value, for every joiner, and result()", async () => {
  const h = spawn(async () => {
    await sleep(1);
    return 7;
  });
  const a = h.then((v) => v * 2);
  assert.equal(await h, 7);
  assert.equal(await a, 14);
  assert.deepEqual(await h.result(), { ok: true, id: h.id, value: 7 });
  assert.equal(await spawn(async () => 1), 1, "a promise that is already resolved when the task starts");
});

test("an async panic: an awaited one rejects with its JoinError and is not reported; an unobserved one is reported once, never an unhandledRejection, and still rejects when joined later", async () => {
  const reported: JoinError[] = [];
  const escaped = await noEscapes(async () => {
    const rt = new Runtime({ onTaskPanic: (e) => reported.push(e) });
    const boom = new Error("awaited");
    await assert.rejects(
      async () => {
        await rt.spawn(async () => Promise.reject(boom));
      },
      (e: unknown) => e instanceof JoinError && e.kind === "panic" && e.cause === boom,
    );
    const later = rt.spawn(async () => {
      throw new Error("joined later in the turn");
    });
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await assert.rejects(async () => {
      await later;
    }, JoinError);
    const nobody = rt.spawn(async () => {
      await sleep(1);
      throw new Error("nobody");
    });
    // Polled, not a fixed sleep: on a loaded machine both timers can expire in one timers phase,
    // and the second then runs before the setImmediate that reports the panic.
    for (const t0 = Date.now(); reported.length === 0 && Date.now() - t0 < 10_000;) await sleep(5);
    await new Promise((r) => setImmediate(r));
    await sleep(5);
    assert.deepEqual(
      reported.map((e) => (e.cause as Error).message),
      ["nobody"],
    );
    const joined = await nobody.result();
    assert.equal(joined.ok, false);
    assert.equal(!joined.ok && joined.error, reported[0], "the same JoinError");
    await assert.rejects(
      async () => {
        await nobody;
      },
      (e: unknown) => e === reported[0],
    );
    await rt.shutdown();
  });
  assert.deepEqual(escaped, [], "nothing escaped as an unhandledRejection or uncaught exception");
});

test("a cancelled async task's join rejects with a cancelled JoinError", async () => {
  const h = spawn(async () => {
    await sleep(10_000);
  });
  await sleep(1);
  h.abort();
  await assert.rejects(
    async () => {
      await h;
    },
    (e: unknown) => e instanceof JoinError && e.kind === "cancelled",
  );
});

test("the task context reads through its handle: id, name, token, signal, stopping", async () => {
  const rt = new Runtime();
  const h = rt.spawn(
    (ctx) => {
      assert.equal(currentTask(), ctx);
      return { id: ctx.id, name: ctx.name, token: ctx.token, signal: ctx.signal, stopping: ctx.stopping };
    },
    { name: "probe" },
  );
  const seen = await h;
  assert.equal(seen.id, h.id);
  assert.equal(seen.name, "probe");
  assert.equal(seen.signal, seen.token.signal);
  assert.equal(seen.stopping.isCancelled, false);
  h.abort("why");
  assert.equal(seen.token.reason, "why", "ctx.token is the handle's token");
  const before = Date.now();
  const t = rt.spawn(() => undefined, { name: "timed" });
  const after = Date.now();
  await t;
  await rt.shutdown();
  assert.equal(seen.stopping.isCancelled, true, "stopping is the runtime's");
  assert.match(t.spawnedAt, /join-promise\.test/);
  const at = (t as unknown as { spawnedAtMs: number }).spawnedAtMs;
  assert.ok(at >= before && at <= after, `spawnedAtMs ${at} within [${before}, ${after}]`);
});
