/**
 * The live console (API.md §9): what every task is doing right now, after tokio-console.
 *
 * `new Runtime({ console: true })` (or `{ port, host, token, retainMs, lints, ... }`, or the
 * STEWARD_CONSOLE environment variable) instruments the runtime's tasks and serves them on
 * http://127.0.0.1:6669/ — a web page, a JSON snapshot and an event stream — for
 * `npx steward console` and browsers. `runtime.dump().console` has the same data without a
 * server; `consoleOf(runtime)` gives the console itself.
 *
 * Off (the default) it costs nothing: no promise hook, no timer, one null check at each core
 * hook site. See ./collector.ts for how tasks are timed.
 */
export { consoleOf, RuntimeConsole } from "./runtime-console.js";
export type { ConsoleHost } from "./runtime-console.js";
export { instrumentationActive } from "./collector.js";
export { recordBlocked } from "../core/instrument.js";
export type { BlockedEventLike } from "../core/instrument.js";
export { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT, DEFAULT_LINTS } from "./options.js";
export type { ConsoleLintOptions, ConsoleOptions } from "./options.js";
export { formatSnapshot } from "./format.js";
export { METER_NAME } from "./metrics.js";
export type {
  BlockedEpisode,
  ConsoleDelta,
  ConsoleHeader,
  ConsoleSnapshot,
  ConsoleWarning,
  LintKind,
  ResourceSnapshot,
  TaskOutcome,
  TaskSnapshot,
  TaskState,
} from "./types.js";
