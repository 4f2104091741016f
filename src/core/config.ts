import { checkInteger, checkOptions, typeName } from "../util/validate.js";
import { currentLogger, type Logger, setLogger } from "./log.js";

/** Which spawned tasks record where they were spawned (a stack capture costs ≈ 4 µs; see BENCHMARKS.md). */
export type SpawnSiteMode = "all" | "named" | "none";

/** What the deadlock detector does with a wait that closes a cycle (see README, "Deadlocks"). */
export type DeadlockMode = "reject" | "off";

/** What the lock-order checker does with an inversion or a rank broken (see README, "Lock order"). */
export type LockOrderMode = "warn" | "throw" | "off";

/** Process-wide settings; change them with {@link configure}. */
export interface StewardConfig {
  /**
   * Ready completions allowed per macrotask turn before a wait yields to the event loop. 0 disables.
   * @default 128
   */
  coopBudget: number;
  /**
   * Which tasks capture their spawn site: every task, only named ones, or none.
   * @default "named"
   */
  spawnSites: SpawnSiteMode;
  /**
   * Where steward's own messages go: a logger in pino's shape (`configure({ logger: app.log })`
   * with Fastify, or a pino instance), or null to log nothing.
   * @default human lines on stderr
   */
  logger: Logger | null;
  /**
   * "reject": a wait in a task that parks so that steward's locks, semaphores, cells and joins
   * wait on each other in a cycle rejects with DeadlockError; "off": no detection.
   * @default "reject" (or STEWARD_DEADLOCKS)
   */
  deadlocks: DeadlockMode;
  /**
   * Lock-order checking over Mutex and RwLock (lockdep's idea): "warn" writes one stderr line
   * per inverted pair or broken rank and emits an `onLockOrder` event; "throw" also makes the
   * acquire that breaks the order reject with LockOrderError (for tests); "off" tracks nothing.
   * @default "warn" (or STEWARD_LOCK_ORDER)
   */
  lockOrder: LockOrderMode;
  /**
   * Record where every Mutex, RwLock and Semaphore acquisition happened (the user's file:line,
   * source-mapped when reported), so that a DeadlockError and the task dumps name each held
   * lock's `acquiredAt`. A stack capture per acquisition (about 10 µs against a 0.5 µs uncontended
   * lock), so it is for tests and debugging sessions; off, an acquisition pays one null check.
   * Needs `deadlocks` or `lockOrder` on (their records tell a contended acquisition's task).
   * @default false (or STEWARD_LOCK_SITES=1)
   */
  lockSites: boolean;
}

export const config: Omit<StewardConfig, "logger"> = {
  coopBudget: 128,
  spawnSites: envSpawnSites() ?? "named",
  deadlocks: process.env.STEWARD_DEADLOCKS === "off" ? "off" : "reject",
  lockOrder: envLockOrder() ?? "warn",
  lockSites: process.env.STEWARD_LOCK_SITES === "1" || process.env.STEWARD_LOCK_SITES === "true",
};

const listeners: ((c: Omit<StewardConfig, "logger">) => void)[] = [];

/** @internal Lets modules that cache a setting hear about changes. */
export function onConfigChange(fn: (c: Omit<StewardConfig, "logger">) => void): void {
  listeners.push(fn);
}

/**
 * Changes process-wide settings and returns the settings now in force.
 * @throws RangeError when `coopBudget` is not an integer >= 0; TypeError for an unknown
 * `spawnSites`, `deadlocks` or `lockOrder`, a non-boolean `lockSites`, or a `logger` that is neither null nor has pino's error/warn/info/debug methods.
 */
export function configure(opts: Partial<StewardConfig> = {}): Readonly<StewardConfig> {
  checkOptions(opts, "opts");
  if (opts.coopBudget !== undefined) {
    checkInteger(opts.coopBudget, "opts.coopBudget", 0);
    config.coopBudget = opts.coopBudget;
  }
  if (opts.spawnSites !== undefined) {
    if (opts.spawnSites !== "all" && opts.spawnSites !== "named" && opts.spawnSites !== "none") {
      throw new TypeError(`opts.spawnSites must be "all", "named" or "none", got ${typeName(opts.spawnSites)}`);
    }
    config.spawnSites = opts.spawnSites;
  }
  if (opts.logger !== undefined) setLogger(opts.logger);
  if (opts.deadlocks !== undefined) {
    if (opts.deadlocks !== "reject" && opts.deadlocks !== "off") {
      throw new TypeError(`opts.deadlocks must be "reject" or "off", got ${typeName(opts.deadlocks)}`);
    }
    config.deadlocks = opts.deadlocks;
  }
  if (opts.lockOrder !== undefined) {
    if (opts.lockOrder !== "warn" && opts.lockOrder !== "throw" && opts.lockOrder !== "off") {
      throw new TypeError(`opts.lockOrder must be "warn", "throw" or "off", got ${typeName(opts.lockOrder)}`);
    }
    config.lockOrder = opts.lockOrder;
  }
  if (opts.lockSites !== undefined) {
    if (typeof opts.lockSites !== "boolean") throw new TypeError(`opts.lockSites must be a boolean, got ${typeName(opts.lockSites)}`);
    config.lockSites = opts.lockSites;
  }
  for (const fn of listeners) fn(config);
  return { ...config, logger: currentLogger() };
}

function envLockOrder(): LockOrderMode | undefined {
  const v = process.env.STEWARD_LOCK_ORDER;
  return v === "warn" || v === "throw" || v === "off" ? v : undefined;
}

function envSpawnSites(): SpawnSiteMode | undefined {
  const v = process.env.STEWARD_SPAWN_SITES;
  return v === "all" || v === "named" || v === "none" ? v : undefined;
}
