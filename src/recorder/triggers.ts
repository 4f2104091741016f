/**
 * When dumps are written: each request names its trigger, is rate-limited, and is written off
 * the event loop (dump.ts). Automatic triggers (a blocked loop, a panic) wait `afterMs` so the
 * dump includes what followed, and at most one per `minIntervalMs` each is written; every trigger
 * together is held to `maxPerHour`; requests for a trigger already pending share its dump.
 */
import type { TriggerKind } from "./format.js";
import { type DumpHost, dumpFileName, encodeDump, withAwaitSites, writeDump } from "./dump.js";
import type { ResolvedRecorderOptions } from "./options.js";
import type { FlightRecorder } from "./recorder.js";

const AUTOMATIC: ReadonlySet<TriggerKind> = new Set(["blocked", "panic"]);
/** Explicit requests (a signal, the console, the API) closer together than this share a dump. */
const EXPLICIT_MIN_MS = 1000;
/** A deferred dump waits at most this long after its first request. */
const MAX_DEFER_MS = 5000;

/** What a dump request resolves with. */
export interface DumpResult {
  /** The file written, or undefined when the request was rate-limited or the write failed. */
  file: string | undefined;
  trigger: TriggerKind;
  /** Why no file: "rate-limited" or the write's error message. */
  reason?: string;
}

/** Schedules and writes dumps for one recorder. */
export class DumpScheduler {
  readonly #rec: FlightRecorder;
  readonly #o: ResolvedRecorderOptions;
  readonly #hosts: () => Iterable<DumpHost>;
  readonly #last = new Map<TriggerKind, number>();
  readonly #pending = new Map<TriggerKind, { promise: Promise<DumpResult>; defer(ms: number): void; now(): void }>();
  readonly #recent: number[] = [];
  readonly #inFlight = new Set<Promise<DumpResult>>();
  /** Files written, newest last (at most 20 kept here). */
  readonly written: string[] = [];
  /** Requests dropped by the rate limits. */
  skipped = 0;

  constructor(rec: FlightRecorder, options: ResolvedRecorderOptions, hosts: () => Iterable<DumpHost>) {
    this.#rec = rec;
    this.#o = options;
    this.#hosts = hosts;
  }

  /**
   * Asks for a dump for `kind`; `delayMs` defers it (to include what follows). `escalate` lets an
   * automatic trigger through its `minIntervalMs` (a far worse episode than the one last dumped);
   * `maxPerHour` still holds.
   */
  request(kind: TriggerKind, detail: string | undefined, delayMs = 0, escalate = false): Promise<DumpResult> {
    const pending = this.#pending.get(kind);
    if (pending !== undefined) {
      // Another report while its dump waits: wait for what follows this one too (up to MAX_DEFER_MS
      // after the first), so a stall reported during the wait is in the dump with its final figures.
      if (delayMs > 0) pending.defer(delayMs);
      return pending.promise;
    }
    const now = Date.now();
    const last = this.#last.get(kind);
    const min = AUTOMATIC.has(kind) ? this.#o.minIntervalMs : EXPLICIT_MIN_MS;
    while (this.#recent.length > 0 && now - this.#recent[0]! > 3_600_000) this.#recent.shift();
    if ((last !== undefined && now - last < min && !escalate) || this.#recent.length >= this.#o.maxPerHour) {
      this.skipped++;
      return Promise.resolve({ file: undefined, trigger: kind, reason: "rate-limited" });
    }
    this.#last.set(kind, now);
    this.#recent.push(now);
    let timer: NodeJS.Timeout | undefined;
    let resolve!: (r: Promise<DumpResult>) => void;
    const promise = new Promise<DumpResult>((r) => (resolve = r));
    let ran = false;
    const run = (): void => {
      if (ran) return;
      ran = true;
      if (timer !== undefined) clearTimeout(timer);
      this.#pending.delete(kind);
      resolve(this.#write(kind, detail));
    };
    const latest = now + MAX_DEFER_MS;
    const entry = {
      promise,
      defer: (ms: number): void => {
        if (timer === undefined || ran) return;
        clearTimeout(timer);
        timer = setTimeout(run, Math.max(0, Math.min(ms, latest - Date.now())));
        timer.unref();
      },
      now: run,
    };
    this.#pending.set(kind, entry);
    // Never synchronously: the request is registered as pending first.
    if (delayMs > 0) {
      timer = setTimeout(run, delayMs);
      timer.unref();
    } else queueMicrotask(run);
    this.#inFlight.add(promise);
    void promise.then(() => this.#inFlight.delete(promise));
    return promise;
  }

  /**
   * Writes every dump still waiting now (their timers do not keep the process alive: at the end
   * of a shutdown nothing else may), and resolves once all are written (or failed).
   */
  async flush(): Promise<void> {
    for (const p of [...this.#pending.values()]) p.now();
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #write(kind: TriggerKind, detail: string | undefined): Promise<DumpResult> {
    try {
      this.#rec.mark(`dump: ${kind}${detail === undefined ? "" : ` (${detail})`}`);
      const raw = encodeDump(this.#rec, detail === undefined ? { kind } : { kind, detail }, await withAwaitSites(this.#hosts()));
      const file = await writeDump(raw, this.#o.dir, dumpFileName(kind), this.#o.maxFiles);
      this.written.push(file);
      if (this.written.length > 20) this.written.shift();
      if (this.#o.log) process.stderr.write(`steward recorder: wrote ${file} (trigger: ${kind}${detail === undefined ? "" : `, ${detail}`}); open it with: npx steward replay ${file}\n`);
      return { file, trigger: kind };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (this.#o.log) process.stderr.write(`steward recorder: could not write a dump for ${kind}: ${reason}\n`);
      return { file: undefined, trigger: kind, reason };
    }
  }
}
