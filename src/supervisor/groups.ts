/**
 * Grouping and rate-limiting of the watchdog's stderr report. A block that repeats (a hot
 * endpoint that parses too much, a timer that does too much) must not flood the log: the first
 * episode of a stack gets the full report, the next few one line each, and the rest are folded
 * into a summary line every few seconds (count, durations, first and last seen). New stacks are
 * rate-limited too. Listeners still get every episode.
 */
import type { Frame } from "./shared.js";

/** Repeats of a stack reported in one line each before they are only summarised. */
export const REPEAT_LINES = 3;
/** A stack whose repeats were folded gets a summary line at most this often. */
export const SUMMARY_EVERY_MS = 10_000;
/** A stack not reported in full for this long gets a full report again. */
export const FULL_AGAIN_AFTER_MS = 10 * 60_000;
/** Full reports of new stacks: a burst of this many, then one per REFILL_MS. */
const BUCKET = 20;
const REFILL_MS = 3_000;
/** Stacks remembered (least recently seen forgotten first). */
const MAX_GROUPS = 500;

export type Decision = "full" | "repeat" | "silent";

export interface Group {
  readonly key: string;
  readonly thread: "main" | number;
  /** The episode whose report carried the full stack (or the first one, if none was shown). */
  of: number;
  /** Episodes with this stack, and when the first and the latest were seen. */
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** When the full stack was last written; -Infinity when never (rate-limited). */
  lastFull: number;
  /** Repeats written in one line since the last full report. */
  repeatLines: number;
  /** The frame that names the stack in one-line reports and summaries. */
  headline: Frame | undefined;
  /** Folded episodes since the last summary: how many, and their durations once ended. */
  folded: number;
  foldedEnded: number;
  foldedMs: number;
  minMs: number;
  maxMs: number;
  lastSummary: number;
}

export class Groups {
  readonly #groups = new Map<string, Group>();
  #tokens = BUCKET;
  #refilledAt = 0;

  /** Takes one report token (for a new stack's full report, or a line before the stack is known). */
  take(t: number, group = true): boolean {
    if (!group) return true;
    if (this.#refilledAt === 0) this.#refilledAt = t;
    const refill = Math.floor((t - this.#refilledAt) / REFILL_MS);
    if (refill > 0) {
      this.#tokens = Math.min(BUCKET, this.#tokens + refill);
      this.#refilledAt += refill * REFILL_MS;
    }
    if (this.#tokens === 0) return false;
    this.#tokens--;
    return true;
  }

  /**
   * Files an episode under its stack and decides how much of it to write (always all of it, with
   * `group` false: the stack is still counted, for the event's `repeat`).
   */
  decide(key: string, thread: "main" | number, episode: number, t: number, headline: Frame | undefined, group = true): { decision: Decision; group: Group } {
    const k = `${thread}\n${key}`;
    let g = this.#groups.get(k);
    if (g !== undefined) {
      // Most recently seen last: the first entry is the one to forget.
      this.#groups.delete(k);
      this.#groups.set(k, g);
      g.count++;
      g.lastSeen = t;
    } else {
      if (this.#groups.size >= MAX_GROUPS) this.#groups.delete(this.#groups.keys().next().value!);
      g = {
        key: k,
        thread,
        of: episode,
        count: 1,
        firstSeen: t,
        lastSeen: t,
        lastFull: -Infinity,
        repeatLines: 0,
        headline,
        folded: 0,
        foldedEnded: 0,
        foldedMs: 0,
        minMs: Infinity,
        maxMs: 0,
        lastSummary: t,
      };
      this.#groups.set(k, g);
    }
    if (!group) {
      g.lastFull = t;
      return { decision: "full", group: g };
    }
    if (t - g.lastFull >= FULL_AGAIN_AFTER_MS) {
      if (this.take(t)) {
        g.lastFull = t;
        g.of = episode;
        g.repeatLines = 0;
        g.headline = headline;
        return { decision: "full", group: g };
      }
    } else if (g.repeatLines < REPEAT_LINES) {
      g.repeatLines++;
      return { decision: "repeat", group: g };
    }
    g.folded++;
    return { decision: "silent", group: g };
  }

  /** A folded episode ended: its duration goes into the next summary. */
  ended(g: Group, blockedMs: number): void {
    g.foldedEnded++;
    g.foldedMs += blockedMs;
    g.minMs = Math.min(g.minMs, blockedMs);
    g.maxMs = Math.max(g.maxMs, blockedMs);
  }

  /** Groups whose summary is due (all with folded episodes when `flush`); resets their counters. */
  due(t: number, flush = false): { group: Group; folded: number; ended: number; totalMs: number; minMs: number; maxMs: number; sinceMs: number }[] {
    const out = [];
    for (const g of this.#groups.values()) {
      if (g.folded === 0 || (!flush && t - g.lastSummary < SUMMARY_EVERY_MS)) continue;
      out.push({ group: g, folded: g.folded, ended: g.foldedEnded, totalMs: g.foldedMs, minMs: g.minMs, maxMs: g.maxMs, sinceMs: t - g.lastSummary });
      g.folded = 0;
      g.foldedEnded = 0;
      g.foldedMs = 0;
      g.minMs = Infinity;
      g.maxMs = 0;
      g.lastSummary = t;
    }
    return out;
  }

  /** When the next summary may be due (for the watchdog's timer), or undefined. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const g of this.#groups.values()) if (g.folded > 0) next = Math.min(next ?? Infinity, g.lastSummary + SUMMARY_EVERY_MS);
    return next;
  }
}
