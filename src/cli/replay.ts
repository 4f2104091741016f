/**
 * `steward replay FILE`: opens a flight-recorder dump. By default it serves the timeline page on
 * 127.0.0.1 (nothing beyond loopback) for a browser; `--tui` shows it in the terminal; `--once`
 * prints what happened (the trigger, the blocked episodes with their stacks, and what every task
 * was doing at the trigger, or `--at`) and exits; `--json` prints the decoded recording.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { asset, PAGE_CSP } from "../console/server/assets.js";
import { fmtMs } from "../console/model/histogram.js";
import { type Recording, readRecording, stateAt } from "../recorder/reader.js";

export const REPLAY_HELP = `Usage: steward replay FILE [options]

Opens a flight-recorder dump (steward-<pid>-<time>-<trigger>.stwrec) as a timeline: tasks as
rows, time across, what each waited on, blocked episodes and their stacks, resources alongside.

Options:
  --port N      serve the page on 127.0.0.1:N (default: a free port)
  --tui         show it in the terminal instead (←/→ scrub, ↑/↓ select, [/] blocked episodes, q quit)
  --once        print the trigger, the blocked episodes and every task's state, then exit
  --at MS       with --once or --tui: the moment shown, in ms from the recording's start
                (default: when the dump was triggered)
  --json        print the decoded recording as JSON and exit
  -h, --help    show this help
`;

interface Args {
  file: string;
  port: number;
  tui: boolean;
  once: boolean;
  json: boolean;
  at: number | undefined;
}

function parseArgs(argv: string[]): Args | string {
  let file: string | undefined;
  let port = 0;
  let tui = false;
  let once = false;
  let json = false;
  let at: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--tui") tui = true;
    else if (a === "--once") once = true;
    else if (a === "--json") json = true;
    else if (a === "--port" || a.startsWith("--port=")) port = Number(a.includes("=") ? a.slice(7) : argv[++i]);
    else if (a === "--at" || a.startsWith("--at=")) at = Number(a.includes("=") ? a.slice(5) : argv[++i]);
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else if (file === undefined) file = a;
    else return `unexpected argument ${a}`;
  }
  if (file === undefined) return "a dump FILE is required";
  if (!Number.isInteger(port) || port < 0 || port > 65535) return "--port must be an integer from 0 to 65535";
  if (at !== undefined && (!Number.isFinite(at) || at < 0)) return "--at must be a number of ms >= 0";
  return { file, port, tui, once, json, at };
}

/** The moment to show: `--at` from the start, else the trigger. */
function momentOf(rec: Recording, at: number | undefined): number {
  if (at !== undefined) return Math.min(rec.endMs, rec.startMs + at);
  const t = rec.header.trigger.atMs;
  return t >= rec.startMs && t <= rec.endMs ? t : rec.endMs;
}

/** The plain-text account of a recording (`--once`). */
export function formatRecording(rec: Recording, atMs: number): string {
  const h = rec.header;
  const rel = (t: number): string => `+${fmtMs(t - rec.startMs)}`;
  const out = [
    `flight recorder dump — trigger: ${h.trigger.kind}${h.trigger.detail === undefined ? "" : ` (${h.trigger.detail})`}`,
    `pid ${h.pid} (${h.node}), ${new Date(rec.startMs).toISOString()} → ${new Date(rec.endMs).toISOString()} (${fmtMs(rec.endMs - rec.startMs)}), ${rec.events} events` +
      (h.ring.overwritten > 0 ? ` (${h.ring.overwritten} older ones overwritten)` : ""),
    "",
    `BLOCKED EPISODES (${rec.episodes.length})`,
  ];
  const name = (id: number): string => {
    const t = rec.tasks.find((x) => x.id === id);
    return t?.name === undefined ? `task ${id}` : `task ${id} '${t.name}'`;
  };
  for (const e of rec.episodes) {
    out.push(`  ${e.id} at ${rel(e.startMs)}: blocked ${fmtMs(e.durationMs)} (${e.source})${e.task === undefined ? "" : ` in ${name(e.task.id)}`}`);
    for (const f of (e.stack ?? []).slice(0, 12)) out.push(`      at ${f}`);
  }
  const states = stateAt(rec, atMs);
  out.push("", `TASKS AT ${rel(atMs)} (${states.length})`);
  for (const s of states) {
    const what = s.what ?? (s.kind === "active" ? "(running, or awaiting something steward does not see)" : "");
    out.push(`  ${name(s.id).padEnd(40)} ${s.kind.padEnd(9)} ${fmtMs(atMs - s.sinceMs).padStart(8)}  ${what}`);
  }
  const held = rec.resources.filter((r) => r.holds.some((x) => x.start <= atMs && atMs < x.end));
  if (held.length > 0) {
    out.push("", "HELD THEN");
    for (const r of held)
      out.push(
        `  ${r.label}: ${r.holds
          .filter((x) => x.start <= atMs && atMs < x.end)
          .map((x) => name(x.task))
          .join(", ")}`,
      );
  }
  return out.join("\n") + "\n";
}

function isLoopbackHost(h: string | undefined): boolean {
  if (h === undefined) return true;
  const name = h.startsWith("[") ? h.slice(0, h.indexOf("]") + 1) : h.replace(/:\d+$/, "");
  return name === "localhost" || name === "[::1]" || /^127(\.\d{1,3}){3}$/.test(name);
}

function serve(rec: Recording, port: number): Promise<{ port: number; close(): void }> {
  const body = Buffer.from(JSON.stringify(rec));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers = { "cache-control": "no-store", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
    if (!isLoopbackHost(req.headers.host)) {
      res.writeHead(403, headers).end("this Host is not allowed\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...headers, allow: "GET, HEAD" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://replay.invalid").pathname;
    if (path === "/") {
      res.writeHead(302, { ...headers, location: "/timeline.html" }).end();
      return;
    }
    if (path === "/api/recording") {
      res.writeHead(200, { ...headers, "content-type": "application/json", "content-length": body.length }).end(req.method === "HEAD" ? undefined : body);
      return;
    }
    const a = asset(path.slice(1));
    if (a === undefined) {
      res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { ...headers, "content-type": a.type, "content-length": a.body.length, ...(a.type.startsWith("text/html") ? { "content-security-policy": PAGE_CSP } : {}) });
    res.end(req.method === "HEAD" ? undefined : a.body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => {
          server.close();
          server.closeAllConnections();
        },
      }),
    );
  });
}

/** Runs `steward replay ...`; resolves with the exit code (the web mode runs until interrupted). */
export async function runReplayCommand(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`steward replay: ${args}\n\n${REPLAY_HELP}`);
    return 2;
  }
  let rec: Recording;
  try {
    rec = readRecording(args.file);
  } catch (e) {
    process.stderr.write(`steward replay: cannot read ${args.file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rec)}\n`);
    return 0;
  }
  const at = momentOf(rec, args.at);
  if (args.once || (args.tui && (process.stdout.isTTY !== true || process.stdin.isTTY !== true))) {
    process.stdout.write(formatRecording(rec, at));
    return 0;
  }
  if (args.tui) {
    const { ReplayTui } = await import("./replay-tui.js");
    return new ReplayTui(rec, at).run();
  }
  let server: { port: number; close(): void };
  try {
    server = await serve(rec, args.port);
  } catch (e) {
    process.stderr.write(`steward replay: cannot listen on 127.0.0.1:${args.port}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  process.stdout.write(`replaying ${args.file}: http://127.0.0.1:${server.port}/ (Ctrl-C to stop)\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      server.close();
      resolve(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
