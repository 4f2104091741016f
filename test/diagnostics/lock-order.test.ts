/**
 * Lock-order checking (lockdep's idea) as a user meets it: an inversion that never deadlocked is
 * warned about once per pair, naming both orders and where each was taken (source-mapped to this
 * .ts file); `lockOrder: "throw"` makes it a LockOrderError; ranks are checked at once.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { configure, LockOrderError, type LockOrderViolation, lockOrderViolations, Mutex, onLockOrder, RwLock, spawn } from "../../src/index.js";
import { resetLockOrder, setDiagnosticWriter } from "../../src/diagnostics/lock-order.js";

const THIS_TS = fileURLToPath(import.meta.url)
  .replace(/dist\/test\//, "test/")
  .replace(/\.js$/, ".ts");
const AT_THIS_FILE = new RegExp(`${THIS_TS.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):\\d+`);

let lines: string[] = [];
let prevWriter: (line: string) => void;

beforeEach(() => {
  resetLockOrder();
  lines = [];
  prevWriter = setDiagnosticWriter((l) => lines.push(l));
});
afterEach(() => {
  setDiagnosticWriter(prevWriter);
  configure({ lockOrder: "warn" });
  resetLockOrder();
});

/** Takes `first` then `second` in a task of its own, and lets both go. */
async function nested(name: string, first: Mutex, second: Mutex): Promise<void> {
  await spawn(
    async () => {
      using g1 = await first.lock();
      using g2 = await second.lock();
      void g1;
      void g2;
    },
    { name },
  );
}

test("an inversion that never deadlocked is warned about once per pair, naming both orders and their .ts sites", async () => {
  const a = new Mutex<void>(undefined, { name: "accounts" });
  const b = new Mutex<void>(undefined, { name: "ledger" });
  const events: LockOrderViolation[] = [];
  using sub = onLockOrder((v) => events.push(v));
  void sub;
  await nested("transfer", a, b); // accounts then ledger: learned
  assert.deepEqual(lines, [], "one order alone is no problem");
  await nested("audit", b, a); // ledger then accounts: the inversion (the two never ran at once)
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.match(line, /^steward: lock order inversion: /);
  assert.match(line, /task \d+ 'audit' took Mutex "ledger" then Mutex "accounts" at /);
  assert.match(line, /earlier task \d+ 'transfer' took Mutex "accounts" then Mutex "ledger" at /);
  assert.equal(events.length, 1);
  const v = events[0]!;
  assert.equal(v.kind, "inversion");
  assert.deepEqual(v.now.locks, ['Mutex "ledger"', 'Mutex "accounts"']);
  assert.deepEqual(v.earlier[0]!.locks, ['Mutex "accounts"', 'Mutex "ledger"']);
  assert.match(v.now.site ?? "", AT_THIS_FILE, "the site is this .ts file (source-mapped)");
  assert.match(v.earlier[0]!.site ?? "", AT_THIS_FILE);
  // Both sites are the `second.lock()` line of nested(): the same line, two orders.
  assert.equal(AT_THIS_FILE.exec(v.now.site!)![1], AT_THIS_FILE.exec(v.earlier[0]!.site!)![1]);

  await nested("audit again", b, a);
  await nested("transfer again", a, b);
  assert.equal(lines.length, 1, "once per pair");
  assert.equal(events.length, 1);
  assert.equal(lockOrderViolations().length, 1);
});

test("an inversion through a third lock (a→b, b→c, then c→a) is found", async () => {
  const a = new Mutex<void>(undefined, { name: "a" });
  const b = new Mutex<void>(undefined, { name: "b" });
  const c = new Mutex<void>(undefined, { name: "c" });
  await nested("ab", a, b);
  await nested("bc", b, c);
  assert.equal(lines.length, 0);
  await nested("ca", c, a);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /'ca' took Mutex "c" then Mutex "a".*earlier .*'ab' took Mutex "a" then Mutex "b".*then .*'bc' took Mutex "b" then Mutex "c"/);
});

test('lockOrder: "throw" makes the inverted acquire reject with LockOrderError, holding nothing', async () => {
  configure({ lockOrder: "throw" });
  const a = new Mutex<void>(undefined, { name: "a" });
  const b = new Mutex<void>(undefined, { name: "b" });
  await nested("ab", a, b);
  const h = spawn(async () => {
    using gb = await b.lock();
    void gb;
    await a.lock();
  });
  const r = await h.result();
  assert.equal(r.ok, false);
  const e = (r as { error: { cause: unknown } }).error.cause;
  assert.ok(e instanceof LockOrderError);
  assert.deepEqual(e.locks, ['Mutex "b"', 'Mutex "a"']);
  assert.equal(a.isLocked, false, "the refused acquire took nothing");
  assert.equal(b.isLocked, false);
  // Refused every time, not only the first (the wrong edge is never learned).
  const again = await spawn(async () => {
    using gb = await b.lock();
    void gb;
    await a.lock();
  }).result();
  assert.equal(again.ok, false);
  assert.equal(lines.length, 1, "still one stderr line per pair");
});

test("ranks: taking a lower rank while holding a higher one is reported at once, and refused under throw", async () => {
  const db = new Mutex<void>(undefined, { name: "db", rank: 2 });
  const cache = new RwLock(0, { name: "cache", rank: 1 });
  // Increasing rank is fine.
  await spawn(async () => {
    using c = await cache.write();
    using d = await db.lock();
    void c;
    void d;
  });
  assert.equal(lines.length, 0);
  // A lower rank under a higher one: reported at its first acquire, with no other order ever seen.
  const other = new Mutex<void>(undefined, { name: "other", rank: 5 });
  const low = new Mutex<void>(undefined, { name: "low", rank: 3 });
  await nested("rank", other, low);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /lock rank broken: Mutex "low" \(rank 3\) taken while holding Mutex "other" \(rank 5\)/);
  assert.match(lines[0]!, AT_THIS_FILE);
  configure({ lockOrder: "throw" });
  const r = await spawn(async () => {
    using d = await db.lock();
    void d;
    await cache.read();
  }).result();
  assert.equal(r.ok, false);
  const e = (r as { error: { cause: unknown } }).error.cause;
  assert.ok(e instanceof LockOrderError);
  assert.match(e.message, /RwLock "cache" \(rank 1\) taken while holding Mutex "db" \(rank 2\)/);
  assert.equal(db.isLocked, false);
});

test("a bad rank is a typed error naming opts.rank", () => {
  assert.throws(() => new Mutex<void>(undefined, { rank: Number.NaN }), /opts\.rank/);
  assert.throws(() => new Mutex<void>(undefined, { rank: "1" as unknown as number }), TypeError);
});

test('lockOrder: "off" tracks nothing', async () => {
  configure({ lockOrder: "off" });
  const a = new Mutex();
  const b = new Mutex();
  await nested("ab", a, b);
  await nested("ba", b, a);
  assert.deepEqual(lines, []);
});
