/**
 * What every primitive on one client shares: this process's client id (its waiters' liveness is
 * kept per client, not per waiter) and the one duplicate connection that carries wake-ups.
 */
import { randomBytes } from "node:crypto";
import type { RedisClient, RedisSubscriber } from "./conn.js";

/** How long a channel stays subscribed after its last waiter left, so bursts don't churn SUBSCRIBE. */
const LINGER_MS = 2_000;

interface Channel {
  readonly listeners: Set<(message: string) => void>;
  subscribed: Promise<void> | undefined;
  /** SUBSCRIBE was confirmed (messages published from now on are delivered). */
  active: boolean;
  linger: NodeJS.Timeout | undefined;
}

export class Hub {
  /** Identifies this process's waiters in Redis; random, so restarts and forks never collide. */
  readonly clientId = randomBytes(8).toString("hex");
  #seq = 0;
  #sub: RedisSubscriber | undefined;
  #connecting: Promise<RedisSubscriber> | undefined;
  readonly #channels = new Map<string, Channel>();

  constructor(private readonly client: RedisClient) {}

  /** A waiter or lease id, unique across processes. */
  nextId(): string {
    return `${this.clientId}:${(++this.#seq).toString(36)}`;
  }

  /**
   * Adds `fn` to `channel`'s listeners; resolves once the subscription is active (messages
   * published after that reach `fn`). Rejects when the subscriber cannot connect; the caller
   * falls back to its polling tick and calls again later.
   */
  listen(channel: string, fn: (message: string) => void): Promise<void> {
    let ch = this.#channels.get(channel);
    if (ch === undefined) {
      ch = { listeners: new Set(), subscribed: undefined, active: false, linger: undefined };
      this.#channels.set(channel, ch);
    }
    if (ch.linger !== undefined) {
      clearTimeout(ch.linger);
      ch.linger = undefined;
    }
    ch.listeners.add(fn);
    if (ch.subscribed === undefined) {
      const c = ch;
      const sp: Promise<void> = this.#subscriber()
        .then((sub) =>
          sub.subscribe(channel, (message) => {
            for (const l of c.listeners) l(message);
          }),
        )
        .then(
          () => {
            c.active = true;
          },
          (e: unknown) => {
            if (c.subscribed === sp) c.subscribed = undefined; // the next listen tries again
            throw e;
          },
        );
      ch.subscribed = sp;
    }
    return ch.subscribed;
  }

  /** True while `channel` is subscribed (with listeners, or lingering after its last one left). */
  isActive(channel: string): boolean {
    return this.#channels.get(channel)?.active === true;
  }

  /**
   * Removes `fn`; the channel is unsubscribed after a linger (at once with `now`), and the
   * connection is closed when no channel is left.
   */
  unlisten(channel: string, fn: (message: string) => void, now = false): void {
    const ch = this.#channels.get(channel);
    if (ch === undefined) return;
    ch.listeners.delete(fn);
    if (ch.listeners.size > 0) return;
    if (ch.linger !== undefined) {
      clearTimeout(ch.linger);
      ch.linger = undefined;
    }
    const drop = (): void => {
      if (ch.listeners.size > 0) return;
      this.#channels.delete(channel);
      const sub = this.#sub;
      if (this.#channels.size === 0) this.#close();
      else if (sub !== undefined && ch.subscribed !== undefined) sub.unsubscribe(channel).catch(ignore);
    };
    if (now) return drop();
    ch.linger = setTimeout(drop, LINGER_MS);
    ch.linger.unref();
  }

  /** Closes the subscriber connection now (the runtime's drop phase, `close()`). */
  closeAll(): void {
    for (const ch of this.#channels.values()) if (ch.linger !== undefined) clearTimeout(ch.linger);
    this.#channels.clear();
    this.#close();
  }

  #close(): void {
    const sub = this.#sub;
    this.#sub = undefined;
    this.#connecting = undefined;
    if (sub !== undefined) {
      try {
        sub.destroy();
      } catch {
        // already closed
      }
    }
  }

  #subscriber(): Promise<RedisSubscriber> {
    if (this.#connecting !== undefined) return this.#connecting;
    const sub = this.client.duplicate();
    // Errors are expected while Redis is down; the client reconnects and resubscribes on its
    // own, and waiters poll meanwhile. Without a listener node-redis would throw them.
    sub.on("error", ignore);
    const p = sub.connect().then(
      () => {
        // Wake-ups alone never keep a process alive: a task awaiting a grant is also on a ref'd
        // polling timer (Station), and nothing else should be held open by steward.
        sub.unref?.();
        this.#sub = sub;
        return sub;
      },
      (e: unknown) => {
        if (this.#connecting === p) this.#connecting = undefined;
        try {
          sub.destroy();
        } catch {
          // never connected
        }
        throw e;
      },
    );
    this.#connecting = p;
    return p;
  }
}

function ignore(): void {}

const hubs = new WeakMap<RedisClient, Hub>();

/** The hub of `client`, created on first use. */
export function hubOf(client: RedisClient): Hub {
  let h = hubs.get(client);
  if (h === undefined) {
    h = new Hub(client);
    hubs.set(client, h);
  }
  return h;
}
