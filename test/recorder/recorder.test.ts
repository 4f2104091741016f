/**
 * The flight recorder in a process, read back through a dump: what tasks did (spawn, first run,
 * every wait and what it was on, joins, the outcome), who held a lock and for how long, channel
 * depths, blocked episodes with their stacks; and its bounds: a fixed ring, rate-limited dumps,
 * at most `maxFiles` files on disk, and its off switches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hooks, recordBlocked } from "../../src/core/instrument.js";
import { channel, Mutex, Runtime, sleep } from "../../src/index.js";
import { dumpFlightRecorder, flightRecorderActive, readRecording, stateAt, type Recording } from "../../src/recorder/index.js";
import { tick } from "../helpers/timing.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "steward-rec-test-"));
}

async function dump(reason: string): Promise<Recording> {
  const file = await dumpFlightRecorder(reason);
  assert.ok(file !== undefined, "a dump was written");
  return readRecording(file);
}

void test("a dump shows each task's waits, the lock's holders, a channel's depth and the outcomes", { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const rt = new Runtime({ name: "shop", recorder: { dir, log: false, signal: null } });
  try {
    assert.equal(flightRecorderActive(), true);
    const db = new Mutex(0, { name: "db" });
    const [tx, rx] = channel<number>(2);
    const consumer = rt.spawn(
      async () => {
        for await (const _ of rx) await sleep(20);
      },
      { name: "consumer" },
    );
    const workers = Array.from({ length: 3 }, (_, i) =>
      rt.spawn(
        async () => {
          const g = await db.lock();
          await sleep(15);
          g.release();
          await tx.send(i);
        },
        { name: `worker ${i}` },
      ),
    );
    const failing = rt.spawn(
      async () => {
        await sleep(1);
        throw new Error("boom");
      },
      { name: "failing" },
    );
    const joiner = rt.spawn(() => failing.result(), { name: "joiner" });
    await Promise.all([...workers, joiner]);
    await tick(1100); // a depth sample
    const rec = await dump("test");
    assert.equal(rec.header.trigger.kind, "api");
    assert.equal(rec.header.trigger.detail, "test");
    const byName = (n: string): Recording["tasks"][number] => rec.tasks.find((t) => t.name === n) ?? assert.fail(`no task ${n}: ${rec.tasks.map((t) => t.name).join(", ")}`);
    // Workers 1 and 2 waited for the lock that worker 0 held.
    const w2 = byName("worker 2");
    assert.ok(
      w2.spans.some((s) => s.kind === "waiting" && s.what === 'lock on Mutex "db"'),
      JSON.stringify(w2.spans),
    );
    assert.ok(w2.spans.some((s) => s.kind === "waiting" && s.what === "sleep 15 ms"));
    assert.equal(w2.outcome, "ok");
    assert.equal(w2.runtime, "shop");
    assert.match(w2.site ?? "", /recorder\.test\.ts:\d+:\d+/, "its spawn site, source-mapped");
    // The lock's holds, by the right task each (a handed-over lock is the waiter's).
    const lock = rec.resources.find((r) => r.label === 'Mutex "db"') ?? assert.fail("no lock");
    assert.deepEqual(
      lock.holds.map((h) => h.task),
      workers.map((w) => w.id),
    );
    for (const h of lock.holds) assert.ok(h.released && h.end - h.start >= 10, `a hold of ${h.end - h.start} ms`);
    // The channel something waited on has its depth sampled.
    assert.ok(
      rec.resources.some((r) => r.kind === "channel" && r.depth.length > 0),
      JSON.stringify(rec.resources),
    );
    assert.equal(byName("failing").outcome, "panic");
    assert.ok(byName("joiner").spans.some((s) => s.kind === "joining" && s.what === `join task ${failing.id}`));
    // The consumer, still running, is waiting on the channel at the end.
    const end = stateAt(rec, rec.endMs).find((s) => s.id === consumer.id);
    assert.equal(end?.kind, "waiting");
    assert.match(end?.what ?? "", /^recv on channel#\d+$/);
    assert.ok(rec.header.live.some((l) => l.runtime === "shop" && l.tasks.some((t) => t.id === consumer.id && t.waitingOn?.startsWith("recv on") === true)));
    tx.close();
    await consumer;
  } finally {
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(flightRecorderActive(), false, "closing the last runtime stops it");
  assert.equal(hooks, null);
});

void test("blocked episodes keep the supervisor's stack and the final duration, and trigger a dump", { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const rt = new Runtime({ name: "blk", recorder: { dir, log: false, signal: null, afterMs: 50 } });
  try {
    const at = Date.now();
    recordBlocked({ id: 9, thread: "main", blockedMs: 120, at, task: { id: 77, name: "GET /slow" }, stack: [{ functionName: "crunch", file: "/app/src/crunch.ts", line: 9, column: 3 }] });
    recordBlocked({ id: 9, thread: "main", blockedMs: 640, at: at + 520 });
    await tick(300);
    const files = readdirSync(dir).filter((f) => f.endsWith("-blocked.stwrec"));
    assert.equal(files.length, 1, "one dump for the episode");
    const rec = readRecording(join(dir, files[0]!));
    assert.equal(rec.header.trigger.kind, "blocked");
    assert.match(rec.header.trigger.detail ?? "", /GET \/slow.*crunch \(\/app\/src\/crunch\.ts:9:3\)/);
    assert.equal(rec.episodes.length, 1);
    assert.equal(rec.episodes[0]!.durationMs, 640);
    assert.deepEqual(rec.episodes[0]!.stack, ["crunch (/app/src/crunch.ts:9:3)"]);
    // A second episode soon after is not dumped again (at most one per minIntervalMs).
    recordBlocked({ id: 10, thread: "main", blockedMs: 200, at: at + 3000, stack: [] });
    await tick(200);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith("-blocked.stwrec")).length, 1);
  } finally {
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("the ring is bounded: old events are overwritten, the dump's size stays put; at most maxFiles dumps are kept", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const rt = new Runtime({ name: "small", recorder: { dir, log: false, signal: null, bytes: 64 * 1024, maxFiles: 2 } });
  try {
    for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 200 }, () => rt.spawn(() => sleep(0))));
    const first = await dump("one");
    assert.ok(first.header.ring.overwritten > 0, `overwritten ${first.header.ring.overwritten}`);
    assert.ok(first.events <= Math.floor((64 * 1024) / 24));
    await tick(1050);
    await dump("two");
    await tick(1050);
    await dump("three");
    const files = readdirSync(dir);
    assert.equal(files.length, 2, files.join(", "));
    for (const f of files) assert.ok(statSync(join(dir, f)).size < 64 * 1024, "compressed, smaller than the ring");
    // Explicit requests closer than a second share... nothing: the second is refused.
    const [a, b] = await Promise.all([dumpFlightRecorder("x"), dumpFlightRecorder("y")]);
    assert.ok((a === undefined) !== (b === undefined) || a === b, "two requests at once give one dump");
  } finally {
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("off: recorder false, STEWARD_RECORDER=0 (which wins over the code), and bad options are typed errors", async () => {
  const off = new Runtime({ name: "off", recorder: false });
  assert.equal(flightRecorderActive(), false);
  assert.equal((off.dump() as unknown as Record<string, unknown>).recorder, undefined);
  await off.shutdown();
  process.env.STEWARD_RECORDER = "0";
  try {
    const rt = new Runtime({ name: "env-off", recorder: true });
    assert.equal(flightRecorderActive(), false);
    await rt.shutdown();
  } finally {
    delete process.env.STEWARD_RECORDER;
  }
  assert.equal(await dumpFlightRecorder("nothing to dump"), undefined);
  assert.throws(() => new Runtime({ recorder: { bytes: 10 } }), { name: "RangeError", message: /opts\.recorder\.bytes/ });
  assert.throws(() => new Runtime({ recorder: { signal: "USR2" as never } }), { name: "TypeError", message: /opts\.recorder\.signal/ });
  assert.throws(() => new Runtime({ recorder: { triggers: { panic: "yes" as never } } }), { name: "TypeError", message: /opts\.recorder\.triggers\.panic/ });
  assert.throws(() => new Runtime({ recorder: 3 as never }), { name: "TypeError", message: /opts\.recorder/ });
  await assert.rejects(dumpFlightRecorder(5 as never), TypeError);
  assert.equal(flightRecorderActive(), false);
});
