/**
 * Maps Redis's clock onto this process's monotonic clock, conservatively, so a lease is taken as
 * lost here no later than Redis lets it expire — even when this process was paused (SIGSTOP, a
 * long GC) or a reply took long to arrive.
 *
 * A reply's server time was read after the request was sent, so `serverNow - sentAt` is an upper
 * bound of the true offset between the two clocks; an expiry mapped with an upper bound lands
 * early, never late. performance.now() keeps running while the process is stopped.
 */

/** How long a sample stays usable for grants that arrive by pub/sub. */
const SAMPLE_AGE_MS = 10_000;
const SAMPLES = 8;

export class ServerClock {
  readonly #at: number[] = [];
  readonly #off: number[] = [];
  #next = 0;

  /** Records a reply: sent at local `sentAt` (performance.now()), server time `serverNow` (ms). Returns its offset bound. */
  sample(sentAt: number, serverNow: number): number {
    const off = serverNow - sentAt;
    this.#at[this.#next] = sentAt;
    this.#off[this.#next] = off;
    this.#next = (this.#next + 1) % SAMPLES;
    return off;
  }

  /** The tightest recent offset bound, or undefined when there is no recent sample. */
  offset(): number | undefined {
    const now = performance.now();
    let best: number | undefined;
    for (let i = 0; i < this.#at.length; i++) {
      if (now - this.#at[i]! > SAMPLE_AGE_MS) continue;
      const o = this.#off[i]!;
      if (best === undefined || o < best) best = o;
    }
    return best;
  }
}
