/**
 * Fills the core's diagnostics slot (core/holds.ts) with the deadlock detector and the
 * lock-order checker, and empties it when `configure()` turns both off. Loaded with the runtime
 * (every task needs one), so the primitives themselves never import any of this.
 */
import { config, onConfigChange } from "../core/config.js";
import { type DiagHooks, setDiagHooks } from "../core/holds.js";
import { noteQueued } from "./detector.js";
import { handedOver } from "./handover.js";
import { checkOrder } from "./lock-order.js";

const hooks: DiagHooks = { queued: noteQueued, ordered: checkOrder, handedOver };

function apply(c: typeof config): void {
  setDiagHooks(c.deadlocks === "off" && c.lockOrder === "off" ? null : hooks);
}

apply(config);
onConfigChange(apply);
