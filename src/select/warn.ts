/**
 * The development warning for a select branch that nothing can withdraw: a plain (non-async)
 * function that declares no signal parameter and starts no steward wait synchronously. Whatever
 * it goes on to do after it lost (a `.then` callback that receives from a channel, a timer) is
 * outside the claim, so a message it takes then is lost with the branch's result.
 *
 * Only in development (`NODE_ENV` not "production", read once at startup), only when such a
 * branch loses while its promise is still pending, and once per branch function source.
 */
import { markSettleNeeded } from "../core/claim.js";
import type { BranchState } from "./select.js";

const enabled = process.env.NODE_ENV !== "production";
/** Sources of branch functions already warned about. */
const warned = new Set<string>();
/** Sources of functions seen (a hoisted branch function is one object: its source is read once). */
const sources = new WeakMap<object, string>();
const MAX_SOURCE = 120;

function sourceOf(fn: (...args: never[]) => unknown): string {
  let src = sources.get(fn);
  if (src !== undefined) return src;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    src = fn.name;
  }
  if (src.length > MAX_SOURCE) src = `${src.slice(0, MAX_SOURCE)}…`;
  sources.set(fn, src);
  return src;
}

/**
 * @internal Marks branch `b` (function `fn`, which returned `p`) as one nothing can withdraw, if
 * warnings are on and it was not warned about yet.
 */
export function noteUnclaimable(b: BranchState, fn: (...args: never[]) => unknown, p: unknown): void {
  if (!enabled || p === null || (typeof p !== "object" && typeof p !== "function")) return; // a plain value: nothing runs on
  const src = sourceOf(fn);
  if (warned.has(src)) return;
  b.unclaimed = (lost) => {
    // A promise that had already settled (`() => Promise.resolve(x)`) has had its callbacks run by
    // the next macrotask turn: only a branch still pending then is still running.
    setImmediate(() => {
      if (lost.settled || warned.has(src)) return;
      warned.add(src);
      process.emitWarning(
        `select branch '${lost.key}' lost while it was still running, and nothing can withdraw it: it is not an async function, ` +
          "declares no signal parameter and started no steward wait synchronously. A steward wait it starts later (in a .then " +
          "callback or a timer) is outside the claim, and what it takes is lost. Declare the parameter and pass the signal on " +
          `(\`(signal) => ...\`), or make the branch an async function. Branch: ${src}`,
        { type: "StewardWarning", code: "STEWARD_SELECT_UNCLAIMED" },
      );
    });
  };
  markSettleNeeded(b.group);
}
