/** The package root's Supervisor is one small module: the watchdog and the rest load on start(). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const hooks = fileURLToPath(new URL("./fixtures/trace-loads.js", import.meta.url));
const root = pathToFileURL(fileURLToPath(new URL("../../src/index.js", import.meta.url))).href;

/** The steward supervisor modules a script loads, by file name. */
function supervisorModules(script: string): string[] {
  const r = spawnSync(process.execPath, ["--import", hooks, "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr
    .split("\n")
    .filter((l) => l.startsWith("LOADED ") && l.includes("/dist/src/supervisor/"))
    .map((l) => l.slice(l.lastIndexOf("/") + 1));
}

test("importing Supervisor from the package root loads only the small supervisor module", () => {
  assert.deepEqual(supervisorModules(`import { Supervisor } from ${JSON.stringify(root)}; if (typeof Supervisor.start !== "function") process.exit(2);`), ["index.js"]);
});
