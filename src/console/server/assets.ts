/**
 * The web pages' files (src/console/client/web: HTML, script, style), served as they are. The
 * build copies them next to the compiled modules (dist/src/console/client/web); run from a
 * package or a checkout whose dist lacks them, they are read from the shipped src/ folder.
 */
import { readFileSync } from "node:fs";
import { codeFile, packageFile } from "../../util/own-files.js";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

const DIRS = [codeFile("console/client/web/"), packageFile("src/console/client/web/")];

/** The files a console or replay server serves, by path. */
export const ASSET_FILES: readonly string[] = ["index.html", "app.js", "style.css", "timeline.html", "timeline.js", "dom.js"];

const cache = new Map<string, { type: string; body: Buffer } | null>();

/** An asset's bytes and content type, or undefined when it is not one (or cannot be read). */
export function asset(name: string): { type: string; body: Buffer } | undefined {
  if (!ASSET_FILES.includes(name)) return undefined;
  let a = cache.get(name);
  if (a === undefined) {
    a = null;
    for (const dir of DIRS) {
      try {
        a = { type: TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream", body: readFileSync(new URL(name, dir)) };
        break;
      } catch {
        // the next place
      }
    }
    cache.set(name, a);
  }
  return a ?? undefined;
}

/** The pages' Content-Security-Policy: their own script and style, fetches to this server only. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
