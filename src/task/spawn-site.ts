/**
 * Where a task was spawned. V8 captures structured frames when the holder is made (≈ 4 µs on this
 * machine, because async stack traces are walked too), and formats them only when `.stack` is
 * read, so reading the site later is what costs, not keeping it. Which tasks capture is
 * `configure({ spawnSites })`: by default only named tasks, which are the long-lived ones that
 * stuck-task reports are about; the hot path of unnamed spawns captures nothing.
 *
 * A site is read as V8's call sites, never as formatted stack text (util/frame-text.ts): only
 * the user's frames are kept (as the capture's `.stack` from then on), and the first of them is
 * shown, source-mapped to the .ts line, its text cached per position and then on the site itself.
 * The first dump of 10 000 named tasks spawned at one line maps that line once.
 */
import { type CallSiteLike, frameText, isOwnFrame, positionText, readCallSites, userCallSites } from "../util/frame-text.js";

/**
 * A spawn site: a stack capture (V8's lazy `.stack`), or a site given as text (a request task's
 * `Request\n    at GET /users/:id (steward/fastify)`).
 */
export interface SpawnSite {
  stack?: unknown;
  /** The formatted site, once read (see {@link formatSpawnSite}). */
  text?: string;
}

/** How many of the user's frames a site keeps once read (the console's task view shows them). */
const USER_FRAMES = 8;

export function captureSpawnSite(): SpawnSite {
  const holder: SpawnSite = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  Error.captureStackTrace(holder, captureSpawnSite);
  Error.stackTraceLimit = limit;
  return holder;
}

const keepUserFrames = (cs: CallSiteLike[]): CallSiteLike[] => userCallSites(cs, USER_FRAMES);

/**
 * The user's frames of a site: call sites (read once, then kept as its `.stack`), or the text of
 * a stack formatted before (read by someone else first, or given as text). Never reads `.stack`
 * without the swap: the first read is the one that formats.
 */
function framesOf(site: SpawnSite): CallSiteLike[] | string | undefined {
  const got = readCallSites(site, keepUserFrames);
  return typeof got === "string" || Array.isArray(got) ? got : undefined;
}

/**
 * "fn (file:line:col)" (or "file:line:col") of the first frame outside steward, the path local and
 * the position source-mapped to the .ts source where a map exists; "unknown" if none. Cached on
 * the site.
 */
export function formatSpawnSite(site: SpawnSite | undefined): string {
  if (site === undefined) return "unknown";
  if (site.text !== undefined) return site.text;
  const frames = framesOf(site);
  let text = "unknown";
  if (typeof frames === "string") text = firstUserLine(frames);
  else if (frames !== undefined) {
    for (let i = 0; i < frames.length; i++) {
      const t = frameText(frames[i]!);
      if (t !== undefined) {
        text = t;
        break;
      }
    }
  }
  site.text = text;
  return text;
}

/** The user's frames of a site, innermost first, each `at fn (file:line:col)` (source-mapped): the console's spawn stack. */
export function spawnStack(site: SpawnSite | undefined): string[] {
  if (site === undefined) return [];
  const frames = framesOf(site);
  if (frames === undefined) return [];
  if (typeof frames === "string") return userLines(frames).map((l) => `at ${l}`);
  const out: string[] = [];
  for (const cs of frames) {
    const t = frameText(cs);
    if (t !== undefined) out.push(`at ${t}`);
  }
  return out;
}

const FRAME_RE = /^(.*?)(\(?)((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)(\)?)$/;

/** The frames of a stack given as text (`at fn (file:line:col)` lines) outside steward, as shown. */
function userLines(stack: string): string[] {
  const out: string[] = [];
  const lines = stack.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith("at ")) continue;
    const frame = line.slice(3);
    const m = FRAME_RE.exec(frame);
    if (m === null) {
      if (!frame.includes("node:internal")) out.push(frame);
      continue;
    }
    const file = m[3]!;
    if (isOwnFrame(file)) continue;
    out.push(`${m[1]}${m[2]}${positionText(file, Number(m[4]), Number(m[5]))}${m[6]}`);
  }
  return out;
}

function firstUserLine(stack: string): string {
  return userLines(stack)[0] ?? "unknown";
}
