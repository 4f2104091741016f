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
const MAX_SOURCE = 120;

function sourceOf(fn: (...args: never[]) => unknown): string {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    src = fn.name;
  }
  return src.length > MAX_SOURCE ? `${src.slice(0, MAX_SOURCE)}…` : src;
}

/** @internal Marks branch `b` (function `fn`) as one nothing can withdraw, if warnings are on and it was not warned about yet. */
export function noteUnclaimable(b: BranchState, fn: (...args: never[]) => unknown): void {
  if (!enabled) return;
  const src = sourceOf(fn);
  if (warned.has(src)) return;
  b.unclaimed = (lost) => {
    if (warned.has(src)) return;
    warned.add(src);
    process.emitWarning(
      `select branch '${lost.key}' lost while it was still running, and nothing can withdraw it: it is not an async function, ` +
        "declares no signal parameter and started no steward wait synchronously. A steward wait it starts later (in a .then " +
        "callback or a timer) is outside the claim, and what it takes is lost. Declare the parameter and pass the signal on " +
        `(\`(signal) => ...\`), or make the branch an async function. Branch: ${src}`,
      { type: "StewardWarning", code: "STEWARD_SELECT_UNCLAIMED" },
    );
  };
  markSettleNeeded(b.group);
}
