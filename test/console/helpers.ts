/** Shared by the console tests. */
import type { Runtime } from "../../src/index.js";
import type { ConsoleSnapshot, TaskSnapshot } from "../../src/console/index.js";
import { consoleOf } from "../../src/console/index.js";

import { tick } from "../helpers/timing.js";

export { spin, tick } from "../helpers/timing.js";

export function snap(rt: Runtime): ConsoleSnapshot {
  const c = consoleOf(rt);
  if (c === undefined) throw new Error("the runtime has no console");
  return c.snapshot();
}

export function task(s: ConsoleSnapshot, id: number): TaskSnapshot {
  const t = s.tasks.find((x) => x.id === id);
  if (t === undefined) throw new Error(`task ${id} is not in the snapshot (${s.tasks.map((x) => x.id).join(", ")})`);
  return t;
}

/** Polls `fn` until it returns a value (not undefined), up to `ms`. */
export async function eventually<T>(fn: () => T | undefined, ms = 5000, what = "condition"): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(10);
  }
}

/** An OpenTelemetry MeterProvider stub that records everything (no SDK needed). */
export class StubMeterProvider {
  readonly meters: { name: string; version: string | undefined }[] = [];
  readonly instruments = new Map<string, { kind: string; unit: string | undefined; records: { value: number; attrs: Record<string, unknown> }[] }>();
  readonly callbacks = new Map<string, ((r: { observe(v: number, a?: Record<string, unknown>): void }) => void)[]>();
  readonly batches: { cb: (r: { observe(o: unknown, v: number, a?: Record<string, unknown>): void }) => void; obs: unknown[] }[] = [];

  getMeter(name: string, version?: string): unknown {
    this.meters.push({ name, version });
    const instrument = (kind: string) => (iname: string, opts?: { unit?: string }) => {
      const rec = { kind, unit: opts?.unit, records: [] as { value: number; attrs: Record<string, unknown> }[] };
      this.instruments.set(iname, rec);
      const push = (value: number, attrs: Record<string, unknown> = {}): void => void rec.records.push({ value, attrs });
      const cbs: ((r: { observe(v: number, a?: Record<string, unknown>): void }) => void)[] = [];
      this.callbacks.set(iname, cbs);
      return {
        name: iname,
        add: push,
        record: push,
        addCallback: (cb: (typeof cbs)[number]) => void cbs.push(cb),
        removeCallback: (cb: (typeof cbs)[number]) => {
          const i = cbs.indexOf(cb);
          if (i >= 0) cbs.splice(i, 1);
        },
      };
    };
    return {
      createCounter: instrument("Counter"),
      createUpDownCounter: instrument("UpDownCounter"),
      createHistogram: instrument("Histogram"),
      createGauge: instrument("Gauge"),
      createObservableCounter: instrument("ObservableCounter"),
      createObservableUpDownCounter: instrument("ObservableUpDownCounter"),
      createObservableGauge: instrument("ObservableGauge"),
      addBatchObservableCallback: (cb: StubMeterProvider["batches"][number]["cb"], obs: unknown[]) => void this.batches.push({ cb, obs }),
      removeBatchObservableCallback: (cb: StubMeterProvider["batches"][number]["cb"]) => {
        const i = this.batches.findIndex((b) => b.cb === cb);
        if (i >= 0) this.batches.splice(i, 1);
      },
    };
  }

  /** Runs every observable callback, as an SDK's collection would; returns the observations by instrument. */
  collect(): Map<string, { value: number; attrs: Record<string, unknown> }[]> {
    const out = new Map<string, { value: number; attrs: Record<string, unknown> }[]>();
    for (const [name, cbs] of this.callbacks) {
      for (const cb of cbs) cb({ observe: (value, attrs = {}) => void (out.get(name) ?? out.set(name, []).get(name)!).push({ value, attrs }) });
    }
    for (const b of this.batches) {
      b.cb({
        observe: (o, value, attrs = {}) => {
          const name = (o as { name: string }).name;
          (out.get(name) ?? out.set(name, []).get(name)!).push({ value, attrs });
        },
      });
    }
    return out;
  }
}
