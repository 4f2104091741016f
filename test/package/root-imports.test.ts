// Importing the package root loads the core only: no console, recorder, supervisor worker, piscina
// or OpenTelemetry module (they load when a runtime asks for them). Checked in a child process
// that records every module it resolves (ESM, through a resolve hook) or requires (CJS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function modulesLoadedBy(specifier: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "steward-imports-"));
  try {
    const log = join(dir, "resolved.txt");
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(${JSON.stringify(log)}, r.url + "\\n"); return r; }`,
    );
    const main = `import { register, createRequire } from "node:module";
register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});
await import(${JSON.stringify(specifier)});
process.stdout.write(Object.keys(createRequire(import.meta.url).cache).join("\\n"));`;
    const required = execFileSync(process.execPath, ["--input-type=module", "-e", main], { cwd: root, encoding: "utf8" });
    return [...readFileSync(log, "utf8").split("\n"), ...required.split("\n")].filter((s) => s !== "" && !s.startsWith("node:"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the package root loads no optional part", () => {
  const loaded = modulesLoadedBy(pathToFileURL(join(root, "dist/src/index.js")).href);
  assert.ok(
    loaded.some((m) => m.endsWith("/dist/src/task/spawn.js")),
    `the hook saw the core load: ${loaded.length} modules`,
  );
  const optional = loaded.filter((m) => /\/dist\/src\/(console|recorder)\/|\/dist\/src\/supervisor\/(?!index\.js$)|[/\\]node_modules[/\\](piscina|@opentelemetry)[/\\]/.test(m));
  assert.deepEqual(optional, []);
});

test("the shipped package root (the bundle) loads no optional part either", () => {
  // The bundle's files hold many modules each: their source maps say which.
  const loaded = modulesLoadedBy("steward");
  const files = loaded.filter((m) => m.includes("/dist/bundle/")).map((m) => fileURLToPath(m));
  assert.ok(files.some((f) => f.endsWith("/dist/bundle/index.js")) && files.length > 1, `the hook saw the bundle load: ${files.join(", ")}`);
  const sources = files.flatMap((f) => (JSON.parse(readFileSync(`${f}.map`, "utf8")) as { sources: string[] }).sources);
  assert.ok(sources.includes("../../src/task/spawn.ts"), sources.join(", "));
  assert.deepEqual(
    sources.filter((s) => /\/src\/(console|recorder)\/|\/src\/supervisor\/(?!index\.ts$)/.test(s)),
    [],
  );
  assert.deepEqual(
    loaded.filter((m) => /[/\\]node_modules[/\\](piscina|@opentelemetry)[/\\]/.test(m)),
    [],
  );
});

for (const [what, spec] of [
  ["unbundled", pathToFileURL(join(root, "dist/src/index.js")).href],
  ["bundled", "steward"],
]) {
  test(`the package root (${what}) loads no node builtin the core does not use at import (tls, net, stream, perf_hooks, os, module)`, () => {
    // process.moduleLoadList names every builtin loaded so far; the difference is what the import added.
    const index = spec;
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const before = new Set(process.moduleLoadList); await import(${JSON.stringify(index)}); const added = process.moduleLoadList.filter((m) => !before.has(m)); process.stdout.write(JSON.stringify(added));`,
      ],
      { encoding: "utf8", cwd: root },
    );
    const added = (JSON.parse(out) as string[]).filter((m) => m.startsWith("NativeModule "));
    assert.ok(added.length > 0, "the import loaded no builtin at all: moduleLoadList is not what this test expects");
    const heavy = added.filter((m) => /^NativeModule (tls|_tls_wrap|net|crypto|stream|perf_hooks|http|https|os|module)$/.test(m));
    assert.deepEqual(heavy, [], `loaded: ${added.join(", ")}`);
  });
}

test("every error class steward exports extends StewardError", async () => {
  const subpaths = ["index.js", "redis/index.js", "supervisor/index.js", "recorder/index.js", "http/handle.js"];
  const errors = (await import(new URL("../../src/errors.js", import.meta.url).href)) as { StewardError: new () => Error };
  const classes: string[] = [];
  for (const sub of subpaths) {
    const mod = (await import(new URL(`../../src/${sub}`, import.meta.url).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== "function" || !/Error$/.test(name) || name === "StewardError") continue;
      classes.push(name);
      assert.ok((value as { prototype: unknown }).prototype instanceof errors.StewardError, `${sub}: ${name} does not extend StewardError`);
    }
  }
  for (const expected of ["CancelledError", "JoinError", "TimeoutError", "PoolFullError", "OverloadedError", "LeaseLostError", "SupervisorUnavailableError", "RecordingFormatError"]) {
    assert.ok(classes.includes(expected), `${expected} not found among ${classes.join(", ")}`);
  }
});

test("a module imported on its own works: no import-order setters", () => {
  const token = pathToFileURL(join(root, "dist/src/cancel/token.js")).href;
  const spawn = pathToFileURL(join(root, "dist/src/task/spawn.js")).href;
  const tokenOut = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { CancellationToken } = await import(${JSON.stringify(token)}); const t = new CancellationToken(); setTimeout(() => t.cancel(), 1); await t.cancelled(); process.stdout.write("cancelled");`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(tokenOut, "cancelled");
  const spawnOut = execFileSync(
    process.execPath,
    ["--input-type=module", "-e", `const { spawn } = await import(${JSON.stringify(spawn)}); process.stdout.write(String(await spawn(async () => 42)));`],
    {
      encoding: "utf8",
    },
  );
  assert.equal(spawnOut, "42");
});
