/**
 * What a thread blocked outside JavaScript is doing, read from /proc on Linux. Used by the
 * watchdog when the stack cannot be taken at once (the inspector's interrupt lands only when a
 * native call returns to JavaScript).
 */
import { readFileSync, readlinkSync } from "node:fs";
import type { NativeState } from "./shared.js";

// Syscalls a blocked Node thread is commonly found in, by number, per architecture.
const X64: Record<number, string> = {
  0: "read",
  1: "write",
  3: "close",
  4: "stat",
  5: "fstat",
  6: "lstat",
  7: "poll",
  8: "lseek",
  9: "mmap",
  11: "munmap",
  16: "ioctl",
  17: "pread64",
  18: "pwrite64",
  19: "readv",
  20: "writev",
  22: "pipe",
  23: "select",
  35: "nanosleep",
  40: "sendfile",
  42: "connect",
  43: "accept",
  44: "sendto",
  45: "recvfrom",
  46: "sendmsg",
  47: "recvmsg",
  56: "clone",
  57: "fork",
  59: "execve",
  61: "wait4",
  72: "fcntl",
  74: "fsync",
  75: "fdatasync",
  202: "futex",
  217: "getdents64",
  230: "clock_nanosleep",
  232: "epoll_wait",
  247: "waitid",
  257: "openat",
  262: "newfstatat",
  270: "pselect6",
  271: "ppoll",
  281: "epoll_pwait",
  288: "accept4",
  293: "pipe2",
  318: "getrandom",
  332: "statx",
  435: "clone3",
  441: "epoll_pwait2",
};
const ARM64: Record<number, string> = {
  22: "epoll_pwait",
  29: "ioctl",
  56: "openat",
  57: "close",
  61: "getdents64",
  63: "read",
  64: "write",
  65: "readv",
  66: "writev",
  67: "pread64",
  68: "pwrite64",
  71: "sendfile",
  72: "pselect6",
  73: "ppoll",
  79: "newfstatat",
  80: "fstat",
  82: "fsync",
  83: "fdatasync",
  95: "waitid",
  98: "futex",
  101: "nanosleep",
  115: "clock_nanosleep",
  202: "accept",
  203: "connect",
  206: "sendto",
  207: "recvfrom",
  211: "sendmsg",
  212: "recvmsg",
  220: "clone",
  221: "execve",
  242: "accept4",
  260: "wait4",
  278: "getrandom",
  291: "statx",
  435: "clone3",
  441: "epoll_pwait2",
};

function syscallName(nr: number): string {
  const table = process.arch === "x64" ? X64 : process.arch === "arm64" ? ARM64 : undefined;
  return table?.[nr] ?? `syscall ${nr}`;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The thread's state, or undefined where /proc is not there (not Linux) or the thread is gone. */
export function readNative(pid: number, tid: number | undefined): NativeState | undefined {
  if (tid === undefined || process.platform !== "linux") return undefined;
  const dir = `/proc/${pid}/task/${tid}`;
  const stat = read(`${dir}/stat`);
  if (stat === undefined) return undefined;
  // "tid (comm) S ...": comm may hold spaces and parentheses, so split at the last ")".
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?";
  const out: NativeState = { state };
  const sc = read(`${dir}/syscall`);
  if (sc !== undefined) {
    const first = sc.split(" ")[0] ?? "";
    if (first === "running") out.syscall = "running";
    else if (/^-?\d+$/.test(first) && first !== "-1") out.syscall = syscallName(Number(first));
  }
  const wchan = read(`${dir}/wchan`);
  if (wchan !== undefined && wchan !== "" && wchan !== "0") out.wchan = wchan;
  return out;
}

/** True when the thread sits in a system call rather than on the CPU. */
export function inSyscall(n: NativeState | undefined): boolean {
  return n !== undefined && n.state !== "R" && n.syscall !== undefined && n.syscall !== "running";
}

/** True while the thread exists (always true where /proc cannot tell). */
export function threadAlive(pid: number, tid: number | undefined): boolean {
  if (tid === undefined || process.platform !== "linux") return true;
  return read(`/proc/${pid}/task/${tid}/stat`) !== undefined;
}

/** This thread's kernel thread id (Linux), for the watchdog to read its /proc entry. */
export function currentTid(): number | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    const m = /task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** CPU time a thread ran, and time it spent runnable but waiting for a CPU, in ns (Linux schedstat). */
export interface SchedSample {
  runNs: number;
  waitNs: number;
}

export function readSchedstat(pid: number, tid: number | undefined): SchedSample | undefined {
  if (tid === undefined || process.platform !== "linux") return undefined;
  const s = read(`/proc/${pid}/task/${tid}/schedstat`);
  if (s === undefined) return undefined;
  const [run, wait] = s.split(" ");
  const runNs = Number(run);
  const waitNs = Number(wait);
  return Number.isFinite(runNs) && Number.isFinite(waitNs) ? { runNs, waitNs } : undefined;
}
