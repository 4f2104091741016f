/**
 * When dumps are written: each request names its trigger, is rate-limited, and is written off
 * the event loop (dump.ts). Automatic triggers (a blocked loop, a panic) wait `afterMs` so the
 * dump includes what followed, and at most one per `minIntervalMs` each is written; every trigger
 * together is held to `maxPerHour`; requests for a trigger already pending share its dump.
 */
import type { TriggerKind } from "./format.js";
import { type DumpHost, dumpFileName, encodeDump, writeDump } from "./dump.js";
import type { ResolvedRecorderOptions } from "./options.js";
import type { FlightRecorder } from "./recorder.js";

const AUTOMATIC: ReadonlySet<TriggerKind> = new Set(["blocked", "panic"]);
/** Explicit requests (a signal, the console, the API) closer together than this share a dump. */
const EXPLICIT_MIN_MS = 1000;

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
  readonly #pending = new Map<TriggerKind, Promise<DumpResult>>();
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

  /** Asks for a dump for `kind`; `delayMs` defers it (to include what follows). */
  request(kind: TriggerKind, detail: string | undefined, delayMs = 0): Promise<DumpResult> {
    const pending = this.#pending.get(kind);
    if (pending !== undefined) return pending;
    const now = Date.now();
    const last = this.#last.get(kind);
    const min = AUTOMATIC.has(kind) ? this.#o.minIntervalMs : EXPLICIT_MIN_MS;
    while (this.#recent.length > 0 && now - this.#recent[0]! > 3_600_000) this.#recent.shift();
    if ((last !== undefined && now - last < min) || this.#recent.length >= this.#o.maxPerHour) {
      this.skipped++;
      return Promise.resolve({ file: undefined, trigger: kind, reason: "rate-limited" });
    }
    this.#last.set(kind, now);
    this.#recent.push(now);
    const p = new Promise<DumpResult>((resolve) => {
      const run = (): void => {
        this.#pending.delete(kind);
        resolve(this.#write(kind, detail));
      };
      // Never synchronously: the request is registered as pending first.
      if (delayMs > 0) setTimeout(run, delayMs).unref();
      else queueMicrotask(run);
    });
    this.#pending.set(kind, p);
    this.#inFlight.add(p);
    void p.then(() => this.#inFlight.delete(p));
    return p;
  }

  /** Resolves once every dump requested so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #write(kind: TriggerKind, detail: string | undefined): Promise<DumpResult> {
    try {
      this.#rec.mark(`dump: ${kind}${detail === undefined ? "" : ` (${detail})`}`);
      const raw = encodeDump(this.#rec, detail === undefined ? { kind } : { kind, detail }, this.#hosts());
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
