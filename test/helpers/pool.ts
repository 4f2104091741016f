import { WaitQueue } from "../../src/core/waiter.js";

/** A tiny resource on the waiter core: a pool of units, each waiter takes one. */
export class Pool {
  units = 0;
  taken = 0;
  readonly q = new WaitQueue<number>({ ready: () => this.units > 0, take: () => (this.units--, ++this.taken) }, "take on Pool");
  put(n = 1): void {
    this.units += n;
    this.q.pump();
  }
  take(opts?: { signal?: AbortSignal }): Promise<number> {
    return this.q.wait(undefined, opts);
  }
}
