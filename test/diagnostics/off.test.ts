/**
 * With deadlock detection and lock-order checking both off, a wait does no diagnostics
 * bookkeeping: no clock read, no record of the wait on its task (dumps then carry `waitingOn`
 * but no `waitingMs`, await site or holder). Turning them back on restores both.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { configure, Mutex, Runtime, sleep } from "../../src/index.js";

test("detection off: a parked wait reads no clock and the dump has no wait details; on again: it has", async () => {
  await using rt = new Runtime({ name: "off" });
  const m = new Mutex(0, { name: "m" });
  const g = await m.lock();
  const realNow = Date.now;
  let reads = 0;
  configure({ deadlocks: "off", lockOrder: "off" });
  try {
    const t = rt.spawn(async () => {
      Date.now = () => (reads++, realNow());
      const p = m.lock();
      Date.now = realNow;
      (await p).release();
    });
    await sleep(20);
    Date.now = realNow;
    assert.equal(reads, 0, "no Date.now() on the wait's path");
    const info = rt.dump().tasks.find((x) => x.id === t.id)!;
    assert.equal(info.waitingOn, 'lock on Mutex "m"');
    assert.equal(info.waitingMs, undefined);
    assert.equal(info.heldBy, undefined);
    g.release();
    await t;
  } finally {
    Date.now = realNow;
    configure({ deadlocks: "reject", lockOrder: "warn" });
  }
  const g2 = await m.lock();
  const t2 = rt.spawn(async () => (await m.lock()).release());
  await sleep(20);
  const info2 = rt.dump().tasks.find((x) => x.id === t2.id)!;
  assert.equal(typeof info2.waitingMs, "number");
  g2.release();
  await t2;
});
