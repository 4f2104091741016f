/**
 * The ledger of blocked event-loop episodes: one entry per episode, however many reports describe
 * it. Three sources report stalls, often the same one:
 *  - a task's resume that ran at least `blockedMs` (exact start and duration, known when it ends);
 *  - the supervisor: its `blocked` event (a stack, and the duration so far at detection) and its
 *    `unblocked` event (the final duration), sharing an episode `id` when the supervisor gives one;
 *  - the loop-delay monitor, for stalls nothing else explained (code outside any task).
 * Reports with the same id are one episode; without ids, reports whose time spans overlap are.
 * An episode's duration is the longest any of its reports gave, so it ends with its final one.
 * It is "settled" (handed to listeners, such as the metrics) once no report has touched it for a
 * while, so each episode is counted once with its final duration.
 */
import type { BlockedEpisode, BlockedGroup } from "./types.js";

/** One report of a stall. Times are epoch ms. */
export interface EpisodeReport {
  source: BlockedEpisode["source"];
  /** The reporter's episode id (the supervisor's), if any. */
  id?: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  task?: { id: number; name?: string };
  stack?: string[];
  /** For a supervisor report: its `blocked` event (at detection) or its `unblocked` event (the end). */
  phase?: "blocked" | "unblocked";
}

/** Slack when matching reports by time: the reporters' clocks and detection points differ. */
const SLACK_MS = 25;
const MAX_KEPT = 50;
const MAX_GROUPS = 100;
const GROUP_FRAMES = 3;

interface Entry {
  ep: BlockedEpisode;
  reporterIds: Set<string>;
  /** The kinds of report merged in: each reporter describes a stall once, so a second one of a kind is another stall. */
  kinds: Set<string>;
  lastTouched: number;
  settled: boolean;
}

function kindOf(r: EpisodeReport): string {
  return r.source === "supervisor" ? `supervisor-${r.phase ?? "blocked"}` : r.source;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The blocked episodes seen since the ledger was made. */
export class EpisodeLedger {
  /** The latest episodes, oldest first. */
  readonly #recent: Entry[] = [];
  readonly #groups = new Map<string, BlockedGroup>();
  readonly #listeners = new Set<(e: BlockedEpisode) => void>();
  #seq = 0;
  /** Episodes counted, and their total duration (each with its latest duration). */
  count = 0;
  totalMs = 0;
  /** Bumped whenever an episode is added or updated (for stream deltas). */
  version = 0;

  /** Adds a report: a new episode, or an update of the one it describes. Returns the episode. */
  report(r: EpisodeReport, now = Date.now()): BlockedEpisode {
    this.version++;
    const e = this.#match(r);
    if (e === undefined) {
      const ep: BlockedEpisode = {
        id: r.id ?? `c${++this.#seq}`,
        startMs: Math.round(r.startMs),
        atMs: Math.round(r.endMs),
        durationMs: round3(r.durationMs),
        source: r.source,
      };
      if (r.task !== undefined) ep.task = r.task;
      this.#setStack(ep, r.stack);
      const entry: Entry = { ep, reporterIds: new Set(r.id === undefined ? [] : [r.id]), kinds: new Set([kindOf(r)]), lastTouched: now, settled: false };
      this.#recent.push(entry);
      if (this.#recent.length > MAX_KEPT) {
        const old = this.#recent.shift()!;
        if (!old.settled) this.#settle(old);
      }
      this.count++;
      this.totalMs += ep.durationMs;
      this.#group(ep, true, 0);
      return ep;
    }
    const ep = e.ep;
    e.lastTouched = now;
    if (r.id !== undefined) e.reporterIds.add(r.id);
    e.kinds.add(kindOf(r));
    const before = ep.durationMs;
    if (r.durationMs > ep.durationMs) {
      ep.durationMs = round3(r.durationMs);
      this.totalMs += ep.durationMs - before;
    }
    ep.startMs = Math.min(ep.startMs, Math.round(r.startMs));
    ep.atMs = Math.max(ep.atMs, Math.round(r.endMs));
    // The supervisor's report is the richer one: its stack and its id win.
    if (r.source === "supervisor") {
      if (ep.source !== "supervisor" && r.id !== undefined) ep.id = r.id;
      ep.source = "supervisor";
    }
    if (ep.task === undefined && r.task !== undefined) ep.task = r.task;
    const hadStack = ep.stack !== undefined;
    if (!hadStack && r.stack !== undefined && r.stack.length > 0) {
      this.#ungroup(ep, before);
      this.#setStack(ep, r.stack);
      this.#group(ep, true, 0);
    } else {
      this.#group(ep, false, before);
    }
    return ep;
  }

  /**
   * The loop monitor saw a stall of `durationMs` somewhere in [startMs, endMs]: it raises the
   * duration of the longest episode known there (its reports may have come at detection, before
   * the end), or, with `create`, records a "loop" episode when none is known. Returns the episode.
   */
  loopStall(startMs: number, endMs: number, durationMs: number, create = true, now = Date.now()): BlockedEpisode | undefined {
    let best: Entry | undefined;
    for (const e of this.#recent) {
      const ep = e.ep;
      if (ep.atMs + SLACK_MS >= startMs && ep.startMs - SLACK_MS <= endMs && (best === undefined || ep.durationMs > best.ep.durationMs)) best = e;
    }
    if (best === undefined) return create ? this.report({ source: "loop", startMs: endMs - durationMs, endMs, durationMs }, now) : undefined;
    const ep = best.ep;
    if (durationMs > ep.durationMs) {
      this.version++;
      best.lastTouched = now;
      const before = ep.durationMs;
      ep.durationMs = round3(durationMs);
      this.totalMs += ep.durationMs - before;
      this.#group(ep, false, before);
    }
    best.kinds.add("loop");
    return ep;
  }

  /** True when a report spanning [startMs, endMs] would be an episode already known. */
  explains(startMs: number, endMs: number): boolean {
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const ep = this.#recent[i]!.ep;
      if (ep.atMs + SLACK_MS >= startMs && ep.startMs - SLACK_MS <= endMs) return true;
    }
    return false;
  }

  /** Hands episodes untouched for `quietMs` to the listeners, once each. */
  settle(now = Date.now(), quietMs = 1000): void {
    for (const e of this.#recent) if (!e.settled && now - e.lastTouched >= quietMs) this.#settle(e);
  }

  /** Called once per episode with its final report (after it settled). */
  onSettled(fn: (e: BlockedEpisode) => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  /** The latest episodes, oldest first (copies). */
  list(): BlockedEpisode[] {
    return this.#recent.map((e) => ({ ...e.ep }));
  }

  /** Groups by stack, the most recently seen first (copies). */
  groups(): BlockedGroup[] {
    return [...this.#groups.values()].sort((a, b) => b.lastAtMs - a.lastAtMs).map((g) => ({ ...g, tasks: [...g.tasks] }));
  }

  #settle(e: Entry): void {
    e.settled = true;
    for (const fn of this.#listeners) {
      try {
        fn({ ...e.ep });
      } catch {
        // A metrics exporter's failure must not reach the code that reported the stall.
      }
    }
  }

  #match(r: EpisodeReport): Entry | undefined {
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const e = this.#recent[i]!;
      if (r.id !== undefined && e.reporterIds.has(r.id)) return e;
    }
    const kind = kindOf(r);
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const e = this.#recent[i]!;
      if (e.kinds.has(kind)) continue;
      // Two ids from the same reporter are two episodes, however close.
      if (r.id !== undefined && e.reporterIds.size > 0) continue;
      const ep = e.ep;
      if (ep.atMs + SLACK_MS >= r.startMs && ep.startMs - SLACK_MS <= r.endMs) return e;
    }
    return undefined;
  }

  #setStack(ep: BlockedEpisode, stack: string[] | undefined): void {
    if (stack === undefined || stack.length === 0) return;
    ep.stack = stack.slice(0, 32);
    ep.frame = stack[0];
  }

  #key(ep: BlockedEpisode): { key: string; frame: string } {
    if (ep.stack !== undefined && ep.stack.length > 0) return { key: ep.stack.slice(0, GROUP_FRAMES).join(" < "), frame: ep.stack[0]! };
    if (ep.task !== undefined) {
      const who = ep.task.name === undefined ? `task ${ep.task.id}` : `task '${ep.task.name}'`;
      return { key: `resume of ${ep.task.name ?? ep.task.id}`, frame: who };
    }
    return { key: "(no stack)", frame: "(no stack)" };
  }

  #group(ep: BlockedEpisode, isNew: boolean, durationBefore: number): void {
    const { key, frame } = this.#key(ep);
    ep.group = key;
    let g = this.#groups.get(key);
    if (g === undefined) {
      if (this.#groups.size >= MAX_GROUPS) {
        let oldest: BlockedGroup | undefined;
        for (const x of this.#groups.values()) if (oldest === undefined || x.lastAtMs < oldest.lastAtMs) oldest = x;
        if (oldest !== undefined) this.#groups.delete(oldest.key);
      }
      g = { key, frame, count: 0, firstAtMs: ep.startMs, lastAtMs: ep.atMs, maxMs: 0, totalMs: 0, tasks: [] };
      this.#groups.set(key, g);
      isNew = true;
      durationBefore = 0;
    }
    if (isNew) g.count++;
    g.totalMs = round3(g.totalMs + ep.durationMs - durationBefore);
    g.maxMs = Math.max(g.maxMs, ep.durationMs);
    g.lastAtMs = Math.max(g.lastAtMs, ep.atMs);
    g.firstAtMs = Math.min(g.firstAtMs, ep.startMs);
    if (ep.stack !== undefined) g.stack = ep.stack;
    const t = ep.task;
    if (t !== undefined && !g.tasks.some((x) => x.id === t.id)) {
      g.tasks.push(t);
      if (g.tasks.length > 5) g.tasks.shift();
    }
  }

  #ungroup(ep: BlockedEpisode, duration: number): void {
    const key = ep.group;
    if (key === undefined) return;
    const g = this.#groups.get(key);
    if (g === undefined) return;
    g.count--;
    g.totalMs = round3(g.totalMs - duration);
    if (g.count <= 0) this.#groups.delete(key);
  }
}
