/**
 * What writes a dump, tried the way a service meets it, in child processes under runMain (where
 * the recorder is on by default): SIGUSR2, an unobserved panic, a stuck shutdown, a blocked loop
 * seen by the supervisor, the console's POST /api/recorder/dump; and nothing when it is off.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readRecording, type Recording } from "../../src/recorder/index.js";
import { tick } from "../helpers/timing.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/app.js", import.meta.url));

interface Child {
  proc: ChildProcess;
  dir: string;
  lines: string[];
  stderr: string[];
  exit: Promise<number | null>;
}

async function start(mode: string, env: Record<string, string> = {}): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "steward-trig-"));
  const proc = spawn(process.execPath, [FIXTURE, mode], { env: { ...process.env, STEWARD_FIXTURE: "1", STEWARD_RECORDER_DIR: dir, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const stderr: string[] = [];
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => stderr.push(d));
  const exit = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    let buf = "";
    proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        if (buf.slice(0, i) === "READY") resolve();
        buf = buf.slice(i + 1);
      }
    });
    void exit.then((code) => reject(new Error(`the fixture exited early (${code}): ${stderr.join("")}`)));
  });
  return { proc, dir, lines, stderr, exit };
}

async function dumpOf(c: Child, trigger: string, ms = 10_000): Promise<Recording> {
  const end = Date.now() + ms;
  for (;;) {
    const f = readdirSync(c.dir).find((n) => n.endsWith(`-${trigger}.stwrec`));
    if (f !== undefined) return readRecording(join(c.dir, f));
    if (Date.now() > end) throw new Error(`no ${trigger} dump in ${c.dir} (${readdirSync(c.dir).join(", ")}); stderr: ${c.stderr.join("")}`);
    await tick(50);
  }
}

async function finish(c: Child): Promise<number | null> {
  if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
  const code = await c.exit;
  rmSync(c.dir, { recursive: true, force: true });
  return code;
}

void test("SIGUSR2 writes a dump (runMain has the recorder on by default)", { timeout: 30_000 }, async () => {
  const c = await start("signal");
  try {
    c.proc.kill("SIGUSR2");
    const rec = await dumpOf(c, "signal");
    assert.equal(rec.header.trigger.kind, "signal");
    assert.equal(rec.header.trigger.detail, "SIGUSR2");
    assert.ok(rec.tasks.some((t) => t.name === "main"));
    assert.ok(rec.tasks.some((t) => t.name === "sleeper" && t.spans.some((s) => s.what === "sleep 60000 ms")));
    // The live tasks carry their await sites: main awaits its token in the fixture.
    const main = rec.header.live.flatMap((l) => l.tasks).find((t) => t.name === "main");
    assert.match(main?.awaitSite ?? "", /fixtures\/app\.ts:51:\d+$/, JSON.stringify(rec.header.live));
    assert.match(c.stderr.join(""), /steward recorder: wrote .*-signal\.stwrec/);
    assert.match(c.stderr.join(""), /\[recorder\]/, "runMain's dump on SIGUSR2 says where dumps go");
  } finally {
    assert.equal(await finish(c), 0);
  }
});

void test("an unobserved panic writes a dump naming the task", { timeout: 30_000 }, async () => {
  const c = await start("panic");
  try {
    const rec = await dumpOf(c, "panic");
    assert.match(rec.header.trigger.detail ?? "", /'doomed' panicked/);
    const doomed = rec.tasks.find((t) => t.name === "doomed");
    assert.equal(doomed?.outcome, "panic");
  } finally {
    await finish(c);
  }
});

void test("a stuck shutdown writes a dump while the task is still stuck, naming it", { timeout: 30_000 }, async () => {
  const c = await start("stuck");
  c.proc.kill("SIGTERM");
  const rec = await dumpOf(c, "shutdown-stuck");
  assert.match(rec.header.trigger.detail ?? "", /still running near the shutdown deadline/);
  const stubborn = rec.header.live.flatMap((l) => l.tasks).find((t) => t.name === "stubborn");
  assert.ok(stubborn, JSON.stringify(rec.header.live));
  assert.equal(await c.exit, 1, "an unclean shutdown exits with 1");
  await finish(c);
});

void test("a blocked loop seen by the supervisor writes a dump with the stack and the final duration", { timeout: 30_000 }, async () => {
  const c = await start("blocked");
  try {
    const rec = await dumpOf(c, "blocked");
    const ep = rec.episodes.find((e) => e.task?.name === "cruncher") ?? assert.fail(JSON.stringify(rec.episodes));
    assert.ok(ep.durationMs >= 400, `blocked ${ep.durationMs} ms`);
    assert.ok(
      ep.stack?.some((f) => /^crunch \(.*fixtures\/app\.ts:\d+:\d+\)$/.test(f)),
      JSON.stringify(ep.stack),
    );
  } finally {
    await finish(c);
  }
});

function call(url: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

void test("the console's POST /api/recorder/dump writes a dump; a cross-site request cannot", { timeout: 30_000 }, async () => {
  const c = await start("http");
  try {
    const url = c.lines.find((l) => l.startsWith("URL "))!.slice(4);
    const status = JSON.parse((await call(`${url}api/recorder`, "GET")).body) as { on: boolean; capacity: number };
    assert.equal(status.on, true);
    assert.ok(status.capacity > 100_000);
    assert.equal((await call(`${url}api/recorder/dump`, "POST", { origin: "http://evil.example" })).status, 403);
    assert.equal((await call(`${url}api/recorder/dump`, "POST", { "sec-fetch-site": "cross-site" })).status, 403);
    const r = await call(`${url}api/recorder/dump`, "POST");
    assert.equal(r.status, 200, r.body);
    const { file } = JSON.parse(r.body) as { file: string };
    assert.equal(readRecording(file).header.trigger.kind, "http");
    const live = JSON.parse((await call(`${url}api/recording`, "GET")).body) as Recording;
    assert.ok(live.tasks.some((t) => t.name === "sleeper"));
    assert.equal((await call(`${url}timeline.html`, "GET")).status, 200);
  } finally {
    await finish(c);
  }
});

void test("off (recorder: false, or STEWARD_RECORDER=0): no dump, SIGUSR2 only prints runMain's dump", { timeout: 30_000 }, async () => {
  for (const [mode, env] of [
    ["off", {}],
    ["signal", { STEWARD_RECORDER: "0" }],
  ] as const) {
    const c = await start(mode, env);
    try {
      c.proc.kill("SIGUSR2");
      await tick(500);
      assert.deepEqual(readdirSync(c.dir), []);
      assert.doesNotMatch(c.stderr.join(""), /\[recorder\]/);
    } finally {
      assert.equal(await finish(c), 0);
    }
  }
});
