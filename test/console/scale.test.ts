/**
 * The console under load (issue 15): deltas carry only what changed; a client that does not
 * read is skipped and resynced, never buffered without bound; at most `maxClients` clients; a
 * burst of snapshot requests is served by one snapshot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { get, type IncomingMessage } from "node:http";
import { consoleOf, type ConsoleDelta, type ConsoleSnapshot } from "../../src/console/index.js";
import { CLIENT_HIGH_WATER, EventStream } from "../../src/console/server/stream.js";
import { Runtime, sleep } from "../../src/index.js";
import { eventually, tick } from "./helpers.js";

interface Stream {
  events: { event: string; data: unknown; bytes: number }[];
  res: IncomingMessage;
  close(): void;
}

function open(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      const s: Stream = { events: [], res, close: () => req.destroy() };
      res.setEncoding("utf8");
      let buf = "";
      res.on("data", (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (ev !== undefined && data !== undefined) s.events.push({ event: ev, data: JSON.parse(data) as unknown, bytes: Buffer.byteLength(block) });
        }
      });
      resolve(s);
    });
    req.on("error", reject);
  });
}

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on("error", reject);
  });
}

void test("with 2,000 idle tasks a delta is small; a change sends only the changed fields", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "many", console: { port: 0, intervalMs: 100, maxTasks: 5000, metrics: false } });
  const url = await consoleOf(rt)!.listening();
  const idle = Array.from({ length: 2000 }, () => rt.spawn(() => sleep(60_000)));
  await tick(20);
  const s = await open(`${url}api/events`);
  try {
    const first = await eventually(() => s.events[0], 5000, "the snapshot");
    assert.equal(first.event, "snapshot");
    assert.ok(first.bytes > 200_000, `the snapshot is ${first.bytes} bytes`);
    const deltas = (): { data: ConsoleDelta; bytes: number }[] => s.events.filter((e) => e.event === "delta").map((e) => ({ data: e.data as ConsoleDelta, bytes: e.bytes }));
    await eventually(() => (deltas().length >= 3 ? true : undefined), 5000, "three deltas");
    for (const d of deltas().slice(1)) {
      assert.deepEqual(d.data.tasks, [], "nothing changed: no task is sent");
      assert.ok(d.bytes < 4000, `an idle delta is ${d.bytes} bytes`);
    }
    idle[7]!.abort();
    const d = await eventually(() => deltas().find((x) => x.data.tasks.some((t) => t.id === idle[7]!.id)), 5000, "the changed task");
    const change = d.data.tasks.find((t) => t.id === idle[7]!.id)!;
    assert.equal(change.state, "done");
    assert.equal(change.outcome, "cancelled");
    assert.equal(change.spawnedAt, undefined, "an unchanged field is not resent");
    assert.ok(d.data.seq > (first.data as { seq: number }).seq);
  } finally {
    s.close();
    for (const h of idle) h.abort();
    await rt.shutdown();
  }
});

void test("a client that stops reading is skipped (its buffer bounded), then resynced with a snapshot once it drained", () => {
  // The stream against a response whose unsent bytes the test sets: a real socket's depend on
  // the kernel's buffers (tens of MB here) before Node holds anything.
  let n = 0;
  const snapshot = (): ConsoleSnapshot =>
    ({ version: 2, now: Date.now(), header: {}, tasks: [{ id: 1, resumes: ++n, state: "idle" }], resources: [], warnings: [], blocked: [], blockedGroups: [] }) as unknown as ConsoleSnapshot;
  const stream = new EventStream(snapshot, 3_600_000, 4);
  const req = Object.assign(new EventEmitter(), { method: "GET" });
  const writes: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    writableLength: 0,
    destroyed: false,
    writableEnded: false,
    writeHead: () => res,
    write: (b: Buffer | string) => writes.push(String(b)) > 0,
    end: () => undefined,
  });
  stream.open(req as never, res as never, {});
  const events = (): string[] => writes.map((w) => /^event: (\w+)/m.exec(w)?.[1] ?? "").filter((e) => e !== "");
  assert.deepEqual(events(), ["snapshot"]);
  stream.tick();
  assert.deepEqual(events(), ["snapshot", "delta"]);
  // Behind: more unsent than the high-water mark. Deltas are skipped, not queued.
  res.writableLength = CLIENT_HIGH_WATER + 1;
  stream.tick();
  stream.tick();
  assert.deepEqual(events(), ["snapshot", "delta"]);
  assert.equal(stream.stats.skipped, 2);
  res.writableLength = 10; // draining, not yet drained
  stream.tick();
  assert.equal(events().length, 2);
  res.writableLength = 0; // drained: a fresh snapshot, then deltas again
  stream.tick();
  assert.deepEqual(events(), ["snapshot", "delta", "snapshot"]);
  assert.equal(stream.stats.resyncs, 1);
  stream.tick();
  assert.deepEqual(events(), ["snapshot", "delta", "snapshot", "delta"]);
  const seqs = writes.map((w) => Number(/^id: (\d+)/m.exec(w)?.[1])).filter((x) => !Number.isNaN(x));
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    "sequence numbers only increase",
  );
  stream.close();
});

void test("at most maxClients event-stream clients; more are answered 503", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "capped", console: { port: 0, maxClients: 2, metrics: false } });
  const url = await consoleOf(rt)!.listening();
  const a = await open(`${url}api/events`);
  const b = await open(`${url}api/events`);
  try {
    await eventually(() => (consoleOf(rt)!.server!.stream.size === 2 ? true : undefined));
    assert.equal(await status(`${url}api/events`), 503);
    b.close();
    await eventually(() => (consoleOf(rt)!.server!.stream.size === 1 ? true : undefined));
    const c = await open(`${url}api/events`);
    assert.equal(c.res.statusCode, 200);
    c.close();
  } finally {
    a.close();
    b.close();
    await rt.shutdown();
  }
});

void test("100 concurrent snapshot requests are served by a handful of snapshots", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "burst", console: { port: 0, metrics: false } });
  const url = await consoleOf(rt)!.listening();
  const idle = Array.from({ length: 2000 }, () => rt.spawn(() => sleep(60_000)));
  await tick(20);
  const server = consoleOf(rt)!.server!;
  const before = server.snapshotBuilds;
  const codes = await Promise.all(Array.from({ length: 100 }, () => status(`${url}api/snapshot`)));
  assert.deepEqual(new Set(codes), new Set([200]));
  const builds = server.snapshotBuilds - before;
  assert.ok(builds >= 1 && builds <= 20, `${builds} snapshots for 100 requests`);
  for (const h of idle) h.abort();
  await rt.shutdown();
});

void test("a snapshot lists at most 500 warnings, errors first, while every task keeps its own lints", async () => {
  const rt = new Runtime({ name: "lints", console: { server: false, maxTasks: 2000, lints: { idleOnNothingMs: 0, neverYieldedMs: 100 } } });
  // 600 tasks idle on a raw promise (idle-on-nothing, a warning each), then one that blocks (an error).
  const idle = Array.from({ length: 600 }, () => rt.spawn(() => new Promise((r) => setTimeout(r, 60_000).unref())));
  const blocker = rt.spawn(() => {
    const end = performance.now() + 150;
    while (performance.now() < end);
  });
  await blocker;
  await tick(5);
  const snap = consoleOf(rt)!.snapshot();
  for (const h of idle) assert.ok(snap.tasks.find((t) => t.id === h.id)?.lints?.includes("idle-on-nothing"), `task ${h.id}`);
  // What the tasks' own lints say, errors first, then warnings, each in task order, cut at 500.
  const errors: [string, number][] = [];
  const warns: [string, number][] = [];
  for (const t of snap.tasks) for (const l of t.lints ?? []) (l === "never-yielded" ? errors : warns).push([l, t.id]);
  assert.ok(errors.some(([, id]) => id === blocker.id));
  assert.ok(warns.length >= 600);
  assert.equal(snap.warnings.length, 500);
  assert.deepEqual(
    snap.warnings.map((w) => [w.lint, w.task]),
    [...errors, ...warns].slice(0, 500),
  );
  assert.match(snap.warnings.find((w) => w.task === blocker.id)!.message, /ran \d+ ms without yielding/);
  for (const h of idle) h.abort();
  await rt.shutdown();
});
