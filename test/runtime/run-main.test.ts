import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn as spawnProcess, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runMain, sleep, spawn } from "../../src/index.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/run-main.js", import.meta.url));

interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) contains `text`. */
  waitFor(text: string | RegExp, stream?: "stdout" | "stderr"): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function run(mode: string): Child {
  const proc = spawnProcess(process.execPath, [FIXTURE, mode], {
    env: { ...process.env, STEWARD_FIXTURE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  const poke = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    poke();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    poke();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.on("exit", (code, signal) => {
      resolve({ code, signal, at: performance.now() });
      poke();
    }),
  );
  // A hung child must not hang the suite.
  const guard = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  void exit.then(() => clearTimeout(guard));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor(text, stream = "stdout") {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          const s = stream === "stdout" ? out : err;
          if (typeof text === "string" ? s.includes(text) : text.test(s)) resolve();
          else if (proc.exitCode !== null || proc.signalCode !== null) reject(new Error(`exited before printing ${String(text)}; stdout: ${out} stderr: ${err}`));
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

// The child processes spend most of their time waiting: two at a time keeps the file short
// without starving timing-sensitive tests that run alongside.
void describe("runMain in a child process, in the shapes the README writes", { concurrency: 2 }, () => {
  void test("SIGTERM: the worker drains its queue, main cleans up with steward waits, then the drop phase; exit 0", async () => {
    const c = run("graceful");
    await c.waitFor("ready");
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /main cleaned up\n(?:.*\n)*processed 50\ndropped db\n$/);
    assert.match(c.stderr(), /SIGTERM received, shutting down/);
    assert.match(c.stderr(), /shutdown clean in [\d.]+ ms \(announce [\d.]+, drain [\d.]+ ended by done/);
  });

  void test("SIGINT works the same way", async () => {
    const c = run("graceful");
    await c.waitFor("ready");
    c.proc.kill("SIGINT");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /processed 50\ndropped db/);
  });

  void test("a deadline past 2^31-1 ms holds: the drain is not cut short (round 1: it fired after 1 ms)", async () => {
    const c = run("long-deadline");
    await c.waitFor("ready");
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /processed 50\ndropped db/);
    assert.doesNotMatch(c.stderr(), /TimeoutOverflowWarning/);
  });

  void test("runMain holds the process open while only steward waits are pending (round 1: exit code 13 at once)", async () => {
    const c = run("hold");
    await c.waitFor("ready");
    await sleep(300);
    assert.equal(c.proc.exitCode, null, `exited by itself with ${c.proc.exitCode}: ${c.stderr()}`);
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /main saw cancellation\ndropped db\n/);
  });

  void test("a task stuck on a plain promise: the report names it, the drop phase runs, exit 1 (round 1: exit 13, no report)", async () => {
    const c = run("stuck-promise");
    await c.waitFor("ready");
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 1, c.stderr());
    assert.match(c.stderr(), /shutdown was not clean/);
    assert.match(c.stderr(), /held the drain to its deadline: task \d+ 'waits on a plain promise' running \(not on a steward wait\)/);
    assert.match(c.stderr(), /stuck: task \d+ 'waits on a plain promise' running/);
    assert.match(c.stdout(), /dropped db/);
  });

  for (const [mode, what, text] of [
    ["uncaught", "an uncaught exception", /uncaught exception; shutting down: Error: boom/],
    ["rejection", "an unhandled rejection", /unhandled rejection; shutting down: Error: nope/],
  ] as const) {
    void test(`${what}: reported once, then the same orderly shutdown (the drop phase runs), exit 1`, async () => {
      const c = run(mode);
      await c.waitFor("ready");
      const { code } = await c.exit;
      assert.equal(code, 1, c.stderr());
      assert.match(c.stderr(), text);
      assert.equal(c.stderr().split(mode === "uncaught" ? "Error: boom" : "Error: nope").length, 2, `reported once: ${c.stderr()}`);
      assert.match(c.stdout(), /main saw the announcement\ndropped db\n/);
    });
  }

  void test("a disposer that never settles and a throwing onCancel callback: recorded, the rest still run, exit 1 within the deadlines", async () => {
    const c = run("callbacks");
    await c.waitFor("ready");
    const t0 = performance.now();
    c.proc.kill("SIGTERM");
    const { code, at } = await c.exit;
    assert.equal(code, 1, c.stderr());
    assert.ok(at - t0 < 10_000, `took ${at - t0} ms`);
    assert.match(c.stderr(), /failed: onCancel: Error: listener blew up/);
    assert.match(c.stderr(), /failed: hangs: ShutdownError: disposer 'hangs' did not settle within 200 ms/);
    assert.match(c.stdout(), /dropped db/, "the disposer deferred before the hung one still ran");
  });

  void test("a second signal exits at once with 128+n and prints the tasks still running, grouped by spawn site", async () => {
    const c = run("second");
    await c.waitFor("ready");
    c.proc.kill("SIGTERM");
    await c.waitFor("shutting down", "stderr");
    await c.waitFor("main saw the announcement");
    const t0 = performance.now();
    c.proc.kill("SIGINT");
    const { code, at } = await c.exit;
    assert.ok(at - t0 < 5000);
    assert.equal(code, 128 + 2, c.stderr());
    assert.match(c.stderr(), /SIGINT received again, exiting at once \(draining\); 200 task\(s\) still running\n/);
    assert.match(c.stderr(), /^ {2}×200 tasks \(e\.g\. \d+ 'GET \/slow #\d+'\) waiting on sleep 60000 ms, spawned at .*run-main\.(ts|js):\d+:\d+$/m);
    assert.equal(
      c
        .stderr()
        .split("\n")
        .filter((l) => l.includes("GET /slow")).length,
      1,
      "one line for 200 tasks",
    );
    assert.doesNotMatch(c.stdout(), /dropped db/); // it did not get to the drop phase
  });

  void test("cancelOnStop: a heartbeat does not hold the drain; without it the report names it as what held the drain", async () => {
    const quick = run("heartbeat");
    await quick.waitFor("ready");
    let t0 = performance.now();
    quick.proc.kill("SIGTERM");
    let r = await quick.exit;
    assert.equal(r.code, 0, quick.stderr());
    assert.ok(r.at - t0 < 5000);
    assert.match(quick.stderr(), /shutdown clean in [\d.]+ ms \(announce [\d.]+, drain [\d.]+ ended by done/);

    const deaf = run("heartbeat-deaf");
    await deaf.waitFor("ready");
    t0 = performance.now();
    deaf.proc.kill("SIGTERM");
    r = await deaf.exit;
    assert.equal(r.code, 1, deaf.stderr());
    assert.ok(r.at - t0 >= 400, "it waited for the drain deadline");
    assert.match(deaf.stderr(), /held the drain to its deadline: task \d+ 'heartbeat' waiting on sleep 50 ms/);
    assert.match(deaf.stderr(), /lost: 1 task\(s\) 'heartbeat' cut mid-work while waiting on sleep 50 ms/);
  });

  void test("a request in flight at SIGTERM keeps its task's signal: its fetch completes and it answers (round 1: CancelledError)", async () => {
    const c = run("request");
    await c.waitFor(/ready \d+/);
    const port = Number(/ready (\d+)/.exec(c.stdout())![1]);
    const res = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    await sleep(100);
    c.proc.kill("SIGTERM");
    assert.equal(await res, "from upstream (signal aborted: false)");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /dropped db/);
  });

  void test("a main error exits 1 after shutting down", async () => {
    const c = run("error");
    const { code } = await c.exit;
    assert.equal(code, 1);
    assert.match(c.stderr(), /main failed: Error: main blew up/);
    assert.match(c.stdout(), /dropped db/);
  });

  void test("main returning exits 0 after shutting down the rest", async () => {
    const c = run("return");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /dropped db/);
    assert.equal(c.stderr(), "", "a quiet clean end prints nothing");
  });

  void test('an unobserved panic under unhandledPanic: "shutdown" exits 1', async () => {
    const c = run("panic");
    const { code } = await c.exit;
    assert.equal(code, 1);
    assert.match(c.stderr(), /'crasher' panicked .*nobody watches me/);
    assert.match(c.stdout(), /main saw the announcement\ndropped db/);
  });

  void test("an unclean shutdown (a task stuck past the deadline) exits 1 and names the task", async () => {
    const c = run("unclean");
    await c.waitFor("ready");
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 1);
    assert.match(c.stderr(), /shutdown was not clean/);
    assert.match(c.stderr(), /stuck: task \d+ 'stubborn' waiting on sleep 60000 ms/);
    assert.match(c.stdout(), /dropped db/);
  });

  void test("SIGUSR2 prints the dump to stderr and changes nothing", { skip: process.platform === "win32" }, async () => {
    const c = run("graceful");
    await c.waitFor("ready");
    c.proc.kill("SIGUSR2");
    await c.waitFor("resource 'db'", "stderr");
    // db, and the flight recorder (on by default under runMain), which also writes a dump file.
    assert.match(c.stderr(), /dump \(running\): 2 task\(s\), 2 resource\(s\)/);
    assert.match(c.stderr(), /task \d+ 'worker' waiting on sleep 10 ms/);
    assert.match(c.stderr(), /task \d+ 'main' waiting on cancelled\(\)/);
    c.proc.kill("SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 0);
  });

  void test("exit: false resolves with the code, removes its handlers, and the process ends by itself", async () => {
    const c = run("noexit");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    assert.match(c.stdout(), /dropped db\nresolved 0; listeners 0 0 0 0 0\n/);
  });
});

void test("in-process: handlers exist only while runMain runs; a signal's graceful shutdown resolves 0", async () => {
  const events = ["SIGINT", "SIGTERM", "SIGUSR2", "uncaughtException", "unhandledRejection"];
  const before = events.map((s) => process.listenerCount(s));
  let during: number[] = [];
  const p = runMain(
    async (ctx) => {
      during = events.map((s) => process.listenerCount(s));
      spawn(() => sleep(60_000), { cancelOnStop: true });
      await ctx.stopping.cancelled();
    },
    { exit: false },
  );
  await sleep(5);
  const writes: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write;
  try {
    process.emit("SIGTERM", "SIGTERM");
    assert.equal(await p, 0);
  } finally {
    process.stderr.write = orig;
  }
  assert.deepEqual(
    during,
    // SIGUSR2: runMain's dump and the flight recorder's (on by default under runMain).
    before.map((n, i) => n + (i === 2 ? 2 : 1)),
  );
  assert.deepEqual(
    events.map((s) => process.listenerCount(s)),
    before,
  );
  assert.match(writes.join(""), /SIGTERM received/);
});

void test("runMain validates its input", () => {
  assert.throws(() => runMain(5 as never), { name: "TypeError", message: /main must be a function/ });
  assert.throws(() => runMain(() => {}, { signals: "SIGTERM" as never, exit: false }), { name: "TypeError", message: /opts\.signals/ });
  assert.throws(() => runMain(() => {}, { signals: ["SIGNOPE" as never], exit: false }), { name: "TypeError", message: /opts\.signals/ });
  assert.throws(() => runMain(() => {}, { exit: "no" as never }), { name: "TypeError", message: /opts\.exit/ });
  assert.throws(() => runMain(() => {}, { dumpSignal: "SIGTERM", exit: false }), { name: "TypeError", message: /opts\.dumpSignal/ });
  assert.throws(() => runMain(() => {}, { shutdownTimeoutMs: -1, exit: false }), { name: "RangeError", message: /opts\.shutdownTimeoutMs/ });
  assert.equal(process.listenerCount("SIGTERM"), 0);
});
