/**
 * The console's web page in a real Chromium (the one shipped in the @sparticuz/chromium npm
 * package, driven by playwright-core: see test/helpers/chromium.ts): it loads, shows a named
 * task's row live through the event stream, opens its detail view with its histograms, and lists
 * resources, warnings and blocked episodes with their stacks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { consoleOf, recordBlocked } from "../../src/console/index.js";
import { Mutex, Runtime, sleep } from "../../src/index.js";
import { launchChromium } from "../helpers/chromium.js";
import { spin, tick } from "./helpers.js";

void test("the web page shows a named task, its detail, resources and warnings, live", { timeout: 120_000 }, async () => {
  const rt = new Runtime({ name: "web", console: { port: 0, intervalMs: 100, lints: { slowResumeMs: 10, startupMs: 0 } } });
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
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
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

    // The detail view: fields, histograms, spawn stack. The table is redrawn live, so a user's
    // click can straddle a redraw: press on the row, let the rows be replaced under the pointer,
    // release. The row must still open.
    await row.hover();
    await row.evaluate((el) => el.setAttribute("data-before-press", ""));
    await page.mouse.down();
    // Until the row under the pointer is a new element (the stream redraws every 100 ms).
    for (const t0 = Date.now(); (await row.getAttribute("data-before-press")) !== null;) {
      assert.ok(Date.now() - t0 < 15_000, "the task table was never redrawn");
      await new Promise((r) => setTimeout(r, 20));
    }
    await page.mouse.up();
    const detail = page.locator("#detail");
    await detail.waitFor({ state: "visible" });
    assert.equal(await page.locator("#detail-title").innerText(), `Task ${reporter.id} 'nightly-report'`);
    const text = await detail.innerText();
    assert.match(text, /waiting on\s+lock on Mutex "inventory"/);
    assert.match(text, /Resume times/);
    assert.match(text, /slow-resume/);
    assert.ok((await detail.locator(".hist div:not(.empty)").count()) >= 1, "the resume histogram has a bar");
    await page
      .locator("#detail-stack")
      .filter({ hasText: /browser\.test\.(js|ts)/ })
      .waitFor({ timeout: 10_000 });
    assert.match(page.url(), new RegExp(`#task-${reporter.id}$`));

    // Resources and warnings.
    await page.locator("#tab-resources").click();
    const res = page.locator("#resources tbody tr").filter({ hasText: 'Mutex "inventory"' });
    await res.waitFor();
    assert.match(await res.innerText(), /locked=true/);
    await page.locator("#tab-warnings").click();
    // Its own warning: on a loaded machine another task of this test may resume slowly too.
    await page.locator("#warnings li").filter({ hasText: "slow-resume" }).filter({ hasText: "nightly-report" }).waitFor();

    // Blocked episodes, as a supervisor reports them: grouped by stack; a row opens the stack.
    const stack = [
      { functionName: "crunchNumbers", file: "/app/src/crunch.ts", line: 4, column: 3 },
      { functionName: "handle", file: "/app/src/server.ts", line: 9, column: 5 },
    ];
    recordBlocked({ thread: "main", blockedMs: 420, at: Date.now(), stack, task: { id: reporter.id, name: "nightly-report" } });
    await page.locator("#tab-blocked").click();
    const group = page.locator("#blocked-groups tbody tr.group").filter({ hasText: "crunchNumbers (/app/src/crunch.ts:4:3)" });
    await group.waitFor({ timeout: 15_000 });
    assert.match(await group.innerText(), /nightly-report/);
    await group.dispatchEvent("click"); // not a pointer click: on a loaded machine new episodes keep moving the rows
    await page.locator("#blocked-groups tr.stack-row").filter({ hasText: "handle (/app/src/server.ts:9:5)" }).waitFor();
    const episode = page.locator("#blocked tbody tr.episode").filter({ hasText: "supervisor" });
    assert.match(await episode.first().innerText(), /420\.0ms/);
    assert.match(await page.locator("#h-blocked").innerText(), /^[1-9]/);

    // The row follows the task's end (live), then back to the table.
    await page.locator("#tab-tasks").click();
    guard.release();
    await reporter;
    await page.locator(`#tasks tbody tr[data-task-id="${reporter.id}"].st-done`).waitFor({ timeout: 15_000 });
    assert.deepEqual(errors, []);
    later.abort();
  } finally {
    await browser?.close();
    await tick(1);
    await rt.shutdown();
  }
});
