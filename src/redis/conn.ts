/**
 * The client seam: what steward/redis needs from a node-redis client (v4 to v6), and how it runs
 * a script with a deadline of its own.
 */
import { RedisUnavailableError } from "./errors.js";
import type { Script } from "./scripts.js";

/**
 * The part of a node-redis client (`createClient()` from the `redis` package, v4 or later) that
 * steward/redis uses. Pass the connected client itself; steward never closes it. For waits it
 * opens one more connection with `duplicate()` (for pub/sub wake-ups), unref'd, closed when idle.
 */
export interface RedisClient {
  sendCommand(args: readonly string[]): Promise<unknown>;
  readonly isReady: boolean;
  duplicate(): RedisSubscriber;
}

/** The duplicate connection that carries wake-ups (a node-redis client in subscriber mode). */
export interface RedisSubscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: "error", listener: (err: Error) => void): unknown;
  unref?(): void;
  destroy(): void;
}

/** True for a Redis error reply (as opposed to a connection failure): a bug, not an outage. */
function isReplyError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  // Redis says these while it cannot serve yet (loading, failing over): an outage, not a bug.
  if (/^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/.test(e.message)) return false;
  for (let p: object | null = Object.getPrototypeOf(e) as object | null; p !== null && p !== Error.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name;
    if (name === "ErrorReply" || name === "ReplyError") return true;
  }
  return false;
}

/** What a failed call means for the caller. */
export type Failure = { kind: "unavailable"; error: RedisUnavailableError } | { kind: "reply"; error: unknown };

/** Classifies an error from a script call. */
export function classify(e: unknown, what: string): Failure {
  if (e instanceof RedisUnavailableError) return { kind: "unavailable", error: e };
  if (isReplyError(e)) return { kind: "reply", error: e };
  const msg = e instanceof Error ? e.message : String(e);
  return { kind: "unavailable", error: new RedisUnavailableError(`Redis is unavailable (${what}): ${msg}`, { cause: e }) };
}

function ignore(): void {}

/** Runs scripts on one client, with EVALSHA and a per-call deadline. */
export class Conn {
  constructor(readonly client: RedisClient) {}

  /** True when the client says it can send now (node-redis `isReady`). */
  get ready(): boolean {
    return this.client.isReady !== false;
  }

  /**
   * Runs `s` with EVALSHA, loading it with EVAL when Redis does not have it (first use, or after
   * a restart). Rejects with RedisUnavailableError when the client is not ready or no answer came
   * within `timeoutMs`; the command may still run later, so every op is written to be safe to
   * run late or twice. Any other Redis error reply rejects as the client gave it.
   */
  async eval(s: Script, keys: readonly string[], args: readonly string[], timeoutMs: number, what: string): Promise<unknown[]> {
    if (!this.ready) throw new RedisUnavailableError(`Redis is unavailable (${what}): the client is not connected`);
    const head = [String(keys.length), ...keys, ...args];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms (${what})`)), timeoutMs);
    });
    try {
      const call = this.client.sendCommand(["EVALSHA", s.sha, ...head]).catch((e: unknown) => {
        if (e instanceof Error && e.message.startsWith("NOSCRIPT")) return this.client.sendCommand(["EVAL", s.source, ...head]);
        throw e;
      });
      call.catch(ignore); // a late failure after the deadline is nobody's
      const reply = await Promise.race([call, deadline]);
      if (!Array.isArray(reply)) throw new TypeError(`steward/redis: unexpected reply to ${what}: ${String(reply)}`);
      return reply as unknown[];
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A reply field as a number (node-redis gives integers as numbers; RESP3 may give strings). */
export function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}
