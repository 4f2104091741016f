/**
 * The console under load (issue 15): deltas carry only what changed; a client that does not
 * read is skipped and resynced, never buffered without bound; at most `maxClients` clients; a
 * burst of snapshot requests is served by one snapshot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { get, type IncomingMessage } from "node:http";
import { consoleOf, type ConsoleDelta } from "../../src/console/index.js";
import { CLIENT_HIGH_WATER } from "../../src/console/server/stream.js";
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

void test("a client that stops reading is skipped, its buffer bounded, and resynced with a snapshot once it drains", { timeout: 60_000 }, async () => {
  const rt = new Runtime({ name: "busy", console: { port: 0, intervalMs: 50, maxTasks: 5000, metrics: false } });
  const url = await consoleOf(rt)!.listening();
  const server = consoleOf(rt)!.server!;
  let stop = false;
  // Busy tasks: every one changes between two deltas.
  const busy = Array.from({ length: 1500 }, () =>
    rt.spawn(async () => {
      while (!stop) await sleep(10);
    }),
  );
  const s = await open(`${url}api/events`);
  try {
    s.res.pause(); // a paused tab
    await eventually(() => (server.stream.stats.skipped > 0 ? true : undefined), 40_000, "the slow client to be skipped");
    // While it does not read, the server holds at most the high-water mark and one message more for it.
    let most = 0;
    for (let i = 0; i < 20; i++) {
      await tick(50);
      most = Math.max(most, ...server.stream.buffered());
    }
    assert.ok(most <= CLIENT_HIGH_WATER + 2 * 1024 * 1024, `${most} bytes held for a paused client`);
    assert.ok(server.stream.stats.skipped >= 1);
    const resyncsBefore = server.stream.stats.resyncs;
    s.res.resume();
    await eventually(() => (server.stream.stats.resyncs > resyncsBefore ? true : undefined), 20_000, "a resync");
    await eventually(() => (s.events.filter((e) => e.event === "snapshot").length >= 2 ? true : undefined), 20_000, "a second snapshot");
  } finally {
    stop = true;
    s.close();
    await Promise.all(busy);
    await rt.shutdown();
  }
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
