/** How the supervisor attaches to a Runtime created with `supervisor`: see runtime/extension.ts. */
import { recordBlocked } from "../core/instrument.js";
import type { ExtensionHost, RuntimeExtension } from "../runtime/extension.js";
import { Supervisor, type SupervisorOptions } from "./index.js";

/**
 * @internal Loaded by the runtime on demand. One supervisor per thread: the first runtime's
 * options win; it is stopped in that runtime's drop phase.
 */
export const runtimeExtension: RuntimeExtension = {
  attach(host: ExtensionHost, option: unknown) {
    if (Supervisor.current() !== undefined) return undefined;
    const sup = Supervisor.start(option === true ? {} : (option as SupervisorOptions));
    sup.on("blocked", recordBlocked); // the console's never-yielded lint and blocked episodes
    host.defer(() => sup.stop(), "supervisor");
    return undefined;
  },
};
