/**
 * `steward/recorder` — the flight recorder: what the runtime did in the seconds before something
 * went wrong, kept in a fixed ring of events in memory and written to a file when it does.
 *
 * On by default under `runMain` (off: `runMain(main, { recorder: false })`, or
 * `STEWARD_RECORDER=0`); elsewhere `new Runtime({ recorder: true })` or `{ bytes, dir, ... }`.
 * A dump is written, naming its trigger, on a blocked event loop, an unobserved task panic, a
 * shutdown that is stuck or unclean, SIGUSR2, `POST /api/recorder/dump` on the console, or
 * {@link dumpFlightRecorder}. `npx steward replay FILE` shows one as a timeline (browser or
 * terminal). The file format is in ./format.ts. The runtime loads this part only when asked;
 * importing the package root loads none of it.
 */
import { activeRecorder, requestDump } from "./attach.js";

export { DEFAULT_RECORDER_BYTES } from "./options.js";
export type { RecorderOptions, RecorderTriggers } from "./options.js";
export { FORMAT_VERSION } from "./format.js";
export type { DumpEpisode, DumpHeader, DumpLiveTask, TriggerKind } from "./format.js";
export { decodeRecording, readRecording, RecordingFormatError, stateAt } from "./reader.js";
export type { RecResource, RecSpan, RecTask, Recording, SpanKind, TaskState } from "./reader.js";
export { recordShed } from "../core/instrument.js";
export type { ShedReason } from "../core/instrument.js";

/**
 * Writes a dump of the flight recorder now (trigger "api"), off the event loop. Resolves with the
 * file's path, or undefined when no recorder is on, or the request was rate-limited (at most one
 * per second, and `maxPerHour` in all). Never rejects.
 * @param reason written into the dump with its trigger.
 */
export async function dumpFlightRecorder(reason?: string): Promise<string | undefined> {
  if (reason !== undefined && typeof reason !== "string") throw new TypeError(`reason must be a string, got ${typeof reason}`);
  return (await requestDump("api", reason)).file;
}

/** True while a flight recorder is on in this process. */
export function flightRecorderActive(): boolean {
  return activeRecorder() !== undefined;
}
