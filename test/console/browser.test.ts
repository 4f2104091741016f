/**
 * The console's web page in a real Chromium (playwright-core, Debian's /usr/bin/chromium): it
 * loads, shows a named task's row live through the event stream, opens its detail view with its
 * histograms, and lists resources and warnings. Nothing is skipped: without Chromium the test
 * fails and says how to install it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { consoleOf, Mutex, Runtime, sleep } from "../../src/index.js";
import { spin, tick } from "./helpers.js";

const CHROMIUM = process.env.STEWARD_CHROMIUM ?? "/usr/bin/chromium";

void test("the web page shows a named task, its detail, resources and warnings, live", { timeout: 120_000 }, async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is required for this test and was not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set STEWARD_CHROMIUM to its path`,
  );
  const rt = new Runtime({ name: "web", console: { port: 0, intervalMs: 100, lints: { slowResumeMs: 10 } } });
  const url = await consoleOf(rt)!.listening();
  const m = new Mutex(undefined, { name: "inventory" });
  const guard = await m.lock();
  const reporter = rt.spawn(
    async () => {
      spin(25); // a slow first resume: a slow-resume warning
      await m.lock();
    },
    { name: "nightly-report" },
  );
  const dir = mkdtempSync(join(tmpdir(), "steward-chromium-"));
  let browser: BrowserContext | undefined;
  try {
    // A fresh profile: playwright passes it as --user-data-dir.
    browser = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      timeout: 60_000,
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });
    await page.goto(url);
    assert.equal(await page.title(), "steward console");

    // The named task's row, from the first snapshot.
    const row = page.locator(`#tasks tbody tr[data-task-id="${reporter.id}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /nightly-report/);
    assert.match(await row.innerText(), /lock on Mutex "inventory"/);
    await page.locator("#conn.live").waitFor({ timeout: 15_000 });

    // A task spawned now arrives through the stream.
    const later = rt.spawn(() => sleep(60_000), { name: "late-arrival" });
    await page.locator(`#tasks tbody tr[data-task-id="${later.id}"]`).waitFor({ timeout: 15_000 });

    // Sorting by a column header.
    await page.locator('#tasks th[data-key="name"]').click();
    const names = await page.locator("#tasks tbody tr td:nth-child(2)").allInnerTexts();
    assert.deepEqual(
      names.filter((n) => n !== ""),
      [...names.filter((n) => n !== "")].sort((a, b) => a.localeCompare(b)),
    );

    // The detail view: fields, histograms, spawn stack.
    await row.click();
    const detail = page.locator("#detail");
    await detail.waitFor({ state: "visible" });
    assert.equal(await page.locator("#detail-title").innerText(), `Task ${reporter.id} 'nightly-report'`);
    const text = await detail.innerText();
    assert.match(text, /waiting on\s+lock on Mutex "inventory"/);
    assert.match(text, /Resume times/);
    assert.match(text, /slow-resume/);
    assert.ok((await detail.locator(".hist div:not(.empty)").count()) >= 1, "the resume histogram has a bar");
    await page.locator("#detail-stack").filter({ hasText: /browser\.test\.(js|ts)/ }).waitFor({ timeout: 10_000 });
    assert.match(page.url(), new RegExp(`#task-${reporter.id}$`));

    // Resources and warnings.
    await page.locator("#tab-resources").click();
    const res = page.locator("#resources tbody tr").filter({ hasText: 'Mutex "inventory"' });
    await res.waitFor();
    assert.match(await res.innerText(), /locked=true/);
    await page.locator("#tab-warnings").click();
    await page.locator("#warnings li").filter({ hasText: "slow-resume" }).waitFor();

    // The row follows the task's end (live), then back to the table.
    await page.locator("#tab-tasks").click();
    guard.release();
    await reporter;
    await page.locator(`#tasks tbody tr[data-task-id="${reporter.id}"].st-done`).waitFor({ timeout: 15_000 });
    assert.deepEqual(errors, []);
    later.abort();
  } finally {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
    await tick(1);
    await rt.shutdown();
  }
});
