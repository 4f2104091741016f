/**
 * Source-maps "file:line:col" positions of the console's spawn sites (and the recorder's), as the
 * supervisor does for its stacks: the script's trailing `//# sourceMappingURL=` comment, a .map
 * file or an inline data: URL (util/source-map.ts). Runs only when a site is first formatted for
 * a view, never on a spawn.
 */
import { localPath, SourceMaps, type SourcePosition } from "../../util/source-map.js";

/** A map bigger than this is not loaded on the main thread (a bundle's map can take 100 ms to parse). */
const maps = new SourceMaps(500, 8 * 1024 * 1024);

/** The original position of `file:line:col` (1-based), or undefined when there is no map for it. */
export function mapPosition(file: string, line: number, column: number): SourcePosition | undefined {
  const path = localPath(file);
  return path === undefined ? undefined : maps.map(path, line, column);
}

const FRAME_RE = /^(.*?)(\(?)((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)(\)?)$/;

/**
 * A V8 frame's text ("fn (/app/dist/x.js:3:7)" or "/app/dist/x.js:3:7") with its position mapped
 * to the source ("fn (/app/src/x.ts:12:5)"); the text unchanged when there is no map.
 */
export function mapFrameText(text: string): string {
  const m = FRAME_RE.exec(text);
  if (m === null) return text;
  const pos = mapPosition(m[3]!, Number(m[4]), Number(m[5]));
  if (pos === undefined) return text;
  return `${m[1]}${m[2]}${pos.file}:${pos.line}:${pos.column}${m[6]}`;
}
