/**
 * `steward/console` — the live console: what every task is doing right now, after tokio-console.
 *
 * `new Runtime({ console: true })` (or `{ port, host, token, retainMs, lints, ... }`, or the
 * STEWARD_CONSOLE environment variable) instruments the runtime's tasks and serves them on
 * http://127.0.0.1:6669/ — a web page, a JSON snapshot and an event stream — for
 * `npx steward console` and browsers. `runtime.dump().console` has the same data without a
 * server; `consoleOf(runtime)` gives the console itself. The runtime loads this part only when
 * asked; importing the package root loads none of it.
 *
 * Layout: model/ (the records and the JSON a view shows), instrument/ (the hooks that fill the
 * records), server/ (HTTP, the event stream), client/ (the terminal UI and the web page),
 * metrics/ (OpenTelemetry).
 *
 * Off (the default) it costs nothing: no promise hook, no timer, one null check at each core
 * hook site.
 */
export { consoleOf, RuntimeConsole } from "./runtime-console.js";
export type { ConsoleHost } from "./runtime-console.js";
export { instrumentationActive } from "./instrument/collector.js";
export { recordBlocked } from "../core/instrument.js";
export type { BlockedEventLike, BlockedFrameLike } from "../core/instrument.js";
export { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT, DEFAULT_LINTS } from "./options.js";
export type { ConsoleLintOptions, ConsoleOptions } from "./options.js";
export { formatSnapshot } from "./client/format.js";
export { METER_NAME } from "./metrics/otel.js";
export type { MeterLike, MeterProviderLike } from "./metrics/otel.js";
export type {
  BlockedEpisode,
  BlockedGroup,
  ConsoleDelta,
  ConsoleHeader,
  ConsoleSnapshot,
  ConsoleWarning,
  LintKind,
  ResourceChange,
  ResourceSnapshot,
  TaskChange,
  TaskOutcome,
  TaskSnapshot,
  TaskState,
} from "./model/types.js";
