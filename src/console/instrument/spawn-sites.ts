/**
 * Spawn sites for the console. A V8 stack capture costs 4–8 µs here, several times a whole
 * spawn+join, so unnamed tasks (named ones capture theirs at spawn, per
 * `configure({ spawnSites })`) share the site of earlier tasks spawned with the same function:
 * the same function object, or else the same function source (closures of one spawn call share
 * it). A share is re-verified at the 2nd, 4th, 8th, ... spawn, then every 1024th; a source seen
 * at two different sites is captured every time from then on.
 *
 * Sites are formatted (and source-mapped to the TypeScript source where a map exists) only when
 * a view first shows them, once per capture.
 */
import { dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { captureSpawnSite, formatSpawnSite, type SpawnSite } from "../../task/spawn-site.js";
import { mapFrameText } from "./source-map.js";

interface SiteEntry {
  readonly site: SpawnSite;
  readonly text: string;
  n: number;
  ambiguous: boolean;
}

const MAX_SITE_KEYS = 4096;

/** steward's own dist/src folder: its frames are not where the user spawned the task. */
const OWN_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url)))) + sep;

/** The site cache (one per collector). */
export class SpawnSites {
  readonly #bySource = new Map<string, SiteEntry>();
  readonly #byFn = new WeakMap<object, SiteEntry>();
  readonly #texts = new WeakMap<object, string>();

  /** The spawn site of a task about to run `fn`. */
  siteFor(fn: unknown): SpawnSite {
    if (typeof fn !== "function") return captureSpawnSite();
    let e = this.#byFn.get(fn);
    if (e === undefined) {
      let key: string;
      try {
        key = Function.prototype.toString.call(fn);
      } catch {
        return captureSpawnSite();
      }
      // Hashing the key is what costs: a long source is keyed by its length and its two ends.
      if (key.length > 96) key = `${key.length}:${key.slice(0, 48)}${key.slice(-48)}`;
      e = this.#bySource.get(key);
      if (e === undefined) {
        const site = captureSpawnSite();
        if (this.#bySource.size >= MAX_SITE_KEYS) this.#bySource.clear();
        e = { site, text: formatSpawnSite(site), n: 0, ambiguous: key.endsWith("[native code] }") };
        this.#bySource.set(key, e);
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

  /** "fn (file.ts:line:col)" of a capture, source-mapped; "unknown" without one. Cached per capture. */
  text(site: SpawnSite | undefined): string {
    if (site === undefined) return "unknown";
    let t = this.#texts.get(site);
    if (t === undefined) {
      const raw = formatSpawnSite(site);
      t = raw === "unknown" ? raw : mapFrameText(raw);
      this.#texts.set(site, t);
    }
    return t;
  }
}

/** The frames of a spawn stack outside steward and Node's internals, as source-mapped paths. */
export function userFrames(stack: string): string[] {
  const out: string[] = [];
  for (const raw of stack.split("\n").slice(1)) {
    let line = raw.trim();
    if (!line.startsWith("at ")) continue;
    line = line.slice(3).replace(/file:\/\/[^\s):]+/g, (url) => {
      try {
        return fileURLToPath(url);
      } catch {
        return url;
      }
    });
    if (line.includes(OWN_DIR) || line.includes("node:internal")) continue;
    out.push(`at ${mapFrameText(line)}`);
  }
  return out;
}
