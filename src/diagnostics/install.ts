/**
 * Fills the core's diagnostics slot (core/holds.ts) with the deadlock detector and the
 * lock-order checker (and the acquisition-site recorder under `lockSites`), and empties it when
 * `configure()` turns both off. Loaded with the runtime
 * (every task needs one), so the primitives themselves never import any of this.
 */
import { config, onConfigChange } from "../core/config.js";
import { type DiagHooks, setAcquireSite, setDiagHooks } from "../core/holds.js";
import { noteAcquired, noteQueuedSite } from "./acquire-site.js";
import { noteQueued } from "./detector.js";
import { handedOver } from "./handover.js";
import { checkOrder } from "./lock-order.js";

const hooks: DiagHooks = { queued: noteQueued, ordered: checkOrder, handedOver };

function apply(c: typeof config): void {
  const on = c.deadlocks !== "off" || c.lockOrder !== "off";
  setDiagHooks(on ? hooks : null);
  // Acquisition sites need the diagnostics' record of each task's latest wait (task.wait).
  setAcquireSite(on && c.lockSites ? noteAcquired : null, on && c.lockSites ? noteQueuedSite : null);
}

apply(config);
onConfigChange(apply);
