import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { label, type SyncOptions } from "./shared.js";

class NotifyState implements Resource<void, undefined> {
  /** A notifyOne that found no waiter, kept for the next notified() (at most one, as tokio). */
  permit = false;
  /** Set while notifyWaiters serves everyone queued. */
  all = false;
  readonly q: WaitQueue<void>;
  constructor(what: string) {
    this.q = new WaitQueue<void>(this, what);
  }
  ready(): boolean {
    return this.all || this.permit;
  }
  take(): void {
    if (!this.all) this.permit = false;
    return undefined;
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    return { kind: "Notify", op: "notified", label: this.q.what.slice("notified on ".length), storedPermit: this.permit };
  }
}

/**
 * Wakes tasks waiting for an event, like tokio's `Notify`: a lightweight signal with no value.
 *
 * `notifyOne()` wakes the task that has waited longest (`notifyLast()` the one that came last); with no one waiting it stores a single
 * permit, which the next `notified()` consumes at once (so a notification sent just before the
 * waiter arrives is not lost). `notifyWaiters()` wakes every task waiting right now and stores
 * nothing.
 *
 * A notification is handed over when `notifyOne`/`notifyLast` runs: the chosen `notified()` has
 * resolved then, and aborting its signal afterwards does not pass the notification on (tokio
 * passes it on when a woken `Notified` is dropped before it is polled; a promise has no such
 * state).
 *
 * Cancel safety: `notified()` is cancel-safe and select-safe: a withdrawn call consumes no
 * notification. A call registers as a waiter when it is made (tokio's `enable()` at once), so a
 * `notifyWaiters()` after the call reaches it. Waits carry `notified on Notify` for dumps.
 */
export class Notify {
  readonly #s: NotifyState;

  /**
   * @param opts `name` labels its waits in dumps.
   * @throws TypeError when `opts` or `opts.name` is malformed.
   */
  constructor(opts?: SyncOptions) {
    this.#s = new NotifyState(`notified on ${label("Notify", opts)}`);
  }

  /**
   * Wakes the longest-waiting `notified()` call; with none waiting, stores one permit for the next
   * (a second notifyOne with none waiting changes nothing: permits do not add up). Never throws.
   */
  notifyOne(): void {
    const s = this.#s;
    s.permit = true;
    s.q.pump(); // serves the first live waiter, if any, with that permit
  }

  /**
   * Wakes the `notified()` call that started waiting most recently (tokio's `notify_last`); with
   * none waiting, stores one permit for the next call, as `notifyOne` does. Never throws.
   */
  notifyLast(): void {
    const q = this.#s.q;
    for (let w = q.tail; w !== null;) {
      const prev = w.prev;
      q.unlink(w);
      // complete() claims first: a select loser still queued is withdrawn instead, and the
      // notification goes on to the next most recent waiter.
      if (w.complete(undefined)) return;
      w = prev;
    }
    this.#s.permit = true;
  }

  /**
   * Wakes every `notified()` call waiting now. Stores no permit (and leaves one already stored as
   * it is); calls made later wait for a later notification. Never throws.
   */
  notifyWaiters(): void {
    const s = this.#s;
    if (s.q.head === null) return;
    s.all = true;
    try {
      s.q.pump();
    } finally {
      s.all = false;
    }
  }

  /**
   * Resolves on the next notification: at once if a permit is stored (consuming it), else when
   * `notifyOne` picks this call or `notifyWaiters` runs. Waiters are served first-in, first-out.
   *
   * Cancel-safe and select-safe: a call withdrawn by `opts.signal`, the task's cancellation or a
   * winning select branch consumes no notification (the next waiter gets it); it rejects with the
   * signal's reason (CancelledError for a cancelled task).
   * @throws TypeError (synchronously) when `opts` is malformed.
   */
  notified(opts?: WaitOptions): Promise<void> {
    return this.#s.q.wait(undefined, opts);
  }

  /** `notified()` calls waiting now. */
  get waiting(): number {
    return this.#s.q.length;
  }
}
