/**
 * A single-value channel that keeps only the latest value, after tokio::sync::watch. The sender
 * bumps a version on every send; each receiver remembers the version it last marked seen.
 * `changed()` and `waitFor()` are core waits (abortable, withdrawn on task cancellation,
 * select-safe, on the budget); each waitFor gets its own queue, so a predicate that does not
 * match yet never holds up another wait.
 */
import { checkFunction, typeName } from "../util/validate.js";
import { type Resource, WaitQueue, type WaitOptions } from "../core/waiter.js";
import { ChannelClosedError } from "../errors.js";
import { nextChannelId } from "./ids.js";

/** @internal */
class WatchShared<T> {
  readonly id = nextChannelId();
  version = 0;
  /** True once every sender (the original and its clones) closed. */
  closed = false;
  senders = 1;
  readonly receivers = new Set<WatchReceiver<T>>();
  readonly closedQ: WaitQueue<void, undefined>;

  constructor(public value: T) {
    const closedSide = { ready: () => this.receivers.size === 0, take: () => undefined, inspect: () => ({ ...this.inspect(), op: "closed()" }) };
    this.closedQ = new WaitQueue<void, undefined>(closedSide, `closed() on watch#${this.id}`);
  }

  /** For the live console and dumps (Resource.inspect). */
  inspect(): Record<string, unknown> {
    return { kind: "watch", label: `watch#${this.id}`, version: this.version, receivers: this.receivers.size, closed: this.closed };
  }

  notify(): void {
    for (const r of this.receivers) r.wake();
  }

  subscribe(seen: number): WatchReceiver<T> {
    const r = new WatchReceiver(this, seen);
    this.receivers.add(r);
    return r;
  }
}

/** One waitFor call's state: its predicate's verdict on the version it last looked at. */
interface WaitFor<T> {
  readonly pred: (v: T) => boolean;
  /** The version the predicate was last run on (-1: never). */
  checked: number;
  ok: boolean;
  /** The value that matched. */
  value: T | undefined;
  failed: boolean;
  error: unknown;
}

/**
 * Creates a watch channel holding `initial`. Receivers see the latest value and can wait for it
 * to change; intermediate values may be skipped, by design. Any value is valid, undefined too.
 */
export function watch<T>(initial: T): [WatchSender<T>, WatchReceiver<T>] {
  const s = new WatchShared<T>(initial);
  return [new WatchSender(s), s.subscribe(0)];
}

/**
 * The sending half of a watch channel. Clone it for more senders; the channel closes for the
 * receivers when every sender closed. `using tx = ...` closes it on scope exit.
 */
export class WatchSender<T> implements Disposable {
  private dropped = false;

  /** @internal Use {@link watch}. */
  constructor(private readonly s: WatchShared<T>) {}

  /**
   * Replaces the value and wakes every receiver waiting in `changed()` or `waitFor()`. Never
   * waits. The value is stored even when no receiver is subscribed (unlike tokio's `send`, like
   * its `send_replace`), so `borrow()` and later subscribers see it.
   * @throws ChannelClosedError when this sender is closed.
   */
  send(value: T): void {
    if (this.dropped) throw new ChannelClosedError("this watch sender is closed");
    const s = this.s;
    s.value = value;
    s.version++;
    s.notify();
  }

  /**
   * Replaces the value, notifies receivers as `send` does, and returns the value it replaced
   * (tokio's `send_replace`). Stored even when no receiver is subscribed.
   * @throws ChannelClosedError when this sender is closed.
   */
  sendReplace(value: T): T {
    if (this.dropped) throw new ChannelClosedError("this watch sender is closed");
    const s = this.s;
    const old = s.value;
    s.value = value;
    s.version++;
    s.notify();
    return old;
  }

  /**
   * Lets `fn` change the value in place and notifies receivers only if it returns true (tokio's
   * `send_if_modified`): for updates that may turn out to change nothing, so receivers are not
   * woken for nothing. `fn` must return a boolean. If `fn` throws, nobody is notified (what it
   * changed in place before throwing stays changed, as in tokio).
   * @returns what `fn` returned: whether receivers were notified.
   * @throws TypeError when `fn` is not a function or returns something other than a boolean
   *   (nobody is notified then); ChannelClosedError when this sender is closed; whatever `fn` throws.
   */
  sendIfModified(fn: (value: T) => boolean): boolean {
    checkFunction(fn, "fn");
    if (this.dropped) throw new ChannelClosedError("this watch sender is closed");
    const s = this.s;
    const modified = fn(s.value);
    if (typeof modified !== "boolean") throw new TypeError(`fn must return a boolean (whether it modified the value), got ${typeName(modified)}`);
    if (!modified) return false;
    s.version++;
    s.notify();
    return true;
  }

  /**
   * Another sender of the same channel (tokio's `Sender::clone`): the channel closes for the
   * receivers once every sender is closed.
   * @throws ChannelClosedError when this sender is closed.
   */
  clone(): WatchSender<T> {
    if (this.dropped) throw new ChannelClosedError("this watch sender is closed");
    this.s.senders++;
    return new WatchSender(this.s);
  }

  /**
   * Changes the value with `fn` and notifies receivers: `fn` returns the new value, or returns
   * undefined after mutating the value in place. If `fn` throws, nobody is notified and no new
   * value is stored (what it changed in place before throwing stays changed, as in tokio).
   * @throws TypeError when `fn` is not a function; ChannelClosedError when this sender is closed;
   * whatever `fn` throws.
   */
  sendModify(fn: (value: T) => T | void): void {
    checkFunction(fn, "fn");
    if (this.dropped) throw new ChannelClosedError("this watch sender is closed");
    const s = this.s;
    const r = fn(s.value);
    if (r !== undefined) s.value = r;
    s.version++;
    s.notify();
  }

  /** The current value. */
  borrow(): T {
    return this.s.value;
  }

  /** A new receiver; the current value counts as seen by it. It counts in `receiverCount` until closed. */
  subscribe(): WatchReceiver<T> {
    return this.s.subscribe(this.s.version);
  }

  /**
   * Closes this sender. When it was the last one (clones count), the channel closes: waiting and
   * later `changed()` calls resolve false once the latest value was seen, `waitFor()` rejects
   * unless the latest value matches. Idempotent.
   */
  close(): void {
    if (this.dropped) return;
    this.dropped = true;
    const s = this.s;
    if (--s.senders > 0) return;
    s.closed = true;
    s.notify();
  }

  /**
   * Resolves once no receiver is subscribed (every one closed). Cancel-safe and select-safe;
   * rejects only when withdrawn (signal's reason, CancelledError).
   */
  closed(opts?: WaitOptions): Promise<void> {
    return this.s.closedQ.wait(undefined, opts);
  }

  /** Receivers subscribed and not closed. */
  get receiverCount(): number {
    return this.s.receivers.size;
  }

  /** Same as {@link WatchSender.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A receiver of a watch channel. `using rx = ...` closes it on scope exit. */
export class WatchReceiver<T> implements Disposable {
  private rxClosed = false;
  private readonly changedQ: WaitQueue<boolean, undefined>;
  private readonly waitForSide: Resource<T, WaitFor<T>>;
  /** Queues of this receiver's pending waitFor calls (one each). */
  private readonly waitFors = new Set<WaitQueue<T, WaitFor<T>>>();

  /** @internal Use {@link watch}, {@link WatchSender.subscribe} or {@link WatchReceiver.clone}. */
  constructor(
    private readonly s: WatchShared<T>,
    private seen: number,
  ) {
    const changedSide = {
      ready: (): boolean => this.changedReady(),
      take: (): boolean => this.takeChanged(),
      inspect: (): Record<string, unknown> => ({ ...s.inspect(), op: "changed", seen: this.seen, receiverClosed: this.rxClosed }),
    };
    this.changedQ = new WaitQueue<boolean, undefined>(changedSide, `changed on watch#${s.id}`);
    const waitForSide = {
      ready: (d: WaitFor<T>): boolean => this.waitForReady(d),
      take: (d: WaitFor<T>): T => this.takeWaitFor(d),
      inspect: (): Record<string, unknown> => ({ ...s.inspect(), op: "waitFor", seen: this.seen, receiverClosed: this.rxClosed }),
    };
    this.waitForSide = waitForSide;
  }

  /** The latest value, without marking it seen. */
  borrow(): T {
    return this.s.value;
  }

  /** The latest value, marking it seen (so `changed()` waits for a newer one). */
  borrowAndUpdate(): T {
    this.seen = this.s.version;
    return this.s.value;
  }

  /**
   * True when a value newer than the last one marked seen was sent (or `markChanged()` was called).
   * Unlike tokio's `has_changed`, it does not fail once the channel is closed: `isClosed` says that.
   */
  get hasChanged(): boolean {
    return this.s.version !== this.seen;
  }

  /**
   * Marks the current value unseen (tokio's `mark_changed`): `hasChanged` turns true and the next
   * `changed()` resolves at once, so code that waits on `changed()` runs once more for it. Wakes a
   * `changed()` of this receiver that is waiting. Never throws.
   */
  markChanged(): void {
    this.seen = this.s.version - 1;
    this.wake();
  }

  /** Marks the current value seen without reading it (tokio's `mark_unchanged`). Never throws. */
  markUnchanged(): void {
    this.seen = this.s.version;
  }

  /**
   * Resolves true as soon as there is a value this receiver has not seen (at once if there already
   * is one), marking the version current at that moment seen: a value sent after the wake-up but
   * before the awaiting code runs stays unseen (`hasChanged`), so read with `borrowAndUpdate()`.
   * Resolves false once the sender is closed (or this receiver is) and the latest value was seen.
   * Cancel-safe and select-safe: a withdrawn or losing call marks nothing seen.
   * @throws TypeError (synchronously) for malformed `opts`. Rejects with the signal's reason or
   * CancelledError when withdrawn.
   */
  changed(opts?: WaitOptions): Promise<boolean> {
    return this.changedQ.wait(undefined, opts);
  }

  /**
   * Resolves with the latest value once `pred` holds for it, checking the current value first and
   * then each new one, and marks it seen. Cancel-safe and select-safe: a withdrawn or losing call
   * marks nothing seen. `pred` runs when the value changes, inside the sender's `send`.
   * @throws TypeError (synchronously) when `pred` is not a function or `opts` is malformed.
   * Rejects with what `pred` throws; with ChannelClosedError when the sender (or this receiver)
   * closed and the latest value does not match; with the signal's reason or CancelledError when
   * withdrawn.
   */
  waitFor(pred: (value: T) => boolean, opts?: WaitOptions): Promise<T> {
    checkFunction(pred, "pred");
    const d: WaitFor<T> = { pred, checked: -1, ok: false, value: undefined, failed: false, error: undefined };
    const q = new WaitQueue<T, WaitFor<T>>(this.waitForSide, `waitFor on watch#${this.s.id}`);
    const p = q.wait(d, opts);
    const set = this.waitFors;
    set.add(q);
    const done = (): void => {
      set.delete(q);
    };
    void p.then(done, done);
    return p;
  }

  /** A new receiver with the same seen version (tokio's clone). */
  clone(): WatchReceiver<T> {
    return this.s.subscribe(this.seen);
  }

  /**
   * Unsubscribes: waiting `changed()` calls resolve false, waiting `waitFor()` calls reject with
   * ChannelClosedError, and the sender's `receiverCount` drops. Idempotent.
   */
  close(): void {
    if (this.rxClosed) return;
    this.rxClosed = true;
    const s = this.s;
    s.receivers.delete(this);
    this.wake();
    if (s.receivers.size === 0) s.closedQ.pump();
  }

  /** True once this receiver or the sender is closed. */
  get isClosed(): boolean {
    return this.rxClosed || this.s.closed;
  }

  /** Same as {@link WatchReceiver.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal The value or the closed state changed. */
  wake(): void {
    if (this.changedQ.head !== null) this.changedQ.pump();
    for (const q of this.waitFors) if (q.head !== null) q.pump();
  }

  private changedReady(): boolean {
    return this.rxClosed || this.s.version !== this.seen || this.s.closed;
  }

  private takeChanged(): boolean {
    const s = this.s;
    if (this.rxClosed || s.version === this.seen) return false;
    this.seen = s.version;
    return true;
  }

  private waitForReady(d: WaitFor<T>): boolean {
    if (this.rxClosed) return true;
    const s = this.s;
    if (d.checked !== s.version && !d.failed) {
      const version = s.version;
      const value = s.value;
      d.checked = version;
      try {
        d.ok = Boolean(d.pred(value));
      } catch (e) {
        d.failed = true;
        d.error = e;
      }
      if (d.ok) d.value = value;
    }
    return d.ok || d.failed || s.closed;
  }

  private takeWaitFor(d: WaitFor<T>): T {
    if (this.rxClosed) throw new ChannelClosedError("the watch receiver is closed");
    if (d.failed) throw d.error;
    if (d.ok) {
      if (d.checked > this.seen) this.seen = d.checked;
      return d.value as T;
    }
    throw new ChannelClosedError("the watch sender closed before the value matched");
  }
}
