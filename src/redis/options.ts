/** The options every Redis primitive takes, their defaults and their checks. */
import { checkInteger, checkOptions, typeName } from "../util/validate.js";
import { Conn, type RedisClient } from "./conn.js";
import { hubOf } from "./hub.js";
import { Station, type StationConfig, type UnavailableMode } from "./station.js";

/** Options of RedisSemaphore, RedisMutex and RedisLimiter. */
export interface RedisSyncOptions {
  /** Prefix of every key steward writes. @default "steward:" */
  prefix?: string;
  /**
   * How long a lease lives in Redis without a renewal, in ms. The holder renews it every
   * `leaseMs / 3`; a crashed holder's lease frees within `leaseMs`. A process paused longer than
   * this (GC, SIGSTOP, a blocked loop) loses its leases. @default 10_000
   */
  leaseMs?: number;
  /**
   * The cap on automatic renewal, in ms from the grant: a lease held this long is lost
   * (`LeaseLostError` with `why: "maxHold"`, its task cancelled) and released, so a stuck holder
   * cannot keep it forever. `Infinity` turns the cap off. Per call: `acquire(n, { maxHoldMs })`.
   * @default 60_000
   */
  maxHoldMs?: number;
  /**
   * What a wait does while Redis cannot be reached: `"wait"` keeps trying (with backoff) until
   * Redis answers or the caller's signal / task / queueTimeoutMs gives up; `"fail"` rejects at
   * once with RedisUnavailableError. Either way a held lease is lost once its time runs out
   * without a confirmed renewal. @default "wait"
   */
  onUnavailable?: UnavailableMode;
  /**
   * How long one Redis call may take before it counts as failed (the call may still run later;
   * every call is safe to run late). @default leaseMs / 3, within [50, 2000]
   */
  commandTimeoutMs?: number;
  /**
   * Cancel the task that acquired a lease (with the LeaseLostError) when the lease is lost.
   * With `false` only the lease's `signal` and `lost` tell. @default true
   */
  bindTask?: boolean;
}

/** @internal */
export const DEFAULT_LEASE_MS = 10_000;
/** @internal */
export const DEFAULT_MAX_HOLD_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** @internal Checks the client, name and options, and builds the primitive's station. */
export function makeStation(kind: string, client: unknown, name: unknown, permits: number, opts: RedisSyncOptions | undefined): Station {
  checkClient(client);
  if (typeof name !== "string" || name.length === 0) throw new TypeError(`name must be a non-empty string, got ${typeName(name)}`);
  checkOptions(opts, "opts");
  const o = opts ?? {};
  const prefix = o.prefix ?? "steward:";
  if (typeof prefix !== "string") throw new TypeError(`opts.prefix must be a string, got ${typeName(prefix)}`);
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  checkInteger(leaseMs, "opts.leaseMs", 30, MAX_TIMER_MS);
  const maxHoldMs = checkMaxHold(o.maxHoldMs ?? DEFAULT_MAX_HOLD_MS, "opts.maxHoldMs");
  const onUnavailable = o.onUnavailable ?? "wait";
  if (onUnavailable !== "wait" && onUnavailable !== "fail") {
    throw new TypeError(`opts.onUnavailable must be "wait" or "fail", got ${typeName(onUnavailable)}`);
  }
  const commandTimeoutMs = o.commandTimeoutMs ?? Math.min(2_000, Math.max(50, Math.floor(leaseMs / 3)));
  checkInteger(commandTimeoutMs, "opts.commandTimeoutMs", 1, MAX_TIMER_MS);
  const bindTask = o.bindTask ?? true;
  if (typeof bindTask !== "boolean") throw new TypeError(`opts.bindTask must be a boolean, got ${typeName(bindTask)}`);
  const cfg: StationConfig = {
    label: `${kind} ${JSON.stringify(name)}`,
    prefix,
    name,
    permits,
    leaseMs,
    maxHoldMs,
    onUnavailable,
    commandTimeoutMs,
    bindTask,
  };
  return new Station(new Conn(client), hubOf(client), cfg);
}

/** @internal A maxHoldMs: a whole number of ms >= 1 that a timer can hold, or Infinity. */
export function checkMaxHold(v: unknown, name: string): number {
  if (v === Infinity) return Infinity;
  checkInteger(v, name, 1, MAX_TIMER_MS);
  return v;
}

function checkClient(client: unknown): asserts client is RedisClient {
  const c = client as Partial<RedisClient> | null;
  if (c === null || typeof c !== "object" || typeof c.sendCommand !== "function" || typeof c.duplicate !== "function") {
    throw new TypeError(`client must be a node-redis client (createClient() from the "redis" package), got ${typeName(client)}`);
  }
}
