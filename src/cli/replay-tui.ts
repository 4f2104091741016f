/**
 * `steward replay FILE --tui`: the timeline in a terminal (plain ANSI). Tasks as rows, time
 * across, one character per slice of time: █ running, ▓ active, ─ waiting, ~ joining, · scheduled;
 * blocked episodes marked in red on the time axis. A cursor column scrubs through time; the lower
 * pane shows what every task was doing, and waiting on, at the cursor.
 *
 * Keys: ←/→ scrub (shift: faster), ↑/↓ select, [/] previous/next blocked episode, q quit.
 */
import { fmtMs } from "../console/model/histogram.js";
import { type RecTask, type Recording, type SpanKind, stateAt } from "../recorder/reader.js";

const ESC = "\x1b[";
const BOLD = `${ESC}1m`;
const DIM = `${ESC}2m`;
const INV = `${ESC}7m`;
const RED = `${ESC}31m`;
const RESET = `${ESC}0m`;

const GLYPH: Record<SpanKind, string> = { running: "█", active: "▓", waiting: "─", joining: "~", scheduled: "·" };
const PRIORITY: Record<SpanKind, number> = { running: 5, active: 4, joining: 3, waiting: 2, scheduled: 1 };

/** One row of the terminal timeline: the glyph of what `t` mostly did in each of `cols` slices. */
export function timelineRow(t: RecTask, start: number, end: number, cols: number): string {
  const slice = (end - start) / cols || 1;
  let out = "";
  let i = 0;
  for (let c = 0; c < cols; c++) {
    const a = start + c * slice;
    const b = a + slice;
    let best: SpanKind | undefined;
    while (i < t.spans.length && t.spans[i]!.end < a) i++;
    for (let j = i; j < t.spans.length && t.spans[j]!.start < b; j++) {
      const k = t.spans[j]!.kind;
      if (best === undefined || PRIORITY[k] > PRIORITY[best]) best = k;
    }
    out += best === undefined ? " " : GLYPH[best];
  }
  return out;
}

/** The interactive terminal timeline. */
export class ReplayTui {
  #cursor: number;
  #sel = 0;
  #top = 0;
  #done!: (code: number) => void;
  readonly #rec: Recording;
  readonly #tasks: RecTask[];

  constructor(rec: Recording, at: number) {
    this.#rec = rec;
    this.#cursor = at;
    const named = new Set(rec.episodes.map((e) => e.task?.id));
    this.#tasks = [...rec.tasks].sort((a, b) => Number(named.has(b.id)) - Number(named.has(a.id)) || (a.spans[0]?.start ?? 0) - (b.spans[0]?.start ?? 0));
  }

  run(): Promise<number> {
    const out = process.stdout;
    out.write(`${ESC}?1049h${ESC}?25l`);
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", this.#onKey);
    out.on("resize", this.#draw);
    const code = new Promise<number>((resolve) => (this.#done = resolve));
    this.#draw();
    return code.finally(() => {
      process.stdin.off("data", this.#onKey);
      out.off("resize", this.#draw);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      out.write(`${RESET}${ESC}?25h${ESC}?1049l`);
    });
  }

  readonly #onKey = (buf: Buffer): void => {
    const k = buf.toString("utf8");
    const r = this.#rec;
    const span = r.endMs - r.startMs;
    if (k === "q" || k === "\x03") return this.#done(0);
    if (k === "\x1b[C" || k === "l") this.#cursor = Math.min(r.endMs, this.#cursor + span / 100);
    else if (k === "\x1b[D" || k === "h") this.#cursor = Math.max(r.startMs, this.#cursor - span / 100);
    else if (k === "\x1b[1;2C" || k === "L") this.#cursor = Math.min(r.endMs, this.#cursor + span / 10);
    else if (k === "\x1b[1;2D" || k === "H") this.#cursor = Math.max(r.startMs, this.#cursor - span / 10);
    else if (k === "\x1b[A" || k === "k") this.#sel = Math.max(0, this.#sel - 1);
    else if (k === "\x1b[B" || k === "j") this.#sel = Math.min(this.#tasks.length - 1, this.#sel + 1);
    else if (k === "]" || k === "[") {
      const eps = [...r.episodes].sort((a, b) => a.startMs - b.startMs);
      const e = k === "]" ? eps.find((x) => x.startMs > this.#cursor + 1) : eps.reverse().find((x) => x.startMs + x.durationMs < this.#cursor - 1);
      if (e !== undefined) this.#cursor = e.startMs + e.durationMs / 2;
    }
    this.#draw();
  };

  readonly #draw = (): void => {
    const r = this.#rec;
    const cols = process.stdout.columns ?? 100;
    const rows = process.stdout.rows ?? 30;
    const labelW = Math.min(30, Math.floor(cols / 3));
    const laneW = Math.max(10, cols - labelW - 1);
    const slice = (r.endMs - r.startMs) / laneW || 1;
    const cursorCol = Math.min(laneW - 1, Math.floor((this.#cursor - r.startMs) / slice));
    const lines: string[] = [];
    const h = r.header;
    lines.push(`${BOLD}steward flight recorder${RESET} — ${h.trigger.kind}${h.trigger.detail === undefined ? "" : `: ${h.trigger.detail}`}`);
    lines.push(`${DIM}pid ${h.pid}, ${fmtMs(r.endMs - r.startMs)} recorded, ${r.events} events; cursor +${fmtMs(this.#cursor - r.startMs)}${RESET}`);
    let axis = "";
    for (let c = 0; c < laneW; c++) {
      const a = r.startMs + c * slice;
      const blocked = r.episodes.some((e) => e.startMs < a + slice && e.startMs + e.durationMs > a);
      axis += c === cursorCol ? "▼" : blocked ? `${RED}!${RESET}` : "─";
    }
    lines.push(`${"blocked loop".padEnd(labelW)} ${axis}`);
    const paneH = Math.max(6, Math.floor((rows - 5) / 2));
    const listH = Math.max(3, rows - 5 - paneH);
    if (this.#sel < this.#top) this.#top = this.#sel;
    if (this.#sel >= this.#top + listH) this.#top = this.#sel - listH + 1;
    for (let i = this.#top; i < Math.min(this.#tasks.length, this.#top + listH); i++) {
      const t = this.#tasks[i]!;
      const label = `${t.name ?? ""} #${t.id}`.slice(-labelW).padEnd(labelW);
      const lane = timelineRow(t, r.startMs, r.endMs, laneW);
      const marked = lane.slice(0, cursorCol) + INV + (lane[cursorCol] ?? " ") + RESET + lane.slice(cursorCol + 1);
      lines.push(i === this.#sel ? `${INV}${label}${RESET} ${marked}` : `${label} ${marked}`);
    }
    lines.push(`${BOLD}at +${fmtMs(this.#cursor - r.startMs)}${RESET}`);
    const inside = r.episodes.find((e) => e.startMs <= this.#cursor && this.#cursor <= e.startMs + e.durationMs);
    if (inside !== undefined) lines.push(`${RED}event loop blocked ${fmtMs(inside.durationMs)}${inside.stack?.[0] === undefined ? "" : ` at ${inside.stack[0]}`}${RESET}`);
    for (const s of stateAt(r, this.#cursor).slice(0, paneH - 1)) {
      lines.push(`  ${`${s.name ?? ""} #${s.id}`.padEnd(labelW)} ${s.kind.padEnd(9)} ${s.what ?? ""}`);
    }
    const visible = lines.slice(0, rows - 1).map((l) => (l.length > cols * 3 ? l.slice(0, cols * 3) : l));
    while (visible.length < rows - 1) visible.push("");
    visible.push(`${DIM}←/→ scrub (shift: faster) · ↑/↓ select · [/] blocked episodes · q quit${RESET}`);
    process.stdout.write(`${ESC}H${visible.map((l) => `${l}${ESC}K`).join("\r\n")}${ESC}J`);
  };
}
