#!/usr/bin/env node
// Runs every dist/test/**/*.test.js with node's test runner (two files at a time), then runs the
// files that had a failure once more, alone. A file that passes alone is reported by name as
// FLAKY on stderr (a timing test that lost to a loaded machine: it must be fixed, not forgotten);
// the run fails if any file fails twice. Used by `npm test` and by .ci/run on Node 22 and 24.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith(".test.js") ? [p] : [];
  });
}

const files = find("dist/test").sort();
const run = (list) => spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-reporter=tap", ...list], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "inherit"] });

const first = run(files);
process.stdout.write(first.stdout);
if (first.status === 0) process.exit(0);
// Failing tests carry their location (file:line:col); a file that failed to load is named itself.
const failed = new Set();
for (const m of first.stdout.matchAll(/location: '([^']+?\.test\.js):\d+:\d+'/g)) failed.add(m[1].replace(process.cwd() + "/", ""));
for (const m of first.stdout.matchAll(/^not ok \d+ - (\S+\.test\.js)$/gm)) failed.add(m[1].replace(process.cwd() + "/", ""));
const known = [...failed].filter((f) => files.includes(f));
if (known.length === 0) process.exit(first.status ?? 1);
process.stderr.write(`\n${known.length} file(s) had failures; running them again, alone:\n${known.map((f) => `  ${f}`).join("\n")}\n`);
let bad = 0;
for (const f of known) {
  const again = run([f]);
  if (again.status === 0) process.stderr.write(`FLAKY: ${f} failed in the full run and passed alone\n`);
  else {
    bad++;
    process.stdout.write(again.stdout);
    process.stderr.write(`FAILED twice: ${f}\n`);
  }
}
process.exit(bad === 0 ? 0 : 1);
