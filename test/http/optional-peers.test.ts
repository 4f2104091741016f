// Fastify and Express are optional peers: the package root and steward/http never load them, and
// the subpaths resolve through package.json "exports" as a user imports them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** Runs `code` as an ES module inside the package (so "steward" resolves to itself); returns its stdout. */
function run(code: string): string {
  return execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" }).trim();
}

const loadedFrameworks = `
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const loaded = Object.keys(require.cache).filter((p) => /node_modules\\/(fastify|express)\\//.test(p));
console.log(JSON.stringify(loaded));`;

void test("the package root and steward/http load neither Fastify nor Express", { timeout: 30_000 }, () => {
  assert.equal(run(`await import("steward"); await import("steward/http");${loadedFrameworks}`), "[]");
});

void test("the subpaths resolve through package.json exports, each with its adapter", { timeout: 30_000 }, () => {
  const out = run(`
const f = await import("steward/fastify");
const e = await import("steward/express");
const h = await import("steward/http");
const r = await import("steward");
console.log(JSON.stringify([typeof f.fastifySteward, typeof e.expressSteward, typeof h.handle, typeof h.httpResource, r.Limiter === f.Limiter, "handle" in r, "fastifySteward" in r]));`);
  assert.deepEqual(JSON.parse(out), ["function", "function", "function", "function", true, false, false]);
});
