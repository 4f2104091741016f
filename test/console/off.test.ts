/**
 * Console off (the default): no instrumentation is installed, no task carries a console record,
 * and a console that closes removes every hook it installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { hooks } from "../../src/core/instrument.js";
import { Mutex, Runtime, sleep, spawn, unboundedChannel } from "../../src/index.js";
import { consoleOf, instrumentationActive } from "../../src/console/index.js";

void test("off by default: no hooks, no records, no console in dumps", async () => {
  assert.equal(process.env.STEWARD_CONSOLE, undefined, "this test needs STEWARD_CONSOLE unset");
  const rt = new Runtime({ name: "plain" });
  assert.equal(instrumentationActive(), false);
  assert.equal(hooks, null, "the core's hook slot stays null");
  const m = new Mutex();
  const [tx, rx] = unboundedChannel<number>();
  const h = rt.spawn(async () => {
    using _g = await m.lock();
    await tx.send(1);
    await sleep(1);
    return rx.recv();
  });
  const other = spawn(() => 1);
  assert.equal(await h, 1);
  await other;
  assert.equal(h.instrument, undefined, "a task carries no console record");
  assert.equal(consoleOf(rt), undefined);
  const dump = rt.dump();
  assert.deepEqual(Object.keys(dump).sort(), ["resources", "tasks"]);
  assert.equal(instrumentationActive(), false);
  await rt.shutdown();
});

void test("a console's hooks exist only while it is open", async () => {
  const rt = new Runtime({ name: "brief", console: { server: false } });
  assert.equal(instrumentationActive(), true);
  assert.notEqual(hooks, null);
  const h = rt.spawn(() => sleep(1));
  await h;
  assert.notEqual(h.instrument, undefined);
  await rt.shutdown();
  assert.equal(instrumentationActive(), false, "closing the last console removes the promise hooks");
  assert.equal(hooks, null, "and the core hooks");
  // Tasks of a runtime without a console, spawned while another console was on, carry nothing.
  const on = new Runtime({ name: "on", console: { server: false } });
  const off = new Runtime({ name: "off" });
  const a = on.spawn(() => 1);
  const b = off.spawn(() => 2);
  await Promise.all([a, b]);
  assert.notEqual(a.instrument, undefined);
  assert.equal(b.instrument, undefined);
  await Promise.all([on.shutdown(), off.shutdown()]);
  assert.equal(instrumentationActive(), false);
});

void test("importing the package root loads no console, recorder or OpenTelemetry module", async () => {
  const { execFile } = await import("node:child_process");
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "steward-modules-"));
  const out = join(dir, "loaded.txt");
  const root = new URL("../../src/index.js", import.meta.url).href;
  // A resolve hook (module.register) writes down every module the import loads.
  const hook = `import { appendFileSync } from "node:fs"; export async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(out)}, r.url + "\\n"); return r; }`;
  const code = `import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hook)})); await import(${JSON.stringify(root)}); new (await import(${JSON.stringify(root)})).Runtime();`;
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, STEWARD_CONSOLE: "", STEWARD_RECORDER: "" } }, (e) => (e === null ? resolve() : reject(e))),
    );
    const loaded = readFileSync(out, "utf8").trim().split("\n");
    assert.ok(
      loaded.some((u) => u.endsWith("/src/index.js")),
      "the hook saw the import",
    );
    assert.deepEqual(
      loaded.filter((u) => /\/src\/(console|recorder)\/|opentelemetry/.test(u)),
      [],
      "nothing of the console, the recorder or OpenTelemetry",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
