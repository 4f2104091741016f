/**
 * The console's spawn-site cache (instrument/spawn-sites.ts): closures of one spawn call share
 * the site captured for the first, sources of the same length are told apart, and a source seen
 * at a second call site is captured there rather than shown at the first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SpawnSites } from "../../src/console/instrument/spawn-sites.js";
import { formatSpawnSite } from "../../src/task/spawn-site.js";

const line = (site: Parameters<typeof formatSpawnSite>[0]): number => Number(/:(\d+):\d+\)?$/.exec(formatSpawnSite(site))![1]);

void test("fresh closures of one source share the first capture; sources of one length keep their own", () => {
  const sites = new SpawnSites();
  const make = (k: number) => () => k;
  const shared = [0, 1, 2, 3, 5].map((i) => sites.siteFor(make(i)));
  assert.ok(
    shared.every((s) => s === shared[0]),
    "closures of one spawn share one capture (verified at the 2nd and 4th)",
  );
  // Two different sources of the same length, at two lines: each has its own site.
  const one = (): number => 1;
  const two = (): number => 2;
  assert.equal(String(one).length, String(two).length);
  const a = sites.siteFor(one);
  const b = sites.siteFor(two);
  assert.notEqual(a, b);
  assert.equal(line(b), line(a) + 1);
});

void test("a source spawned at a second call site is shown there, and captured every time from then on", () => {
  const sites = new SpawnSites();
  const make = (k: number) => async () => k * 2;
  const first = sites.siteFor(make(1));
  const second = sites.siteFor(make(2)); // the 2nd spawn of the source is verified: another line
  assert.notEqual(second, first);
  assert.equal(line(second), line(first) + 1);
  const more = [3, 4, 5].map((i) => sites.siteFor(make(i)));
  assert.ok(more[0] !== more[1] && more[1] !== more[2], "ambiguous from then on: captured at every spawn");
  assert.ok(more.every((s) => formatSpawnSite(s) === formatSpawnSite(more[0])));
  const x = sites.siteFor(42);
  const y = sites.siteFor(42);
  assert.notEqual(x, y, "not a function: captured each time");
  assert.equal(line(y), line(x) + 1);
});
