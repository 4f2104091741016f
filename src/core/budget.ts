/**
 * The cooperative budget (tokio's coop): a chain of waits that are always ready would otherwise
 * run entirely in microtasks and starve timers and I/O (FINDINGS: 2 M ready round trips kept a
 * setTimeout(0) waiting 720 ms). Each ready completion draws one unit; once the budget is spent,
 * ready waits are parked until a setImmediate refills it, which lets the event loop turn once.
 */
import { config, onConfigChange } from "./config.js";

let limit = config.coopBudget;
let remaining = limit;
let refill: NodeJS.Immediate | undefined;
/** Waits parked until the refill; run in order. */
let parked: (() => void)[] = [];

onConfigChange((c) => {
  limit = c.coopBudget;
  remaining = Math.min(remaining, limit);
  if (limit === 0) remaining = 0;
});

function doRefill(): void {
  refill = undefined;
  remaining = limit;
  const run = parked;
  parked = [];
  for (let i = 0; i < run.length; i++) run[i]!();
}

/** Draws one unit; false means the caller must park its completion with {@link parkUntilRefill}. */
export function takeBudget(): boolean {
  if (limit === 0) return true;
  if (refill === undefined) {
    // One unref'd immediate per event-loop turn that uses the budget: it refills at the turn's end.
    refill = setImmediate(doRefill);
    refill.unref();
  }
  if (remaining > 0) {
    remaining--;
    return true;
  }
  return false;
}

/** Runs `fn` after the next refill, i.e. after the event loop has had a turn. */
export function parkUntilRefill(fn: () => void): void {
  parked.push(fn);
  // Parked work is pending work: it must keep the process alive like any ready task would.
  if (refill === undefined) {
    refill = setImmediate(doRefill);
  } else {
    refill.ref();
  }
}
