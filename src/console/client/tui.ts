/**
 * `steward console [URL]`: the terminal UI (plain ANSI, no dependency). It polls the console
 * server's /api/snapshot; `--once` prints one snapshot as tables and exits (for scripts), as does
 * any run whose stdin or stdout is not a terminal.
 *
 * Keys: ↑↓ (j/k) select · Enter detail · Esc back · ←→ (h/l) sort column · i invert ·
 * t/r/w/b tasks, resources, warnings, blocked episodes (Enter: a group's stack) · Tab next view ·
 * space pause · q quit.
 */
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { gunzip } from "node:zlib";
import { BUCKETS, bucketLabel, fmtMs } from "../model/histogram.js";
import { BLOCKED_COLUMNS, blockedStackLines, formatSnapshot, headerLines, RESOURCE_COLUMNS, table, TASK_COLUMNS } from "./format.js";
import { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT } from "../options.js";
import type { ConsoleSnapshot, TaskSnapshot } from "../model/types.js";

export const CONSOLE_HELP = `Usage: steward console [URL] [options]

Shows the tasks, resources and warnings of a program whose runtime runs with the console on
(new Runtime({ console: true }), or STEWARD_CONSOLE=1). URL defaults to
http://${DEFAULT_CONSOLE_HOST}:${DEFAULT_CONSOLE_PORT}/ ; "host:port" or a port number also work.

Options:
  --once            print one snapshot as tables and exit (also when not on a terminal)
  --json            with --once: print the snapshot's JSON instead
  --token TOKEN     the console's token (or ?token= in the URL, or STEWARD_CONSOLE_TOKEN)
  --interval MS     refresh period of the live view (default 1000)
  -h, --help        show this help

Keys: ↑↓/jk select, Enter task detail, Esc back, ←→/hl sort column, i invert,
      t tasks, r resources, w warnings, b blocked episodes (Enter: the stack),
      Tab next view, space pause, q quit.
`;

interface Args {
  url: URL;
  token: string | undefined;
  once: boolean;
  json: boolean;
  intervalMs: number;
}

function parseArgs(argv: string[]): Args | string {
  let raw: string | undefined;
  let token = process.env.STEWARD_CONSOLE_TOKEN || undefined;
  let once = false;
  let json = false;
  let intervalMs = 1000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--once") once = true;
    else if (a === "--json") json = true;
    else if (a === "--token") token = argv[++i];
    else if (a.startsWith("--token=")) token = a.slice(8);
    else if (a === "--interval") intervalMs = Number(argv[++i]);
    else if (a.startsWith("--interval=")) intervalMs = Number(a.slice(11));
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else if (raw === undefined) raw = a;
    else return `unexpected argument ${a}`;
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 100) return "--interval must be a number of ms >= 100";
  let s = raw ?? `http://${DEFAULT_CONSOLE_HOST}:${DEFAULT_CONSOLE_PORT}/`;
  if (/^\d+$/.test(s)) s = `http://${DEFAULT_CONSOLE_HOST}:${s}/`;
  else if (!/^https?:\/\//i.test(s)) s = `http://${s}`;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return `not a URL: ${raw}`;
  }
  const t = url.searchParams.get("token");
  if (t !== null) {
    token = t;
    url.searchParams.delete("token");
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return { url, token, once, json, intervalMs };
}

/**
 * node:http rather than fetch: fetch refuses the Fetch standard's "bad ports", and the console's
 * default, 6669 (tokio-console's), is one of them (an IRC port). It accepts gzip, as a browser
 * does: a snapshot of 2,000 tasks is ≈ 50 KiB compressed against ≈ 530 KiB, and the server
 * compresses each snapshot once, off its loop, for every reader.
 */
async function getJson<T>(args: Args, path: string): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", "accept-encoding": "gzip" };
  if (args.token !== undefined) headers.authorization = `Bearer ${args.token}`;
  const url = new URL(path, args.url);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsGet : httpGet)(url, { headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        if (res.headers["content-encoding"] !== "gzip") return resolve({ status: res.statusCode ?? 0, body: raw.toString("utf8") });
        gunzip(raw, (e, out) => (e === null ? resolve({ status: res.statusCode ?? 0, body: out.toString("utf8") }) : reject(e)));
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { name: "TimeoutError" })));
    req.on("error", (e) => reject(Object.assign(new Error(e.message), { cause: e })));
  });
  if (status === 401) throw new Error("the console requires a token: pass --token or ?token=");
  if (status < 200 || status >= 300) throw new Error(`HTTP ${status} from ${url.href}`);
  return JSON.parse(body) as T;
}

function describeError(e: unknown, url: URL): string {
  const cause = (e as { cause?: { code?: string } }).cause;
  if (cause?.code === "ECONNREFUSED") return `nothing listens at ${url.href} (is the runtime running with console: true or STEWARD_CONSOLE=1?)`;
  if (e instanceof Error) return e.name === "TimeoutError" ? `no answer from ${url.href} within 5 s` : e.message;
  return String(e);
}

/** Runs `steward console ...`; resolves with the exit code. */
export async function runConsoleCommand(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write(CONSOLE_HELP);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`steward console: ${args}\n\n${CONSOLE_HELP}`);
    return 2;
  }
  const interactive = !args.once && process.stdout.isTTY === true && process.stdin.isTTY === true;
  if (!interactive) {
    let snap: ConsoleSnapshot;
    try {
      snap = await getJson<ConsoleSnapshot>(args, "api/snapshot");
    } catch (e) {
      process.stderr.write(`steward console: ${describeError(e, args.url)}\n`);
      return 1;
    }
    process.stdout.write(args.json ? `${JSON.stringify(snap, null, 2)}\n` : formatSnapshot(snap, { width: process.stdout.isTTY ? process.stdout.columns : undefined }));
    return 0;
  }
  return new Tui(args).run();
}

// ---------------------------------------------------------------------------------------------

const ESC = "\x1b[";
const BOLD = `${ESC}1m`;
const DIM = `${ESC}2m`;
const INV = `${ESC}7m`;
const RESET = `${ESC}0m`;
const YELLOW = `${ESC}33m`;
const RED = `${ESC}31m`;
const GREEN = `${ESC}32m`;
const CYAN = `${ESC}36m`;

type View = "tasks" | "resources" | "warnings" | "blocked";
const VIEWS: readonly View[] = ["tasks", "resources", "warnings", "blocked"];

class Tui {
  private snap: ConsoleSnapshot | undefined;
  private error: string | undefined;
  private view: View = "tasks";
  private sortCol = 0;
  private sortDir = 1;
  private sel = 0;
  private top = 0;
  private detail: { id: number; stack?: string[] } | undefined;
  /** The blocked-episode group whose stack is shown (Enter in the blocked view). */
  private groupDetail: string | undefined;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private done!: (code: number) => void;

  constructor(private readonly args: Args) {}

  run(): Promise<number> {
    const out = process.stdout;
    out.write(`${ESC}?1049h${ESC}?25l`);
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", this.onKey);
    out.on("resize", this.draw);
    const code = new Promise<number>((resolve) => (this.done = resolve));
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.args.intervalMs);
    return code.finally(() => {
      clearInterval(this.timer);
      process.stdin.off("data", this.onKey);
      out.off("resize", this.draw);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      out.write(`${RESET}${ESC}?25h${ESC}?1049l`);
    });
  }

  private async poll(): Promise<void> {
    if (this.paused) return;
    try {
      this.snap = await getJson<ConsoleSnapshot>(this.args, "api/snapshot");
      this.error = undefined;
    } catch (e) {
      this.error = describeError(e, this.args.url);
    }
    this.draw();
  }

  private tasks(): TaskSnapshot[] {
    const col = TASK_COLUMNS[this.sortCol]!;
    const k = col.key;
    const dir = this.sortDir;
    return [...(this.snap?.tasks ?? [])].sort((a, b) => {
      const x = a[k];
      const y = b[k];
      if (x === y) return a.id - b.id;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * dir;
    });
  }

  private rowCount(): number {
    const s = this.snap;
    if (s === undefined) return 0;
    return this.view === "tasks" ? s.tasks.length : this.view === "resources" ? s.resources.length : this.view === "blocked" ? s.blockedGroups.length : s.warnings.length;
  }

  private readonly onKey = (buf: Buffer): void => {
    const k = buf.toString("utf8");
    const n = this.rowCount();
    const page = Math.max(1, (process.stdout.rows ?? 24) - 8);
    if (k === "q" || k === "\x03") return this.done(0);
    if (this.detail !== undefined || this.groupDetail !== undefined) {
      if (k === "\x1b" || k === "\x7f" || k === "\x1b[D" || k === "h" || k === "\r") this.detail = this.groupDetail = undefined;
      return this.draw();
    }
    switch (k) {
      case "\x1b[A":
      case "k":
        this.sel = Math.max(0, this.sel - 1);
        break;
      case "\x1b[B":
      case "j":
        this.sel = Math.min(Math.max(0, n - 1), this.sel + 1);
        break;
      case "\x1b[5~":
        this.sel = Math.max(0, this.sel - page);
        break;
      case "\x1b[6~":
        this.sel = Math.min(Math.max(0, n - 1), this.sel + page);
        break;
      case "g":
        this.sel = 0;
        break;
      case "G":
        this.sel = Math.max(0, n - 1);
        break;
      case "\x1b[D":
      case "h":
        this.sortCol = (this.sortCol + TASK_COLUMNS.length - 1) % TASK_COLUMNS.length;
        break;
      case "\x1b[C":
      case "l":
        this.sortCol = (this.sortCol + 1) % TASK_COLUMNS.length;
        break;
      case "i":
        this.sortDir = -this.sortDir;
        break;
      case "t":
        this.switchTo("tasks");
        break;
      case "r":
        this.switchTo("resources");
        break;
      case "w":
        this.switchTo("warnings");
        break;
      case "b":
        this.switchTo("blocked");
        break;
      case "\t":
        this.switchTo(VIEWS[(VIEWS.indexOf(this.view) + 1) % VIEWS.length]!);
        break;
      case " ":
        this.paused = !this.paused;
        break;
      case "\r": {
        if (this.view === "blocked") {
          this.groupDetail = this.snap?.blockedGroups[this.sel]?.key;
          break;
        }
        if (this.view !== "tasks") break;
        const t = this.tasks()[this.sel];
        if (t !== undefined) this.openDetail(t.id);
        break;
      }
    }
    this.draw();
  };

  private switchTo(v: View): void {
    this.view = v;
    this.sel = 0;
    this.top = 0;
  }

  private openDetail(id: number): void {
    this.detail = { id };
    getJson<{ spawnStack: string[] }>(this.args, `api/tasks/${id}`).then(
      (d) => {
        if (this.detail?.id === id) {
          this.detail.stack = d.spawnStack;
          this.draw();
        }
      },
      () => undefined,
    );
  }

  private readonly draw = (): void => {
    const cols = process.stdout.columns ?? 100;
    const rows = process.stdout.rows ?? 30;
    const lines: string[] = [];
    const s = this.snap;
    if (s === undefined) {
      lines.push(`${BOLD}steward console${RESET} — ${this.args.url.href}`, "", this.error === undefined ? "connecting…" : `${RED}${this.error}${RESET}`);
    } else {
      const [h1, h2] = headerLines(s);
      lines.push(`${BOLD}${h1}${RESET}`, h2!);
      const tabs = VIEWS.map((v) => {
        const n = v === "tasks" ? s.tasks.length : v === "resources" ? s.resources.length : v === "blocked" ? s.header.blockedEpisodes : s.warnings.length;
        const label = `${v[0]!.toUpperCase()}${v.slice(1)} (${n})`;
        return v === this.view && this.detail === undefined ? `${INV} ${label} ${RESET}` : ` ${label} `;
      }).join(" ");
      lines.push(tabs + (this.paused ? `  ${YELLOW}[paused]${RESET}` : "") + (this.error !== undefined ? `  ${RED}${this.error}${RESET}` : ""));
      const body = rows - lines.length - 1;
      if (this.detail !== undefined) lines.push(...this.detailLines(s, cols));
      else if (this.groupDetail !== undefined) lines.push(...blockedStackLines(s, this.groupDetail));
      else if (this.view === "blocked") lines.push(...this.listLines(table(s.blockedGroups, BLOCKED_COLUMNS, cols - 2), body));
      else if (this.view === "tasks") lines.push(...this.listLines(this.taskTable(cols), body));
      else if (this.view === "resources") lines.push(...this.listLines(table(s.resources, RESOURCE_COLUMNS, cols - 2), body));
      else lines.push(...this.listLines(["", ...s.warnings.map((w) => `${w.severity === "error" ? RED : YELLOW}[${w.lint}]${RESET} ${w.message}`)], body, true));
    }
    const help = this.detail !== undefined || this.groupDetail !== undefined ? "Esc back · q quit" : "↑↓ select · Enter detail · ←→ sort · i invert · t/r/w/b views · space pause · q quit";
    const visible = lines.slice(0, rows - 1).map((l) => clip(l, cols));
    while (visible.length < rows - 1) visible.push("");
    visible.push(`${DIM}${clip(help, cols)}${RESET}`);
    process.stdout.write(`${ESC}H${visible.map((l) => `${l}${ESC}K`).join("\r\n")}${ESC}J`);
  };

  private taskTable(cols: number): string[] {
    const [head, ...body] = table(this.tasks(), TASK_COLUMNS, cols - 2);
    const col = TASK_COLUMNS[this.sortCol]!;
    const marked = head!.replace(col.title, `${col.title}${this.sortDir > 0 ? "▲" : "▼"}`);
    const ts = this.tasks();
    return [marked, ...body.map((l, i) => colorState(l, ts[i]!))];
  }

  /** A header line then rows, scrolled so the selected row is visible. */
  private listLines(tbl: string[], height: number, plain = false): string[] {
    const [head, ...body] = tbl;
    const h = Math.max(1, height - 1);
    if (this.sel < this.top) this.top = this.sel;
    if (this.sel >= this.top + h) this.top = this.sel - h + 1;
    const out = [`${BOLD}${head ?? ""}${RESET}`];
    body.slice(this.top, this.top + h).forEach((l, i) => out.push(this.top + i === this.sel && !plain ? `${INV}${stripAnsi(l)}${RESET}` : l));
    return out;
  }

  private detailLines(s: ConsoleSnapshot, cols: number): string[] {
    const t = s.tasks.find((x) => x.id === this.detail!.id);
    if (t === undefined) return ["", `task ${this.detail!.id} is gone (it ended more than retainMs ago)`];
    const out = ["", `${BOLD}Task ${t.id}${t.name === undefined ? "" : ` '${t.name}'`}${RESET}  ${t.state}${t.outcome === undefined ? "" : ` (${t.outcome})`} for ${fmtMs(t.stateMs)}`];
    const kv = (k: string, v: string | undefined): void => void (v !== undefined && v !== "" && out.push(`  ${DIM}${k.padEnd(11)}${RESET}${v}`));
    kv("runtime", t.runtime);
    kv("parent", t.parent === undefined ? undefined : `task ${t.parent}`);
    kv("waiting on", t.waitingOn ?? (t.state === "idle" ? "nothing steward sees" : undefined));
    kv("await site", t.awaitSite);
    kv("held by", t.heldBy === undefined ? undefined : t.heldBy.map((id) => `task ${id}`).join(", "));
    kv("total", fmtMs(t.totalMs));
    kv("busy", `${fmtMs(t.busyMs)} (${t.totalMs > 0 ? Math.round((t.busyMs / t.totalMs) * 100) : 0}%)`);
    kv("scheduled", `${fmtMs(t.scheduledMs)} (max delay ${fmtMs(t.maxScheduledMs)})`);
    kv("idle", fmtMs(t.idleMs));
    kv("resumes", `${t.resumes} (last ${fmtMs(t.lastResumeMs)}, p50 ${fmtMs(t.p50ResumeMs)}, p99 ${fmtMs(t.p99ResumeMs)}, max ${fmtMs(t.maxResumeMs)})`);
    kv("spawned at", t.spawnedAt);
    for (const w of s.warnings) if (w.task === t.id) out.push(`  ${w.severity === "error" ? RED : YELLOW}[${w.lint}] ${w.message}${RESET}`);
    out.push("", `${BOLD}Resume times${RESET}`, ...bars(t.resumeHistogram, cols));
    if (t.scheduledHistogram.length > 0) out.push("", `${BOLD}Scheduling delays${RESET}`, ...bars(t.scheduledHistogram, cols));
    out.push("", `${BOLD}Spawn stack${RESET}`, ...(this.detail!.stack ?? [t.spawnedAt]).map((l) => `  ${DIM}${l}${RESET}`));
    return out;
  }
}

/** A histogram as horizontal bars, one line per bucket from the first to the last non-empty one. */
export function bars(counts: readonly number[], cols: number): string[] {
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return ["  (none)"];
  const max = Math.max(...counts);
  const w = Math.max(10, Math.min(60, cols - 30));
  const out: string[] = [];
  for (let i = first; i < counts.length && i < BUCKETS; i++) {
    const c = counts[i] ?? 0;
    const n = c === 0 ? 0 : Math.max(1, Math.round((c / max) * w));
    out.push(`  ${bucketLabel(i).padStart(9)} ${CYAN}${"█".repeat(n)}${RESET} ${c}`);
  }
  return out;
}

function colorState(line: string, t: TaskSnapshot): string {
  if (t.state === "done") return `${DIM}${line}${RESET}`;
  if (t.lints !== undefined) return `${YELLOW}${line}${RESET}`;
  if (t.state === "running") return `${GREEN}${line}${RESET}`;
  return line;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

/** Cuts a line to `cols` visible characters, keeping its escape sequences. */
function clip(s: string, cols: number): string {
  let visible = 0;
  let out = "";
  for (let i = 0; i < s.length;) {
    if (s[i] === "\x1b") {
      const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(s.slice(i));
      if (m !== null) {
        out += m[0];
        i += m[0].length;
        continue;
      }
    }
    if (visible >= cols) break;
    out += s[i];
    visible++;
    i++;
  }
  return visible >= cols ? out + RESET : out;
}
