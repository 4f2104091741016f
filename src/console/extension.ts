/** How the console attaches to a Runtime created with `console` (or STEWARD_CONSOLE): see runtime/extension.ts. */
import type { ExtensionHost, RuntimeExtension } from "../runtime/extension.js";
import { formatConsoleSummary } from "./client/format.js";
import { resolveConsoleOptions } from "./options.js";
import { type ConsoleHost, startConsole } from "./runtime-console.js";
import type { ConsoleSnapshot } from "./model/types.js";

/** @internal Loaded by the runtime on demand; `dump().console` is the console's snapshot. */
export const runtimeExtension: RuntimeExtension = {
  attach(host: ExtensionHost, option: unknown) {
    const options = resolveConsoleOptions(option as Parameters<typeof resolveConsoleOptions>[0]);
    if (options === undefined) return undefined;
    const c = startConsole(host as ConsoleHost, options);
    return {
      dump: () => c.snapshot(),
      format: (data) => formatConsoleSummary(data as ConsoleSnapshot).trimEnd(),
    };
  },
};
