/**
 * The watchdog's report. Every record goes through {@link write}: one writeSync to file
 * descriptor 2 per record, at once, because a worker's process.stderr is relayed through the main
 * thread, which is the thread that is blocked. (A logger on the main thread gets the same events
 * afterwards, from the Supervisor's listeners.)
 *
 * Human lines: `steward supervisor: main thread blocked for 101 ms (episode 3) in task ...`, the
 * frames, and `... unblocked after 664 ms (episode 3)`. `report: "json"` writes one object per
 * line with the same `episode` ids.
 */
import { writeSync } from "node:fs";
import type { Group } from "./groups.js";
import { type BlockedEvent, type Frame, type NativeState, now, type UnblockedEvent } from "./shared.js";

const PREFIX = "steward supervisor:";

export type Mode = "stderr" | "json" | "none";

/** The one place the watchdog writes: fd 2, at once, whole records. */
export function write(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr closed or full (EAGAIN on a non-blocking pipe): the report is lost, the watchdog goes on.
  }
}

function label(thread: "main" | number): string {
  return thread === "main" ? "main thread" : `worker thread ${thread}`;
}

function taskText(e: BlockedEvent): string {
  let s = "";
  if (e.task !== undefined) s += e.task.name !== undefined ? ` in task '${e.task.name}' (#${e.task.id})` : ` in task #${e.task.id}`;
  if (e.requestId !== undefined) s += ` [request ${e.requestId}]`;
  return s;
}

function insideText(e: BlockedEvent): string {
  const i = e.inside;
  if (i === undefined) return "";
  let size = "";
  if (i.size !== undefined) {
    if (i.call === "JSON.parse" || i.call === "Buffer.from") size = ` of ${sizeText(i.size)} characters`;
    else if (i.call.startsWith("crypto.generate")) size = i.size > 0 ? ` (${i.size} bits)` : "";
    else if (i.call === "crypto.pbkdf2Sync") size = ` (${i.size} iterations)`;
    else size = ` of ${sizeText(i.size)} bytes`;
  }
  return `, inside ${i.call}${size} (running for ${i.sinceMs} ms)`;
}

function sizeText(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} K`;
  return String(n);
}

function starvedText(e: BlockedEvent): string {
  if (e.starvedMs === undefined || e.starvedMs * 2 < e.blockedMs) return "";
  return ` (but the thread waited ${e.starvedMs} ms of it for a CPU: the machine is overloaded, the stack may not be to blame)`;
}

/** One frame as a stack line: `    at fn (file:line:col)`, marked when it is not the app's. */
export function frameText(f: Frame): string {
  if (f.kind === "collapsed") return `    ${f.functionName}`;
  if (f.kind === "native" || f.file === "") return `    at ${f.functionName} (native)`;
  return `    at ${f.functionName} (${f.file}:${f.line}:${f.column})${f.kind === "library" && f.package !== undefined ? ` [${f.package}]` : ""}`;
}

function framesText(stack: readonly Frame[]): string {
  let s = "";
  for (const f of stack) s += `${frameText(f)}\n`;
  return s;
}

function nativeText(n: NativeState | undefined): string {
  if (n === undefined) return "outside JavaScript";
  if (n.syscall === "running" || n.state === "R") return `busy outside JavaScript (native code on the CPU, state ${n.state})`;
  const parts = [`in system call ${n.syscall ?? "?"}`];
  if (n.wchan !== undefined) parts.push(`kernel wait ${n.wchan}`);
  parts.push(`state ${n.state}`);
  return `inside a native call (${parts.join(", ")})`;
}

function json(record: Record<string, unknown>): void {
  write(`${JSON.stringify({ steward: "supervisor", ...record, writtenAt: Math.round(now() * 1000) / 1000 })}\n`);
}

function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}

/** The first line of a full report; written before the frames are source-mapped. */
export function blockedHeader(e: BlockedEvent): string {
  let head = `${PREFIX} ${label(e.thread)} blocked for ${e.blockedMs} ms (episode ${e.episode})${insideText(e)}${taskText(e)}${starvedText(e)}`;
  if (e.stackCapture === "late") head += `; the stack was taken late, when the native call returned (${e.stackNote ?? ""})`;
  else if (e.stackCapture === "unavailable") head += ` (no stack: ${e.stackNote ?? "unavailable"})`;
  else if (e.stackCapture === "off") head += " (stack capture is off)";
  else if (e.stackNote !== undefined) head += ` (${e.stackNote})`;
  return head;
}

/** The full report's header, at once (human mode only: a JSON record waits for its frames). */
export function reportHeader(mode: Mode, e: BlockedEvent): void {
  if (mode === "stderr") write(`${blockedHeader(e)}\n`);
}

/** The full report's frames (human mode), or the whole record (json). */
export function reportFrames(mode: Mode, e: BlockedEvent): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "blocked", ...e });
  if (e.stack.length > 0) write(framesText(e.stack));
}

/** A header and frames together, for reports whose frames need no mapping. */
export function reportBlocked(mode: Mode, e: BlockedEvent): void {
  if (mode === "stderr") write(`${blockedHeader(e)}\n${framesText(e.stack)}`);
  else reportFrames(mode, e);
}

/** Library frames mapped after the JSON record went out (its first line is never held up by a map load). */
export function reportEnriched(mode: Mode, e: BlockedEvent): void {
  if (mode === "json") json({ event: "stack", thread: e.thread, episode: e.episode, enriched: true, stack: e.stack, stackCapture: e.stackCapture });
}

/** A repeat of a stack reported in full before: one line. */
export function reportRepeat(mode: Mode, e: BlockedEvent, headline: Frame | undefined): void {
  if (mode === "none") return;
  const r = e.repeat!;
  if (mode === "json") {
    const { stack: _stack, ...rest } = e;
    return json({ event: "blocked", ...rest, sameStackAs: r.of });
  }
  write(
    `${PREFIX} ${label(e.thread)} blocked for ${e.blockedMs} ms (episode ${e.episode})${insideText(e)}${taskText(e)}${starvedText(e)}, ` +
      `the same stack as episode ${r.of} (${r.count} times since ${clock(r.firstSeen)})${headline !== undefined ? `:${frameText(headline).replace(/^ {4}/, " ")}` : ""}\n`,
  );
}

/** The first half of a report when the stack cannot be taken yet (the thread is in native code). */
export function reportPending(mode: Mode, e: BlockedEvent, why?: string): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "blocked", ...e, stackCapture: "pending" });
  const follows = why === undefined ? "when it returns to JavaScript" : "when it runs again";
  write(`${PREFIX} ${label(e.thread)} blocked for ${e.blockedMs} ms (episode ${e.episode}), ${why ?? nativeText(e.native)}${starvedText(e)}; the stack follows ${follows}\n`);
}

/** The second half: the stack, taken once the native call returned (or why there is none). */
export function reportLateStack(mode: Mode, e: BlockedEvent, lateByMs: number, full: boolean): void {
  if (mode === "none") return;
  if (mode === "json") {
    const { thread, episode, stack, task, requestId, stackCapture, stackNote, repeat } = e;
    return json({ event: "stack", thread, episode, at: now(), lateByMs, stack: full ? stack : undefined, task, requestId, stackCapture, stackNote, repeat });
  }
  if (e.stackCapture !== "late" && e.stackCapture !== "live") {
    write(`${PREFIX} ${label(e.thread)} (episode ${e.episode}): no stack (${e.stackNote ?? "unavailable"})\n`);
    return;
  }
  const when =
    e.stackCapture === "late"
      ? `taken ${lateByMs} ms late when the native call returned${taskText(e)} (the blocking caller may already have returned)`
      : e.stackNote !== undefined
        ? `recorded while blocked, read ${lateByMs} ms after detection when the thread ran again (${e.stackNote})`
        : `taken ${lateByMs} ms after detection, while still blocked${taskText(e)}`;
  const head = `${PREFIX} ${label(e.thread)} stack (episode ${e.episode}), ${when}`;
  if (full) write(`${head}:\n${framesText(e.stack)}`);
  else write(`${head}: the same stack as episode ${e.repeat?.of ?? e.episode}\n`);
}

export function reportUnblocked(mode: Mode, e: UnblockedEvent): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "unblocked", ...e });
  write(`${PREFIX} ${label(e.thread)} unblocked after ${e.blockedMs} ms (episode ${e.episode})\n`);
}

/** Folded repeats of one stack since the last summary. */
export function reportSummary(mode: Mode, s: { group: Group; folded: number; ended: number; totalMs: number; minMs: number; maxMs: number; sinceMs: number }): void {
  if (mode === "none") return;
  const g = s.group;
  const shown = g.lastFull > -Infinity;
  if (mode === "json") {
    return json({
      event: "summary",
      thread: g.thread,
      sameStackAs: shown ? g.of : undefined,
      headline: g.headline,
      episodes: s.folded,
      ended: s.ended,
      totalMs: Math.round(s.totalMs),
      minMs: s.ended > 0 ? s.minMs : undefined,
      maxMs: s.ended > 0 ? s.maxMs : undefined,
      windowMs: Math.round(s.sinceMs),
      count: g.count,
      firstSeen: g.firstSeen,
      lastSeen: g.lastSeen,
    });
  }
  const what = shown ? `with the same stack as episode ${g.of}` : "with a stack not reported in full (rate limit)";
  const durations = s.ended > 0 ? `: ${s.minMs === s.maxMs ? `${s.minMs} ms` : `${s.minMs}–${s.maxMs} ms`} each, ${(s.totalMs / 1000).toFixed(1)} s in all` : "";
  const head = g.headline !== undefined ? ` (${frameText(g.headline).trim()})` : "";
  write(
    `${PREFIX} ${label(g.thread)} blocked ${s.folded} more time${s.folded === 1 ? "" : "s"} in the last ${Math.max(1, Math.round(s.sinceMs / 1000))} s ${what}${head}${durations}; ` +
      `${g.count} times since ${clock(g.firstSeen)}, last at ${clock(g.lastSeen)}\n`,
  );
}

/** The thread stopped because a debugger paused it: not a blocked loop, so no report beyond this line. */
export function reportDebuggerPause(mode: Mode, thread: "main" | number, stoppedMs: number): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "debugger-paused", thread, stoppedMs, at: now() });
  write(`${PREFIX} ${label(thread)} stopped for ${stoppedMs} ms because a debugger paused it; not reported as blocked\n`);
}

/** Something about the supervisor itself worth one line (the inspector is unavailable, ...). */
export function reportNote(mode: Mode, text: string): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "note", text, at: now() });
  write(`${PREFIX} ${text}\n`);
}
