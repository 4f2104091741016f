/**
 * The console server: loopback by default, a token beyond it, the JSON snapshot, the event
 * stream's snapshot and deltas, task details, `steward console --once` in a child process, and a
 * server that never keeps its process alive.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn as spawnProcess } from "node:child_process";
import { get, type IncomingMessage, Server } from "node:http";
import { createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Runtime, sleep } from "../../src/index.js";
import { consoleOf, type ConsoleDelta, type ConsoleSnapshot } from "../../src/console/index.js";
import { eventually, tick } from "./helpers.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/app.js", import.meta.url));
const run = promisify(execFile);

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A GET with full control of the headers (fetch would not let us set Host). */
function request(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

/** Reads an event stream; `events` fills as they arrive. */
function stream(url: string): { events: { event: string; data: unknown }[]; close(): void; opened: Promise<void> } {
  const events: { event: string; data: unknown }[] = [];
  let close = (): void => undefined;
  const opened = new Promise<void>((resolve, reject) => {
    const req = get(url, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      res.setEncoding("utf8");
      let buf = "";
      res.on("data", (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (ev !== undefined && data !== undefined) events.push({ event: ev, data: JSON.parse(data) as unknown });
        }
      });
      resolve();
    });
    req.on("error", reject);
    close = () => req.destroy();
  });
  return { events, close: () => close(), opened };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

void test("binds 127.0.0.1 by default; refuses 0.0.0.0 (or any non-loopback host) without a token", async () => {
  for (const host of ["0.0.0.0", "::", "192.0.2.10", "example.com"]) {
    assert.throws(
      () => new Runtime({ console: { host } }),
      (e: Error) => e instanceof TypeError && /token/.test(e.message),
      host,
    );
  }
  assert.throws(() => new Runtime({ console: { port: 70_000 } }), RangeError);
  assert.throws(() => new Runtime({ console: { token: "short" } }), TypeError);
  const rt = new Runtime({ name: "local", console: { port: 0 } });
  const url = await consoleOf(rt)!.listening();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(consoleOf(rt)!.url, url);
  const port = Number(new URL(url).port);
  // Not reachable through another interface of this machine.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && !i.internal && i.family === "IPv4");
  if (external !== undefined) {
    await assert.rejects(request(`http://${external.address}:${port}/api/snapshot`), (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED");
  }
  // Without a token, a request whose Host is not loopback is refused (DNS rebinding).
  assert.equal((await request(`${url}api/snapshot`, { host: `evil.example:${port}` })).status, 403);
  assert.equal((await request(`${url}api/snapshot`, { host: `localhost:${port}` })).status, 200);
  await rt.shutdown();
  await assert.rejects(request(`${url}api/snapshot`), (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED", "closed with the runtime");
});

void test("with a token, every /api request must carry it (bearer header or ?token=)", async () => {
  const token = "s3cret-t0ken-for-tests";
  const rt = new Runtime({ name: "guarded", console: { host: "0.0.0.0", port: 0, token } });
  const url = await consoleOf(rt)!.listening();
  const base = `http://127.0.0.1:${new URL(url).port}/`;
  const no = await request(`${base}api/snapshot`);
  assert.equal(no.status, 401);
  assert.match(String(no.headers["www-authenticate"]), /^Bearer/);
  assert.equal((await request(`${base}api/snapshot`, { authorization: "Bearer wrong-token-xyz" })).status, 401);
  assert.equal((await request(`${base}api/snapshot?token=wrong`)).status, 401);
  assert.equal((await request(`${base}api/snapshot`, { authorization: `Bearer ${token}` })).status, 200);
  assert.equal((await request(`${base}api/snapshot?token=${token}`)).status, 200);
  // The page itself holds no data: it asks for the token.
  const page = await request(base);
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>steward console<\/title>/);
  assert.match(String(page.headers["content-security-policy"]), /default-src 'none'/);
  await rt.shutdown();
});

void test("GET /api/snapshot, /api/tasks/:id, and the event stream's snapshot then deltas", async () => {
  const rt = new Runtime({ name: "stream", console: { port: 0, intervalMs: 100, retainMs: 1500 } });
  const url = await consoleOf(rt)!.listening();
  const worker = rt.spawn(() => sleep(60_000), { name: "worker" });
  await tick(5);
  const r = await request(`${url}api/snapshot`);
  assert.equal(r.status, 200);
  assert.equal(r.headers["cache-control"], "no-store");
  const snap = JSON.parse(r.body) as ConsoleSnapshot;
  assert.equal(snap.version, 2);
  assert.equal(snap.header.runtimes[0]?.name, "stream");
  assert.equal(snap.tasks.find((t) => t.id === worker.id)?.waitingOn, "sleep 60000 ms");
  const detail = JSON.parse((await request(`${url}api/tasks/${worker.id}`)).body) as { task: { name: string }; spawnStack: string[] };
  assert.equal(detail.task.name, "worker");
  assert.ok(
    detail.spawnStack.some((l) => /server\.test\.(js|ts)/.test(l)),
    detail.spawnStack.join("\n"),
  );
  assert.equal((await request(`${url}api/tasks/999999`)).status, 404);
  assert.equal((await request(`${url}nope`)).status, 404);

  const es = stream(`${url}api/events`);
  try {
    await es.opened;
    const first = await eventually(() => es.events[0], 3000, "the first event");
    assert.equal(first.event, "snapshot");
    assert.ok((first.data as ConsoleSnapshot).tasks.some((t) => t.id === worker.id));
    const late = rt.spawn(
      async () => {
        await sleep(150);
        return 1;
      },
      { name: "late-comer" },
    );
    const deltas = (): ConsoleDelta[] => es.events.filter((e) => e.event === "delta").map((e) => e.data as ConsoleDelta);
    // The new task arrives in a delta; the idle worker, unchanged, is not sent again.
    const added = await eventually(() => deltas().find((d) => d.tasks.some((t) => t.id === late.id)), 5000, "a delta with the new task");
    assert.equal(added.tasks.find((t) => t.id === late.id)?.name, "late-comer");
    assert.ok(!deltas().some((d) => d.tasks.some((t) => t.id === worker.id)), "an unchanged task is not resent");
    assert.equal(typeof added.header.elu, "number");
    await late;
    await eventually(() => deltas().find((d) => d.tasks.some((t) => t.id === late.id && t.state === "done")), 5000, "the task's end");
    // retainMs is long enough that a tick comes between the end and the removal on a loaded machine.
    await eventually(() => deltas().find((d) => d.removed.includes(late.id)), 8000, "the task's removal after retainMs");
  } finally {
    // A failed assertion must not leave the stream's socket open: it would keep the file alive.
    es.close();
    worker.abort();
    await rt.shutdown();
  }
});

void test("runtimes asking for the same port share one server", async () => {
  const port = await freePort();
  const a = new Runtime({ name: "alpha", console: { port } });
  const b = new Runtime({ name: "beta", console: { port } });
  const url = await consoleOf(a)!.listening();
  assert.equal(await consoleOf(b)!.listening(), url);
  const ta = a.spawn(() => sleep(60_000), { name: "in-alpha" });
  const tb = b.spawn(() => sleep(60_000), { name: "in-beta" });
  await tick(5);
  const s = JSON.parse((await request(`${url}api/snapshot`)).body) as ConsoleSnapshot;
  assert.deepEqual(s.header.runtimes.map((r) => r.name).sort(), ["alpha", "beta"]);
  assert.equal(s.tasks.find((t) => t.id === ta.id)?.runtime, "alpha");
  assert.equal(s.tasks.find((t) => t.id === tb.id)?.runtime, "beta");
  await a.shutdown();
  const after = JSON.parse((await request(`${url}api/snapshot`)).body) as ConsoleSnapshot;
  assert.deepEqual(
    after.header.runtimes.map((r) => r.name),
    ["beta"],
    "the server stays for the other runtime",
  );
  await b.shutdown();
  await assert.rejects(request(`${url}api/snapshot`));
});

void test("STEWARD_CONSOLE turns the console on for runtimes that do not say", async () => {
  process.env.STEWARD_CONSOLE = "127.0.0.1:0";
  try {
    const rt = new Runtime({ name: "from-env" });
    assert.match(await consoleOf(rt)!.listening(), /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const off = new Runtime({ name: "explicitly-off", console: false });
    assert.equal(consoleOf(off), undefined);
    await Promise.all([rt.shutdown(), off.shutdown()]);
    process.env.STEWARD_CONSOLE = "0.0.0.0:7000";
    assert.throws(() => new Runtime(), /token/);
  } finally {
    delete process.env.STEWARD_CONSOLE;
  }
});

void test("`steward console --once URL` prints the tables; --json the snapshot; errors exit 1", async () => {
  const rt = new Runtime({ name: "cli", console: { port: 0 } });
  const url = await consoleOf(rt)!.listening();
  const w = rt.spawn(() => sleep(60_000), { name: "worker-7" });
  await tick(5);
  const { stdout } = await run(process.execPath, [CLI, "console", "--once", url]);
  assert.match(stdout, /^steward console — pid \d+/);
  assert.match(stdout, /TASKS \(1\)/);
  const row = stdout.split("\n").find((l) => l.includes("worker-7"));
  assert.ok(row, stdout);
  assert.match(row, new RegExp(`^\\s+${w.id}\\s+worker-7\\s+idle\\s`));
  assert.match(row, /sleep 60000 ms/);
  assert.match(row, /server\.test\.(js|ts):\d+:\d+/);
  assert.match(stdout, /RESOURCES/);
  assert.match(stdout, /WARNINGS \(0\)/);
  const port = new URL(url).port;
  const json = JSON.parse((await run(process.execPath, [CLI, "console", "--once", "--json", port])).stdout) as ConsoleSnapshot;
  assert.equal(json.tasks[0]?.name, "worker-7");
  w.abort();
  await rt.shutdown();
  const failed = await run(process.execPath, [CLI, "console", "--once", url]).then(
    () => assert.fail("should exit 1"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /nothing listens at/);
  // The rest of the CLI still works.
  assert.match((await run(process.execPath, [CLI, "--version"])).stdout, /^\d+\.\d+\.\d+\n$/);
  assert.match((await run(process.execPath, [CLI, "--help"])).stdout, /steward console \[URL\]/);
  assert.match((await run(process.execPath, [CLI, "console", "--help"])).stdout, /--once/);
});

void test("`steward console` asks for the snapshot gzip-compressed and reads it", async () => {
  const rt = new Runtime({ name: "cli-gzip", console: { port: 0 } });
  const url = await consoleOf(rt)!.listening();
  // Enough tasks for a snapshot the server compresses (it sends small ones as they are).
  const tasks = Array.from({ length: 200 }, (_, i) => rt.spawn(() => sleep(60_000), { name: `sleeper-${i}` }));
  await tick(5);
  const asked: string[] = [];
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    const req = args[0] as IncomingMessage | undefined;
    if (event === "request" && req?.url === "/api/snapshot") asked.push(String(req.headers["accept-encoding"] ?? ""));
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  } as typeof emit;
  try {
    const json = JSON.parse((await run(process.execPath, [CLI, "console", "--once", "--json", url])).stdout) as ConsoleSnapshot;
    assert.equal(json.tasks.length, 200);
    assert.equal(json.tasks[199]!.name, "sleeper-199");
  } finally {
    Server.prototype.emit = emit;
  }
  assert.equal(asked.length, 1);
  assert.match(asked[0]!, /\bgzip\b/);
  for (const t of tasks) t.abort();
  await rt.shutdown();
});

void test("the server never keeps its process alive, even with a client on the stream", async () => {
  const child = spawnProcess(process.execPath, [FIXTURE, "exit"], { env: { ...process.env, STEWARD_FIXTURE: "1" }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const url = await eventually(() => /URL (\S+)/.exec(out)?.[1], 10_000, "the fixture's URL");
  const es = stream(`${url}api/events`);
  await es.opened;
  const t0 = Date.now();
  const code = await Promise.race([exited, sleep(10_000).then(() => "still running")]);
  es.close();
  if (code === "still running") child.kill();
  assert.equal(code, 0, "the process exits once its task is done");
  assert.ok(Date.now() - t0 < 8000);
  assert.ok(es.events.some((e) => e.event === "snapshot"));
});

void test("runMain's SIGUSR2 dump includes the console's view", { skip: process.platform === "win32" ? "no SIGUSR2 on Windows" : false }, async () => {
  const child = spawnProcess(process.execPath, [FIXTURE, "runmain"], { env: { ...process.env, STEWARD_FIXTURE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  await eventually(() => (out.includes("READY") ? true : undefined), 10_000, "READY");
  await tick(50);
  child.kill("SIGUSR2");
  await eventually(() => (err.includes("[console]") || err.includes("ELU") ? true : undefined), 5000, "the dump");
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.match(err, /task \d+ 'lock-waiter' waiting on lock on Mutex "state"/);
  assert.match(err, /ELU \d+%/);
  assert.match(err, /resource Mutex "state"@\d+ \(Mutex\): 1 waiting, locked=true/);
  assert.match(err, /task \d+ 'sleeper': idle, busy/);
});

void test("on a port browsers refuse (6669 is one), the page is also served on the next usable port", async () => {
  // 5060 and 5061 are both on the Fetch standard's blocked list: the page goes to 5062.
  const rt = new Runtime({ name: "bad-port", console: { port: 5060 } });
  try {
    const c = consoleOf(rt)!;
    const url = await c.listening();
    assert.equal(url, "http://127.0.0.1:5060/");
    const web = await eventually(() => (c.webUrl !== url ? c.webUrl : undefined), 5000, "the browser listener");
    assert.equal(web, "http://127.0.0.1:5062/");
    const page = await request(web);
    assert.equal(page.status, 200);
    assert.match(page.body, /steward console/i);
    await assert.rejects(fetch(url), "fetch itself refuses the bad port, which is why the CLI uses node:http");
  } finally {
    await rt.shutdown();
  }
});
