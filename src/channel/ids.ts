/**
 * Per-process channel ids, shared by every channel kind, so waits show up in dumps as
 * "recv on channel#3", "changed on watch#4", ...
 */
import { checkOptions, checkSignal } from "../util/validate.js";

let nextId = 1;

/** @internal The next channel id (1, 2, 3, ...). */
export function nextChannelId(): number {
  return nextId++;
}

/** @internal The TypeError for `undefined`, which is no valid message (it means "closed"). */
export function undefinedMessage(where: string): TypeError {
  return new TypeError(`${where}: value must not be undefined (undefined is how a receiver learns the channel is closed)`);
}

/** @internal Validates a wait's options without starting a wait (for calls that fail early). */
export function checkWaitOptions(opts: unknown): void {
  checkOptions(opts);
  if (opts !== undefined) checkSignal((opts as { signal?: unknown }).signal);
}
