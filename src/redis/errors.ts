/**
 * Errors that only the Redis primitives throw. Each has a `name` equal to its class name, like
 * the core's errors, so they survive structured logging.
 */
import { StewardError } from "../errors.js";

/** Why a lease was lost: see {@link LeaseLostError.why}. */
export type LeaseLossCause = "expired" | "unconfirmed" | "maxHold" | "released-by-shutdown";

/**
 * A lease held in Redis was lost while its holder still held it. The holding task's token is
 * cancelled with it (its steward waits reject with a CancelledError whose `reason` is this error,
 * and `ctx.signal.reason` is this error), and the guard's `signal` aborts with it.
 */
export class LeaseLostError extends StewardError {
  /** The Redis resource, e.g. `RedisMutex "orders"`. */
  readonly resource: string;
  /** The fencing token of the lost lease: a resource that checks tokens refuses it from now on. */
  readonly fence: number;
  /**
   * - `"expired"`: Redis no longer has the lease (it expired while this process or Redis was
   *   paused, or Redis restarted without its data);
   * - `"unconfirmed"`: no renewal reached Redis before the lease's time ran out (Redis
   *   unreachable or too slow), so it must be taken as expired;
   * - `"maxHold"`: it was held for `maxHoldMs`, the cap on auto-renewal;
   * - `"released-by-shutdown"`: the runtime's drop phase released it while it was still held.
   */
  readonly why: LeaseLossCause;
  constructor(resource: string, fence: number, why: LeaseLossCause, detail?: string) {
    super(`lost the lease on ${resource} (fence ${fence}): ${detail ?? describeCause(why)}`);
    this.name = "LeaseLostError";
    this.resource = resource;
    this.fence = fence;
    this.why = why;
  }
}

function describeCause(why: LeaseLossCause): string {
  switch (why) {
    case "expired":
      return "Redis no longer holds it (it expired while its renewal could not run, or Redis lost its data)";
    case "unconfirmed":
      return "no renewal reached Redis before it ran out, so it must be taken as expired";
    case "maxHold":
      return "it was held for maxHoldMs, the cap on automatic renewal";
    case "released-by-shutdown":
      return "the runtime's shutdown released it while it was still held";
  }
}

/**
 * Redis could not be reached (or did not answer in time) and the primitive was told to fail
 * fast (`onUnavailable: "fail"`). `cause` is the client's error.
 */
export class RedisUnavailableError extends StewardError {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "RedisUnavailableError";
  }
}
