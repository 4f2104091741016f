// Timing helpers shared by every test folder (one definition each; folders re-export or import them).

/** Resolves after `ms` of wall time (a real timer, not steward's). */
export const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Busy-waits `ms` on the calling thread: a resume that keeps the event loop, or a block to detect. */
export function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // keep the thread
  }
}

/** A promise and its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every microtask and pending immediate (budget refills, late deliveries) run: `turns` event-loop turns. */
export async function settle(turns = 2): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
