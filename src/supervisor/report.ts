/**
 * The watchdog's report, written straight to file descriptor 2 with one writeSync per record: a
 * worker's process.stderr is relayed through the main thread, which is the thread that is blocked.
 */
import { writeSync } from "node:fs";
import { type BlockedEvent, type Frame, type NativeState, now, type UnblockedEvent } from "./shared.js";

const PREFIX = "steward supervisor:";

function write(text: string): void {
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

function starvedText(e: BlockedEvent): string {
  if (e.starvedMs === undefined || e.starvedMs * 2 < e.blockedMs) return "";
  return ` (but the thread waited ${e.starvedMs} ms of it for a CPU: the machine is overloaded, the stack may not be to blame)`;
}

function framesText(stack: Frame[]): string {
  let s = "";
  for (const f of stack) s += `    at ${f.functionName} (${f.file}:${f.line}:${f.column})\n`;
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

type Mode = "stderr" | "json" | "none";

/** The full report of a block: header and stack. */
export function reportBlocked(mode: Mode, e: BlockedEvent): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "blocked", ...e });
  let head = `${PREFIX} ${label(e.thread)} blocked for ${e.blockedMs} ms${taskText(e)}${starvedText(e)}`;
  if (e.stackCapture === "late") head += `; the stack was taken late, when the native call returned (${e.stackNote ?? ""})`;
  else if (e.stackCapture === "unavailable") head += ` (no stack: ${e.stackNote ?? "unavailable"})`;
  else if (e.stackCapture === "off") head += " (stack capture is off)";
  write(`${head}\n${framesText(e.stack)}`);
}

/** The first half of a report when the stack cannot be taken yet (the thread is in native code). */
export function reportPending(mode: Mode, e: BlockedEvent): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "blocked", ...e, stackCapture: "pending" });
  write(`${PREFIX} ${label(e.thread)} blocked for ${e.blockedMs} ms, ${nativeText(e.native)}${starvedText(e)}; the stack follows when it returns to JavaScript\n`);
}

/** The second half: the stack, taken once the native call returned. */
export function reportLateStack(mode: Mode, e: BlockedEvent, lateByMs: number): void {
  if (mode === "none") return;
  if (mode === "json") {
    const { thread, stack, task, requestId, stackCapture, stackNote } = e;
    return json({ event: "stack", thread, at: now(), lateByMs, stack, task, requestId, stackCapture, stackNote });
  }
  if (e.stackCapture !== "late") {
    write(`${PREFIX} ${label(e.thread)}: no stack (${e.stackNote ?? "unavailable"})\n`);
    return;
  }
  write(`${PREFIX} ${label(e.thread)} stack, taken ${lateByMs} ms late when the native call returned${taskText(e)} (the blocking caller may already have returned):\n${framesText(e.stack)}`);
}

export function reportUnblocked(mode: Mode, e: UnblockedEvent): void {
  if (mode === "none") return;
  if (mode === "json") return json({ event: "unblocked", ...e });
  write(`${PREFIX} ${label(e.thread)} unblocked after ${e.blockedMs} ms\n`);
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
