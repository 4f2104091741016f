import { test } from "node:test";
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
  waitFor(text: string, stream?: "stdout" | "stderr"): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
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
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => {
      resolve({ code, signal });
      poke();
    }),
  );
  // A hung child must not hang the suite.
  const guard = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  void exit.then(() => clearTimeout(guard));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor(text, stream = "stdout") {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if ((stream === "stdout" ? out : err).includes(text)) resolve();
          else if (proc.exitCode !== null) reject(new Error(`exited before printing ${JSON.stringify(text)}; stdout: ${out} stderr: ${err}`));
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

void test("SIGTERM shuts down gracefully: main sees cancellation, resources dropped, exit 0", async () => {
  const c = run("graceful");
  await c.waitFor("ready");
  c.proc.kill("SIGTERM");
  const { code } = await c.exit;
  assert.equal(code, 0, c.stderr());
  assert.match(c.stdout(), /main saw cancellation\ndropped db\n/);
  assert.match(c.stderr(), /SIGTERM received, shutting down/);
});

void test("SIGINT works the same way", async () => {
  const c = run("graceful");
  await c.waitFor("ready");
  c.proc.kill("SIGINT");
  const { code } = await c.exit;
  assert.equal(code, 0, c.stderr());
  assert.match(c.stdout(), /dropped db/);
});

void test("a second signal exits at once with 128+n and prints the stuck tasks", async () => {
  const c = run("stuck");
  await c.waitFor("ready");
  c.proc.kill("SIGTERM");
  await c.waitFor("shutting down", "stderr");
  await c.waitFor("main saw cancellation");
  const t0 = performance.now();
  c.proc.kill("SIGINT");
  const { code } = await c.exit;
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(code, 128 + 2, c.stderr());
  assert.match(c.stderr(), /SIGINT received again, exiting at once; 1 task\(s\) still running/);
  assert.match(c.stderr(), /task \d+ 'stubborn' waiting on sleep 60000 ms, age \d+ ms, spawned at .*run-main\.(ts|js):\d+:\d+/);
  assert.doesNotMatch(c.stdout(), /dropped db/); // it did not get to the drop phase
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
});

void test('an unobserved panic under unhandledPanic: "shutdown" exits 1', async () => {
  const c = run("panic");
  const { code } = await c.exit;
  assert.equal(code, 1);
  assert.match(c.stderr(), /'crasher' panicked .*nobody watches me/);
  assert.match(c.stdout(), /main saw cancellation\ndropped db/);
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
  assert.match(c.stderr(), /task \d+ 'worker' waiting on sleep 60000 ms/);
  assert.match(c.stderr(), /task \d+ 'main' waiting on cancelled\(\)/);
  c.proc.kill("SIGTERM");
  const { code } = await c.exit;
  assert.equal(code, 0);
});

void test("exit: false resolves with the code, removes its handlers, and the process ends by itself", async () => {
  const c = run("noexit");
  const { code } = await c.exit;
  assert.equal(code, 0, c.stderr());
  assert.match(c.stdout(), /dropped db\nresolved 0; listeners 0 0 0\n/);
});

void test("in-process: handlers exist only while runMain runs; a signal's graceful shutdown resolves 0", async () => {
  const before = ["SIGINT", "SIGTERM", "SIGUSR2"].map((s) => process.listenerCount(s));
  let during: number[] = [];
  const p = runMain(
    async (ctx) => {
      during = ["SIGINT", "SIGTERM", "SIGUSR2"].map((s) => process.listenerCount(s));
      spawn(() => sleep(60_000));
      await ctx.token.cancelled();
    },
    { exit: false },
  );
  await sleep(5);
  const writes: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write;
  try {
    process.emit("SIGTERM", "SIGTERM");
  } finally {
    process.stderr.write = orig;
  }
  assert.equal(await p, 0);
  assert.deepEqual(
    during,
    // SIGUSR2: runMain's dump and the flight recorder's (on by default under runMain).
    before.map((n, i) => n + (i === 2 ? 2 : 1)),
  );
  assert.deepEqual(
    ["SIGINT", "SIGTERM", "SIGUSR2"].map((s) => process.listenerCount(s)),
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
