/**
 * One serialised snapshot, shared by every reader of a console server: `GET /api/snapshot`
 * (a burst of requests, the TUI) and the event stream (its deltas and the snapshot event a new
 * or resynced client gets).
 *
 * The collector's `version` moves with every change it sees (a resume, a wake, a spawn, an end,
 * a wait queued, a loop sample). A snapshot is reused while the version has not moved and no
 * runtime changed state (up to {@link SNAPSHOT_REUSE_MAX_MS}: a retained task's expiry moves no
 * version), and, when the tasks keep changing, for
 * {@link SNAPSHOT_REUSE_MS} or ten times what it cost to build, whichever is longer: a burst of
 * readers never makes the loop spend more than about a tenth of its time on snapshots.
 *
 * A build is sliced (model/snapshot.ts `snapshotSteps`): it gives the loop back every
 * {@link SLICE_MS} (setImmediate, so I/O and timers run between slices), and serialises each
 * task as it is built, so with thousands of tasks no single turn of the app's loop is long.
 * Readers that come while a build runs wait for it; one build serves them all.
 */
import { performance } from "node:perf_hooks";
import { awaitSitesSettled } from "../../diagnostics/task-info.js";
import type { Collector } from "../instrument/collector.js";
import { type SnapshotSource, snapshotSteps } from "../model/snapshot.js";
import type { ConsoleSnapshot } from "../model/types.js";

/** A snapshot built less than this long ago is reused, even when tasks changed since. */
export const SNAPSHOT_REUSE_MS = 50;
/** A snapshot is reused at most this long, however costly it was to build or however quiet the tasks. */
export const SNAPSHOT_REUSE_MAX_MS = 1000;
/** The longest a build runs before it gives the loop back. */
export const SLICE_MS = 3;

/** A built snapshot, its JSON, and what it cost. */
export interface SharedSnapshot {
  /** The collector's version it was built at (its first slice). */
  readonly version: number;
  /** Its runtimes' states then (a runtime shutting down changes no task at first). */
  readonly states: string;
  /** performance.now() when it was finished. */
  readonly at: number;
  readonly snap: ConsoleSnapshot;
  /** `JSON.stringify(snap)`, as bytes. */
  readonly body: Buffer;
  /** Loop time its slices took (ms). */
  readonly costMs: number;
  /** The longest slice (ms). */
  readonly maxSliceMs: number;
  /** How long it is reused when tasks change (ms). */
  readonly reuseMs: number;
  /** The gzip of `body`, once a reader asked for it (made off the loop, shared). */
  gz: Promise<Buffer> | undefined;
}

/** The shared snapshot of one console server. */
export class SnapshotCache {
  /** Snapshots built (tests and the bench). */
  builds = 0;
  #entry: SharedSnapshot | undefined;
  #building: Promise<SharedSnapshot> | undefined;
  /** Moves on invalidate(): a build that started before does not become the entry. */
  #generation = 0;
  readonly #sources: () => readonly SnapshotSource[];
  readonly #collector: Collector;

  constructor(sources: () => readonly SnapshotSource[], collector: Collector) {
    this.#sources = sources;
    this.#collector = collector;
  }

  /** The latest snapshot, fresh or not. */
  peek(): SharedSnapshot | undefined {
    return this.#entry;
  }

  /**
   * A snapshot fresh enough to serve now, or the build that makes one (shared with every reader
   * asking while it runs). Rejects if building throws.
   */
  get(): SharedSnapshot | Promise<SharedSnapshot> {
    const e = this.#entry;
    if (e !== undefined) {
      const age = performance.now() - e.at;
      if (age < e.reuseMs || (e.version === this.#collector.version && age < SNAPSHOT_REUSE_MAX_MS && e.states === this.#states())) return e;
    }
    if (this.#building !== undefined) return this.#building;
    // Not `??=` with a finally in #build: a build that needs no slice settles before it returns.
    const p = this.#build();
    this.#building = p;
    const done = (): void => {
      if (this.#building === p) this.#building = undefined;
    };
    p.then(done, done);
    return p;
  }

  /** Forgets the snapshot (the runtimes using the server changed). */
  invalidate(): void {
    this.#entry = undefined;
    this.#building = undefined;
    this.#generation++;
  }

  #states(): string {
    let out = "";
    for (const s of this.#sources()) out += `${s.runtimeState},`;
    return out;
  }

  async #build(): Promise<SharedSnapshot> {
    const gen = this.#generation;
    let built = await this.#buildOnce();
    if (built.unprobed > 0) {
      // Waits whose await site the build queued for probing: the snapshot every reader shares
      // (and the stream's base) shows them once probed, instead of a delta resending the tasks later.
      await awaitSitesSettled();
      built = await this.#buildOnce();
    }
    if (gen === this.#generation) this.#entry = built.entry;
    return built.entry;
  }

  async #buildOnce(): Promise<{ entry: SharedSnapshot; unprobed: number }> {
    this.builds++;
    const version = this.#collector.version;
    const states = this.#states();
    const steps = snapshotSteps(this.#sources(), this.#collector, SLICE_MS, true);
    let cost = 0;
    let maxSlice = 0;
    for (;;) {
      const t0 = performance.now();
      const r = steps.next();
      const slice = performance.now() - t0;
      cost += slice;
      if (slice > maxSlice) maxSlice = slice;
      if (r.done === true) {
        const t1 = performance.now();
        const body = Buffer.from(r.value.json!);
        cost += performance.now() - t1;
        const entry: SharedSnapshot = {
          version,
          states,
          at: performance.now(),
          snap: r.value.snap,
          body,
          costMs: cost,
          maxSliceMs: maxSlice,
          reuseMs: Math.min(SNAPSHOT_REUSE_MAX_MS, Math.max(SNAPSHOT_REUSE_MS, 10 * cost)),
          gz: undefined,
        };
        return { entry, unprobed: r.value.unprobed };
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
