/** How the supervisor attaches to a Runtime created with `supervisor`: see runtime/extension.ts. */
import { recordBlocked } from "../core/instrument.js";
import type { ExtensionHost, RuntimeExtension } from "../runtime/extension.js";
import { type BlockedEvent, Supervisor, type SupervisorOptions, SupervisorUnavailableError, type UnblockedEvent } from "./index.js";

/**
 * @internal Loaded by the runtime on demand. One supervisor per thread: the first runtime's
 * options win; it is stopped in that runtime's drop phase. Where the supervisor cannot run (Node's
 * permission model without --allow-worker), the app still starts: one warning says why the
 * supervisor is off.
 */
export const runtimeExtension: RuntimeExtension = {
  attach(host: ExtensionHost, option: unknown) {
    if (Supervisor.current() !== undefined) return undefined;
    let sup: Supervisor;
    try {
      sup = Supervisor.start(option === true || option === undefined ? {} : (option as SupervisorOptions));
    } catch (e) {
      if (!(e instanceof SupervisorUnavailableError)) throw e; // a bad option: the caller's to fix
      process.emitWarning(`the supervisor is off: ${e.message.replace(/^Supervisor\.start\(\): /, "")}`, {
        type: "StewardWarning",
        code: "STEWARD_SUPERVISOR_OFF",
      });
      return undefined;
    }
    // The observers (console, recorder) get both events of each episode under its id: "blocked"
    // with the stack (has `stack`), "unblocked" with the final duration (has none).
    const feed = (e: BlockedEvent | UnblockedEvent): void => recordBlocked(Object.assign({ id: e.episode }, e));
    sup.on("blocked", feed).on("unblocked", feed);
    host.defer(() => sup.stop(), "supervisor");
    return undefined;
  },
};
