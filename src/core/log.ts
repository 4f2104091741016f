/**
 * The logging seam: every message steward itself writes (a request handler that failed, a
 * request cut by its timeout, ...) goes through one {@link Logger}, so a service that logs JSON
 * with pino gets steward's lines in the same stream, with the same fields, instead of stray
 * text on stderr.
 *
 * The Logger has pino's shape — the logger Fastify uses — so a pino instance (or Fastify's
 * `app.log`) plugs in as it is: `configure({ logger: app.log })`. Steward always calls it as
 * `logger.level(fields, message)`: `fields` carries what a structured logger indexes (`err`,
 * `task`, `route`, ...) and `message` is a complete human sentence on its own, which is what the
 * default logger prints.
 */
import { typeName } from "../util/validate.js";

/**
 * What steward logs through: pino's method shape (`logger.info(obj, msg)`). pino, Fastify's
 * `app.log` and `request.log`, and most structured loggers' pino-compatible modes fit as they are.
 */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  /** Optional, as in pino: a logger that adds `bindings` to every line. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** The levels steward logs at. */
export type LogLevel = "error" | "warn" | "info" | "debug";

function line(msg: string | undefined): void {
  if (msg === undefined) return;
  try {
    process.stderr.write(`steward: ${msg}\n`);
  } catch {
    // stderr is gone: nowhere to say it.
  }
}

/**
 * The default: one human line per message on stderr (`steward: <message>`); debug lines are
 * dropped. The fields object is not printed: the message says it all.
 */
export const stderrLogger: Logger = Object.freeze({
  error: (_obj: object, msg?: string) => line(msg),
  warn: (_obj: object, msg?: string) => line(msg),
  info: (_obj: object, msg?: string) => line(msg),
  debug: () => {},
});

/** Logs nothing. What `configure({ logger: null })` installs. */
const silentLogger: Logger = Object.freeze({ error() {}, warn() {}, info() {}, debug() {} });

let current: Logger = stderrLogger;

/** @internal The logger in force (for `configure()` to report). */
export function currentLogger(): Logger | null {
  return current === silentLogger ? null : current;
}

/**
 * @internal Installs `logger` (null: log nothing). Validates its shape first.
 * @throws TypeError when it lacks one of error/warn/info/debug.
 */
export function setLogger(logger: Logger | null, name = "opts.logger"): void {
  if (logger === null) {
    current = silentLogger;
    return;
  }
  if (typeof logger !== "object" && typeof logger !== "function") {
    throw new TypeError(`${name} must be a logger with error/warn/info/debug methods (pino's shape) or null, got ${typeName(logger)}`);
  }
  for (const m of ["error", "warn", "info", "debug"] as const) {
    if (typeof (logger as unknown as Record<string, unknown>)[m] !== "function") {
      throw new TypeError(`${name}.${m} must be a function (a logger in pino's shape), got ${typeName((logger as unknown as Record<string, unknown>)[m])}`);
    }
  }
  current = logger;
}

/**
 * @internal Writes one message through the logger in force. A logger that throws never breaks
 * the caller: the message then goes to stderr as a human line.
 */
export function log(level: LogLevel, fields: object, msg: string): void {
  const l = current;
  try {
    l[level](fields, msg);
  } catch (e) {
    if (level !== "debug") line(`${msg} (the configured logger threw: ${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * @internal Says one of steward's own messages: with the default logger, `text` is written to
 * stderr as it is (it carries its own "steward ..." prefix and may span lines); with a configured
 * logger, it goes there at `level` with `fields`, the text (trailing newline dropped) as message.
 */
export function say(level: LogLevel, fields: object, text: string): void {
  if (current === stderrLogger) {
    try {
      process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
    } catch {
      // stderr is gone: nowhere to say it.
    }
    return;
  }
  log(level, fields, text.endsWith("\n") ? text.slice(0, -1) : text);
}
