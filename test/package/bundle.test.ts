// The published entry points are an esbuild bundle (scripts/bundle.mjs, dist/bundle/): checked
// here the way a user reaches them, by package name through package.json "exports", in a child
// process inside the package (so "steward" resolves to itself). Every entry point, and every
// module steward loads by name at run time, must share one copy of steward's state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** Runs `code` as an ES module inside the package; returns the JSON its last line prints. */
function run(code: string, env: Record<string, string> = {}): unknown {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return JSON.parse(out.trim().split("\n").pop()!);
}

void test("the exports point into the bundle and its source maps point at src/*.ts", () => {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { exports: Record<string, { default?: string } | string>; bin: Record<string, string> };
  const files = [...Object.values(pkg.exports).flatMap((e) => (typeof e === "object" && e.default !== undefined ? [e.default] : [])), ...Object.values(pkg.bin)];
  assert.ok(files.length >= 10, files.join(", "));
  for (const f of files) assert.match(f, /^\.\/dist\/bundle\/[a-z.-]+\.js$/);
  // Every map's sources are src/*.ts (the package ships them), or the few-line wrapper each entry
  // point gets from scripts/bundle.mjs.
  const sources = new Set<string>();
  for (const f of readdirSync(`${root}dist/bundle`).filter((n) => n.endsWith(".js.map"))) {
    for (const s of (JSON.parse(readFileSync(`${root}dist/bundle/${f}`, "utf8")) as { sources: string[] }).sources) sources.add(s);
  }
  assert.ok(sources.has("../../src/task/spawn.ts") && sources.has("../../src/console/extension.ts"), [...sources].slice(0, 5).join(", "));
  const other = [...sources].filter((s) => !/^\.\.\/\.\.\/src\/.+\.ts$/.test(s) && !/^steward-entry:src\/.+\.ts$/.test(s));
  assert.deepEqual(other, []);
});

void test("steward and every subpath share one runtime: one default runtime, one class of each, the optional parts attach to it", { timeout: 60_000 }, () => {
  const out = run(`
const root = await import("steward");
const fastify = await import("steward/fastify");
const express = await import("steward/express");
const http = await import("steward/http");
const supervisor = await import("steward/supervisor");
const consoleMod = await import("steward/console");
const recorder = await import("steward/recorder");
const testing = await import("steward/testing");
const redis = await import("steward/redis");
const same = [
  fastify.Limiter === root.Limiter,
  express.OverloadedError === root.OverloadedError,
  http.currentRequest === fastify.currentRequest,
  supervisor.Supervisor === root.Supervisor,
  Object.getPrototypeOf(redis.LeaseLostError) === root.StewardError,
  typeof testing.withTestClock === "function" && typeof recorder === "object",
];
// spawn() finds the default runtime by name (runtime/runtime, loaded on first use): it must be the root's.
const owner = await root.spawn(async () => root.currentRuntime());
const oneDefault = owner === root.getDefaultRuntime();
// The console and the supervisor attach by name through the extension seam: the instances they
// make must be the ones the subpaths see.
const rt = new root.Runtime({ name: "bundle", console: { port: 0 }, supervisor: { thresholdMs: 100, report: "none" } });
const c = consoleMod.consoleOf(rt);
const url = await c.listening();
const sup = supervisor.Supervisor.current();
const blocked = new Promise((resolve) => sup.on("blocked", (e) => resolve(e)));
const seen = await rt.spawn(async () => {
  const task = root.spawn(async () => { await root.sleep(50_000); }, { name: "parked" });
  await root.sleep(20);
  const snap = c.snapshot();
  task.abort();
  await task.catch(() => {});
  return snap.tasks.some((t) => t.name === "parked");
});
const end = Date.now() + 600;
while (Date.now() < end); // block the loop: the supervisor's worker thread must see it
const event = await Promise.race([blocked, root.sleep(20_000).then(() => undefined)]);
const page = await fetch(url);
const html = await page.text();
const script = await fetch(new URL("app.js", url));
await rt.shutdown();
console.log(JSON.stringify({ same, oneDefault, consoleAttached: c !== undefined, seen, supervisor: sup !== undefined, blockedMs: event?.blockedMs ?? null, page: page.status, html: html.includes("<html"), script: script.status, scriptType: script.headers.get("content-type") }));
`);
  const r = out as {
    same: boolean[];
    oneDefault: boolean;
    consoleAttached: boolean;
    seen: boolean;
    supervisor: boolean;
    blockedMs: number | null;
    page: number;
    html: boolean;
    script: number;
    scriptType: string;
  };
  assert.deepEqual(r.same, [true, true, true, true, true, true]);
  assert.equal(r.oneDefault, true);
  assert.equal(r.consoleAttached, true);
  assert.equal(r.seen, true, "the console saw the task spawned through the root");
  assert.equal(r.supervisor, true);
  assert.ok(r.blockedMs !== null && r.blockedMs >= 100, `the supervisor's worker reported the block: ${r.blockedMs}`);
  assert.equal(r.page, 200);
  assert.equal(r.html, true);
  assert.equal(r.script, 200);
  assert.match(r.scriptType, /javascript/);
});

void test("the bin is the bundle's CLI and runs", () => {
  assert.ok(readFileSync(`${root}dist/bundle/cli.main.js`, "utf8").startsWith("#!/usr/bin/env node\n"));
  const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { version: string };
  assert.equal(execFileSync(process.execPath, [`${root}dist/bundle/cli.main.js`, "--version"], { encoding: "utf8" }).trim(), pkg.version);
});

void test("a spawn site names the user's file, not the bundle's chunk", { timeout: 30_000 }, () => {
  const out = run(`
const { spawn, configure, Runtime } = await import("steward");
const consoleMod = await import("steward/console");
configure({ spawnSites: "all" });
const rt = new Runtime({ console: { port: 0 } });
const site = await rt.spawn(async () => {
  const t = spawn(async () => { await new Promise((r) => setTimeout(r, 30)); }, { name: "sited" });
  await new Promise((r) => setTimeout(r, 10));
  const row = consoleMod.consoleOf(rt).snapshot().tasks.find((x) => x.name === "sited");
  await t;
  return row?.spawnedAt ?? null;
});
await rt.shutdown();
console.log(JSON.stringify(site));
`);
  assert.equal(typeof out, "string", `no spawn site in the console's row: ${JSON.stringify(out)}`);
  assert.doesNotMatch(out as string, /dist[/\\]bundle/);
  assert.match(out as string, /\[eval1\]|eval/);
});
