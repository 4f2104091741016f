/** Admission control (tower's ConcurrencyLimit + LoadShed + RateLimit) for any async work. */
export { Limiter } from "./limiter.js";
export type { LimiterOptions, LimiterRunOptions, LimiterStats } from "./limiter.js";
export { OverloadedError, RateLimitedError } from "./errors.js";
export type { OverloadReason } from "./errors.js";
