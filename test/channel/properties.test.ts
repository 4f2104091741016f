// Property tests for channels: random operation sequences with random aborts, and random
// schedules (fast-check's scheduler) of concurrent producers.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LaggedError, type SendPermit, type Sender, broadcast, channel, configure, spawn, unboundedChannel } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((res) => setImmediate(res));

/** Fails instead of hanging when `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`hang: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

interface Msg {
  /** Which Sender handle sent it. */
  h: number;
  /** Its position in that handle's issue order. */
  seq: number;
  /** A permit's or a task's message is exempt from the issue-order check (it goes in later). */
  via: "send" | "try" | "permit" | "task";
}

const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("send" as const), h: fc.nat(5), abort: fc.constantFrom("none", "none", "later", "pre") }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("trySend" as const), h: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("reserve" as const), h: fc.nat(5), abort: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("permit" as const), k: fc.nat(7), send: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("recv" as const), abort: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("recvMany" as const), max: fc.integer({ min: 1, max: 4 }), abort: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("tryRecv" as const) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("abort" as const), k: fc.nat(15) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("tick" as const), macro: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("clone" as const), h: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("closeSender" as const), h: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("closeReceiver" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("cancelTask" as const), h: fc.nat(5) }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer O> ? O : never;

/**
 * Runs `ops` against one channel and checks the accounting: every acknowledged send is received
 * exactly once, nothing else is (no phantom, no rejected send's value), each handle's plain sends
 * arrive in issue order, and slots are conserved (capacity = bound - buffered - held permits).
 */
async function runOps(capacity: number, ops: Op[]): Promise<void> {
  const [tx0, rx] = channel<Msg>(capacity);
  const txs: Sender<Msg>[] = [tx0];
  const seqs: number[] = [0];
  const acked = new Set<Msg>();
  const rejected = new Set<Msg>();
  const received: Msg[] = [];
  const controllers: AbortController[] = [];
  const pending: Promise<unknown>[] = [];
  const permits: SendPermit<Msg>[] = [];
  // Receive operations are served in the order they are issued (waiting receives FIFO, tryRecv
  // never passes one), so each gets a slot at issue time: the slots in order are the take order.
  const slots: Msg[][] = [];
  const slot = (): ((v: Msg | Msg[] | undefined) => void) => {
    const i = slots.length;
    slots.push([]);
    return (v) => {
      slots[i] = v === undefined ? [] : Array.isArray(v) ? v : [v];
    };
  };
  const signalFor = (abort: boolean): AbortSignal | undefined => {
    if (!abort) return undefined;
    const c = new AbortController();
    controllers.push(c);
    return c.signal;
  };
  const nextMsg = (h: number, via: Msg["via"]): Msg => ({ h, seq: seqs[h]!++, via });
  const handle = (h: number): [number, Sender<Msg>] => [h % txs.length, txs[h % txs.length]!];
  const track = (p: Promise<unknown>): void => {
    pending.push(p.then(undefined, () => {}));
  };
  const checkSlots = (): void => {
    const held = permits.filter((p) => p.isHeld).length;
    assert.ok(rx.length + held <= capacity, "never more than capacity buffered + reserved");
    const open = txs.find((t) => !t.isClosed);
    if (open !== undefined) assert.equal(open.capacity, capacity - rx.length - held, "slot conservation");
  };

  for (const op of ops) {
    switch (op.t) {
      case "send": {
        const [h, tx] = handle(op.h);
        const m = nextMsg(h, "send");
        const signal = op.abort === "pre" ? AbortSignal.abort("pre") : signalFor(op.abort === "later");
        let p: Promise<void>;
        try {
          p = tx.send(m, { signal });
        } catch (e) {
          assert.fail(`send threw synchronously: ${String(e)}`);
        }
        track(
          p.then(
            () => acked.add(m),
            () => rejected.add(m),
          ),
        );
        break;
      }
      case "trySend": {
        const [h, tx] = handle(op.h);
        const m = nextMsg(h, "try");
        try {
          if (tx.trySend(m)) acked.add(m);
          else rejected.add(m);
        } catch {
          rejected.add(m);
        }
        break;
      }
      case "reserve": {
        const [, tx] = handle(op.h);
        track(tx.reserve({ signal: signalFor(op.abort) }).then((p) => permits.push(p)));
        break;
      }
      case "permit": {
        const held = permits.filter((x) => x.isHeld);
        if (held.length === 0) break;
        const p = held[op.k % held.length]!;
        if (op.send) {
          const m = nextMsg(0, "permit");
          p.send(m);
          acked.add(m);
        } else p.release();
        break;
      }
      case "recv":
        track(rx.recv({ signal: signalFor(op.abort) }).then(slot()));
        break;
      case "recvMany":
        track(rx.recvMany(op.max, { signal: signalFor(op.abort) }).then(slot()));
        break;
      case "tryRecv":
        slot()(rx.tryRecv());
        break;
      case "abort": {
        const live = controllers.filter((c) => !c.signal.aborted);
        if (live.length > 0) live[op.k % live.length]!.abort(new Error("random abort"));
        break;
      }
      case "tick":
        if (op.macro) {
          await turn(); // every resolution so far has been observed: the books must balance
          checkSlots();
        } else await Promise.resolve();
        break;
      case "clone": {
        const [, tx] = handle(op.h);
        if (tx.isClosed && !rx.isClosed) break; // closed handle: clone throws, tested elsewhere
        try {
          txs.push(tx.clone());
          seqs.push(0);
        } catch {
          // the handle was closed
        }
        break;
      }
      case "closeSender": {
        const [, tx] = handle(op.h);
        tx.close();
        break;
      }
      case "closeReceiver":
        rx.close();
        break;
      case "cancelTask": {
        // A send from inside a task that is cancelled while (or before) it waits.
        const [h, tx] = handle(op.h);
        const m = nextMsg(h, "task");
        const t = spawn(() => tx.send(m));
        track(
          t.then(
            () => acked.add(m),
            () => rejected.add(m),
          ),
        );
        await Promise.resolve();
        t.abort();
        break;
      }
    }
  }

  // Wind down: every sender closes (waiting sends and reserves reject), held permits go back,
  // and every operation settles; then the receiver drains to the close.
  for (const tx of txs) tx.close();
  for (let i = 0; i < 4; i++) {
    await turn();
    for (const p of permits) p.release();
  }
  await within(Promise.all(pending), 5000, "pending operations");
  for (const p of permits) p.release();
  for (const sl of slots) received.push(...sl);
  for (;;) {
    const v = await within(rx.recv(), 5000, "drain");
    if (v === undefined) break;
    received.push(v);
  }

  const seen = new Set<Msg>();
  for (const m of received) {
    assert.ok(!seen.has(m), `received twice: ${JSON.stringify(m)}`);
    seen.add(m);
    assert.ok(acked.has(m), `received but never acknowledged (phantom): ${JSON.stringify(m)}`);
    assert.ok(!rejected.has(m), `a rejected send delivered: ${JSON.stringify(m)}`);
  }
  for (const m of acked) assert.ok(seen.has(m), `acknowledged but lost: ${JSON.stringify(m)}`);
  // FIFO per handle for plain sends (a permit's message goes in when its send is called).
  const last = new Map<number, number>();
  for (const m of received) {
    if (m.via === "permit" || m.via === "task") continue;
    const prev = last.get(m.h) ?? -1;
    assert.ok(m.seq > prev, `handle ${m.h}: seq ${m.seq} after ${prev}`);
    last.set(m.h, m.seq);
  }
}

void test("mpsc accounting under random operations, aborts and task cancellation", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(opArb, { minLength: 1, maxLength: 60 }), async (capacity, ops) => {
      await runOps(capacity, ops);
    }),
    { numRuns: 150 },
  );
});

void test("mpsc accounting with the cooperative budget nearly spent (parked waits and try* ops)", async () => {
  configure({ coopBudget: 3 });
  try {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(opArb, { minLength: 1, maxLength: 60 }), async (capacity, ops) => {
        await runOps(capacity, ops);
      }),
      { numRuns: 100 },
    );
  } finally {
    configure({ coopBudget: 128 });
  }
});

void test("FIFO per sender with several concurrent producers under random schedules", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), fc.boolean(), async (s, capacity, counts, unbounded) => {
      const [tx, rx] = unbounded ? unboundedChannel<[number, number]>() : channel<[number, number]>(capacity);
      const producers = counts.map(async (count, p) => {
        const mine = tx.clone();
        for (let i = 0; i < count; i++) {
          await s.schedule(Promise.resolve(), `p${p} before send ${i}`);
          await mine.send([p, i]);
        }
        mine.close();
      });
      tx.close();
      const got: [number, number][] = [];
      const consumer = (async () => {
        for (;;) {
          await s.schedule(Promise.resolve(), "consumer before recv");
          const v = await rx.recv();
          if (v === undefined) return;
          got.push(v);
        }
      })();
      const all = Promise.all([...producers, consumer]);
      let done = false;
      void all.then(() => (done = true));
      for (let guard = 0; !done && guard < 10_000; guard++) {
        await s.waitIdle();
        if (!done) await turn();
      }
      await within(all, 5000, "producers and consumer");
      assert.equal(
        got.length,
        counts.reduce((a, b) => a + b, 0),
        "every message arrived",
      );
      for (let p = 0; p < counts.length; p++) {
        const mine = got.filter(([q]) => q === p).map(([, i]) => i);
        assert.deepEqual(
          mine,
          Array.from({ length: counts[p]! }, (_, i) => i),
          `producer ${p} in order`,
        );
      }
    }),
    { numRuns: 100 },
  );
});

void test("reserve/permit slot conservation under random reserves, sends, releases and aborts", async () => {
  const step = fc.oneof(
    fc.record({ t: fc.constant("reserve" as const), abort: fc.boolean() }),
    fc.record({ t: fc.constant("send" as const), abort: fc.boolean() }),
    fc.record({ t: fc.constant("use" as const), k: fc.nat(7), send: fc.boolean() }),
    fc.record({ t: fc.constant("recv" as const) }),
    fc.record({ t: fc.constant("abort" as const), k: fc.nat(7) }),
    fc.record({ t: fc.constant("tick" as const) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(step, { minLength: 1, maxLength: 50 }), async (capacity, steps) => {
      const [tx, rx] = channel<number>(capacity);
      const permits: SendPermit<number>[] = [];
      const controllers: AbortController[] = [];
      const pending: Promise<unknown>[] = [];
      let sentOk = 0;
      let received = 0;
      const sig = (abort: boolean): AbortSignal | undefined => {
        if (!abort) return undefined;
        const c = new AbortController();
        controllers.push(c);
        return c.signal;
      };
      const check = (): void => {
        const held = permits.filter((p) => p.isHeld).length;
        assert.ok(held + rx.length <= capacity);
        assert.equal(tx.capacity, capacity - held - rx.length);
      };
      for (const st of steps) {
        if (st.t === "reserve")
          pending.push(
            tx.reserve({ signal: sig(st.abort) }).then(
              (p) => permits.push(p),
              () => {},
            ),
          );
        else if (st.t === "send")
          pending.push(
            tx.send(1, { signal: sig(st.abort) }).then(
              () => sentOk++,
              () => {},
            ),
          );
        else if (st.t === "use") {
          const held = permits.filter((p) => p.isHeld);
          if (held.length > 0) {
            const p = held[st.k % held.length]!;
            if (st.send) {
              p.send(2);
              sentOk++;
            } else p[Symbol.dispose]();
          }
        } else if (st.t === "recv") {
          if (rx.tryRecv() !== undefined) received++;
        } else if (st.t === "abort") {
          const live = controllers.filter((c) => !c.signal.aborted);
          if (live.length > 0) live[st.k % live.length]!.abort("x");
        } else {
          await turn();
          check();
        }
      }
      await turn();
      check();
      tx.close();
      for (let i = 0; i < 3; i++) {
        await turn();
        for (const p of permits) p.release();
      }
      await within(Promise.all(pending), 5000, "pending");
      for (const p of permits) p.release();
      while ((await within(rx.recv(), 5000, "drain")) !== undefined) received++;
      assert.equal(received, sentOk, "what was sent through sends and permits is what was received");
    }),
    { numRuns: 150 },
  );
});

void test("broadcast lag accounting: each receiver's values plus skipped counts add up to what was sent to it", async () => {
  const step = fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant("send" as const), n: fc.integer({ min: 1, max: 12 }) }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant("recv" as const), r: fc.nat(4), async: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("subscribe" as const) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("close" as const), r: fc.nat(4) }) },
  );
  await fc.assert(
    // Small capacities lag often; larger ones make the ring grow (16, 32, 64) while values are kept.
    fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 15, max: 40 })), fc.array(step, { minLength: 1, maxLength: 60 }), async (capacity, steps) => {
      const [tx, rx0] = broadcast<number>(capacity);
      let sent = 0; // values are 0, 1, 2, ... in send order
      interface Sub {
        rx: typeof rx0;
        /** The value this receiver should get next, per the model. */
        expect: number;
        open: boolean;
      }
      const subs: Sub[] = [{ rx: rx0, expect: 0, open: true }];
      /** Checks one outcome against the model: the oldest kept value is max(next, sent - capacity). */
      const observe = (sub: Sub, outcome: { v: number | undefined } | { lag: number }): void => {
        const oldest = Math.max(sub.expect, sent - capacity);
        if ("lag" in outcome) {
          assert.ok(oldest > sub.expect, "a lag only when values it had not read were overwritten");
          assert.equal(outcome.lag, oldest - sub.expect, "skipped counts exactly the overwritten values");
          sub.expect = oldest;
        } else if (outcome.v === undefined) {
          assert.ok(!sub.open || sub.expect === sent, "undefined only when nothing is left (or closed)");
        } else {
          assert.equal(sub.expect, oldest, "no lag was due");
          assert.equal(outcome.v, sub.expect, "values arrive in order, none skipped silently");
          sub.expect++;
        }
      };
      for (const st of steps) {
        if (st.t === "send") {
          for (let i = 0; i < st.n; i++) {
            const n = tx.send(sent);
            assert.equal(n, subs.filter((s) => s.open).length, "send returns the number of receivers");
            if (n > 0) sent++;
          }
        } else if (st.t === "subscribe") {
          subs.push({ rx: tx.subscribe(), expect: sent, open: true });
        } else if (st.t === "close") {
          const sub = subs[st.r % subs.length]!;
          sub.rx.close();
          sub.open = false;
        } else {
          const sub = subs[st.r % subs.length]!;
          if (!sub.open) continue;
          let outcome: { v: number | undefined } | { lag: number };
          try {
            if (st.async && sub.expect < sent) outcome = { v: await sub.rx.recv() };
            else outcome = { v: sub.rx.tryRecv() };
          } catch (e) {
            assert.ok(e instanceof LaggedError);
            outcome = { lag: e.skipped };
          }
          observe(sub, outcome);
        }
      }
      tx.close();
      // Drain every open receiver: the sum of values received and skipped covers all it was sent.
      for (const sub of subs) {
        if (!sub.open) continue;
        for (;;) {
          let outcome: { v: number | undefined } | { lag: number };
          try {
            outcome = { v: await within(sub.rx.recv(), 5000, "broadcast drain") };
          } catch (e) {
            assert.ok(e instanceof LaggedError);
            outcome = { lag: e.skipped };
          }
          observe(sub, outcome);
          if ("v" in outcome && outcome.v === undefined) break;
        }
        assert.equal(sub.expect, sent, "received + skipped = sent while subscribed");
      }
    }),
    { numRuns: 150 },
  );
});
