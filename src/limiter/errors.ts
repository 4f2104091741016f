/**
 * The two ways a {@link Limiter} turns work away. Both carry the fields HTTP frameworks read from
 * an error (the http-errors convention that Fastify's and Express's error handlers honour):
 * `statusCode`/`status`, `expose` and `headers` (with `Retry-After`), so thrown from a route or
 * a hook they become a 503 or 429 with Retry-After through the framework's own error handling.
 *
 * They are built without a stack trace: they are answers to load, thrown by the thousand under a
 * burst, and a stack would only show the limiter's internals (capturing one costs 4–8 µs).
 */
import { StewardError } from "../errors.js";

function retryAfterHeader(ms: number): Record<string, string> {
  return { "Retry-After": String(Math.max(1, Math.ceil(ms / 1000))) };
}

function noStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Why an {@link OverloadedError} was raised. */
export type OverloadReason = "queue-full" | "queue-timeout";

/**
 * Work was turned away for lack of capacity: the queue was full (load shedding), or the job
 * waited longer than `queueTimeoutMs`. HTTP: 503 with `Retry-After`.
 */
export class OverloadedError extends StewardError {
  /** When to try again, if known (HTTP: the Retry-After header, in whole seconds, at least 1). */
  readonly retryAfterMs?: number;
  /** "queue-full" (shed at once) or "queue-timeout" (waited `queueTimeoutMs`). */
  readonly reason: OverloadReason;
  /** 503, for HTTP frameworks' error handlers. */
  readonly statusCode = 503;
  /** 503 (Express reads `status`). */
  readonly status = 503;
  /** The message is safe to show to clients. */
  readonly expose = true;
  /** `STEWARD_OVERLOADED`: Fastify puts it in its error body. */
  readonly code = "STEWARD_OVERLOADED";
  /** `{ "Retry-After": seconds }` when `retryAfterMs` is known; frameworks add them to the response. */
  readonly headers: Record<string, string> | undefined;

  constructor(reason: OverloadReason = "queue-full", retryAfterMs?: number, message?: string) {
    super(message ?? (reason === "queue-timeout" ? "overloaded: waited too long for capacity" : "overloaded: too many requests are waiting"));
    this.name = "OverloadedError";
    this.reason = reason;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
    this.headers = retryAfterMs === undefined ? undefined : retryAfterHeader(retryAfterMs);
  }
}

/** The key went over its rate (`rate.perSecond`, token bucket). HTTP: 429 with `Retry-After`. */
export class RateLimitedError extends StewardError {
  /** How long until the key has a token again (HTTP: Retry-After, in whole seconds, at least 1). */
  readonly retryAfterMs: number;
  /** 429, for HTTP frameworks' error handlers. */
  readonly statusCode = 429;
  /** 429 (Express reads `status`). */
  readonly status = 429;
  /** The message is safe to show to clients. */
  readonly expose = true;
  /** `STEWARD_RATE_LIMITED`: Fastify puts it in its error body. */
  readonly code = "STEWARD_RATE_LIMITED";
  /** `{ "Retry-After": seconds }`; frameworks add them to the response. */
  readonly headers: Record<string, string>;

  constructor(retryAfterMs: number, message = "rate limit exceeded") {
    super(message);
    this.name = "RateLimitedError";
    this.retryAfterMs = retryAfterMs;
    this.headers = retryAfterHeader(retryAfterMs);
  }
}

/** @internal An OverloadedError built without a stack (see the module comment). */
export function overloaded(reason: OverloadReason, retryAfterMs: number | undefined): OverloadedError {
  return noStack(() => new OverloadedError(reason, retryAfterMs));
}

/** @internal A RateLimitedError built without a stack. */
export function rateLimited(retryAfterMs: number): RateLimitedError {
  return noStack(() => new RateLimitedError(retryAfterMs));
}
