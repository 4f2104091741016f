/** The flight recorder's options: defaults, validation, and the STEWARD_RECORDER variables. */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOptions, typeName } from "../util/validate.js";

/** Which automatic triggers write a dump. */
export interface RecorderTriggers {
  /** A blocked event loop: an episode the supervisor reports, or a stall of at least `blockedMs`. @default true */
  blocked?: boolean;
  /** A task panic nobody observed (the runtime reports it). @default true */
  panic?: boolean;
  /**
   * A shutdown with tasks still running close to its deadline (`shutdown-stuck`, written while
   * they are stuck), or still running when it ended (`shutdown-unclean`). @default true
   */
  shutdown?: boolean;
}

/** `new Runtime({ recorder: {...} })`, `runMain(main, { recorder: {...} })`. */
export interface RecorderOptions {
  /** The ring's size in bytes (24 bytes per event). @default 4194304 (4 MiB: ≈ 175,000 events) */
  bytes?: number;
  /** Where dumps are written. @default the STEWARD_RECORDER_DIR variable, else `<os.tmpdir()>/steward-recorder` */
  dir?: string;
  /** At most this many dump files are kept in `dir`; older `steward-*.stwrec` files are deleted. @default 10 */
  maxFiles?: number;
  /** A signal that writes a dump, or null for none. @default "SIGUSR2" (null on Windows) */
  signal?: NodeJS.Signals | null;
  /** Automatic triggers. @default all on */
  triggers?: RecorderTriggers;
  /** A loop stall at least this long that no supervisor reported is a blocked episode. @default 250 */
  blockedMs?: number;
  /** Minimum time between two dumps of one automatic trigger (blocked, panic). @default 60000 */
  minIntervalMs?: number;
  /** At most this many dumps per hour, every trigger together. @default 30 */
  maxPerHour?: number;
  /** A dump for a blocked episode or a panic is written this long after it, to include what followed. @default 500 */
  afterMs?: number;
  /** One line on stderr per dump written (its path and trigger). @default true */
  log?: boolean;
}

/** @internal Options with every default filled in. */
export interface ResolvedRecorderOptions {
  bytes: number;
  dir: string;
  maxFiles: number;
  signal: NodeJS.Signals | null;
  triggers: Required<RecorderTriggers>;
  blockedMs: number;
  minIntervalMs: number;
  maxPerHour: number;
  afterMs: number;
  log: boolean;
}

/** The ring's default size. */
export const DEFAULT_RECORDER_BYTES = 4 * 1024 * 1024;

function num(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new RangeError(`${name} must be a number from ${min} to ${max}, got ${typeName(v)}`);
  }
  return v;
}

/** True when STEWARD_RECORDER turns the recorder off ("0", "false", "off", "no"). */
export function recorderOffByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.STEWARD_RECORDER?.trim().toLowerCase();
  return v === "0" || v === "false" || v === "off" || v === "no";
}

/**
 * @internal Resolves the `recorder` option: undefined when the recorder is off (false, or
 * STEWARD_RECORDER=0, which wins over the code so operators can turn it off).
 * @throws TypeError/RangeError for a malformed option, naming it.
 */
export function resolveRecorderOptions(value: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedRecorderOptions | undefined {
  if (value === false || recorderOffByEnv(env)) return undefined;
  if (value !== undefined && value !== true) checkOptions(value, "opts.recorder");
  const o = (value === undefined || value === true ? {} : value) as RecorderOptions;
  const bytes = num(o.bytes ?? DEFAULT_RECORDER_BYTES, "opts.recorder.bytes", 64 * 1024, 1024 * 1024 * 1024);
  const dir = o.dir ?? (env.STEWARD_RECORDER_DIR || join(tmpdir(), "steward-recorder"));
  if (typeof dir !== "string" || dir === "") throw new TypeError(`opts.recorder.dir must be a non-empty string, got ${typeName(dir)}`);
  const signal = o.signal === undefined ? (process.platform === "win32" ? null : "SIGUSR2") : o.signal;
  if (signal !== null && (typeof signal !== "string" || !/^SIG[A-Z0-9]+$/.test(signal))) {
    throw new TypeError(`opts.recorder.signal must name a signal such as "SIGUSR2", or be null, got ${typeName(signal)}`);
  }
  const t = o.triggers ?? {};
  checkOptions(t, "opts.recorder.triggers");
  const triggers = { blocked: t.blocked ?? true, panic: t.panic ?? true, shutdown: t.shutdown ?? true };
  for (const [k, v] of Object.entries(triggers)) {
    if (typeof v !== "boolean") throw new TypeError(`opts.recorder.triggers.${k} must be a boolean, got ${typeName(v)}`);
  }
  const log = o.log ?? true;
  if (typeof log !== "boolean") throw new TypeError(`opts.recorder.log must be a boolean, got ${typeName(log)}`);
  return {
    bytes,
    dir,
    maxFiles: num(o.maxFiles ?? 10, "opts.recorder.maxFiles", 1, 10_000),
    signal,
    triggers,
    blockedMs: num(o.blockedMs ?? 250, "opts.recorder.blockedMs", 1),
    minIntervalMs: num(o.minIntervalMs ?? 60_000, "opts.recorder.minIntervalMs", 0),
    maxPerHour: num(o.maxPerHour ?? 30, "opts.recorder.maxPerHour", 1),
    afterMs: num(o.afterMs ?? 500, "opts.recorder.afterMs", 0, 60_000),
    log,
  };
}
