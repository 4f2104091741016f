/**
 * Spawn sites for the console. A V8 stack capture costs 4–8 µs here, several times a whole
 * spawn+join, so unnamed tasks (named ones capture theirs at spawn, per
 * `configure({ spawnSites })`) share the site of earlier tasks spawned with the same function:
 * the same function object, or else the same function source (closures of one spawn call share
 * it). A share is re-verified at the 2nd, 4th, 8th, ... spawn, then every 1024th; a source seen
 * at two different sites is captured every time from then on.
 *
 * A fresh closure per spawn (a request handler's `rt.spawn(async () => ...)`) is the common case,
 * so the source is looked up by its length and then compared, not hashed: V8 slices the text of
 * a function from its script, and comparing two slices is a memcmp where hashing walks every
 * character (and the old key, cut and concatenated, allocated twice per spawn).
 *
 * Sites are formatted (and source-mapped to the TypeScript source where a map exists) only when
 * a view first shows them, once per capture.
 */
import { captureSpawnSite, formatSpawnSite, type SpawnSite } from "../../task/spawn-site.js";

interface SiteEntry {
  readonly site: SpawnSite;
  readonly text: string;
  /** The function source it was captured for. */
  readonly source: string;
  n: number;
  ambiguous: boolean;
  /** Another source of the same length (rare: a short list). */
  other: SiteEntry | undefined;
}

const MAX_SITE_KEYS = 4096;

const fnSource = Function.prototype.toString;

/** The site cache (one per collector). */
export class SpawnSites {
  /** Entries by the length of their source; sources of one length are chained through `other`. */
  readonly #byLength = new Map<number, SiteEntry>();
  #sources = 0;
  readonly #byFn = new WeakMap<object, SiteEntry>();

  /** The spawn site of a task about to run `fn`. */
  siteFor(fn: unknown): SpawnSite {
    if (typeof fn !== "function") return captureSpawnSite();
    let e = this.#byFn.get(fn);
    if (e === undefined) {
      let source: string;
      try {
        source = fnSource.call(fn) as string;
      } catch {
        return captureSpawnSite();
      }
      e = this.#byLength.get(source.length);
      while (e !== undefined && e.source !== source) e = e.other;
      if (e === undefined) {
        const site = captureSpawnSite();
        if (this.#sources >= MAX_SITE_KEYS) {
          this.#byLength.clear();
          this.#sources = 0;
        }
        e = { site, text: formatSpawnSite(site), source, n: 0, ambiguous: source.endsWith("[native code] }"), other: this.#byLength.get(source.length) };
        this.#byLength.set(source.length, e);
        this.#sources++;
        // Only the first function object of a source: a fresh closure per spawn would add an
        // entry per task to a WeakMap (costly for the garbage collector).
        this.#byFn.set(fn, e);
      }
    }
    if (e.ambiguous) return captureSpawnSite();
    const n = ++e.n;
    if (n === 1) return e.site;
    // Verified at the 2nd, 4th, 8th, ... 1024th spawn, then every 1024th (formatting a capture
    // costs tens of µs).
    if ((n & (n - 1)) !== 0 && (n & 1023) !== 0) return e.site;
    const site = captureSpawnSite();
    if (formatSpawnSite(site) === e.text) return e.site;
    e.ambiguous = true;
    return site;
  }

  /** "fn (file.ts:line:col)" of a capture, source-mapped; "unknown" without one. Cached per capture (on the site). */
  text(site: SpawnSite | undefined): string {
    return formatSpawnSite(site);
  }
}
