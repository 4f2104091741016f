/** Runtime and shutdown (API.md §7): the Runtime, its reports and dumps, and runMain. */
export { Runtime, getDefaultRuntime, currentRuntime, DEFAULT_SHUTDOWN_TIMEOUT_MS, DEFAULT_COLLECT_TIMEOUT_MS, DEFAULT_DISPOSE_TIMEOUT_MS, FORCE_GRACE_MS } from "./runtime.js";
export type {
  DrainInfo,
  LostItem,
  PhaseTimes,
  ResourceInfo,
  RuntimeDump,
  RuntimeOptions,
  RuntimeState,
  ShutdownOptions,
  ShutdownReport,
  StopInfo,
  StopOutcome,
  StopParticipant,
  TaskGroup,
  TaskInfo,
  UnhandledPanicMode,
} from "./runtime.js";
export { runMain } from "./run-main.js";
export type { RunMainOptions } from "./run-main.js";
