import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, JoinError, JoinSet, Runtime, TaskTracker, scope, shield, sleep, spawn, yieldNow } from "../../src/index.js";
import { noEscapes } from "../helpers/escapes.js";

test("JoinSet joins in completion order, then undefined", async () => {
  // The tasks end in an order the test sets (gates opened one at a time), not by timers racing a
  // loaded machine: spawned 30, 10, 20, they end 10, 20, 30.
  const set = new JoinSet<number>();
  const gates = new Map<number, () => void>();
  for (const v of [30, 10, 20]) set.spawn(async () => (await new Promise<void>((r) => gates.set(v, r)), v));
  assert.equal(set.size, 3);
  await sleep(0);
  for (const v of [10, 20, 30]) {
    gates.get(v)!();
    await sleep(0);
  }
  const got: number[] = [];
  for (let r = await set.joinNext(); r !== undefined; r = await set.joinNext()) got.push(r.ok ? r.value : -1);
  assert.deepEqual(got, [10, 20, 30]);
  assert.equal(set.size, 0);
  assert.equal(await set.joinNext(), undefined);
  assert.equal(set.tryJoinNext(), undefined);
});

test("JoinSet.joinAll: on the first error, aborts the rest, waits, rejects with it", async () => {
  const set = new JoinSet<number>();
  const ended: string[] = [];
  set.spawn(async () => {
    try {
      await sleep(10_000);
    } finally {
      ended.push("slow");
    }
    return 1;
  });
  set.spawn(async () => {
    await sleep(5);
    throw new Error("fail");
  });
  await assert.rejects(set.joinAll(), (e) => e instanceof JoinError && e.isPanic() && (e.cause as Error).message === "fail");
  assert.deepEqual(ended, ["slow"]);
  assert.equal(set.size, 0);
  const ok = new JoinSet<number>();
  ok.spawn(() => 1);
  ok.spawn(async () => (await sleep(2), 2));
  assert.deepEqual(await ok.joinAll(), [1, 2]);
});

test("JoinSet disposal aborts and awaits every task; iteration yields each outcome", async () => {
  let ended = 0;
  {
    await using set = new JoinSet<void>();
    for (let i = 0; i < 3; i++)
      set.spawn(async () => {
        try {
          await sleep(10_000);
        } finally {
          ended++;
        }
      });
    await sleep(1);
  }
  assert.equal(ended, 3);
  const set = new JoinSet<number>();
  set.spawn(() => 1);
  set.spawn(() => 2);
  const ids = [];
  for await (const r of set) ids.push(r.ok && r.value);
  assert.deepEqual(ids.sort(), [1, 2]);
});

test("TaskTracker.wait resolves once closed and empty, and tracks promises", async () => {
  const t = new TaskTracker();
  let done = false;
  t.spawn(async () => sleep(10));
  const tracked = t.track(sleep(15).then(() => "p"));
  assert.equal(t.size, 2);
  const waited = t.wait().then(() => (done = true));
  await sleep(20);
  assert.equal(done, false, "not closed yet");
  t.close();
  await waited;
  assert.equal(await tracked, "p");
  assert.equal(t.isClosed, true);
  t.reopen();
  assert.equal(t.isClosed, false);
  assert.throws(() => t.track(5 as never), TypeError);
});

test("scope returns only after every child ended; a child panic cancels the rest and is thrown", async () => {
  const log: string[] = [];
  const v = await scope(async (s) => {
    s.spawn(async () => (await sleep(20), log.push("child")));
    return "value";
  });
  assert.equal(v, "value");
  assert.deepEqual(log, ["child"]);
  let cancelledSibling = false;
  await assert.rejects(
    scope(async (s) => {
      s.spawn(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          cancelledSibling = e instanceof CancelledError;
          throw e;
        }
      });
      s.spawn(async () => {
        await sleep(5);
        throw new Error("child failed");
      });
      await sleep(10_000);
    }),
    (e) => e instanceof Error && !(e instanceof JoinError) && e.message === "child failed",
  );
  assert.equal(cancelledSibling, true);
});

test("scope rethrows a child's own error, not a JoinError wrapper (API.md §1)", async () => {
  class Mine extends Error {}
  const mine = new Mine("mine");
  await assert.rejects(
    scope(async (s) => {
      s.spawn(() => {
        throw mine;
      });
      await sleep(10_000);
    }),
    (e) => e === mine,
  );
  // A non-Error thrown by a child comes out as it was thrown, too.
  await assert.rejects(
    scope(async (s) => {
      s.spawn(async () => Promise.reject("a string"));
      await sleep(10_000);
    }),
    (e) => e === "a string",
  );
});

test("scope: fn's own throw, and opts.signal, cancel the children and are thrown", async () => {
  const own = new Error("own");
  let childEnded = false;
  await assert.rejects(
    scope(async (s) => {
      s.spawn(async () => {
        await sleep(10_000).finally(() => (childEnded = true));
      });
      await sleep(2);
      throw own;
    }),
    (e) => e === own,
  );
  assert.equal(childEnded, true);
  const c = new AbortController();
  setTimeout(() => c.abort("aborted"), 5);
  await assert.rejects(
    scope(
      async (s) => {
        s.spawn(() => sleep(10_000));
        await s.token.cancelled();
        return 1;
      },
      { signal: c.signal },
    ),
    (e) => e === "aborted",
  );
});

test("shield lets cleanup wait in a cancelled task; yieldNow is a cancellation point", async () => {
  const h = spawn(async () => {
    try {
      await sleep(10_000);
    } finally {
      await shield(() => sleep(5));
    }
  });
  await sleep(1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled());
  const y = spawn(async (ctx) => {
    ctx.token.cancel();
    await yieldNow();
  });
  assert.ok(!(await y.result()).ok);
});

test("an unobserved panic is reported once through onTaskPanic, never as unhandledRejection", async () => {
  const reported: JoinError[] = [];
  const escaped = await noEscapes(async () => {
    const rt = new Runtime({ onTaskPanic: (e) => reported.push(e) });
    rt.spawn(
      async () => {
        throw new Error("nobody looks");
      },
      { name: "lonely" },
    );
    const seen = rt.spawn(async () => {
      throw new Error("observed");
    });
    await assert.rejects(Promise.resolve(seen));
    await sleep(20);
    assert.equal(reported.length, 1);
    assert.equal(reported[0]!.taskName, "lonely");
  });
  assert.deepEqual(escaped, [], "nothing escaped as an unhandledRejection or uncaught exception");
});

test("Runtime.enter makes spawn() use that runtime; its root token cancels its tasks", async () => {
  const rt = new Runtime({ name: "rt" });
  const h = rt.enter(() => spawn(() => sleep(10_000)));
  await sleep(1);
  assert.equal(rt.taskCount, 1);
  assert.equal(rt.tasks()[0]!.waitingOn, "sleep 10000 ms");
  rt.token.cancel();
  assert.ok((await h.result()).ok === false);
  assert.equal(rt.taskCount, 0);
  const late = rt.spawn(async (ctx) => ctx.token.isCancelled);
  assert.equal(await late, true, "a task spawned after the stop starts cancelled (and runs: cleanup may shield itself)");
});
