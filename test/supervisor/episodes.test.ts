/**
 * Issue 11's supervisor defects and issue 15's diagnosis, each in the shape a user meets it:
 * a first test without ready() or with a block the moment it resolves, a worker that blocks at
 * once, a block near the stack limit, a storm of repeated blocks, the permission model, a large
 * JSON.parse, a user frame under a deep library recursion.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { blocksBetween, episodesOverlapping, runFixture, show, sourceLine, stackReport, withStack } from "./helpers.js";

test("a new user's first test: start(), 300 ms, a 700 ms block — reported while blocked, with no ready() and no grace", async () => {
  const run = await runFixture("first-test");
  assert.equal(run.code, 0, show(run));
  const blocked = blocksBetween(run, "block-start", "block-end");
  assert.equal(blocked.length, 1, show(run));
  const b = stackReport(run)!;
  assert.equal(b.stack![0]!.functionName, "busyWork", show(run));
  const un = run.reports().find((r) => r.event === "unblocked" && r.episode === blocked[0]!.episode);
  assert.ok(un !== undefined && un.blockedMs! >= 600, `the whole block, counted from its start\n${show(run)}`);
});

test("a block that begins the moment ready() resolves is reported", async () => {
  const run = await runFixture("ready-block");
  assert.equal(run.code, 0, show(run));
  assert.equal(blocksBetween(run, "block-start", "block-end").length, 1, show(run));
});

test("a worker that blocks within a millisecond of its ready() is reported", async () => {
  const run = await runFixture("worker", {}, { env: { STEWARD_WORKER_AT_ONCE: "1" } });
  assert.equal(run.code, 0, show(run));
  const threadId = run.markData<number>("worker-thread");
  const blocked = episodesOverlapping(run, "worker-block-start", "worker-block-end").filter((r) => r.thread === threadId);
  assert.equal(blocked.length, 1, show(run));
});

test("a block 30 frames from the stack limit is reported while blocked, naming the user's recursion, and the user's code is not disturbed", async () => {
  const run = await runFixture("near-limit", {}, { env: { STEWARD_MARGIN: "30" } });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.markIndex("overflow"), -1, `the probe must not throw into the user's recursion\n${show(run)}`);
  const b = blocksBetween(run, "block-start", "block-end")[0];
  assert.ok(b !== undefined, `reported while blocked\n${show(run)}`);
  assert.equal(b.stackCapture, "live", show(run));
  const user = b.stack!.find((f) => f.functionName === "recurse");
  assert.ok(user !== undefined && user.file.endsWith("blocker.ts"), show(run));
  assert.equal(user.line, sourceLine("blocker", "// @spin-line"));
  assert.ok(b.stack!.length <= 32, "the recursion is folded");
  assert.ok(!b.stack!.some((f) => f.file.includes("steward-supervisor-probe")), "the probe's own frames are left out");
  assert.ok(
    run.reports().some((r) => r.event === "unblocked" && r.episode === b.episode),
    show(run),
  );
});

test("a block near the stack limit in a loop through JS helpers, where V8 cannot even format the probe's RangeError (Node 22), is reported while blocked and its recorded frames follow, naming the user's code", async () => {
  const run = await runFixture("near-limit-helpers", {}, { env: { STEWARD_MARGIN: "40" } });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.markIndex("overflow"), -1, `the probe must not throw into the user's recursion\n${show(run)}`);
  const b = blocksBetween(run, "block-start", "block-end")[0];
  assert.ok(b !== undefined, `reported while blocked\n${show(run)}`);
  // Either the stack came with the report (Node 20, 24) or it follows in a "stack" line.
  const stacked = withStack(run, b);
  assert.ok(stacked !== undefined, `the stack follows\n${show(run)}`);
  // "late" when a loaded machine took over 50 ms to serve the probe (reported as a native wait).
  assert.ok(stacked.stackCapture === "live" || stacked.stackCapture === "late", show(run));
  // The innermost of the user's frames V8 recorded (at most 10): the recursion, or the helper
  // its loop was in when the interrupt came (on Node 22 it can land deep in performance.now()).
  const user = stacked.stack!.find((f) => ["recurseThroughHelpers", "stillBusy", "elapsed"].includes(f.functionName));
  assert.ok(user !== undefined && user.file.endsWith("blocker.ts"), `the user's code is named\n${show(run)}`);
  assert.ok(!stacked.stack!.some((f) => f.file.includes("steward-supervisor-probe")), "the probe's own frames are left out");
});

test("a storm of 60 blocks from one stack: a handful of lines and a summary; listeners get every episode, once", async () => {
  const run = await runFixture("storm", { thresholdMs: 50, report: "stderr" });
  assert.equal(run.code, 0, show(run));
  const blocked = run.lines
    .filter((l) => l.text.startsWith("MARK listener-blocked "))
    .map((l) => JSON.parse(l.text.split(" ").slice(3).join(" ")) as { episode: number; repeat?: { of: number; count: number } });
  const unblocked = run.lines.filter((l) => l.text.startsWith("MARK listener-unblocked ")).map((l) => JSON.parse(l.text.split(" ").slice(3).join(" ")) as { episode: number; blockedMs: number });
  assert.ok(blocked.length >= 40, `most of the 60 blocks are episodes (${blocked.length})\n${show(run)}`);
  const ids = blocked.map((b) => b.episode);
  assert.equal(new Set(ids).size, ids.length, "each episode once");
  assert.deepEqual(
    unblocked.map((u) => u.episode).sort((a, b) => a - b),
    [...ids].sort((a, b) => a - b),
    "one unblocked per episode, same ids",
  );
  assert.ok(
    unblocked.every((u) => u.blockedMs >= 50),
    "final durations",
  );
  // Grouped by stack: the same block, sampled 50 ms in, is one stack (a sample that lands just
  // after busyWork returned, on a loaded machine, is another).
  const groups = new Map<number, number>();
  for (const b of blocked) groups.set(b.repeat?.of ?? b.episode, (groups.get(b.repeat?.of ?? b.episode) ?? 0) + 1);
  const largest = Math.max(...groups.values());
  assert.ok(largest >= blocked.length / 2, `most episodes share one group: ${JSON.stringify([...groups])}`);
  const supLines = run.lines.filter((l) => l.text.startsWith("steward supervisor:") || l.text.startsWith("    "));
  // Ungrouped, 60 episodes write ≥ 60 × (header + 3 frames + unblocked) = 300 lines. A loaded
  // machine adds a few stacks of its own (samples that land elsewhere), each with a full report.
  assert.ok(supLines.length <= 60, `report lines bounded (${supLines.length})\n${show(run)}`);
  assert.ok(
    run.lines.some((l) => /^steward supervisor: main thread blocked \d+ more times? in the last \d+ s with the same stack as episode \d+ \(at busyWork .*\): \d+(–\d+)? ms each/.test(l.text)),
    show(run),
  );
});

test("permission model without --allow-worker: new Runtime({ supervisor: true }) starts the app with one warning; Supervisor.start() throws a typed error", async () => {
  const flags = process.allowedNodeEnvironmentFlags;
  const p = flags.has("--permission") ? "--permission" : "--experimental-permission";
  const run = await runFixture("runtime-permission", {}, { execArgv: [p, "--allow-fs-read=*"] });
  assert.equal(run.code, 0, show(run));
  assert.ok(run.markIndex("app-started") >= 0 && run.markIndex("app-stopped") >= 0, show(run));
  const warnings = run.lines.filter((l) => l.text.includes("STEWARD_SUPERVISOR_OFF"));
  assert.equal(warnings.length, 1, show(run));
  assert.match(warnings[0]!.text, /the supervisor is off: .*--allow-worker/);
  assert.doesNotMatch(run.stderr, /ERR_ACCESS_DENIED/);
});

test("a large JSON.parse is reported while it runs, naming the user's function and .ts line, inside JSON.parse", async () => {
  const run = await runFixture("json-parse");
  assert.equal(run.code, 0, show(run));
  const b = blocksBetween(run, "block-start", "block-end")[0];
  assert.ok(b !== undefined, show(run));
  assert.equal(b.stackCapture, "live", show(run));
  assert.equal(b.inside?.call, "JSON.parse");
  assert.ok((b.inside?.size ?? 0) > 1e6);
  assert.equal(b.stack![0]!.functionName, "JSON.parse");
  assert.equal(b.stack![0]!.kind, "native");
  const user = b.stack!.find((f) => f.functionName === "parseBody");
  assert.ok(user !== undefined && user.file.endsWith("blocker.ts"), show(run));
  assert.equal(user.line, sourceLine("blocker", "// @parse-line"));
  assert.equal(user.kind, "app");
  assert.equal(b.task?.name, "POST /import");
  assert.ok(!b.stack!.some((f) => f.file.includes("/dist/src/") || f.file.includes("/src/task/")), `steward's own frames are left out\n${show(run)}`);
});

test("a block deep inside a library recursion keeps the user's frame: library frames marked and collapsed", async () => {
  const run = await runFixture("deep-lib");
  assert.equal(run.code, 0, show(run));
  const b = stackReport(run);
  assert.ok(b !== undefined && b.index < run.markIndex("block-end"), show(run));
  const stack = b.stack!;
  assert.ok(stack.length <= 32, `collapsed to the frame budget (${stack.length})`);
  // The sample may land inside a builtin lodash calls (a native frame on top); the first frame
  // that is not native is lodash's.
  const top = stack.find((f) => f.kind !== "native");
  assert.equal(top?.kind, "library", show(run));
  assert.equal(top?.package, "lodash");
  assert.ok(
    stack.some((f) => f.kind === "collapsed" && (f.count ?? 0) > 100),
    show(run),
  );
  const user = stack.find((f) => f.functionName === "copyTree");
  assert.ok(user !== undefined, `the user's frame survives hundreds of lodash frames\n${show(run)}`);
  assert.equal(user.line, sourceLine("blocker", "// @deep-line"));
  assert.equal(b.task?.name, "copy");
});
