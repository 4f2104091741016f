// Bad input across the whole public API (issue 11, item 4): see ./harness.ts for what each call
// must answer. Cases of other areas that still fail are parked in ./<area>.pending.ts (run one
// with `node --test dist/test/fuzz/<area>.pending.js`) and left out here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { allTargets, type Failure, fuzzTarget, type Parked, report } from "./harness.js";
import { parked as consoleParked } from "./console.pending.js";

const PARKED: Parked[] = [...consoleParked];
const failures: Failure[] = [];

for (const t of await allTargets()) {
  const parked = PARKED.filter((p) => p.target === t.name).map((p) => p.param);
  if (parked.includes("*") || (t.params.length === 0 && parked.includes("(none)"))) continue;
  test(`fuzz: ${t.name}`, async () => {
    const f = await fuzzTarget(t, undefined, parked);
    failures.push(...f);
    assert.deepEqual(f, [], report(f));
  });
}

test("fuzz: no parked case names a target that does not exist", async () => {
  const names = new Set((await allTargets()).map((t) => t.name));
  assert.deepEqual(
    PARKED.filter((p) => !names.has(p.target)),
    [],
  );
});
