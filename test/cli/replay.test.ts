/**
 * `steward replay`: a dump recorded from a run of the demo service (its blocked step), opened as a
 * timeline in a real Chromium (test/helpers/chromium.ts) — rows, the blocked episode and its
 * stack, scrubbing to what every task waited on — and as text with --once; bad files fail clearly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { readRecording } from "../../src/recorder/index.js";
import { launchChromium } from "../helpers/chromium.js";
import { tick } from "../helpers/timing.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const SERVICE = fileURLToPath(new URL("../../demo/service.js", import.meta.url));
const run = promisify(execFile);

function lineFrom(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const m = re.exec(buf);
      if (m !== null) resolve(m);
    });
    child.once("exit", (code) => reject(new Error(`exited (${code}) before printing ${re}`)));
  });
}

/** Runs the demo service, blocks its loop with GET /slow, and returns the dump that left. */
async function recordDemo(dir: string): Promise<string> {
  const svc = spawn(process.execPath, [SERVICE], { env: { ...process.env, DEMO_PORT: "0", STEWARD_RECORDER_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
  const err: string[] = [];
  svc.stderr!.setEncoding("utf8").on("data", (d: string) => err.push(d));
  try {
    const [, port] = await lineFrom(svc, /LISTENING (\d+)/);
    const base = `http://127.0.0.1:${port}`;
    await tick(600); // the supervisor's start-up grace in the demo
    await (await fetch(`${base}/fast`)).text();
    // The dump of /slow's episode. On a loaded machine a short stall may have been dumped first
    // (then /slow's, far longer, gets its own), or the supervisor may miss one block: ask twice.
    for (let attempt = 0; attempt < 2; attempt++) {
      await (await fetch(`${base}/slow`)).text();
      for (let i = 0; i < 80; i++) {
        for (const f of readdirSync(dir).filter((n) => n.endsWith("-blocked.stwrec"))) {
          if (readRecording(join(dir, f)).episodes.some((e) => e.stack?.some((s) => s.startsWith("crunchNumbers")) === true)) return join(dir, f);
        }
        await tick(100);
      }
    }
    const found = readdirSync(dir).map((f) => `${f}: ${JSON.stringify(readRecording(join(dir, f)).episodes.map((e) => [e.source, e.durationMs, e.stack?.[0]]))}`);
    throw new Error(`no dump of /slow's episode in ${dir}: ${found.join("; ")}; the service said: ${err.join("")}`);
  } finally {
    svc.kill("SIGTERM");
  }
}

void test("a demo run's dump, replayed in Chromium: tasks, the blocked episode and its stack, and scrubbing", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "steward-replay-"));
  let replay: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    const file = await recordDemo(dir);
    // As text first.
    const { stdout } = await run(process.execPath, [CLI, "replay", file, "--once"]);
    assert.match(stdout, /trigger: blocked/);
    assert.match(stdout, /crunchNumbers \(.*demo\/crunch\.ts:\d+:\d+\)/);
    assert.match(stdout, /'ingest consumer'\s+waiting\s+.*recv on channel#\d+/);

    replay = spawn(process.execPath, [CLI, "replay", file, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    const [, url] = await lineFrom(replay, /(http:\/\/127\.0\.0\.1:\d+\/)/);
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    await page.goto(url!);
    assert.equal(await page.title(), "steward flight recorder");
    await page.locator("body[data-loaded='1']").waitFor({ timeout: 20_000 });
    assert.match(await page.locator("#trigger").innerText(), /^blocked/);

    // Tasks as rows; the request that blocked the loop among them.
    const slowRow = page.locator("#rows .row").filter({ hasText: "GET /slow" });
    await slowRow.first().waitFor();
    assert.ok((await page.locator("#rows .row").count()) >= 3);
    assert.ok((await page.locator("#rows .span.k-waiting").count()) >= 1, "waits are drawn as spans");
    // The blocked episode: a band; its stack names the function and its .ts line.
    const band = page.locator('#episodes-layer .episode[title*="crunchNumbers"]').first();
    await band.waitFor();
    await band.click();
    await page.locator("#episode-detail:not([hidden])").waitFor();
    assert.match(await page.locator("#episode-stack").innerText(), /crunchNumbers \(.*demo\/crunch\.ts:\d+:\d+\)/);
    // Scrubbed into the episode: the request's task is the one running.
    const running = page.locator("#state tbody tr").filter({ hasText: "GET /slow" });
    await running.first().waitFor();
    assert.match(await running.first().innerText(), /running|active/);
    // Scrubbed to the end: the consumer waits on its channel; resources are listed alongside.
    await page.locator("#scrub").fill("10000");
    const consumer = page.locator("#state tbody tr").filter({ hasText: "ingest consumer" });
    await consumer.first().waitFor();
    assert.match(await consumer.first().innerText(), /waiting[\s\S]*recv on channel#\d+/);
    assert.ok((await page.locator("#res-rows .row").filter({ hasText: "channel#" }).count()) >= 1);
    // Keyboard scrubbing moves the cursor.
    const before = await page.locator("#cursor-time").innerText();
    await page.locator("#chart").click({ position: { x: 400, y: 5 } });
    await page.keyboard.press("ArrowLeft");
    assert.notEqual(await page.locator("#cursor-time").innerText(), before);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    replay?.kill("SIGINT");
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("steward replay: a missing file, a file that is not a dump, bad options", async () => {
  const dir = mkdtempSync(join(tmpdir(), "steward-replay-bad-"));
  try {
    const junk = join(dir, "junk.stwrec");
    writeFileSync(junk, "not a dump");
    await assert.rejects(run(process.execPath, [CLI, "replay", junk, "--once"]), (e: { code: number; stderr: string }) => e.code === 1 && /not a steward flight-recorder dump/.test(e.stderr));
    await assert.rejects(run(process.execPath, [CLI, "replay", join(dir, "nope.stwrec")]), (e: { code: number; stderr: string }) => e.code === 1 && /ENOENT/.test(e.stderr));
    await assert.rejects(run(process.execPath, [CLI, "replay"]), (e: { code: number; stderr: string }) => e.code === 2 && /a dump FILE is required/.test(e.stderr));
    await assert.rejects(run(process.execPath, [CLI, "replay", junk, "--port", "x"]), (e: { code: number }) => e.code === 2);
    const { stdout } = await run(process.execPath, [CLI, "replay", "--help"]);
    assert.match(stdout, /Usage: steward replay FILE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
