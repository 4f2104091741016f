/**
 * Duration histograms with power-of-two buckets over microseconds: bucket 0 holds durations
 * under 1 µs, bucket i (i >= 1) those in [2^(i-1), 2^i) µs, the last one everything above.
 * Recording is a clz32 and an increment, so it can run on every resume.
 */

/** Number of buckets: the last one starts at 2^26 µs ≈ 67 s. */
export const BUCKETS = 28;

/** @internal The bucket of a duration in ms. */
export function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (us < 1) return 0;
  const b = 32 - Math.clz32(us >= 0x7fffffff ? 0x7fffffff : us | 0);
  return b >= BUCKETS ? BUCKETS - 1 : b;
}

/** Lower bound of bucket `i`, in ms. */
export function bucketLowMs(i: number): number {
  return i === 0 ? 0 : 2 ** (i - 1) / 1000;
}

/** Upper bound of bucket `i`, in ms (Infinity for the last). */
export function bucketHighMs(i: number): number {
  return i >= BUCKETS - 1 ? Infinity : 2 ** i / 1000;
}

/** The counts, without trailing empty buckets (what snapshots carry). */
export function trimmed(h: readonly number[] | null): number[] {
  if (h === null) return [];
  let n = h.length;
  while (n > 0 && h[n - 1] === 0) n--;
  return h.slice(0, n);
}

/**
 * An estimate of the `p`-th percentile (0–100) in ms from bucket counts: the upper bound of the
 * bucket it falls in, capped at `max` (the exact maximum seen). 0 when empty.
 */
export function percentileMs(counts: ArrayLike<number>, p: number, max: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return Math.min(bucketHighMs(i), max);
  }
  return max;
}

/** "512µs", "1.0ms", "2.1s": a short human duration. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "-";
  if (ms === Infinity) return "∞";
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}s`;
  return `${Math.floor(ms / 3_600_000)}h${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, "0")}m`;
}

/** Label of bucket `i` for charts: its upper bound ("<1µs", "<2µs", ..., "≥67s"). */
export function bucketLabel(i: number): string {
  if (i >= BUCKETS - 1) return `≥${fmtMs(bucketLowMs(i))}`;
  return `<${fmtMs(bucketHighMs(i))}`;
}
