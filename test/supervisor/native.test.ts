/** A thread blocked inside a synchronous native call: what is known is reported at once, the stack when it lands. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { blocksBetween, runFixture, show, sourceLine } from "./helpers.js";

test("execSync: reported at once with the syscall, then the stack marked as taken late", async () => {
  const run = await runFixture("native");
  assert.equal(run.code, 0, show(run));
  const reports = run.reports();
  const first = blocksBetween(run, "block-start", "block-end")[0];
  assert.ok(first !== undefined, `reported while blocked\n${show(run)}`);
  assert.equal(first.stackCapture, "pending");
  if (process.platform === "linux") {
    assert.ok(first.native !== undefined, show(run));
    assert.notEqual(first.native.syscall, undefined);
    assert.notEqual(first.native.syscall, "running", "execSync waits in a system call");
  }
  const late = reports.find((r) => r.event === "stack");
  assert.ok(late !== undefined, show(run));
  assert.ok(late.index > first.index);
  assert.equal(late.stackCapture, "late");
  const caller = late.stack!.find((f) => f.functionName === "runShell");
  assert.ok(caller !== undefined, `the caller is still on the stack when execSync returns\n${show(run)}`);
  assert.ok(caller.file.endsWith("blocker.ts"));
  assert.equal(caller.line, sourceLine("blocker", "// @native-line"));

  const lbLine = run.lines.find((l) => l.text.startsWith("MARK listener-blocked ") && l.text.includes(`"at":${first.at},`));
  assert.ok(lbLine !== undefined, show(run));
  const lb = JSON.parse(lbLine.text.split(" ").slice(3).join(" ")) as { stackCapture: string; native?: unknown; stack: { functionName: string }[] };
  assert.equal(lb.stackCapture, "late");
  assert.ok(lb.stack.some((f) => f.functionName === "runShell"));
  if (process.platform === "linux") assert.ok(lb.native !== undefined);
  assert.ok(
    reports.some((r) => r.event === "unblocked" && r.index > first.index),
    show(run),
  );
});
