/**
 * The virtual clock behind `withTestClock`: implements core/timer.ts's {@link Clock} with a
 * timer heap and a time that moves only when told to.
 */
import type { Clock, TimerHandle } from "../core/timer.js";

/** One timer on the virtual clock. */
class VirtualTimer implements TimerHandle {
  constructor(
    public cb: (() => void) | undefined,
    readonly due: number,
    /** Order among timers due at the same time: the order they were scheduled in. */
    readonly seq: number,
    readonly ref: boolean,
    private readonly owner: VirtualClock,
  ) {}

  cancel(): void {
    if (this.cb === undefined) return;
    this.cb = undefined;
    this.owner.cancelled(this);
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

const NEVER: TimerHandle = { cancel() {} };

export class VirtualClock implements Clock {
  time: number;
  /** Bumped on every schedule: the idle check's sign that something is still going on. */
  epoch = 0;
  /** Live ref'd timers: the auto-advance jumps only when someone waits on one. */
  refCount = 0;
  private seq = 0;
  /** A binary min-heap on (due, seq); cancelled timers stay until they reach the top. */
  private readonly heap: VirtualTimer[] = [];

  constructor(start: number) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(cb: () => void, ms: number, ref: boolean): TimerHandle {
    this.epoch++;
    // Infinity never fires: a timer for it would only be a marker that holds nothing.
    if (ms === Infinity) return NEVER;
    const t = new VirtualTimer(cb, this.time + ms, this.seq++, ref, this);
    if (ref) this.refCount++;
    this.push(t);
    return t;
  }

  cancelled(t: VirtualTimer): void {
    if (t.ref) this.refCount--;
  }

  /** The earliest live timer, if any (cancelled ones on top are dropped). */
  peek(): VirtualTimer | undefined {
    const h = this.heap;
    while (h.length > 0 && h[0]!.cb === undefined) this.pop();
    return h[0];
  }

  /** Moves the clock to `t.due` and runs the earliest timer (which must be `peek()`'s). */
  fireNext(): void {
    const t = this.pop()!;
    const cb = t.cb;
    if (cb === undefined) return;
    t.cb = undefined;
    if (t.ref) this.refCount--;
    if (t.due > this.time) this.time = t.due;
    try {
      cb();
    } catch (e) {
      // As a throwing Node timer callback would: an uncaught exception, not a broken advance().
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** Drops every pending timer (the clock is being removed; they never fire). */
  clear(): void {
    for (const t of this.heap) t.cb = undefined;
    this.heap.length = 0;
    this.refCount = 0;
  }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
