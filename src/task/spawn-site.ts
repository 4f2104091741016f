/**
 * Where a task was spawned. V8 captures structured frames when the holder is made (≈ 4 µs on this
 * machine, because async stack traces are walked too), and formats them only when `.stack` is
 * read, so reading the site later is what costs, not keeping it. Which tasks capture is
 * `configure({ spawnSites })`: by default only named tasks, which are the long-lived ones that
 * stuck-task reports are about; the hot path of unnamed spawns captures nothing.
 */
import { fileURLToPath } from "node:url";
import { OWN_DIR } from "../util/own-files.js";

export interface SpawnSite {
  stack?: string;
}

export function captureSpawnSite(): SpawnSite {
  const holder: SpawnSite = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  Error.captureStackTrace(holder, captureSpawnSite);
  Error.stackTraceLimit = limit;
  return holder;
}

/** "file:line:col" (or "fn (file:line:col)") of the first frame outside steward; "unknown" if none. */
export function formatSpawnSite(site: SpawnSite | undefined): string {
  if (site === undefined) return "unknown";
  const stack = site.stack;
  if (typeof stack !== "string") return "unknown";
  const lines = stack.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith("at ")) continue;
    const frame = line.slice(3);
    const path = frame.includes("file://") ? safePath(frame) : frame;
    if (path.includes(OWN_DIR) || path.includes("node:internal")) continue;
    return path;
  }
  return "unknown";
}

function safePath(frame: string): string {
  return frame.replace(/file:\/\/[^\s):]+/, (url) => {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  });
}
