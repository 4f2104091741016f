/** Argument checks shared by every export, so each error names the argument it is about. */

export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== "function") {
    throw new TypeError(`${name} must be a function, got ${typeName(value)}`);
  }
}

export function checkSignal(value: unknown, name = "opts.signal"): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`${name} must be an AbortSignal, got ${typeName(value)}`);
  }
}

/** What {@link checkDuration} accepts beyond a duration that one Node timer can hold. */
export interface DurationRange {
  /**
   * Durations past 2^31−1 ms are fine: the caller schedules through core/timer.ts, which chains
   * them. Without it they are a RangeError, because Node's setTimeout would fire them after 1 ms.
   */
  long?: boolean;
  /** `Infinity` means "never" for this duration (implies `long`). */
  infinity?: boolean;
}

/**
 * A duration in milliseconds: a number >= 0. By default also at most 2^31−1 ms (what a Node timer
 * holds) and finite; `range` widens that for durations scheduled through core/timer.ts. Every
 * duration steward accepts is honoured or refused here: never fired early.
 */
export function checkDuration(value: unknown, name: string, range?: DurationRange): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds, got ${typeName(value)}`);
  if (Number.isNaN(value) || value < 0) throw new RangeError(`${name} must be a number of milliseconds >= 0, got ${value}`);
  if (value === Infinity) {
    if (range?.infinity === true) return;
    throw new RangeError(`${name} must be a finite number of milliseconds, got Infinity`);
  }
  if (value > MAX_TIMER_MS && range?.long !== true && range?.infinity !== true) {
    throw new RangeError(`${name} must be at most ${MAX_TIMER_MS} ms (2^31-1, the longest Node timer), got ${value}`);
  }
}

/** Node's largest timer delay; kept here so validation does not import the timer module. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A whole number within [min, max]. */
export function checkInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be an integer, got ${typeName(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be an integer ${range}, got ${value}`);
  }
}

export function checkOptions(value: unknown, name = "opts"): asserts value is object | undefined {
  if (value !== undefined && (value === null || typeof value !== "object")) {
    throw new TypeError(`${name} must be an object, got ${typeName(value)}`);
  }
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const t = typeof value;
  if (t === "object") {
    const ctor = (value as object).constructor;
    return ctor && typeof ctor.name === "string" && ctor.name !== "Object" ? `a ${ctor.name}` : "an object";
  }
  if (t === "string") return `the string ${JSON.stringify(value)}`;
  if (t === "number" || t === "boolean" || t === "bigint") return `${t} ${String(value)}`;
  return t;
}
