/** Deadlines on steward's clock (core/timer.ts `now()`): validation and the delay until one. */
import { now } from "../core/timer.js";
import { typeName } from "../util/validate.js";

/**
 * A deadline in milliseconds on steward's clock: a finite number, or `Infinity` for never. One in
 * the past is due at once. NaN and -Infinity are refused: an interval's schedule counted from
 * -Infinity would tick without end.
 */
export function checkDeadline(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds on steward's clock (now()), got ${typeName(value)}`);
  if (Number.isNaN(value) || value === -Infinity) {
    throw new RangeError(`${name} must be a finite number of milliseconds on steward's clock (now()) or Infinity, got ${value}`);
  }
}

/**
 * Milliseconds to schedule a timer for so it fires no earlier than `deadline`: rounded up to a
 * whole millisecond (Node's timers count whole ms; tokio rounds up likewise), 0 for a deadline
 * already reached, Infinity for never. A real timer may still fire a fraction of a millisecond
 * before `now()` reaches it, so whoever fires on it checks {@link reached} and re-arms.
 */
export function delayUntil(deadline: number): number {
  if (deadline === Infinity) return Infinity;
  const left = deadline - now();
  return left > 0 ? Math.ceil(left) : 0;
}

/** Whether steward's clock has reached `deadline`. */
export function reached(deadline: number): boolean {
  return now() >= deadline;
}
