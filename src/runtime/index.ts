/** Runtime and shutdown (API.md §7): the Runtime, its reports and dumps, and runMain. */
export { Runtime, getDefaultRuntime, currentRuntime, DEFAULT_SHUTDOWN_TIMEOUT_MS, FORCE_GRACE_MS } from "./runtime.js";
export type {
  ResourceInfo,
  RuntimeDump,
  RuntimeOptions,
  RuntimeState,
  ShutdownOptions,
  ShutdownReport,
  StopParticipant,
  TaskInfo,
  UnhandledPanicMode,
} from "./runtime.js";
export { runMain } from "./run-main.js";
export type { RunMainOptions } from "./run-main.js";
