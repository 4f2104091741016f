/**
 * Every primitive describes itself (Resource.inspect / WaitQueue.inspect) with a structured
 * `{ kind, op, label }` and its state, so the console and the recorder read no private field and
 * parse no display string. Checked through the console's resource view, which is built from
 * nothing else.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, broadcast, channel, Mutex, Notify, OnceCell, oneshot, Runtime, RwLock, Semaphore, sleep, watch } from "../../src/index.js";
import type { ResourceSnapshot } from "../../src/console/index.js";
import { snap, tick } from "./helpers.js";

void test("locks, semaphores, notify, barrier, cells and channels describe kind, op, label and state", async () => {
  const rt = new Runtime({ name: "inspect", console: { server: false, metrics: false } });
  const m = new Mutex(0, { name: "m" });
  const rw = new RwLock(0, { name: "rw" });
  const sem = new Semaphore(1, { name: "sem" });
  const n = new Notify({ name: "n" });
  const b = new Barrier(3, { name: "b" });
  const cell = new OnceCell<number>({ name: "cell" });
  const [tx, rx] = channel<number>(1);
  const [btx, brx] = broadcast<number>(4);
  const [wtx, wrx] = watch(0);
  const [otx, orx] = oneshot<number>();
  const g = await m.lock();
  const w = await rw.write();
  const p = await sem.acquire();
  await tx.send(1);
  const waiters = [
    rt.spawn(() => m.lock()),
    rt.spawn(() => rw.read()),
    rt.spawn(() => sem.acquire()),
    rt.spawn(() => n.notified()),
    rt.spawn(() => b.wait()),
    rt.spawn(() => cell.getOrInit(() => sleep(50).then(() => 7))),
    rt.spawn(() => cell.getOrInit(() => 8)),
    rt.spawn(() => tx.send(2)),
    rt.spawn(() => wrx.changed()),
    rt.spawn(() => orx.recv()),
  ];
  await tick(10);
  const rs = snap(rt).resources;
  const find = (label: string): ResourceSnapshot => rs.find((r) => r.label === label) ?? assert.fail(`no ${label} in ${rs.map((r) => r.label).join(", ")}`);
  const check = (label: string, kind: string, op: string, details: Record<string, unknown>): void => {
    const r = find(label);
    assert.equal(r.kind, kind, label);
    assert.ok(
      r.ops?.some((o) => o.op === op && o.waiters >= 1),
      `${label}: ${JSON.stringify(r.ops)}`,
    );
    for (const [k, v] of Object.entries(details)) assert.deepEqual(r.details?.[k], v, `${label}.${k}`);
  };
  check('Mutex "m"', "Mutex", "lock", { locked: true });
  check('RwLock "rw"', "RwLock", "lock", { writer: true, readers: 0 });
  check('Semaphore "sem"', "Semaphore", "acquire", { available: 0, capacity: 1 });
  check('Notify "n"', "Notify", "notified", { storedPermit: false });
  check('Barrier "b"', "Barrier", "wait", { parties: 3, arrived: 1 });
  check('OnceCell "cell"', "OnceCell", "getOrInit", { state: "initializing" });
  const ch = find(`channel#${(rs.find((r) => r.kind === "channel")?.label ?? "").slice(8)}`);
  assert.equal(ch.kind, "channel");
  assert.deepEqual(ch.details?.length, 1);
  assert.deepEqual(ch.details?.capacity, 1);
  assert.ok(ch.ops?.some((o) => o.op === "send" && o.waiters === 1));
  assert.ok(rs.some((r) => r.kind === "watch" && r.ops?.some((o) => o.op === "changed")));
  assert.ok(rs.some((r) => r.kind === "oneshot" && r.ops?.some((o) => o.op === "recv")));
  // A broadcast receiver waiting: its queue is the channel's.
  const bwait = rt.spawn(async () => {
    await brx.recv();
    await brx.recv();
  });
  await tick(5);
  assert.ok(snap(rt).resources.some((r) => r.kind === "broadcast" && r.details?.capacity === 4));
  // Release everything.
  g.release();
  w.release();
  p.release();
  n.notifyWaiters();
  await rx.recv();
  wtx.send(1);
  otx.send(1);
  btx.send(1);
  btx.send(2);
  const extra = [b.wait(), b.wait()];
  await Promise.all([...waiters.map(async (h) => h), ...extra, bwait]);
  for (const h of waiters) {
    const v = (await h) as unknown;
    if (v !== null && typeof v === "object" && "release" in v) (v as { release(): void }).release();
  }
  await rt.shutdown();
});
