/**
 * A real Chromium for the browser tests, with nothing installed system-wide: the headless build
 * shipped inside the `@sparticuz/chromium` npm package (a devDependency), driven by
 * playwright-core. The package decompresses its binary into the OS temp folder on first use
 * (≈ 5 s, then cached); a lock directory keeps concurrent test processes from decompressing it
 * at the same time. `STEWARD_CHROMIUM=/path/to/chromium` uses another binary instead.
 */
import { mkdirSync, rmdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as playwright } from "playwright-core";

const LOCK = join(tmpdir(), "steward-chromium.lock");

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 120_000) rmdirSync(LOCK); // left by a process that died
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmdirSync(LOCK);
  }
}

/** Flags of the packaged build we leave out: the tests check the pages' own security headers. */
const UNSAFE = new Set(["--disable-web-security", "--allow-running-insecure-content", "--disable-site-isolation-trials"]);

/** Launches headless Chromium (close it when done). */
export async function launchChromium(): Promise<Browser> {
  const own = process.env.STEWARD_CHROMIUM;
  const executablePath = own !== undefined && own !== "" ? own : await withLock(() => chromium.executablePath());
  const args = own !== undefined && own !== "" ? ["--headless", "--no-sandbox", "--disable-gpu"] : chromium.args.filter((a) => !UNSAFE.has(a));
  return playwright.launch({ executablePath, args, headless: true, timeout: 60_000 });
}
