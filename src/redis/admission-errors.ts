/**
 * The Limiter's two refusals, as API.md §11 names them. The local Limiter (steward's core) defines
 * classes with the same names and meaning; until the two are unified, `steward/redis` carries its
 * own so that it never loads more of the core than it needs. Catch them by `name` (or import both)
 * if code must handle refusals from either.
 */

/** The limiter's queue is full, or a call waited longer than `queueTimeoutMs`. HTTP: 503. */
export class OverloadedError extends Error {
  /** A hint for a Retry-After header, when the limiter can tell. */
  retryAfterMs?: number;
  constructor(message = "overloaded: too many calls are running or waiting", retryAfterMs?: number) {
    super(message);
    this.name = "OverloadedError";
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

/** The call's key is over its rate (`rate.perSecond`, `rate.burst`). HTTP: 429 + Retry-After. */
export class RateLimitedError extends Error {
  /** When the key may call again. */
  retryAfterMs: number;
  constructor(retryAfterMs: number, message = `rate limited: retry after ${retryAfterMs} ms`) {
    super(message);
    this.name = "RateLimitedError";
    this.retryAfterMs = retryAfterMs;
  }
}
