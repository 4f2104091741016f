import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { CancelledError, ChannelClosedError, JoinError, Runtime, channel, configure, select, shield, sleep, spawn, unboundedChannel } from "../../src/index.js";

/** Lets every queued microtask (and one macrotask turn) run. */
const turn = (): Promise<void> => new Promise((res) => setImmediate(res));

const isClosedError = (e: unknown): boolean => e instanceof ChannelClosedError && e.name === "ChannelClosedError";

void test("bad capacity is a RangeError or TypeError naming `capacity`, never a hang", () => {
  for (const bad of [0, -1, 1.5, Infinity, -Infinity, NaN]) {
    assert.throws(() => channel(bad), { name: "RangeError", message: /capacity/ }, String(bad));
  }
  for (const bad of ["3", null, undefined, {}, 2n]) {
    assert.throws(() => channel(bad as never), { name: "TypeError", message: /capacity/ }, String(bad));
  }
  // A huge capacity is a bound, not an allocation.
  const [tx, rx] = channel<number>(Number.MAX_SAFE_INTEGER);
  assert.equal(tx.trySend(1), true);
  assert.equal(rx.tryRecv(), 1);
});

void test("undefined is not a message: send, trySend and permit.send throw TypeError and send nothing", async () => {
  const [tx, rx] = channel<number | undefined>(2);
  assert.throws(() => tx.send(undefined), { name: "TypeError", message: /undefined/ });
  assert.throws(() => tx.trySend(undefined), { name: "TypeError" });
  const permit = await tx.reserve();
  assert.throws(() => permit.send(undefined), { name: "TypeError" });
  assert.equal(permit.isHeld, true, "a rejected value leaves the permit usable");
  permit.send(1);
  assert.equal(rx.length, 1);
  const [utx] = unboundedChannel<undefined>();
  assert.throws(() => utx.send(undefined), { name: "TypeError" });
});

void test("bad opts and bad recvMany max throw TypeError/RangeError naming the argument", () => {
  const [tx, rx] = channel<number>(1);
  assert.throws(() => rx.recv(5 as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => rx.recv({ signal: {} as never }), { name: "TypeError", message: /opts\.signal/ });
  assert.throws(() => tx.send(1, "x" as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => rx.recvMany(0), { name: "RangeError", message: /max/ });
  assert.throws(() => rx.recvMany(1.5), { name: "RangeError", message: /max/ });
  assert.throws(() => rx.recvMany("2" as never), { name: "TypeError", message: /max/ });
  tx.close();
  assert.throws(() => tx.send(1, 7 as never), { name: "TypeError", message: /opts/ }, "even on a closed sender");
});

void test("messages arrive in order; send waits for room and resumes when the receiver takes one", async () => {
  const [tx, rx] = channel<number>(2);
  assert.equal(tx.capacity, 2);
  assert.equal(tx.maxCapacity, 2);
  await tx.send(1);
  await tx.send(2);
  assert.equal(tx.capacity, 0);
  assert.equal(rx.length, 2);
  let sent = false;
  const third = tx.send(3).then(() => (sent = true));
  await turn();
  assert.equal(sent, false, "a full channel makes send wait");
  assert.equal(await rx.recv(), 1);
  await third;
  assert.equal(sent, true);
  assert.deepEqual([await rx.recv(), await rx.recv()], [2, 3]);
  assert.equal(rx.length, 0);
  assert.equal(tx.capacity, 2);
});

void test("a waiting receiver is handed the message within the same tick; no other receive can take it", async () => {
  const [tx, rx] = channel<string>(1);
  const r = rx.recv();
  await turn();
  assert.equal(tx.trySend("x"), true);
  assert.equal(rx.tryRecv(), undefined, "the waiting recv comes first");
  let got: string | undefined;
  void r.then((v) => (got = v));
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(got, "x", "handed over within microtasks, not a later turn");
  assert.equal(rx.length, 0);
});

void test("waiting senders are served first-in, first-out", async () => {
  const [tx, rx] = channel<string>(1);
  await tx.send("first");
  const a = tx.clone();
  const b = tx.clone();
  const order: string[] = [];
  const ps = [tx.send("tx"), a.send("a"), b.send("b"), a.send("a2")].map((p, i) => p.then(() => order.push(String(i))));
  await turn();
  assert.equal(tx.trySend("late"), false, "trySend does not pass waiting senders");
  const got: (string | undefined)[] = [];
  for (let i = 0; i < 5; i++) got.push(await rx.recv());
  await Promise.all(ps);
  assert.deepEqual(got, ["first", "tx", "a", "b", "a2"]);
  assert.deepEqual(order, ["0", "1", "2", "3"]);
});

void test("trySend: true when there is room, false when full, throws ChannelClosedError when closed", async () => {
  const [tx, rx] = channel<number>(1);
  assert.equal(tx.trySend(1), true);
  assert.equal(tx.trySend(2), false);
  assert.equal(rx.tryRecv(), 1);
  assert.equal(rx.tryRecv(), undefined);
  rx.close();
  assert.throws(() => tx.trySend(3), isClosedError);
  const [tx2] = channel<number>(1);
  tx2.close();
  assert.throws(() => tx2.trySend(3), isClosedError);
});

void test("the channel closes for the receiver only when every sender closed, after the buffer is drained", async () => {
  const [tx, rx] = channel<number>(4);
  const tx2 = tx.clone();
  await tx.send(1);
  tx.close();
  tx.close(); // idempotent
  assert.equal(rx.isClosed, false);
  await tx2.send(2);
  tx2[Symbol.dispose]();
  assert.equal(rx.isClosed, true);
  assert.equal(rx.length, 2);
  assert.equal(await rx.recv(), 1);
  assert.deepEqual(await rx.recvMany(10), [2]);
  assert.equal(await rx.recv(), undefined);
  assert.deepEqual(await rx.recvMany(3), []);
  assert.equal(rx.tryRecv(), undefined);
  assert.throws(() => tx.clone(), isClosedError);
  await assert.rejects(tx.send(3), isClosedError);
  await assert.rejects(tx.reserve(), isClosedError);
});

void test("a recv waiting when the last sender closes resolves undefined", async () => {
  const [tx, rx] = channel<number>(1);
  const r = rx.recv();
  const rm = rx.recvMany(5);
  await turn();
  tx.close();
  assert.equal(await r, undefined);
  assert.deepEqual(await rm, []);
});

void test("Receiver.close: sends reject, waiting sends too, buffered messages stay readable, closed() resolves", async () => {
  const [tx, rx] = channel<number>(2);
  let closedFired = false;
  const closed = tx.closed().then(() => (closedFired = true));
  await tx.send(1);
  await tx.send(2);
  const waiting = tx.send(3);
  const waitingReserve = tx.reserve();
  await turn();
  assert.equal(closedFired, false);
  assert.equal(tx.isClosed, false);
  rx.close();
  rx.close(); // idempotent
  await assert.rejects(waiting, isClosedError);
  await assert.rejects(waitingReserve, isClosedError);
  await closed;
  assert.equal(tx.isClosed, true);
  assert.equal(rx.isClosed, true);
  await assert.rejects(tx.send(4), isClosedError);
  assert.deepEqual([await rx.recv(), await rx.recv(), await rx.recv()], [1, 2, undefined]);
  await tx.closed(); // resolves at once now
});

void test("closing the last sender rejects the sends still waiting for room; a clone's close does not", async () => {
  const [tx, rx] = channel<number>(1);
  const tx2 = tx.clone();
  await tx.send(1);
  const w1 = tx.send(2);
  const w2 = tx2.send(3);
  await turn();
  tx.close(); // tx2 is still open: w1 keeps waiting
  assert.equal(await rx.recv(), 1);
  await w1;
  tx2.close(); // the last sender: w2 rejects and never delivers
  await assert.rejects(w2, isClosedError);
  assert.deepEqual([await rx.recv(), await rx.recv()], [2, undefined]);
});

void test("a closed Sender handle rejects its own sends; isClosed reflects it", async () => {
  const [tx, rx] = channel<number>(1);
  const other = tx.clone();
  tx.close();
  assert.equal(tx.isClosed, true);
  assert.equal(other.isClosed, false);
  await assert.rejects(tx.send(1), isClosedError);
  await assert.rejects(tx.reserve(), isClosedError);
  assert.equal(rx.isClosed, false);
  other.close();
});

void test("`using` disposes senders and receivers (dispose = close)", async () => {
  const [tx0, rx0] = channel<number>(1);
  {
    using tx = tx0;
    await tx.send(1);
  }
  assert.equal(tx0.isClosed, true);
  assert.equal(await rx0.recv(), 1);
  assert.equal(await rx0.recv(), undefined);
  const [tx1, rx1] = channel<number>(1);
  {
    using rx = rx1;
    void rx;
  }
  assert.equal(rx1.isClosed, true);
  assert.throws(() => tx1.trySend(1), isClosedError);
});

void test("reserve holds one slot, permit.send delivers, release returns it; both idempotent; dispose releases", async () => {
  const [tx, rx] = channel<number>(2);
  const p1 = await tx.reserve();
  assert.equal(tx.capacity, 1, "a held permit counts against capacity");
  const p2 = await tx.reserve();
  assert.equal(tx.capacity, 0);
  assert.equal(tx.trySend(9), false, "reserved slots are not free");
  let third = false;
  const p3 = tx.reserve().then((p) => ((third = true), p));
  await turn();
  assert.equal(third, false);
  p1.send(1);
  assert.equal(p1.isHeld, false);
  assert.throws(() => p1.send(2), isClosedError, "a used permit cannot send again");
  p1.release(); // no-op after send
  assert.equal(rx.length, 1);
  assert.equal(tx.capacity, 0);
  p2.release();
  p2.release();
  p2[Symbol.dispose]();
  const permit3 = await p3; // p2's slot went to the waiting reserve
  assert.equal(tx.capacity, 0);
  {
    using p = permit3;
    void p;
  }
  assert.equal(tx.capacity, 1);
  assert.equal(await rx.recv(), 1);
  assert.equal(tx.capacity, 2);
});

void test("a permit keeps the channel open for the receiver and can still send after the receiver closed", async () => {
  const [tx, rx] = channel<number>(1);
  const permit = await tx.reserve();
  tx.close();
  let got: number | undefined | null = null;
  const r = rx.recv().then((v) => (got = v));
  await turn();
  assert.equal(got, null, "an outstanding permit may still send");
  permit.send(7);
  await r;
  assert.equal(got, 7);
  assert.equal(await rx.recv(), undefined);

  const [tx2, rx2] = channel<number>(1);
  const permit2 = await tx2.reserve();
  rx2.close();
  permit2.send(8); // tokio: outstanding permits still send after close
  assert.equal(await rx2.recv(), 8);
  assert.equal(await rx2.recv(), undefined);
});

void test("reserve queues FIFO with send", async () => {
  const [tx, rx] = channel<string>(1);
  await tx.send("a");
  const order: string[] = [];
  const s1 = tx.send("b").then(() => order.push("send b"));
  const r1 = tx.reserve().then((p) => {
    order.push("reserve");
    p.send("c");
  });
  const s2 = tx.send("d").then(() => order.push("send d"));
  const got: (string | undefined)[] = [];
  for (let i = 0; i < 4; i++) got.push(await rx.recv());
  await Promise.all([s1, r1, s2]);
  assert.deepEqual(got, ["a", "b", "c", "d"]);
  assert.deepEqual(order, ["send b", "reserve", "send d"]);
});

void test("trySend and tryRecv never pass a send or recv parked by the cooperative budget", async () => {
  configure({ coopBudget: 2 });
  try {
    const [tx, rx] = channel<number>(8);
    const sends: Promise<void>[] = [];
    // Send without awaiting until one send is parked (its message not yet in the buffer).
    while (rx.length === sends.length) sends.push(tx.send(sends.length));
    const parked = sends.length - 1;
    assert.equal(tx.trySend(99), false, "the parked send comes first");
    await Promise.all(sends);
    assert.equal(rx.length, sends.length);
    assert.equal(tx.trySend(100), true);
    await turn();
    // Now receive without awaiting until one recv is parked.
    const recvs: Promise<number | undefined>[] = [];
    let len = rx.length;
    for (;;) {
      recvs.push(rx.recv());
      if (rx.length === len) break;
      len = rx.length;
    }
    assert.equal(rx.tryRecv(), undefined, "the parked recv comes first");
    const got = await Promise.all(recvs);
    assert.deepEqual(
      got,
      Array.from({ length: recvs.length }, (_, i) => i),
    );
    assert.ok(parked >= 0);
    const rest: number[] = [];
    for (let v = rx.tryRecv(); v !== undefined; v = rx.tryRecv()) rest.push(v);
    assert.deepEqual(rest, [...Array.from({ length: sends.length - recvs.length }, (_, i) => recvs.length + i), 100]);
  } finally {
    configure({ coopBudget: 128 });
  }
});

void test("recvMany waits for at least one message, then takes up to max in order", async () => {
  const [tx, rx] = channel<number>(8);
  const many = rx.recvMany(3);
  await turn();
  await tx.send(1);
  assert.deepEqual(await many, [1]);
  for (let i = 2; i <= 6; i++) await tx.send(i);
  assert.deepEqual(await rx.recvMany(3), [2, 3, 4]);
  assert.deepEqual(await rx.recvMany(10), [5, 6]);
});

void test("recvMany frees room for waiting senders", async () => {
  const [tx, rx] = channel<number>(2);
  await tx.send(1);
  await tx.send(2);
  const waiting = [tx.send(3), tx.send(4)];
  assert.deepEqual(await rx.recvMany(5), [1, 2]);
  await Promise.all(waiting);
  assert.deepEqual(await rx.recvMany(5), [3, 4]);
});

void test("abort while waiting: a withdrawn send delivers nothing, a withdrawn recv takes nothing", async () => {
  const [tx, rx] = channel<number>(1);
  await tx.send(1);
  const ac = new AbortController();
  const s = tx.send(2, { signal: ac.signal });
  await turn();
  ac.abort(new Error("stop"));
  await assert.rejects(s, { message: "stop" });
  assert.equal(await rx.recv(), 1);
  assert.equal(rx.tryRecv(), undefined, "the aborted send's value never arrives");
  assert.equal(tx.capacity, 1);

  const ac2 = new AbortController();
  const r = rx.recv({ signal: ac2.signal });
  await turn();
  ac2.abort("why");
  await assert.rejects(r, (e: unknown) => e === "why");
  await tx.send(3);
  assert.equal(await rx.recv(), 3, "the message went to the next recv, not the withdrawn one");

  const pre = AbortSignal.abort("already");
  await assert.rejects(tx.send(4, { signal: pre }), (e: unknown) => e === "already");
  await assert.rejects(rx.recv({ signal: pre }), (e: unknown) => e === "already");
  await assert.rejects(tx.reserve({ signal: pre }), (e: unknown) => e === "already");
  await assert.rejects(tx.closed({ signal: pre }), (e: unknown) => e === "already");
  assert.equal(rx.length, 0);
  assert.equal(tx.capacity, 1);
});

void test("an aborted reserve holds no slot", async () => {
  const [tx, rx] = channel<number>(1);
  await tx.send(1);
  const ac = new AbortController();
  const r = tx.reserve({ signal: ac.signal });
  await turn();
  ac.abort("no");
  await assert.rejects(r);
  assert.equal(await rx.recv(), 1);
  assert.equal(tx.capacity, 1);
  assert.equal(tx.trySend(2), true);
});

void test("cancelling a task waiting in recv or send withdraws the wait; the message stays in the channel", async () => {
  const [tx, rx] = channel<number>(1);
  const h = spawn(async () => rx.recv());
  await sleep(5);
  h.abort();
  const res = await h.result();
  assert.ok(!res.ok && res.error instanceof JoinError && res.error.isCancelled());
  assert.ok(!res.ok && res.error.cause instanceof CancelledError);
  await tx.send(1);
  assert.equal(rx.length, 1, "the cancelled recv took nothing");
  const s = spawn(async () => tx.send(2));
  await sleep(5);
  s.abort();
  assert.equal((await s.result()).ok, false);
  assert.equal(await rx.recv(), 1);
  assert.equal(rx.tryRecv(), undefined, "the cancelled send delivered nothing");
  // A task already cancelled does not even start a ready recv.
  await tx.send(3);
  const t = spawn(async (ctx) => {
    ctx.token.cancel();
    return rx.recv();
  });
  assert.equal((await t.result()).ok, false);
  assert.equal(rx.length, 1);
});

void test("inside shield() a waiting recv survives the task's cancellation", async () => {
  const [tx, rx] = channel<number>(1);
  const h = spawn(async () => shield(() => rx.recv()));
  await sleep(5);
  h.abort();
  await tx.send(42);
  assert.equal(await h, 42);
});

void test("select over two channel recvs ready in the same tick takes exactly one; the other message stays", async () => {
  for (let i = 0; i < 20; i++) {
    const [ta, ra] = channel<string>(1);
    const [tb, rb] = channel<string>(1);
    ta.trySend("a");
    tb.trySend("b");
    const r = await select({ a: (signal) => ra.recv({ signal }), b: (signal) => rb.recv({ signal }) });
    assert.equal(ra.length + rb.length, 1);
    assert.equal(r.key === "a" ? rb.tryRecv() : ra.tryRecv(), r.key === "a" ? "b" : "a");
    assert.equal(r.value, r.key);
  }
});

void test("select over recvs that become ready in the same tick while waiting takes exactly one", async () => {
  const [ta, ra] = channel<string>(1);
  const [tb, rb] = channel<string>(1);
  const sel = select({ a: (signal) => ra.recv({ signal }), b: (signal) => rb.recv({ signal }) });
  await turn();
  ta.trySend("a");
  tb.trySend("b");
  const r = await sel;
  await turn();
  assert.equal(ra.length + rb.length, 1, "the losing branch took nothing");
  assert.equal(r.value, r.key);
});

void test("select over send and reserve: the losing branch sends nothing and holds no slot", async () => {
  const [ta, ra] = channel<string>(1);
  const [tb, rb] = channel<string>(1);
  const r = await select({ a: (signal) => ta.send("a", { signal }), b: (signal) => tb.reserve({ signal }) });
  await turn();
  if (r.key === "a") {
    assert.equal(ra.length, 1);
    assert.equal(tb.capacity, 1, "the losing reserve holds no slot");
  } else {
    assert.equal(ra.length, 0, "the losing send delivered nothing");
    assert.equal(tb.capacity, 0);
    (r.value as { release(): void }).release();
    assert.equal(tb.capacity, 1);
  }
  void rb;
});

void test("select between recv and a timer: a late message stays for the next recv", async () => {
  const [tx, rx] = channel<number>(1);
  const r = await select({ msg: (signal) => rx.recv({ signal }), timeout: (signal) => sleep(5, { signal }) });
  assert.equal(r.key, "timeout");
  await tx.send(1);
  assert.equal(await rx.recv(), 1);
});

void test("for await iterates until closed and drained; break closes the receiver", async () => {
  const [tx, rx] = channel<number>(4);
  const producer = (async () => {
    for (let i = 0; i < 10; i++) await tx.send(i);
    tx.close();
  })();
  const got: number[] = [];
  for await (const v of rx) got.push(v);
  await producer;
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

  const [tx2, rx2] = channel<number>(4);
  await tx2.send(1);
  await tx2.send(2);
  for await (const v of rx2) {
    assert.equal(v, 1);
    break;
  }
  assert.equal(rx2.isClosed, true);
  await assert.rejects(tx2.send(3), isClosedError);
  assert.equal(await rx2.recv(), 2, "what was buffered stays readable");
});

void test("Readable.from(rx) streams the messages, and destroying the stream closes the receiver", async () => {
  const [tx, rx] = channel<{ n: number }>(2);
  const producer = (async () => {
    for (let n = 0; n < 5; n++) await tx.send({ n });
    tx.close();
  })();
  const got: number[] = [];
  for await (const chunk of Readable.from(rx)) got.push((chunk as { n: number }).n);
  await producer;
  assert.deepEqual(got, [0, 1, 2, 3, 4]);

  const [tx2, rx2] = channel<string>(2);
  await tx2.send("x");
  const stream = Readable.from(rx2);
  const first: unknown = await new Promise((res) => stream.once("data", res));
  assert.equal(first, "x");
  stream.destroy();
  await new Promise((res) => stream.once("close", res));
  await tx2.closed(); // the stream's end closed the receiver
  assert.equal(tx2.isClosed, true);
});

void test("unboundedChannel: send never waits, length is exact, close semantics as bounded", async () => {
  const [tx, rx] = unboundedChannel<number>();
  assert.equal(tx.capacity, Infinity);
  assert.equal(tx.maxCapacity, Infinity);
  for (let i = 0; i < 10_000; i++) assert.equal(tx.trySend(i), true);
  for (let i = 10_000; i < 10_100; i++) await tx.send(i);
  assert.equal(rx.length, 10_100);
  const permit = await tx.reserve();
  permit.send(-1);
  assert.equal(rx.length, 10_101);
  assert.equal(await rx.recv(), 0);
  assert.deepEqual(await rx.recvMany(3), [1, 2, 3]);
  tx.close();
  let n = 4;
  for (let v = await rx.recv(); v !== undefined && v !== -1; v = await rx.recv()) assert.equal(v, n++);
  assert.equal(await rx.recv(), undefined);
  const [tx2, rx2] = unboundedChannel<number>();
  rx2.close();
  await assert.rejects(tx2.send(1), isClosedError);
  const r = rx2.recv();
  assert.equal(await r, undefined);
});

void test("unbounded send hands off to a waiting receiver and honours abort and cancellation before sending", async () => {
  const [tx, rx] = unboundedChannel<number>();
  const r = rx.recv();
  await turn();
  await tx.send(1);
  assert.equal(await r, 1);
  await assert.rejects(tx.send(2, { signal: AbortSignal.abort("x") }), (e: unknown) => e === "x");
  const h = spawn(async (ctx) => {
    ctx.token.cancel();
    await tx.send(3);
  });
  assert.equal((await h.result()).ok, false);
  assert.equal(rx.length, 0, "neither the aborted nor the cancelled send delivered");
});

void test("select over two unbounded sends delivers exactly one", async () => {
  for (let i = 0; i < 10; i++) {
    const [ta, ra] = unboundedChannel<string>();
    const [tb, rb] = unboundedChannel<string>();
    const r = await select({ a: (signal) => ta.send("a", { signal }), b: (signal) => tb.send("b", { signal }) });
    await turn();
    assert.equal(ra.length + rb.length, 1);
    assert.equal((r.key === "a" ? ra : rb).tryRecv(), r.key);
  }
});

void test("an always-ready producer/consumer pair does not starve timers (cooperative budget)", async () => {
  const [tx, rx] = unboundedChannel<number>();
  const n = 50_000;
  for (let i = 0; i < n; i++) tx.trySend(i);
  tx.close();
  let timerFired = false;
  let receivedWhenTimerFired = -1;
  let received = 0;
  setTimeout(() => {
    timerFired = true;
    receivedWhenTimerFired = received;
  }, 0);
  while ((await rx.recv()) !== undefined) received++;
  assert.equal(received, n);
  assert.equal(timerFired, true);
  assert.ok(receivedWhenTimerFired < n, "the timer ran while the loop was still going");
});

void test("a task waiting on a channel shows it in the runtime dump", async () => {
  const rt = new Runtime({ name: "dump-test" });
  const [tx, rx] = channel<number>(1);
  await tx.send(0);
  const s = rt.spawn(() => tx.send(1), { name: "sender" });
  const [, rx2] = channel<number>(1);
  const r = rt.spawn(() => rx2.recv(), { name: "receiver" });
  await sleep(5);
  const tasks = rt.dump().tasks;
  const sender = tasks.find((t) => t.id === s.id);
  const receiver = tasks.find((t) => t.id === r.id);
  assert.match(sender?.waitingOn ?? "", /^send on channel#\d+$/);
  assert.match(receiver?.waitingOn ?? "", /^recv on channel#\d+$/);
  assert.notEqual(sender?.waitingOn?.slice(5), receiver?.waitingOn?.slice(5), "each channel has its own id");
  assert.equal(await rx.recv(), 0);
  await s;
  r.abort();
  await rt.shutdown();
});
