/**
 * A channel for exactly one value, after tokio::sync::oneshot. The receiver is PromiseLike, so
 * `await rx` works; every receive is a core wait (abortable, withdrawn on task cancellation,
 * select-safe, on the budget).
 */
import { diag } from "../core/holds.js";
import { type Resource, WaitQueue, type WaitOptions } from "../core/waiter.js";
import { ChannelClosedError } from "../errors.js";
import { nextChannelId, undefinedMessage } from "./ids.js";

const EMPTY = 0;
const SENT = 1;
const RECEIVED = 2;

/** @internal */
class Oneshot<T> implements Resource<T, undefined> {
  readonly id = nextChannelId();
  state = EMPTY;
  value: T | undefined = undefined;
  txClosed = false;
  rxClosed = false;
  readonly recvQ: WaitQueue<T, undefined>;
  readonly closedQ: WaitQueue<void, undefined>;

  constructor() {
    this.recvQ = new WaitQueue<T, undefined>(this, `recv on oneshot#${this.id}`);
    const closedSide = { ready: () => this.rxClosed, take: () => undefined, inspect: () => ({ ...this.inspect(), op: "closed()" }) };
    this.closedQ = new WaitQueue<void, undefined>(closedSide, `closed() on oneshot#${this.id}`);
  }

  /** For the live console and dumps (Resource.inspect). */
  inspect(): Record<string, unknown> {
    return {
      kind: "oneshot",
      op: "recv",
      label: `oneshot#${this.id}`,
      length: this.state === SENT ? 1 : 0,
      capacity: 1,
      state: this.state === EMPTY ? "empty" : this.state === SENT ? "sent" : "received",
      senderClosed: this.txClosed,
      receiverClosed: this.rxClosed,
    };
  }

  ready(): boolean {
    return this.state !== EMPTY || this.txClosed || this.rxClosed;
  }

  take(): T {
    if (this.state === SENT) {
      this.state = RECEIVED;
      const v = this.value as T;
      this.value = undefined; // the receiver owns it now: the channel does not keep it alive
      return v;
    }
    throw this.closedError();
  }

  closedError(): ChannelClosedError {
    if (this.state === RECEIVED) return new ChannelClosedError("the oneshot value was already received");
    return new ChannelClosedError(this.rxClosed ? "the oneshot receiver is closed" : "the oneshot sender closed without sending");
  }
}

/**
 * Creates a oneshot channel: one value, sent once, received by one receiver.
 * `await rx` (or `rx.recv()`) resolves with the value, or rejects with ChannelClosedError if the
 * sender closed without sending.
 */
export function oneshot<T>(): [OneshotSender<T>, OneshotReceiver<T>] {
  const s = new Oneshot<T>();
  return [new OneshotSender(s), new OneshotReceiver(s)];
}

/** The sending half of a oneshot channel. `using tx = ...` closes it on scope exit. */
export class OneshotSender<T> implements Disposable {
  /** @internal Use {@link oneshot}. */
  constructor(private readonly s: Oneshot<T>) {}

  /**
   * Sends the value, handing it to a waiting receive at once. Never waits.
   * @returns false, and the value is not delivered, when the receiver closed, or this sender has
   * already sent or closed.
   * @throws TypeError when `value` is undefined.
   */
  send(value: T): boolean {
    if (value === undefined) throw undefinedMessage("OneshotSender.send");
    const s = this.s;
    if (s.state !== EMPTY || s.txClosed || s.rxClosed) return false;
    if (diag !== null) diag.handedOver(value); // a guard sent leaves its task's hands (diagnostics/handover.ts)
    s.value = value;
    s.state = SENT;
    s.recvQ.pump();
    return true;
  }

  /** Closes the sender without sending (a no-op after send): the receiver rejects with ChannelClosedError. Idempotent. */
  close(): void {
    const s = this.s;
    if (s.txClosed) return;
    s.txClosed = true;
    s.recvQ.pump();
  }

  /**
   * Resolves once the receiver closed (the value is no longer wanted). Cancel-safe and
   * select-safe; rejects only when withdrawn (signal's reason, CancelledError).
   */
  closed(opts?: WaitOptions): Promise<void> {
    return this.s.closedQ.wait(undefined, opts);
  }

  /** True when `send` would return false: the receiver closed, or this sender sent or closed. */
  get isClosed(): boolean {
    const s = this.s;
    return s.rxClosed || s.txClosed || s.state !== EMPTY;
  }

  /** Same as {@link OneshotSender.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The receiving half of a oneshot channel. PromiseLike: `await rx` is `await rx.recv()`.
 *
 * The value is received once, as in tokio: after a `recv` (or `await rx`, or `tryRecv`) has taken
 * it, a later `recv` rejects and `tryRecv` throws {@link ChannelClosedError} ("already received")
 * rather than answer with the value again. Keep the value, not the receiver.
 */
export class OneshotReceiver<T> implements PromiseLike<T>, Disposable {
  /** @internal Use {@link oneshot}. */
  constructor(private readonly s: Oneshot<T>) {}

  /**
   * Waits for the value. Cancel-safe and select-safe: a withdrawn or losing recv leaves the value
   * in the channel for a later recv.
   * @throws TypeError (synchronously) for malformed `opts`. Rejects with ChannelClosedError if the
   * sender closed without sending, this receiver closed before a value came, or the value was
   * already received; with the signal's reason or CancelledError when withdrawn.
   */
  recv(opts?: WaitOptions): Promise<T> {
    return this.s.recvQ.wait(undefined, opts);
  }

  /**
   * The value if it has been sent (and takes it), else undefined (not sent yet). Never waits.
   * @throws ChannelClosedError when no value can come any more: the sender or receiver closed
   * unsent, or the value was already received.
   */
  tryRecv(): T | undefined {
    const s = this.s;
    if (s.state === SENT) return s.recvQ.idle ? s.take() : undefined; // a waiting recv comes first
    if (s.state === RECEIVED || s.txClosed || s.rxClosed) throw s.closedError();
    return undefined;
  }

  /**
   * Closes the receiver: a later `send` returns false and `closed()` resolves. A value sent before
   * the close can still be received. Idempotent.
   */
  close(): void {
    const s = this.s;
    if (s.rxClosed) return;
    s.rxClosed = true;
    s.closedQ.pump();
    s.recvQ.pump();
  }

  /** Same as {@link OneshotReceiver.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await rx`: starts a {@link OneshotReceiver.recv} in the awaiting context. */
  then<R1 = T, R2 = never>(onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.recv().then(onfulfilled, onrejected);
  }
}
