/**
 * Multi-producer, single-consumer channels: `channel(capacity)` (bounded, with backpressure) and
 * `unboundedChannel()`, after tokio::sync::mpsc.
 *
 * One shared `Chan` holds the buffer (a ring, core/deque.ts) and three core wait queues:
 *  - `recvQ`: recv and recvMany, ready when the buffer holds a message or the channel is closed
 *    for the receiver (every sender closed, or the receiver closed, with no slot still reserved);
 *  - `sendQ`: send and reserve, FIFO, ready when a slot is free (buffered + reserved < capacity)
 *    or the channel is closed (then serving rejects with ChannelClosedError);
 *  - `closedQ`: Sender.closed(), ready once the receiver closed.
 * Every state change pumps the queue it may unblock; a push pumps `recvQ` on the next microtask,
 * so a waiting receiver gets the message handed over within the same tick. The core claims each waiter (and its select
 * group) before `take` runs, so a withdrawn or losing wait never takes or delivers anything.
 */
import { parkUntilRefill, takeBudget } from "../core/budget.js";
import { currentFrame } from "../core/context.js";
import { diag } from "../core/holds.js";
import { Deque } from "../util/deque.js";
import { checkInteger } from "../util/validate.js";
import { claimSignal, lostReason, precheck, readyNow, readyValue, RESOLVED, type Resource, WaitQueue, type WaitOptions } from "../core/waiter.js";
import { ChannelClosedError } from "../errors.js";
import { checkWaitOptions, nextChannelId, undefinedMessage } from "./ids.js";

/** What a reserve() asks the send queue for, instead of a value to deliver. */
const RESERVE: unique symbol = Symbol("steward.reserve");
/** What a reserveMany(n) asks the send queue for: n slots at once. */
class ReserveMany {
  constructor(readonly n: number) {}
}
type SendData<T> = T | typeof RESERVE | ReserveMany;
/** What a served send-queue waiter gets: nothing (a send), a permit, or a batch of them. */
type SendResult<T> = SendPermit<T> | SendPermits<T> | undefined;
/** recv()'s request in the receive queue; recvMany passes its `max` (>= 1). */
const ONE = 0;

/** @internal The state one channel's senders, permits and receiver share. */
class Chan<T> {
  readonly id = nextChannelId();
  readonly buf = new Deque<T>();
  /** Slots held by outstanding SendPermits. */
  reserved = 0;
  /** Open Sender handles. */
  senders = 1;
  rxClosed = false;
  readonly recvSide: RecvSide<T>;
  readonly sendSide: SendSide<T>;
  readonly recvQ: WaitQueue<unknown, number>;
  readonly sendQ: WaitQueue<SendResult<T>, SendData<T>>;
  readonly closedQ: WaitQueue<void, undefined>;

  constructor(readonly cap: number) {
    const name = `channel#${this.id}`;
    this.recvSide = new RecvSide(this);
    this.sendSide = new SendSide(this);
    this.recvQ = new WaitQueue<unknown, number>(this.recvSide, `recv on ${name}`);
    this.sendQ = new WaitQueue<SendResult<T>, SendData<T>>(this.sendSide, `send on ${name}`);
    this.closedQ = new WaitQueue<void, undefined>(new ClosedSide(this), `closed() on ${name}`);
  }

  /** The receiver has seen everything it ever will: nothing buffered, nothing reserved, no sender left. */
  get drainedAndClosed(): boolean {
    return (this.senders === 0 || this.rxClosed) && this.reserved === 0 && this.buf.length === 0;
  }

  /**
   * Delivers a value into the buffer (room was checked); a waiting receiver is handed it by a
   * pump on the next microtask (one per burst of deliveries). Deferring the hand-off by that one
   * microtask lets the sender's own continuation run first, so a producer/consumer pair settles
   * into taking ready values instead of the consumer queueing a waiter for every message (which
   * costs about half as much again); nothing can take the value meanwhile, since later receives
   * queue behind the waiter and tryRecv serves waiters first.
   */
  deliver(value: T): void {
    if (diag !== null) diag.handedOver(value); // a guard sent leaves its task's hands (diagnostics/handover.ts)
    this.buf.push(value);
    if (this.recvQ.head !== null && !this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(this.deferredPump);
    }
  }

  private pumpQueued = false;
  private readonly deferredPump = (): void => {
    this.pumpQueued = false;
    this.recvQ.pump();
  };

  waitSend(data: SendData<T>, opts: WaitOptions | undefined): Promise<SendResult<T>> {
    return this.sendQ.wait(data, opts);
  }

  /** Free slots now: the bound less buffered messages and held slots (Infinity when unbounded). */
  get free(): number {
    return this.cap === Infinity ? Infinity : Math.max(0, this.cap - this.buf.length - this.reserved);
  }

  /** A held slot (or `n` of them) came back unused. */
  slotsReturned(n: number): void {
    this.reserved -= n;
    this.roomFreed();
    if (this.recvQ.head !== null) this.recvQ.pump(); // this may have been the last thing keeping it open
  }
  waitRecv(max: number, opts: WaitOptions | undefined): Promise<unknown> {
    return this.recvQ.wait(max, opts);
  }

  /** After the buffer shrank or a slot came free: let waiting senders in. */
  roomFreed(): void {
    if (this.sendQ.head !== null) this.sendQ.pump();
  }

  /** For the live console and dumps (Resource.inspect): what the channel holds now. */
  inspect(): Record<string, unknown> {
    return {
      kind: "channel",
      label: `channel#${this.id}`,
      length: this.buf.length,
      capacity: this.cap,
      reserved: this.reserved,
      senders: this.senders,
      closed: this.rxClosed || this.senders === 0,
    };
  }
}

class RecvSide<T> implements Resource<unknown, number> {
  constructor(private readonly c: Chan<T>) {}
  inspect(): Record<string, unknown> {
    return { ...this.c.inspect(), op: "recv" };
  }
  ready(): boolean {
    const c = this.c;
    return c.buf.length > 0 || c.drainedAndClosed;
  }
  take(max: number): unknown {
    const c = this.c;
    const buf = c.buf;
    let out: unknown;
    if (max === ONE) {
      out = buf.shift(); // undefined when closed and drained
    } else {
      const n = Math.min(max, buf.length);
      const arr = new Array<T>(n);
      for (let i = 0; i < n; i++) arr[i] = buf.shift()!;
      out = arr;
    }
    c.roomFreed();
    return out;
  }
}

class SendSide<T> implements Resource<SendResult<T>, SendData<T>> {
  constructor(private readonly c: Chan<T>) {}
  inspect(): Record<string, unknown> {
    return { ...this.c.inspect(), op: "send" };
  }
  ready(data: SendData<T>): boolean {
    const c = this.c;
    const need = data instanceof ReserveMany ? data.n : 1;
    return c.buf.length + c.reserved + need <= c.cap || c.rxClosed || c.senders === 0;
  }
  take(data: SendData<T>): SendResult<T> {
    const c = this.c;
    if (c.rxClosed) throw new ChannelClosedError("the receiver is closed");
    if (c.senders === 0) throw new ChannelClosedError("every sender of the channel was closed");
    if (data === RESERVE) {
      c.reserved++;
      return new SendPermit(c);
    }
    if (data instanceof ReserveMany) {
      c.reserved += data.n;
      return new SendPermits(c, data.n);
    }
    c.deliver(data);
    return undefined;
  }
}

class ClosedSide<T> implements Resource<void, undefined> {
  constructor(private readonly c: Chan<T>) {}
  inspect(): Record<string, unknown> {
    return { ...this.c.inspect(), op: "closed()" };
  }
  ready(): boolean {
    return this.c.rxClosed;
  }
  take(): void {}
}

/**
 * Creates a bounded multi-producer, single-consumer channel holding at most `capacity` messages
 * (sent and not yet received, plus slots held by {@link SendPermit}s). Senders wait for room:
 * this is the backpressure that keeps a fast producer from outrunning a slow consumer.
 *
 * Messages from one sender arrive in the order sent; none is lost or duplicated, under
 * cancellation or not. `undefined` is not a valid message (it is how `recv` says "closed").
 * @throws TypeError when `capacity` is not a number; RangeError when it is not an integer >= 1.
 */
export function channel<T>(capacity: number): [Sender<T>, Receiver<T>] {
  checkInteger(capacity, "capacity", 1);
  const c = new Chan<T>(capacity);
  adopt(c);
  return [new Sender(c), new Receiver(c)];
}

/**
 * Creates a channel without a bound: `send` never waits for room. Use it only where the producer
 * is bounded some other way; its memory grows with what is buffered (see `Receiver.length`,
 * which is O(1)). Same ordering and close rules as {@link channel}. Never throws.
 */
export function unboundedChannel<T>(): [Sender<T>, Receiver<T>] {
  const c = new Chan<T>(Infinity);
  adopt(c);
  return [new Sender(c), new Receiver(c)];
}

/** Made in a runtime's task or `enter()`, a channel is known (weakly) to that runtime: its shutdown reports messages left in it. */
function adopt(c: { readonly id: number; inspect(): Record<string, unknown> }): void {
  (currentFrame()?.runtimeRef as { adoptChannel?(c: { readonly id: number; inspect(): Record<string, unknown> }): void } | undefined)?.adoptChannel?.(c);
}

/**
 * The sending half of an mpsc channel. Clone it for more producers; the channel closes for the
 * receiver once every Sender (the original and all clones) is closed, and the receiver has
 * drained what was sent. `using tx = ...` closes it on scope exit.
 */
export class Sender<T> implements Disposable {
  private dropped = false;

  /** @internal Use {@link channel} or {@link unboundedChannel}. */
  constructor(private readonly c: Chan<T>) {}

  /**
   * Sends `value`, waiting (FIFO, behind earlier waiting sends and reserves) while the channel is
   * full. On an unbounded channel the value is delivered at once.
   *
   * Cancel-safe: if the wait is withdrawn (signal aborted, task cancelled, a select branch lost)
   * the value was not sent and never will be; a send that rejects never delivers its value.
   * @throws TypeError (synchronously) when `value` is undefined or `opts` is malformed.
   * Rejects with ChannelClosedError when the receiver closed, this sender was closed, or every
   * sender closed while it waited; with `opts.signal.reason` or CancelledError when withdrawn.
   */
  send(value: T, opts?: WaitOptions): Promise<void> {
    if (value === undefined) throw undefinedMessage("Sender.send");
    const c = this.c;
    if (this.dropped) {
      checkWaitOptions(opts); // malformed options throw, as they do everywhere
      return Promise.reject(new ChannelClosedError("this sender is closed"));
    }
    if (c.cap !== Infinity) {
      // WaitQueue.wait's ready path, inlined for the common case: no options, room now, no send
      // queued or parked before this one, the receiver open (this sender is, so senders > 0).
      const q = c.sendQ;
      if (opts === undefined && q.head === null && q.parked === 0 && c.buf.length + c.reserved < c.cap && !c.rxClosed && readyNow()) {
        c.deliver(value);
        return RESOLVED;
      }
      return c.waitSend(value, opts) as Promise<unknown> as Promise<void>;
    }
    // Unbounded: nothing to wait for; the send is on the budget so a send loop lets I/O in.
    const e = precheck(opts);
    if (e instanceof Promise) return e;
    // A select branch: claim the group before delivering, so a losing branch sends nothing.
    const signal = e.signal;
    if (!claimSignal(signal)) return Promise.reject(lostReason(signal!));
    if (c.rxClosed) return Promise.reject(new ChannelClosedError("the receiver is closed"));
    c.deliver(value);
    if (takeBudget()) return RESOLVED;
    return new Promise<void>((resolve) => parkUntilRefill(resolve));
  }

  /**
   * Sends `value` if there is room now, without waiting and without passing senders that wait.
   * @returns false when the channel is full or earlier sends still wait for their turn.
   * @throws ChannelClosedError when the receiver or this sender is closed; TypeError for undefined.
   */
  trySend(value: T): boolean {
    if (value === undefined) throw undefinedMessage("Sender.trySend");
    const c = this.c;
    // The common case first: open, nobody waiting, room.
    if (!this.dropped && !c.rxClosed && c.sendQ.head === null && c.sendQ.parked === 0 && c.buf.length + c.reserved < c.cap) {
      c.deliver(value);
      return true;
    }
    if (!this.roomNow(1)) return false;
    c.deliver(value);
    return true;
  }

  /**
   * Holds one slot if there is room now, without waiting and without passing senders that wait
   * (tokio's `try_reserve`). Its `send` then cannot fail or wait.
   * @returns undefined when the channel is full or earlier sends still wait for their turn.
   * @throws ChannelClosedError when the receiver or this sender is closed.
   */
  tryReserve(): SendPermit<T> | undefined {
    if (!this.roomNow(1)) return undefined;
    this.c.reserved++;
    return new SendPermit(this.c);
  }

  /**
   * Holds `n` slots at once if there is room for all of them now, without waiting and without
   * passing senders that wait (tokio's `try_reserve_many`); `n = 0` gives an empty batch.
   * @returns undefined when fewer than `n` slots are free (nothing is held then).
   * @throws TypeError/RangeError when `n` is not an integer in [0, maxCapacity];
   *   ChannelClosedError when the receiver or this sender is closed.
   */
  tryReserveMany(n: number): SendPermits<T> | undefined {
    this.checkBatch(n);
    if (n === 0) {
      this.throwIfClosed();
      return new SendPermits(this.c, 0);
    }
    if (!this.roomNow(n)) return undefined;
    this.c.reserved += n;
    return new SendPermits(this.c, n);
  }

  /**
   * Waits for a free slot and holds it in a {@link SendPermit}: the permit's `send` then cannot
   * fail or wait. Queues FIFO with `send`. Select-safe: a losing or withdrawn reserve holds no slot.
   * @throws TypeError (synchronously) for malformed `opts`. Rejects with ChannelClosedError when
   * the receiver, this sender, or every sender is closed; with the signal's reason or
   * CancelledError when withdrawn.
   */
  reserve(opts?: WaitOptions): Promise<SendPermit<T>> {
    if (this.dropped) {
      checkWaitOptions(opts);
      return Promise.reject(new ChannelClosedError("this sender is closed"));
    }
    return this.c.waitSend(RESERVE, opts) as Promise<SendPermit<T>>;
  }

  /**
   * Waits until `n` slots are free and holds them all at once, in a {@link SendPermits} batch
   * (tokio's `reserve_many`). Queues FIFO with `send` and `reserve`: while it waits at the head
   * of the line, no later send takes the room it waits for. `n = 0` resolves at once with an
   * empty batch (unless the channel is closed).
   *
   * Cancel-safe and select-safe, all or nothing: a withdrawn or losing call holds no slot, not
   * even part of the batch.
   * @throws TypeError/RangeError (synchronously) when `n` is not an integer in [0, maxCapacity]
   *   (a batch larger than the channel could never be served); TypeError for malformed `opts`.
   *   Rejects with ChannelClosedError when the receiver, this sender or every sender is closed;
   *   with the signal's reason or CancelledError when withdrawn.
   */
  reserveMany(n: number, opts?: WaitOptions): Promise<SendPermits<T>> {
    this.checkBatch(n);
    if (this.dropped) {
      checkWaitOptions(opts);
      return Promise.reject(new ChannelClosedError("this sender is closed"));
    }
    const c = this.c;
    if (n === 0) {
      checkWaitOptions(opts);
      if (c.rxClosed) return Promise.reject(new ChannelClosedError("the receiver is closed"));
      return readyValue(new SendPermits(c, 0), opts, c.sendQ.what);
    }
    return c.waitSend(new ReserveMany(n), opts) as Promise<SendPermits<T>>;
  }

  /** Throws if a send could not go through now because a half is closed. */
  private throwIfClosed(): void {
    if (this.dropped) throw new ChannelClosedError("this sender is closed");
    if (this.c.rxClosed) throw new ChannelClosedError("the receiver is closed");
  }

  /** The check every batch reservation makes of its `n`. */
  private checkBatch(n: number): void {
    checkInteger(n, "n", 0);
    const cap = this.c.cap;
    if (n > cap) throw new RangeError(`n must be at most the channel's capacity (${cap}): a larger batch could never be reserved, got ${n}`);
  }

  /**
   * True when `need` slots are free now and no send waits before this one (a try-operation never
   * passes a waiting send). Throws ChannelClosedError when a half is closed.
   */
  private roomNow(need: number): boolean {
    this.throwIfClosed();
    const c = this.c;
    if (c.buf.length + c.reserved + need > c.cap || c.sendQ.parked > 0) return false;
    if (c.sendQ.head !== null) {
      // Waiting senders go first (the head may also be a withdrawn select loser: pump clears it).
      c.sendQ.pump();
      if (c.sendQ.head !== null || c.buf.length + c.reserved + need > c.cap) return false;
    }
    return true;
  }

  /**
   * Another sender on the same channel; the channel stays open for the receiver until it too is
   * closed. @throws ChannelClosedError when this sender is closed.
   */
  clone(): Sender<T> {
    if (this.dropped) throw new ChannelClosedError("this sender is closed");
    this.c.senders++;
    return new Sender(this.c);
  }

  /**
   * Closes this sender (not its clones). Idempotent. When it was the last open sender, the
   * receiver gets `undefined` after draining the buffer and any outstanding permits' messages,
   * and every send or reserve still waiting for room rejects with ChannelClosedError.
   */
  close(): void {
    if (this.dropped) return;
    this.dropped = true;
    const c = this.c;
    if (--c.senders === 0) {
      c.sendQ.pump(); // waiting sends reject: no sender is left to stand behind them
      c.recvQ.pump();
    }
  }

  /**
   * Resolves once the receiver is closed (its `close()` or dispose). Cancel-safe and select-safe.
   * Rejects only when withdrawn (signal's reason, CancelledError).
   */
  closed(opts?: WaitOptions): Promise<void> {
    return this.c.closedQ.wait(undefined, opts);
  }

  /** True when this sender or the receiver is closed: a send would reject. */
  get isClosed(): boolean {
    return this.dropped || this.c.rxClosed;
  }

  /** Free slots now (the bound minus buffered messages and held permits), as tokio's `capacity()`; Infinity when unbounded. */
  get capacity(): number {
    return this.c.free;
  }

  /** The channel's bound as created; Infinity when unbounded. */
  get maxCapacity(): number {
    return this.c.cap;
  }

  /** Same as {@link Sender.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * One reserved slot in a channel, from {@link Sender.reserve}. `send` delivers into it without
 * waiting (even after the receiver closed, as in tokio, since the slot was granted); `release`
 * (or dispose) gives the slot back. Both release and dispose are idempotent, and a no-op after
 * send. While a permit is outstanding the receiver does not see the channel as closed.
 */
export class SendPermit<T> implements Disposable {
  private c: Chan<T> | undefined;

  /** @internal */
  constructor(c: Chan<T>) {
    this.c = c;
  }

  /**
   * Delivers `value` into the reserved slot. Never waits.
   * @throws TypeError when `value` is undefined (the permit stays usable); ChannelClosedError when
   * the permit was already used or released.
   */
  send(value: T): void {
    if (value === undefined) throw undefinedMessage("SendPermit.send");
    const c = this.c;
    if (c === undefined) throw new ChannelClosedError("this permit was already used or released");
    this.c = undefined;
    c.reserved--;
    c.deliver(value);
  }

  /** Returns the slot unused. Idempotent; a no-op once sent. */
  release(): void {
    const c = this.c;
    if (c === undefined) return;
    this.c = undefined;
    c.slotsReturned(1);
  }

  /** True while the slot is held (neither sent nor released). */
  get isHeld(): boolean {
    return this.c !== undefined;
  }

  /** Same as {@link SendPermit.release}. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A batch of reserved slots in a channel, from {@link Sender.reserveMany} or
 * {@link Sender.tryReserveMany} (tokio's `PermitIterator`). Iterating it hands out one
 * {@link SendPermit} per slot (`for (const p of permits) p.send(v)`); slots not handed out yet are
 * given back by `release()` or dispose (`using permits = await tx.reserveMany(3)`). While any slot
 * is held the receiver does not see the channel as closed.
 */
export class SendPermits<T> implements IterableIterator<SendPermit<T>>, Disposable {
  #c: Chan<T> | undefined;
  #left: number;

  /** @internal */
  constructor(c: Chan<T>, n: number) {
    this.#c = n > 0 ? c : undefined;
    this.#left = n;
  }

  /** Slots still in the batch (not handed out as a SendPermit, not released). */
  get length(): number {
    return this.#left;
  }

  /** Hands out the next slot as a SendPermit; done when none is left. Never throws. */
  next(): IteratorResult<SendPermit<T>, undefined> {
    const c = this.#c;
    if (c === undefined) return DONE;
    if (--this.#left === 0) this.#c = undefined;
    return { done: false, value: new SendPermit(c) };
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** Gives back every slot not handed out yet. Idempotent. Permits already handed out are theirs to send or release. */
  release(): void {
    const c = this.#c;
    if (c === undefined) return;
    const n = this.#left;
    this.#c = undefined;
    this.#left = 0;
    c.slotsReturned(n);
  }

  /** Same as {@link SendPermits.release}. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * The receiving half of an mpsc channel. Async iterable: `for await (const m of rx)` ends when the
 * channel is closed and drained, and `Readable.from(rx)` makes a Node stream of it. Leaving such
 * a loop early (break, throw, a destroyed stream) closes the receiver, as dropping tokio's
 * ReceiverStream drops its receiver.
 */
export class Receiver<T> implements Disposable, AsyncIterable<T> {
  /** @internal Use {@link channel} or {@link unboundedChannel}. */
  constructor(private readonly c: Chan<T>) {}

  /**
   * The next message, waiting for one; `undefined` once every sender is closed (or this receiver
   * was) and the buffer is drained. Cancel-safe and select-safe: a withdrawn or losing recv took
   * no message, which stays first in the channel.
   * @throws TypeError (synchronously) for malformed `opts`. Rejects with the signal's reason or
   * CancelledError when withdrawn.
   */
  recv(opts?: WaitOptions): Promise<T | undefined> {
    const c = this.c;
    // WaitQueue.wait's ready path, inlined for the common case: no options, a message buffered,
    // no recv queued or parked before this one.
    const q = c.recvQ;
    if (opts === undefined && q.head === null && q.parked === 0 && c.buf.length > 0 && readyNow()) {
      const v = c.buf.shift() as T;
      c.roomFreed();
      return Promise.resolve(v);
    }
    return c.waitRecv(ONE, opts) as Promise<T | undefined>;
  }

  /**
   * Waits until at least one message is ready, then takes up to `max` buffered messages in
   * order; `[]` once closed and drained. Cancel-safe and select-safe like {@link Receiver.recv}.
   * @throws TypeError/RangeError (synchronously) when `max` is not an integer >= 1.
   */
  recvMany(max: number, opts?: WaitOptions): Promise<T[]> {
    checkInteger(max, "max", 1);
    return this.c.waitRecv(max, opts) as Promise<T[]>;
  }

  /**
   * The next message if one is buffered now and no recv waits before it, else undefined (empty,
   * or closed and drained). Never waits, never throws.
   */
  tryRecv(): T | undefined {
    const c = this.c;
    if (c.recvQ.head !== null) c.recvQ.pump(); // receives that wait come first
    if (c.buf.length === 0 || !c.recvQ.idle) return undefined;
    const v = c.buf.shift();
    c.roomFreed();
    return v;
  }

  /**
   * Closes the channel from the receiving side: waiting and later sends and reserves reject with
   * ChannelClosedError and `Sender.closed()` resolves, while messages already buffered (and those
   * of outstanding permits) stay readable. Idempotent.
   */
  close(): void {
    const c = this.c;
    if (c.rxClosed) return;
    c.rxClosed = true;
    c.sendQ.pump();
    c.closedQ.pump();
    c.recvQ.pump();
  }

  /**
   * True once this receiver closed, or every sender closed and no reserved slot is left that could
   * still send (as tokio's `is_closed`; messages may still be buffered).
   */
  get isClosed(): boolean {
    const c = this.c;
    return c.rxClosed || (c.senders === 0 && c.reserved === 0);
  }

  /** Messages buffered now. O(1). */
  get length(): number {
    return this.c.buf.length;
  }

  /** Free slots now, as the senders see them (tokio's `Receiver::capacity`); Infinity when unbounded. */
  get capacity(): number {
    return this.c.free;
  }

  /** The channel's bound as created (tokio's `max_capacity`); Infinity when unbounded. */
  get maxCapacity(): number {
    return this.c.cap;
  }

  /** Same as {@link Receiver.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Iterates the messages until closed and drained; returning early closes the receiver. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new ReceiverIterator(this);
  }
}

/** @internal Shared by Receiver and BroadcastReceiver. */
export class ReceiverIterator<T> implements AsyncIterableIterator<T> {
  constructor(private readonly rx: { recv(): Promise<T | undefined>; close(): void }) {}
  next(): Promise<IteratorResult<T, undefined>> {
    return this.rx.recv().then(toResult);
  }
  return(): Promise<IteratorResult<T, undefined>> {
    this.rx.close();
    return Promise.resolve(DONE);
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined }) as IteratorReturnResult<undefined>;

function toResult<T>(v: T | undefined): IteratorResult<T, undefined> {
  return v === undefined ? DONE : { done: false, value: v };
}
