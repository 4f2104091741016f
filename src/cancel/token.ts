import { asCancelledError, CancelledError } from "../errors.js";
import { precheck, readyValue, Waiter } from "../core/waiter.js";
import { checkFunction, typeName } from "../util/validate.js";
import { say } from "../core/log.js";

/**
 * A listener node kept in an intrusive list, so a waiting operation can watch a token without
 * allocating a closure or an AbortSignal listener. Core waiters implement this.
 */
export interface CancelListener {
  cancelNext: CancelListener | null;
  cancelPrev: CancelListener | null;
  onTokenCancelled(reason: unknown): void;
}

class CallbackListener implements CancelListener, Disposable {
  cancelNext: CancelListener | null = null;
  cancelPrev: CancelListener | null = null;
  constructor(
    private token: CancellationToken | undefined,
    private readonly cb: (reason: unknown) => void,
  ) {}
  onTokenCancelled(reason: unknown): void {
    this.token = undefined;
    this.cb(reason);
  }
  [Symbol.dispose](): void {
    this.token?.removeListener(this);
    this.token = undefined;
  }
}

const noopDisposable: Disposable = { [Symbol.dispose]() {} };

/**
 * tokio-util's CancellationToken: a one-way cancellation flag with children. Cancelling a token
 * cancels its children; cancelling a child leaves the parent alone. Its `signal` is an
 * AbortSignal that aborts with the same reason, for APIs (fetch, streams) that take one.
 */
export class CancellationToken {
  /** The reason once cancelled; {@link NOT_CANCELLED} until then (one field, not a flag and a reason). */
  #reason: unknown = NOT_CANCELLED;
  #head: CancelListener | null = null;
  #tail: CancelListener | null = null;
  #controller: AbortController | undefined;

  /**
   * A token that is cancelled when `signal` aborts, with the signal's reason.
   *
   * Lifetime: all the tokens made from one signal share one abort listener on it, which is removed
   * once every one of them is cancelled (on its own or by the signal). A token that is never
   * cancelled keeps its place until the signal aborts or is collected: for tokens made per request
   * from a long-lived signal, `cancel()` each when its request is done.
   * @throws TypeError when `signal` is not an AbortSignal.
   */
  static fromSignal(signal: AbortSignal): CancellationToken {
    if (!(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, got ${typeName(signal)}`);
    if (signal.aborted) {
      const t = new CancellationToken();
      t.cancel(signal.reason);
      return t;
    }
    let link = signalLinks.get(signal);
    if (link === undefined) {
      link = new SignalLink(signal);
      signalLinks.set(signal, link);
    }
    return link.token();
  }

  get isCancelled(): boolean {
    return this.#reason !== NOT_CANCELLED;
  }

  /** The reason given to `cancel()` (a CancelledError when none was given); undefined while not cancelled. */
  get reason(): unknown {
    const r = this.#reason;
    return r === NOT_CANCELLED ? undefined : r;
  }

  /** An AbortSignal that aborts when this token is cancelled. Created on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.isCancelled) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** A token cancelled whenever this one is; cancelling the child does not cancel this one. */
  child(): CancellationToken {
    if (this.isCancelled) {
      const c = new CancellationToken();
      c.cancel(this.#reason);
      return c;
    }
    // The child is itself the parent's listener node: one object per child (≈ 90 B), where a
    // token plus two callback nodes and their closures was ≈ 340 B (a scope's task, a request).
    const c = new ChildToken(this);
    this.addListener(c);
    return c;
  }

  /** Cancels this token and its children. Idempotent: later calls change nothing. */
  cancel(reason?: unknown): void {
    if (this.isCancelled) return;
    this.#reason = reason === undefined ? new CancelledError() : reason;
    // A child cancelled on its own leaves its parent's list, so long-lived parents don't leak.
    this.detach();
    this.#controller?.abort(this.#reason);
    // Listeners run in registration order; each is unlinked before it runs so it may re-enter.
    let node = this.#head;
    this.#head = this.#tail = null;
    while (node !== null) {
      const next = node.cancelNext;
      node.cancelNext = node.cancelPrev = null;
      try {
        node.onTokenCancelled(this.#reason);
      } catch (err) {
        // A throwing callback must neither stop the others nor crash the process later.
        reportListenerError(err);
      }
      node = next;
    }
  }

  /** Resolves once the token is cancelled. Cancel-safe and select-safe; never rejects. */
  cancelled(opts?: { signal?: AbortSignal }): Promise<void> {
    return waitCancelled(this, opts);
  }

  /**
   * Calls `cb(reason)` once on cancellation (at once if already cancelled). Dispose to unregister.
   * A callback that throws does not stop the others and never crashes the process: the error is
   * recorded in a runtime's shutdown report when the runtime cancelled the token, else printed to
   * stderr as one line.
   */
  onCancel(cb: (reason: unknown) => void): Disposable {
    checkFunction(cb, "cb");
    if (this.isCancelled) {
      cb(this.#reason);
      return noopDisposable;
    }
    const l = new CallbackListener(this, cb);
    this.addListener(l);
    return l;
  }

  /** Throws a CancelledError carrying the reason if the token is cancelled. */
  throwIfCancelled(): void {
    if (this.isCancelled) throw asCancelledError(this.#reason);
  }

  /** A guard that cancels this token when disposed, unless `disarm()` was called first. */
  dropGuard(): Disposable & { disarm(): CancellationToken } {
    let armed = true;
    return {
      disarm: () => {
        armed = false;
        return this;
      },
      [Symbol.dispose]: () => {
        if (armed) this.cancel();
        armed = false;
      },
    };
  }

  /**
   * Runs `fn` with an AbortSignal that aborts on cancellation. Resolves with fn's value, or with
   * undefined as soon as the token is cancelled (fn's later outcome is ignored).
   */
  runUntilCancelled<T>(fn: (signal: AbortSignal) => PromiseLike<T>): Promise<T | undefined> {
    checkFunction(fn, "fn");
    if (this.isCancelled) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve, reject) => {
      const sub = this.onCancel(() => resolve(undefined));
      let p: PromiseLike<T>;
      try {
        p = fn(this.signal);
      } catch (e) {
        sub[Symbol.dispose]();
        reject(e);
        return;
      }
      Promise.resolve(p).then(
        (v) => {
          sub[Symbol.dispose]();
          resolve(v);
        },
        (e: unknown) => {
          sub[Symbol.dispose]();
          if (this.isCancelled) resolve(undefined);
          else reject(e);
        },
      );
    });
  }

  /** @internal Leaves the parent's list (a child token's); nothing for a root token. */
  protected detach(): void {}

  /** @internal Links a listener node; the caller must not be cancelled (check isCancelled first). */
  addListener(l: CancelListener): void {
    l.cancelNext = null;
    l.cancelPrev = this.#tail;
    if (this.#tail !== null) this.#tail.cancelNext = l;
    else this.#head = l;
    this.#tail = l;
  }

  /** @internal Unlinks a listener node; a no-op when it is not linked. */
  removeListener(l: CancelListener): void {
    if (l.cancelPrev !== null) l.cancelPrev.cancelNext = l.cancelNext;
    else if (this.#head === l) this.#head = l.cancelNext;
    else return;
    if (l.cancelNext !== null) l.cancelNext.cancelPrev = l.cancelPrev;
    else this.#tail = l.cancelPrev;
    l.cancelNext = l.cancelPrev = null;
  }
}

/** What a token's reason field holds until it is cancelled (a reason may be anything, even undefined-like values). */
const NOT_CANCELLED: unique symbol = Symbol("steward.notCancelled");

/** A token made by {@link CancellationToken.child}: also the node in its parent's listener list. */
class ChildToken extends CancellationToken implements CancelListener {
  cancelNext: CancelListener | null = null;
  cancelPrev: CancelListener | null = null;
  constructor(private parent: CancellationToken | undefined) {
    super();
  }
  onTokenCancelled(reason: unknown): void {
    this.parent = undefined; // the parent unlinked it before this call
    this.cancel(reason);
  }
  protected override detach(): void {
    const p = this.parent;
    if (p === undefined) return;
    this.parent = undefined;
    p.removeListener(this);
  }
}

/** The one abort listener behind every token {@link CancellationToken.fromSignal} made from a signal. */
class SignalLink {
  private readonly root = new CancellationToken();
  private live = 0;
  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener("abort", this);
  }
  /** A new token cancelled with the signal; the listener goes once every such token is cancelled. */
  token(): CancellationToken {
    const t = this.root.child();
    this.live++;
    t.onCancel(() => {
      if (--this.live === 0) this.unlink();
    });
    return t;
  }
  handleEvent(): void {
    this.unlink();
    this.root.cancel(this.signal.reason);
  }
  private unlink(): void {
    this.signal.removeEventListener("abort", this);
    if (signalLinks.get(this.signal) === this) signalLinks.delete(this.signal);
  }
}

const signalLinks = new WeakMap<AbortSignal, SignalLink>();

let listenerErrorHandler: ((error: unknown) => void) | undefined;

/**
 * @internal Where errors thrown by cancellation callbacks (`onCancel`) go while `fn` runs: the
 * runtime records them in its shutdown report. Returns the previous handler. Without one, each
 * is printed to stderr as one line.
 */
export function setListenerErrorHandler(fn: ((error: unknown) => void) | undefined): ((error: unknown) => void) | undefined {
  const prev = listenerErrorHandler;
  listenerErrorHandler = fn;
  return prev;
}

function reportListenerError(err: unknown): void {
  const h = listenerErrorHandler;
  if (h !== undefined) {
    try {
      h(err);
      return;
    } catch {
      // fall through to the default
    }
  }
  let text: string;
  try {
    text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  } catch {
    text = "<unprintable>";
  }
  say("error", { err }, `steward: an onCancel callback threw: ${text.split("\n")[0]}\n`);
}

export { asCancelledError };

/** A wait for a token's cancellation: when its task's token is cancelled because the awaited one
 * was (a child), it resolves rather than rejects. */
class CancellationWaiter extends Waiter<void, CancellationToken> implements CancelListener {
  override onTokenCancelled(reason: unknown): void {
    if (this.data.isCancelled) this.complete(undefined);
    else super.onTokenCancelled(reason);
  }
}

function waitCancelled(token: CancellationToken, opts?: { signal?: AbortSignal }): Promise<void> {
  // A token that is cancelled answers at once, even to a task that is itself cancelled: waiting
  // for cancellation is how a task learns of it.
  if (token.isCancelled) return readyValue<void>(undefined, opts, "cancelled()", false);
  const e = precheck(opts);
  if (e instanceof Promise) return e;
  const w = new CancellationWaiter(token, "cancelled()", e.signal, e.token, e.task, e.branch);
  const sub = token.onCancel(() => w.complete(undefined));
  w.onWithdraw = () => sub[Symbol.dispose]();
  return w.promise;
}
