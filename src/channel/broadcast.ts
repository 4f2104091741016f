/**
 * A multi-producer, multi-consumer channel where every receiver sees every value, after
 * tokio::sync::broadcast. Values live in one ring of at most `capacity` entries, numbered by a
 * sequence; each receiver keeps the sequence it reads next. Each entry counts the receivers that
 * still have to read it and is cleared once they all did, so memory never outgrows `capacity`
 * values and a value nobody still needs is not retained. When the ring is full, a send
 * overwrites the oldest value; a receiver that had not read it is "lagged": its next recv throws
 * LaggedError once, then it goes on from the oldest value still kept.
 */
import { readyValue, WaitQueue, type WaitOptions } from "../core/waiter.js";
import { checkInteger } from "../util/validate.js";
import { ChannelClosedError, LaggedError } from "../errors.js";
import { nextChannelId, undefinedMessage } from "./ids.js";
import { ReceiverIterator } from "./mpsc.js";

/** @internal */
class BroadcastShared<T> {
  readonly id = nextChannelId();
  /** Ring storage; its length is a power of two that grows up to the one >= capacity. */
  vals: (T | undefined)[];
  /** Receivers that still have to read each entry. */
  rems: number[];
  mask: number;
  /** Ring index of sequence `head`. */
  headIdx = 0;
  /** Sequence of the oldest value kept. */
  head = 0;
  /** Sequence the next value gets. */
  tail = 0;
  senders = 1;
  closed = false;
  readonly receivers = new Set<BroadcastReceiver<T>>();
  /** Sender.closed() waits: ready once no receiver is subscribed. */
  readonly closedQ: WaitQueue<void, undefined>;

  constructor(readonly cap: number) {
    const closedSide = { ready: () => this.receivers.size === 0, take: () => undefined, inspect: () => this.inspect() };
    this.closedQ = new WaitQueue<void, undefined>(closedSide, `closed() on broadcast#${this.id}`);
    let len = 1;
    while (len < cap && len < 16) len *= 2;
    this.vals = new Array<T | undefined>(len);
    this.rems = new Array<number>(len).fill(0);
    this.mask = len - 1;
  }

  /** For the live console and dumps (Resource.inspect). */
  inspect(): Record<string, unknown> {
    return { length: this.tail - this.head, capacity: this.cap, receivers: this.receivers.size, closed: this.closed };
  }

  /** A receiver unsubscribed. */
  unsubscribed(): void {
    if (this.receivers.size === 0 && this.closedQ.head !== null) this.closedQ.pump();
  }

  slot(seq: number): number {
    return (this.headIdx + (seq - this.head)) & this.mask;
  }

  push(value: T): number {
    const n = this.receivers.size;
    if (n === 0) return 0; // as tokio: nobody to receive it, so it is not kept
    const kept = this.tail - this.head;
    if (kept === this.cap) {
      // Full: overwrite the oldest. Receivers that had not read it will see a LaggedError.
      this.vals[this.headIdx] = undefined;
      this.rems[this.headIdx] = 0;
      this.headIdx = (this.headIdx + 1) & this.mask;
      this.head++;
      this.advance();
    } else if (kept === this.vals.length) {
      this.grow();
    }
    const i = this.slot(this.tail);
    this.vals[i] = value;
    this.rems[i] = n;
    this.tail++;
    for (const r of this.receivers) r.wake();
    return n;
  }

  /** One receiver is done with `seq` (read it, or closed before reading it). */
  release(seq: number): void {
    const i = this.slot(seq);
    if (--this.rems[i]! === 0) {
      this.vals[i] = undefined;
      if (seq === this.head) this.advance();
    }
  }

  /** Drops entries at the head that no receiver still needs. */
  private advance(): void {
    while (this.head < this.tail && this.rems[this.headIdx] === 0) {
      this.vals[this.headIdx] = undefined;
      this.headIdx = (this.headIdx + 1) & this.mask;
      this.head++;
    }
  }

  private grow(): void {
    const len = this.vals.length * 2;
    const vals = new Array<T | undefined>(len);
    const rems = new Array<number>(len).fill(0);
    const kept = this.tail - this.head;
    for (let k = 0; k < kept; k++) {
      const i = (this.headIdx + k) & this.mask;
      vals[k] = this.vals[i];
      rems[k] = this.rems[i]!;
    }
    this.vals = vals;
    this.rems = rems;
    this.mask = len - 1;
    this.headIdx = 0;
  }

  subscribe(): BroadcastReceiver<T> {
    const r = new BroadcastReceiver(this, this.tail);
    this.receivers.add(r);
    return r;
  }

  closeAll(): void {
    this.closed = true;
    for (const r of this.receivers) r.wake();
  }
}

/**
 * Creates a broadcast channel keeping at most `capacity` values: every receiver subscribed when
 * a value was sent receives it, unless it fell more than `capacity` values behind.
 * @throws TypeError when `capacity` is not a number; RangeError when it is not an integer >= 1.
 */
export function broadcast<T>(capacity: number): [BroadcastSender<T>, BroadcastReceiver<T>] {
  checkInteger(capacity, "capacity", 1);
  const s = new BroadcastShared<T>(capacity);
  return [new BroadcastSender(s), s.subscribe()];
}

/**
 * The sending half of a broadcast channel. `send` never waits: a full channel overwrites its
 * oldest value. The channel closes when every sender (the original and its clones) closed.
 */
export class BroadcastSender<T> implements Disposable {
  private dropped = false;
  private readonly s: BroadcastShared<T>;

  /**
   * A sender of a new broadcast channel that has no receiver yet (tokio's
   * `broadcast::Sender::new`): receivers come from {@link BroadcastSender.subscribe}. Until one
   * subscribes, `send` returns 0 and keeps nothing, and `closed()` resolves at once.
   * @param capacity values kept for receivers that have not read them yet (exactly this many:
   *   tokio rounds it up to a power of two).
   * @throws TypeError when `capacity` is not a number; RangeError when it is not an integer >= 1.
   */
  constructor(capacity: number);
  /** @internal Used by {@link broadcast}. */
  constructor(shared: BroadcastShared<T>);
  constructor(arg: number | BroadcastShared<T>) {
    if (arg instanceof BroadcastShared) {
      this.s = arg;
    } else {
      checkInteger(arg, "capacity", 1);
      this.s = new BroadcastShared<T>(arg);
    }
  }

  /**
   * Sends `value` to every receiver subscribed now, waking those that wait.
   * @returns the number of receivers it was sent to; 0 means no receiver, and it was not kept.
   * @throws TypeError when `value` is undefined; ChannelClosedError when this sender is closed.
   */
  send(value: T): number {
    if (value === undefined) throw undefinedMessage("BroadcastSender.send");
    if (this.dropped) throw new ChannelClosedError("this broadcast sender is closed");
    return this.s.push(value);
  }

  /**
   * A new receiver that gets every value sent from now on. It counts as a subscriber (and keeps
   * its unread values) until closed: close or dispose receivers you stop reading.
   */
  subscribe(): BroadcastReceiver<T> {
    return this.s.subscribe();
  }

  /** Another sender on the same channel. @throws ChannelClosedError when this sender is closed. */
  clone(): BroadcastSender<T> {
    if (this.dropped) throw new ChannelClosedError("this broadcast sender is closed");
    this.s.senders++;
    return new BroadcastSender(this.s);
  }

  /** Closes this sender; when it was the last one, receivers get `undefined` once drained. Idempotent. */
  close(): void {
    if (this.dropped) return;
    this.dropped = true;
    if (--this.s.senders === 0) this.s.closeAll();
  }

  /** True once this sender was closed. */
  get isClosed(): boolean {
    return this.dropped;
  }

  /** Receivers subscribed and not closed. */
  get receiverCount(): number {
    return this.s.receivers.size;
  }

  /**
   * Values kept that at least one receiver has not read yet, at most the capacity (tokio's
   * `Sender::len`; `length === 0` is its `is_empty`). O(1).
   */
  get length(): number {
    return this.s.tail - this.s.head;
  }

  /**
   * Resolves once no receiver is subscribed (at once if none is): nobody is listening any more
   * (tokio's `Sender::closed`). A receiver subscribing later makes later calls wait again. On a
   * sender that was itself closed it resolves at once: nothing it could send will be heard.
   * Cancel-safe and select-safe; rejects only when withdrawn (signal's reason, CancelledError).
   * @throws TypeError (synchronously) for malformed `opts`.
   */
  closed(opts?: WaitOptions): Promise<void> {
    if (this.dropped) return readyValue<void>(undefined, opts, "closed()");
    return this.s.closedQ.wait(undefined, opts);
  }

  /** Same as {@link BroadcastSender.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * One subscriber of a broadcast channel. Async iterable: a `for await` loop ends when the
 * channel is closed and drained; a LaggedError ends the loop by throwing (the receiver stays
 * open, so iterating again continues from the oldest kept value); leaving the loop early
 * (break, or a destroyed `Readable.from(rx)`) closes the receiver.
 */
export class BroadcastReceiver<T> implements Disposable, AsyncIterable<T> {
  private rxClosed = false;
  private readonly q: WaitQueue<T | undefined, undefined>;

  /** @internal Use {@link broadcast} or {@link BroadcastSender.subscribe}. */
  constructor(
    private readonly s: BroadcastShared<T>,
    private next: number,
  ) {
    const side = {
      ready: (): boolean => this.canTake(),
      take: (): T | undefined => this.takeNow(),
      inspect: (): Record<string, unknown> => ({ kind: "broadcast", op: "recv", label: `broadcast#${s.id}`, length: this.length, capacity: s.cap, receivers: s.receivers.size, closed: this.isClosed }),
    };
    this.q = new WaitQueue<T | undefined, undefined>(side, `recv on broadcast#${s.id}`);
  }

  /**
   * The next value, waiting for one; `undefined` once every sender closed and this receiver read
   * everything kept (or after `close()`). Cancel-safe and select-safe: a withdrawn or losing recv
   * takes nothing.
   * @throws TypeError (synchronously) for malformed `opts`. Rejects with LaggedError
   * `{ skipped }` once when values it had not read were overwritten (the next recv returns the
   * oldest value still kept); with the signal's reason or CancelledError when withdrawn.
   */
  recv(opts?: WaitOptions): Promise<T | undefined> {
    return this.q.wait(undefined, opts);
  }

  /**
   * The next value if one is there now, else undefined (nothing new, or closed and drained).
   * @throws LaggedError as {@link BroadcastReceiver.recv} does.
   */
  tryRecv(): T | undefined {
    return this.canTake() ? this.takeNow() : undefined;
  }

  /** Another receiver starting at the newest point: it gets values sent from now on (tokio's resubscribe). */
  resubscribe(): BroadcastReceiver<T> {
    return this.s.subscribe();
  }

  /** Values kept that this receiver has not read yet (values overwritten before it read them are not counted). */
  get length(): number {
    if (this.rxClosed) return 0;
    return this.s.tail - Math.max(this.next, this.s.head);
  }

  /** True once this receiver closed, or every sender closed (values may still be unread). */
  get isClosed(): boolean {
    return this.rxClosed || this.s.closed;
  }

  /** Unsubscribes: values it had not read are released, a waiting recv gets undefined. Idempotent. */
  close(): void {
    if (this.rxClosed) return;
    this.rxClosed = true;
    const s = this.s;
    s.receivers.delete(this);
    for (let seq = Math.max(this.next, s.head), end = s.tail; seq < end; seq++) s.release(seq);
    this.next = s.tail;
    this.q.pump();
    s.unsubscribed();
  }

  /** Same as {@link BroadcastReceiver.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Iterates the values until closed and drained; returning early closes the receiver. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new ReceiverIterator(this);
  }

  /** @internal */
  wake(): void {
    if (this.q.head !== null) this.q.pump();
  }

  /** Something to report: a value, a lag, the close. */
  private canTake(): boolean {
    return this.rxClosed || this.next !== this.s.tail || this.s.closed;
  }

  /** Serves one (claimed) receive. */
  private takeNow(): T | undefined {
    if (this.rxClosed) return undefined;
    const s = this.s;
    const seq = this.next;
    if (seq < s.head) {
      this.next = s.head;
      throw new LaggedError(s.head - seq);
    }
    if (seq === s.tail) return undefined; // closed and drained
    const v = s.vals[s.slot(seq)];
    this.next = seq + 1;
    s.release(seq);
    return v;
  }
}
