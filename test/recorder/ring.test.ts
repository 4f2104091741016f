/** The recorder's ring and string table, and the dump format's encoding and decoding. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { EV_MARK, FORMAT_VERSION, MAGIC, RECORD_BYTES } from "../../src/recorder/format.js";
import { decodeRecording, parseDump, RecordingFormatError } from "../../src/recorder/reader.js";
import { EventRing, STRING_SLOTS, StringTable } from "../../src/recorder/ring.js";

void test("the ring keeps the latest events, oldest first, in a fixed buffer", () => {
  const r = new EventRing(16 * RECORD_BYTES);
  assert.equal(r.capacity, 16);
  for (let i = 1; i <= 40; i++) r.put(i, EV_MARK, 0, 0, i, i * 10, 0);
  assert.equal(r.written, 40);
  assert.equal(r.length, 16);
  const copy = r.copy();
  assert.equal(copy.length, 16 * RECORD_BYTES);
  const f64 = new Float64Array(copy.buffer, copy.byteOffset, copy.length / 8);
  const u32 = new Uint32Array(copy.buffer, copy.byteOffset, copy.length / 4);
  const times = Array.from({ length: 16 }, (_, i) => f64[i * 3]);
  assert.deepEqual(
    times,
    Array.from({ length: 16 }, (_, i) => 25 + i),
    "the 16 latest, oldest first",
  );
  assert.equal(u32[3], 25);
  assert.equal(u32[4], 250);
  r.setLastB(7);
  assert.equal(r.lastType(), EV_MARK);
  const after = r.copy();
  assert.equal(new Uint32Array(after.buffer, after.byteOffset, after.length / 4).at(-1), 7);
});

void test("the string table resolves recent ids and re-interns strings whose slot was reused", () => {
  const s = new StringTable();
  const a = s.intern("recv on channel#1");
  assert.equal(s.intern("recv on channel#1"), a, "the same string, the same id");
  assert.equal(s.text(a), "recv on channel#1");
  assert.equal(s.text(0), undefined);
  for (let i = 0; i < STRING_SLOTS; i++) s.intern(`name ${i}`);
  assert.equal(s.text(a), undefined, "its slot was reused");
  const again = s.intern("recv on channel#1");
  assert.notEqual(again, a);
  assert.equal(s.text(again), "recv on channel#1");
});

function dumpBytes(header: object, events: Buffer, version = FORMAT_VERSION): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(version, 8);
  head.writeUInt32LE(json.length, 12);
  return Buffer.concat([head, json, events]);
}

const HEADER = {
  format: "steward-flight-recorder",
  version: 1,
  trigger: { kind: "api", atMs: 1_000_100 },
  pid: 1,
  node: "v20",
  platform: "linux",
  timeOrigin: 1_000_000,
  ring: { bytes: 0, capacity: 0, written: 2, overwritten: 0 },
  runtimes: ["(other)"],
  strings: { "1": "hello" },
  resources: {},
  sites: {},
  episodes: [],
  live: [],
};

void test("a dump decodes, compressed or not; a reader skips event types it does not know", () => {
  const r = new EventRing(4 * RECORD_BYTES);
  r.put(10, EV_MARK, 0, 0, 0, 1, 0);
  r.put(20, 250, 0, 0, 0, 0, 0); // a type from a later version
  const raw = dumpBytes(HEADER, r.copy());
  for (const bytes of [raw, gzipSync(raw)]) {
    const rec = decodeRecording(bytes);
    assert.deepEqual(rec.marks, [{ atMs: 1_000_010, text: "hello" }]);
    assert.equal(rec.events, 2);
    assert.equal(rec.startMs, 1_000_010);
    assert.equal(rec.endMs, 1_000_100, "the trigger's time ends the recording");
  }
});

void test("a file that is not a dump, of another version or cut short, is a RecordingFormatError", () => {
  assert.throws(() => parseDump(Buffer.from("hello world, not a dump")), RecordingFormatError);
  assert.throws(() => parseDump(dumpBytes(HEADER, Buffer.alloc(0), 99)), { name: "RecordingFormatError", message: /version 99/ });
  assert.throws(() => parseDump(dumpBytes(HEADER, Buffer.alloc(0)).subarray(0, 30)), { name: "RecordingFormatError", message: /truncated/ });
  assert.throws(() => parseDump(Buffer.from([0x1f, 0x8b, 1, 2, 3])), RecordingFormatError);
});
