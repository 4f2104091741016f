/**
 * steward/redis: Semaphore, Mutex and Limiter shared by every process that uses one Redis —
 * leases tied to the task that holds them, fencing tokens, FIFO hand-off, and release in the
 * runtime's drop phase. Bring your own node-redis client (`redis` v5+, an optional peer
 * dependency); steward's core never loads this module.
 */
export { RedisSemaphore, type RedisAcquireOptions, type RedisSemaphoreStatus } from "./semaphore.js";
export { RedisMutex } from "./mutex.js";
export { RedisLimiter, type RedisLimiterOptions } from "./limiter.js";
export type { Lease } from "./lease.js";
export type { RedisSyncOptions } from "./options.js";
export type { RedisClient, RedisSubscriber } from "./conn.js";
export type { UnavailableMode } from "./station.js";
export { LeaseLostError, RedisUnavailableError, type LeaseLossCause } from "./errors.js";
export { OverloadedError, RateLimitedError } from "../limiter/errors.js";
