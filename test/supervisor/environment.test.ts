/**
 * The supervisor in its surroundings: it opens no port, degrades when the inspector is not
 * available, gets along with a user's own debugger, and never holds up or spoils process exit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { WebSocket } from "undici";
import { blocksBetween, runFixture, show, sourceLine, stackReport } from "./helpers.js";

/** Inodes of the TCP sockets `pid` listens on (state 0A in /proc/net/tcp*). */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const row of text.split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9]!)) out.push(`${table} ${cols[1]}`);
    }
  }
  return out;
}

test("no listening socket is opened and inspector.url() stays undefined", { skip: process.platform !== "linux" && "needs /proc" }, async () => {
  let seen: { listening: string[] } | undefined;
  const run = await runFixture(
    "listen",
    {},
    {
      onLine(line, child) {
        if (!line.text.startsWith("MARK ready ")) return;
        seen = { listening: listeningSockets(child.pid!) };
        child.stdin!.end("done\n");
      },
    },
  );
  assert.equal(run.code, 0, show(run));
  assert.ok(
    run.reports().some((r) => r.event === "blocked" && r.stackCapture === "live"),
    "the session was used",
  );
  assert.ok(seen !== undefined, show(run));
  assert.deepEqual(seen.listening, []);
  assert.equal(run.markData<{ inspectorUrl: string | null }>("ready")?.inspectorUrl, null);
});

function permissionFlags(): string[] {
  const flags = process.allowedNodeEnvironmentFlags;
  const p = flags.has("--permission") ? "--permission" : "--experimental-permission";
  return [p, "--allow-worker", "--allow-fs-read=*", "--no-warnings"];
}

test("without an inspector (permission model) it still reports, without a stack, and does not crash", async () => {
  const run = await runFixture("no-inspector", {}, { execArgv: permissionFlags() });
  assert.equal(run.code, 0, show(run));
  const b = blocksBetween(run, "block-start", "block-end")[0];
  assert.ok(b !== undefined, show(run));
  assert.equal(b.stackCapture, "unavailable");
  assert.match(b.stackNote ?? "", /inspector unavailable/);
  assert.deepEqual(b.stack, []);
  assert.equal(run.markData<{ stackCapture: string }>("listener-blocked")?.stackCapture, "unavailable");
  assert.ok(run.reports().some((r) => r.event === "unblocked" && r.index > b.index));
});

test("with a user's debugger attached it still reports blocks, and steps aside while the debugger has the thread paused", async () => {
  let ws: WebSocket | undefined;
  let resumedAfterMs = 0;
  const run = await runFixture(
    "debugger",
    {},
    {
      execArgv: ["--inspect=127.0.0.1:0"],
      onLine(line, child) {
        // Disconnect before the fixture ends, or Node waits for this debugger at exit.
        if (line.text.startsWith("MARK pause-end ")) ws?.close();
        if (!line.text.startsWith("MARK inspector-url ")) return;
        const url = JSON.parse(line.text.split(" ").slice(3).join(" ")) as string;
        const sock = new WebSocket(url);
        ws = sock;
        let id = 0;
        const send = (method: string, params: object = {}): number => {
          sock.send(JSON.stringify({ id: ++id, method, params }));
          return id;
        };
        let enableId = -1;
        sock.onopen = () => {
          enableId = send("Debugger.enable");
        };
        sock.onmessage = (ev) => {
          const m = JSON.parse(String(ev.data as string)) as { id?: number; method?: string };
          if (m.id === enableId) child.stdin!.end("go\n");
          if (m.method === "Debugger.paused") {
            const t0 = Date.now();
            setTimeout(() => {
              resumedAfterMs = Date.now() - t0;
              send("Debugger.resume");
            }, 700);
          }
        };
      },
    },
  );
  ws?.close();
  assert.equal(run.code, 0, show(run));
  assert.ok(resumedAfterMs >= 700, `the test's debugger paused the fixture\n${show(run)}`);
  // Attaching a debugger blocks the loop by itself (Debugger.enable replays scriptParsed to the
  // client), which may be reported too: look from the fixture's own block on.
  const reports = run.reports();
  const blocked = blocksBetween(run, "block-start", "block-end");
  assert.equal(blocked.length, 1, `the real block is reported\n${show(run)}`);
  const b = stackReport({ ...run, reports: () => reports.filter((r) => r.index >= blocked[0]!.index) })!;
  assert.equal(b.stack![0]!.functionName, "busyWork");
  assert.equal(b.stack![0]!.line, sourceLine("blocker", "// @block-line"));
  const [ps, pe] = [run.markIndex("pause-start"), run.markIndex("pause-end")];
  const inPause = reports.filter((r) => r.index > ps && r.index < pe);
  assert.equal(inPause.filter((r) => r.event === "debugger-paused").length, 1, show(run));
  // The supervisor learns of the pause from the inspector; on a starved machine that news can
  // come after the threshold, so one "blocked" may precede it — never one after it.
  const paused = inPause.find((r) => r.event === "debugger-paused")!;
  const blockedInPause = inPause.filter((r) => r.event === "blocked");
  assert.ok(blockedInPause.length <= 1, `the debugger's pause is not reported as blocks\n${show(run)}`);
  assert.ok(
    blockedInPause.every((r) => r.index < paused.index),
    `no block is reported once the pause is known\n${show(run)}`,
  );
});

for (const [scenario, code] of [
  ["natural", 0],
  ["exit-call", 3],
  ["exit-throw", 1],
] as const) {
  test(`exit (${scenario}): the watchdog keeps nothing alive and Node does not wait for a debugger`, async () => {
    const run = await runFixture(scenario, {}, { timeoutMs: 10_000 });
    assert.equal(run.code, code, show(run));
    assert.ok(
      run.reports().some((r) => r.event === "blocked"),
      show(run),
    );
    assert.doesNotMatch(run.stderr, /Waiting for the debugger/);
    assert.ok(run.durationMs < 5000, `ended in ${run.durationMs} ms`);
  });
}
