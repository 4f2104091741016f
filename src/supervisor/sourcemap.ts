/**
 * Source-mapping of stack frames, on the watchdog thread: reads a script's trailing
 * `//# sourceMappingURL=` comment and loads the map (util/source-map.ts). Nothing of this runs on a
 * watched thread.
 */
import { localPath, SourceMaps } from "../util/source-map.js";
import type { Frame, RawFrame } from "./shared.js";

export { localPath };

const maps = new SourceMaps(2000);

/**
 * Turns a probe frame into a public Frame: local paths, and the original source where mapped.
 * With `cachedOnly`, a map not loaded yet is not loaded now (loading a library's large map takes
 * tens of ms): the frame stays unmapped and `pending` says a load would map it.
 */
export function toFrame(raw: RawFrame, sourceMaps: boolean, cachedOnly = false): { frame: Frame; pending: boolean } {
  const [functionName, file, line, column] = raw;
  const path = localPath(file);
  const frame: Frame = { functionName, file: path ?? file, line, column };
  if (!sourceMaps || path === undefined || line < 1) return { frame, pending: false };
  if (cachedOnly && !maps.has(path)) return { frame, pending: true };
  const pos = maps.map(path, line, column);
  if (pos === undefined) return { frame, pending: false };
  return { frame: { functionName, file: pos.file, line: pos.line, column: pos.column }, pending: false };
}
