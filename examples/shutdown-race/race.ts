/**
 * "Panic! At The Async Runtime Shutdown", in TypeScript.
 *
 * The post's toy system: a worker receives a number, adds 1 and sends it back; a producer sends
 * numbers and checks each reply, until it is told to stop. The producer may unwrap its replies
 * because the worker only stops once the producer has stopped... unless shutdown tears the
 * worker's side down first. Each run starts the pair, lets it work a few event-loop turns, then
 * shuts down in mid-flight, and classifies how the producer ended:
 *
 *  - "ok":         it saw the stop request and returned;
 *  - "cancelled":  a wait rejected with CancelledError (a cancel that came before the producer
 *                  saw the stop request: expected, nothing impossible about it);
 *  - "impossible": its reply was missing (the channel was closed under it) or a send hit a
 *                  closed channel: the post's panic at `response_rx.recv().await.unwrap()`.
 *
 * naive:   plain async functions, a stop flag, and the resources (the four channel ends) closed
 *          at exit right after the flag is set, as a SIGTERM handler usually does it.
 * naive-grace: the same, with one event-loop turn of grace between the flag and the closing:
 *          it helps only when the grace outlasts the worker's I/O, which no code can know.
 * steward: the same two functions as tasks of a Runtime, the channel ends given to `defer()`,
 *          and `runtime.shutdown()`: announce (the producer's stop flag is `ctx.stopping`), drain
 *          (the producer returns, the worker finishes), cancel and collect (nothing left), drop
 *          (close the channels).
 */
import { CancelledError, Runtime, unboundedChannel, type Receiver, type Sender } from "../../src/index.js";

/** Which shutdown discipline a run uses. */
export type Variant = "naive" | "naive-grace" | "steward";

/** How one producer ended. */
export type Outcome = "ok" | "cancelled" | "impossible";

/** The outcomes of many runs of one variant. */
export interface RaceCounts {
  variant: Variant;
  runs: number;
  ok: number;
  cancelled: number;
  impossible: number;
  /** Wall time of all runs. */
  ms: number;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The worker's "I/O": zero to two event-loop turns, like a quick query or a cache hit. */
async function io(): Promise<void> {
  const hops = Math.floor(Math.random() * 3);
  for (let i = 0; i < hops; i++) await turn();
}

interface Pair {
  msgTx: Sender<number>;
  msgRx: Receiver<number>;
  resTx: Sender<number>;
  resRx: Receiver<number>;
}

function pair(): Pair {
  const [msgTx, msgRx] = unboundedChannel<number>();
  const [resTx, resRx] = unboundedChannel<number>();
  return { msgTx, msgRx, resTx, resRx };
}

/** The post's worker: add 1 and reply, until the messages end. Its reply sender goes with it. */
async function worker(p: Pair): Promise<void> {
  try {
    for (;;) {
      const m = await p.msgRx.recv();
      if (m === undefined) return;
      await io();
      try {
        p.resTx.trySend(m + 1); // `let _ = response_tx.send(m + 1);`
      } catch {
        // the producer is gone: ignored, as in the post
      }
    }
  } finally {
    p.resTx.close(); // dropping response_tx when the worker ends
  }
}

/** The post's producer: send i, expect i + 1, until `stopped()`. */
async function producer(p: Pair, stopped: () => boolean): Promise<Outcome> {
  try {
    for (let i = 0; ; i++) {
      if (stopped()) return "ok";
      p.msgTx.trySend(i); // `message_tx.send(i).unwrap()`: throws if the channel was closed
      const r = await p.resRx.recv(); // `response_rx.recv().await.unwrap()`
      if (r !== i + 1) return "impossible";
    }
  } catch (e) {
    return e instanceof CancelledError ? "cancelled" : "impossible";
  } finally {
    p.msgTx.close(); // dropping message_tx
  }
}

/**
 * One naive run: shutdown = set the flag, wait `graceTurns` event-loop turns (0: none), then
 * close every resource.
 */
export async function naiveOnce(turnsBeforeStop: number, graceTurns = 0): Promise<Outcome> {
  const p = pair();
  let stop = false;
  const w = worker(p);
  const outcome = producer(p, () => stop);
  for (let i = 0; i < turnsBeforeStop; i++) await turn();
  // The exit path: ask the tasks to stop, then close what the service opened.
  stop = true;
  for (let i = 0; i < graceTurns; i++) await turn();
  p.msgTx.close();
  p.msgRx.close();
  p.resTx.close();
  p.resRx.close();
  const [o] = await Promise.all([outcome, w.catch(() => {})]);
  return o;
}

/** One steward run: the same functions as tasks; the channel ends dropped only after collect. */
export async function stewardOnce(turnsBeforeStop: number): Promise<Outcome> {
  const rt = new Runtime({ name: "race" });
  const p = pair();
  rt.defer(p.msgTx, "messages tx");
  rt.defer(p.msgRx, "messages rx");
  rt.defer(p.resTx, "responses tx");
  rt.defer(p.resRx, "responses rx");
  rt.spawn(() => worker(p), { name: "worker" });
  const prod = rt.spawn((ctx) => producer(p, () => ctx.stopping.isCancelled), { name: "producer" });
  for (let i = 0; i < turnsBeforeStop; i++) await turn();
  const report = await rt.shutdown({ timeoutMs: 5_000 });
  const r = await prod.result();
  if (!report.clean) return "impossible"; // never seen; would mean a stuck task or a failed close
  return r.ok ? r.value : "impossible";
}

/** Runs one variant `runs` times, the stop landing after 1 to 4 event-loop turns. */
export async function runVariant(variant: Variant, runs: number): Promise<RaceCounts> {
  const counts: RaceCounts = { variant, runs, ok: 0, cancelled: 0, impossible: 0, ms: 0 };
  const once = variant === "naive" ? naiveOnce : variant === "naive-grace" ? (t: number) => naiveOnce(t, 1) : stewardOnce;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) counts[await once(1 + Math.floor(Math.random() * 4))]++;
  counts.ms = Math.round(performance.now() - t0);
  return counts;
}

/** Every variant, `runs` times each (the post used 10,000). */
export async function runShutdownRace(runs = 10_000): Promise<{ naive: RaceCounts; naiveGrace: RaceCounts; steward: RaceCounts }> {
  const naive = await runVariant("naive", runs);
  const naiveGrace = await runVariant("naive-grace", runs);
  const steward = await runVariant("steward", runs);
  return { naive, naiveGrace, steward };
}
