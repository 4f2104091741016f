/**
 * Channel benchmarks: one producer and one consumer over a channel of capacity 1024, ns per
 * message, against Effect's Queue.bounded, a Node Readable in objectMode, a WHATWG ReadableStream
 * and a bare hand-written ring buffer with the same await pattern (a waiting consumer gets each
 * item handed over directly). Then unbounded throughput, and memory under a flood of senders.
 */
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Effect, Fiber, Queue } from "effect";
import { channel, configure, unboundedChannel } from "../src/index.js";
import { type BenchContext, compare, type Case, log, type Section, ratioTable } from "./harness.js";

const CAP = 1024;
const RESOLVED: Promise<void> = Promise.resolve();

// ---------------------------------------------------------------------------------------------
// The bare ring: what a channel costs with nothing but the buffer, the hand-off and the awaits.

class BareRing<T> {
  private readonly buf: (T | undefined)[];
  private head = 0;
  private len = 0;
  private closed = false;
  private recvWaiter: ((v: T | undefined) => void) | undefined;
  private sendWaiter: (() => void) | undefined;
  constructor(private readonly cap: number) {
    let n = 1;
    while (n < cap) n *= 2;
    this.buf = new Array<T | undefined>(n);
  }
  send(v: T): Promise<void> {
    const w = this.recvWaiter;
    if (w !== undefined) {
      this.recvWaiter = undefined;
      w(v);
      return RESOLVED;
    }
    if (this.len < this.cap) {
      this.buf[(this.head + this.len) & (this.buf.length - 1)] = v;
      this.len++;
      return RESOLVED;
    }
    return new Promise<void>((res) => {
      this.sendWaiter = () => {
        this.buf[(this.head + this.len) & (this.buf.length - 1)] = v;
        this.len++;
        res();
      };
    });
  }
  recv(): Promise<T | undefined> {
    if (this.len > 0) {
      const v = this.buf[this.head];
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) & (this.buf.length - 1);
      this.len--;
      const s = this.sendWaiter;
      if (s !== undefined) {
        this.sendWaiter = undefined;
        s();
      }
      return Promise.resolve(v);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise<T | undefined>((res) => {
      this.recvWaiter = res;
    });
  }
  close(): void {
    this.closed = true;
    const w = this.recvWaiter;
    this.recvWaiter = undefined;
    w?.(undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// One producer, one consumer, n messages.

export async function stewardPair(n: number): Promise<void> {
  const [tx, rx] = channel<number>(CAP);
  const producer = (async () => {
    for (let i = 0; i < n; i++) await tx.send(i);
    tx.close();
  })();
  let got = 0;
  while ((await rx.recv()) !== undefined) got++;
  await producer;
  check(got, n);
}

/** The same with the cooperative budget turned off: what the budget's event-loop turns cost. */
async function stewardNoBudgetPair(n: number): Promise<void> {
  const prev = configure().coopBudget;
  configure({ coopBudget: 0 });
  try {
    await stewardPair(n);
  } finally {
    configure({ coopBudget: prev });
  }
}

async function stewardUnboundedPair(n: number): Promise<void> {
  const [tx, rx] = unboundedChannel<number>();
  const producer = (async () => {
    for (let i = 0; i < n; i++) await tx.send(i);
    tx.close();
  })();
  let got = 0;
  while ((await rx.recv()) !== undefined) got++;
  await producer;
  check(got, n);
}

export async function bareRingPair(n: number): Promise<void> {
  const ch = new BareRing<number>(CAP);
  const producer = (async () => {
    for (let i = 0; i < n; i++) await ch.send(i);
    ch.close();
  })();
  let got = 0;
  while ((await ch.recv()) !== undefined) got++;
  await producer;
  check(got, n);
}

/** An unbounded array queue with a waiting consumer: the "no backpressure" baseline. */
async function arrayQueuePair(n: number): Promise<void> {
  const q: number[] = [];
  let waiter: ((v: number | undefined) => void) | undefined;
  let closed = false;
  const producer = (async () => {
    for (let i = 0; i < n; i++) {
      if (waiter !== undefined) {
        const w = waiter;
        waiter = undefined;
        w(i);
      } else q.push(i);
      await RESOLVED;
    }
    closed = true;
    waiter?.(undefined);
  })();
  let got = 0;
  for (;;) {
    const v = q.length > 0 ? q.shift() : closed ? undefined : await new Promise<number | undefined>((res) => (waiter = res));
    if (v === undefined) break;
    got++;
  }
  await producer;
  check(got, n);
}

export async function effectPair(n: number): Promise<void> {
  const got = await Effect.runPromise(
    Effect.gen(function* () {
      const q = yield* Queue.bounded<number>(CAP);
      const producer = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* Queue.offer(q, i);
        }),
      );
      let got = 0;
      for (let i = 0; i < n; i++) {
        yield* Queue.take(q);
        got++;
      }
      yield* Fiber.join(producer);
      return got;
    }),
  );
  check(got, n);
}

async function readablePair(n: number): Promise<void> {
  let wake: (() => void) | undefined;
  const r = new Readable({
    objectMode: true,
    highWaterMark: CAP,
    read() {
      const w = wake;
      wake = undefined;
      w?.();
    },
  });
  const producer = (async () => {
    for (let i = 0; i < n; i++) {
      if (!r.push(i)) await new Promise<void>((res) => (wake = res));
    }
    r.push(null);
  })();
  let got = 0;
  for await (const _ of r) got++;
  await producer;
  check(got, n);
}

async function webStreamPair(n: number): Promise<void> {
  let ctrl!: ReadableStreamDefaultController<number>;
  let wake: (() => void) | undefined;
  const rs = new ReadableStream<number>(
    {
      start(c) {
        ctrl = c;
      },
      pull() {
        const w = wake;
        wake = undefined;
        w?.();
      },
    },
    new CountQueuingStrategy({ highWaterMark: CAP }),
  );
  const producer = (async () => {
    for (let i = 0; i < n; i++) {
      ctrl.enqueue(i);
      if ((ctrl.desiredSize ?? 0) <= 0) await new Promise<void>((res) => (wake = res));
    }
    ctrl.close();
  })();
  const reader = rs.getReader();
  let got = 0;
  while (!(await reader.read()).done) got++;
  await producer;
  check(got, n);
}

function check(got: number, n: number): void {
  if (got !== n) throw new Error(`benchmark lost messages: got ${got} of ${n}`);
}

// ---------------------------------------------------------------------------------------------
// Memory: many concurrent senders flooding a slow consumer.

function getGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

async function turns(k: number): Promise<void> {
  for (let i = 0; i < k; i++) await new Promise<void>((res) => setImmediate(res));
}

interface Flood {
  name: string;
  /** Heap growth while every sender has sent (or waits to send) everything, MB. */
  peakMb: number;
  buffered: number;
}

async function flood(kind: "bounded" | "unbounded" | "array", senders: number, perSender: number, gc: () => void): Promise<Flood> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const payload = (i: number): string => `${i}:`.padEnd(256, "x") + String(Math.random()).slice(2, 6);
  let buffered: () => number;
  let drain: () => Promise<number>;
  let producers: Promise<void>[];
  if (kind === "array") {
    const q: string[] = [];
    producers = Array.from({ length: senders }, async (_, s) => {
      for (let i = 0; i < perSender; i++) {
        q.push(payload(s * perSender + i));
        await RESOLVED;
      }
    });
    buffered = () => q.length;
    drain = async () => {
      const n = q.length;
      q.length = 0;
      return n;
    };
  } else {
    const [tx, rx] = kind === "bounded" ? channel<string>(CAP) : unboundedChannel<string>();
    producers = Array.from({ length: senders }, async (_, s) => {
      const mine = tx.clone();
      for (let i = 0; i < perSender; i++) await mine.send(payload(s * perSender + i));
      mine.close();
    });
    tx.close();
    buffered = () => rx.length;
    drain = async () => {
      let n = 0;
      while ((await rx.recv()) !== undefined) n++;
      return n;
    };
  }
  // Let every producer run until it blocks (bounded) or finishes (unbounded): until the buffer
  // stops growing for a few event-loop turns.
  for (let last = -1, still = 0, i = 0; still < 3 && i < 10_000; i++) {
    await turns(1);
    const b = buffered();
    still = b === last ? still + 1 : 0;
    last = b;
  }
  gc();
  const peak = process.memoryUsage().heapUsed;
  const b = buffered();
  const got = await drain();
  await Promise.all(producers);
  if (kind !== "array" && got !== senders * perSender) throw new Error(`flood lost messages: ${got}`);
  return { name: kind, peakMb: (peak - before) / 2 ** 20, buffered: b };
}

// ---------------------------------------------------------------------------------------------

export default async function channelBench(ctx: BenchContext): Promise<Section> {
  const n = ctx.quick ? 20_000 : 100_000;
  const rounds = ctx.quick ? 5 : 9;
  // The bare ring is compared on its own: Effect's allocation rate and scheduler, interleaved in
  // the same rounds, perturb the GC and event-loop turns of whatever runs next to them.
  log("channel: one producer, one consumer, vs a bare ring");
  const core = await compare(
    [
      { name: "steward channel(1024)", run: stewardPair },
      { name: "steward channel(1024), coopBudget 0", run: stewardNoBudgetPair },
      { name: "bare ring (hand-off)", run: bareRingPair },
    ],
    { n, rounds },
  );
  log("channel: one producer, one consumer, vs peers");
  const peerCases: Case[] = [
    { name: "steward channel(1024)", run: stewardPair },
    { name: "Effect Queue.bounded(1024)", run: effectPair },
    { name: "Node Readable objectMode (hwm 1024)", run: readablePair },
    { name: "WHATWG ReadableStream (hwm 1024)", run: webStreamPair },
  ];
  const pair = await compare(peerCases, { n, rounds });
  const vsSteward = ratioTable(pair, "steward channel(1024)", "× steward");

  log("channel: unbounded");
  const unb = await compare(
    [
      { name: "steward unboundedChannel()", run: stewardUnboundedPair },
      { name: "steward channel(1024)", run: stewardPair },
      { name: "array queue + waiter", run: arrayQueuePair },
    ],
    { n, rounds },
  );

  log("channel: memory under a flood of senders");
  const gc = getGc();
  const senders = ctx.quick ? 500 : 2000;
  const perSender = ctx.quick ? 40 : 100;
  const floods: Flood[] = [];
  for (const kind of ["bounded", "unbounded", "array"] as const) floods.push(await flood(kind, senders, perSender, gc));

  const ring = core.find((r) => r.name === "bare ring (hand-off)")!.nsPerOp;
  const stCore = core.find((r) => r.name === "steward channel(1024)")!.nsPerOp;
  const eff = pair.find((r) => r.name === "Effect Queue.bounded(1024)")!.nsPerOp;
  const st = pair.find((r) => r.name === "steward channel(1024)")!.nsPerOp;
  const memLines = [
    "| channel | buffered at peak | heap growth at peak |",
    "| --- | ---: | ---: |",
    ...floods.map((f) => `| ${f.name === "bounded" ? `channel(${CAP})` : f.name === "unbounded" ? "unboundedChannel()" : "array queue"} | ${f.buffered} | ${f.peakMb.toFixed(1)} MB |`),
  ];
  const markdown = [
    `One producer and one consumer, ${n} messages per round, ns per message (median of ${rounds} interleaved rounds).`,
    "",
    ratioTable(core, "bare ring (hand-off)", "× bare ring"),
    "",
    vsSteward,
    "",
    `steward costs ${(stCore / ring).toFixed(2)}× the bare ring (goal ≤ 1.3×) and is ${(eff / st).toFixed(1)}× faster than Effect's Queue (goal ≥ 5×).`,
    "The bare ring has no cooperative budget: steward's pair yields to the event loop once every 64 messages (128 ready waits);",
    "the `coopBudget 0` row shows the channel without those turns (on a loaded machine each turn can cost the time slice).",
    "",
    "Unbounded channel, same pattern:",
    "",
    ratioTable(unb, "steward unboundedChannel()", "× unbounded"),
    "",
    `Memory: ${senders} concurrent senders, ${perSender} messages of ~260 bytes each, nobody receiving; heap growth after gc once every sender ran until it blocked or finished:`,
    "",
    ...memLines,
    "",
    "The bounded channel holds its capacity plus one waiting send per sender; the others hold everything.",
  ].join("\n");
  return { title: "Channels", markdown };
}
