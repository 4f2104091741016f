// steward/http: handle() on plain node:http and HTTP/2 servers on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect as h2connect, constants as h2, createServer as createH2Server, type Http2Server } from "node:http2";
import { CancelledError, configure, currentTask, Runtime, sleep, type Logger } from "../../src/index.js";
import { stderrLogger } from "../../src/core/log.js";
import { currentRequest, handle } from "../../src/http/handle.js";
import { call, deferred, disconnectAfter, rawRequest, until } from "./scope-helpers.js";
import { listen } from "./helpers.js";

function close(server: Server | Http2Server): Promise<void> {
  if ("closeAllConnections" in server) server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

interface Logged {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function capture(): { lines: Logged[]; restore: () => void } {
  const lines: Logged[] = [];
  const rec =
    (level: string) =>
    (obj: object, msg?: string): void =>
      void lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? "" });
  const logger: Logger = { error: rec("error"), warn: rec("warn"), info: rec("info"), debug: rec("debug") };
  configure({ logger });
  return { lines, restore: () => void configure({ logger: stderrLogger }) };
}

void test("each request is a task (named by its method, or by opts.name); request stream events run in its scope", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const server = createServer(
    handle(
      (req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          res.end(JSON.stringify({ task: currentTask()?.name, inEnd: currentTask() !== undefined, id: currentRequest()?.id, body }));
        });
      },
      { runtime: rt },
    ),
  );
  const named = createServer(
    handle(async (req, res) => void res.end(currentTask()?.name), { runtime: rt, name: (req) => `${req.method} ${new URL(req.url ?? "/", "http://x").pathname.split("/")[1]}` }),
  );
  const port = await listen(server);
  const port2 = await listen(named);
  try {
    const r = await call(`http://127.0.0.1:${port}`, "/anything?x=1", { method: "POST", body: "hello", headers: { "x-request-id": "rid-7" } });
    assert.deepEqual(JSON.parse(r.body), { task: "POST", inEnd: true, id: "rid-7", body: "hello" });
    assert.equal((await call(`http://127.0.0.1:${port2}`, "/users/1")).body, "GET users");
  } finally {
    await close(server);
    await close(named);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.equal(report.tasks.completed, 2);
});

void test("errors: an error's 4xx/5xx status and headers are answered; anything else is a 500 that leaks nothing and is logged", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const log = capture();
  const server = createServer(
    handle(
      async (req, res) => {
        const path = req.url ?? "/";
        if (path === "/missing") throw Object.assign(new Error("no such user"), { statusCode: 404 });
        if (path === "/limited") throw Object.assign(new Error("slow down"), { status: 429, headers: { "Retry-After": "7" } });
        if (path === "/sync") throw new Error("sync secret=1");
        if (path === "/late") {
          res.writeHead(200);
          res.write("partial");
          await sleep(5);
          throw new Error("after headers");
        }
        if (path === "/cancelled") throw new CancelledError(undefined, "the runtime is shutting down");
        await sleep(1);
        throw new Error("db password=hunter2 rejected");
      },
      { runtime: rt },
    ),
  );
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  try {
    const missing = await call(origin, "/missing");
    assert.deepEqual([missing.status, missing.body], [404, "no such user\n"]);
    const limited = await call(origin, "/limited");
    assert.deepEqual([limited.status, limited.body, limited.headers["retry-after"]], [429, "slow down\n", "7"]);
    const boom = await call(origin, "/boom");
    assert.deepEqual([boom.status, boom.body], [500, "Internal Server Error\n"]);
    const sync = await call(origin, "/sync");
    assert.deepEqual([sync.status, sync.body], [500, "Internal Server Error\n"]);
    const cancelled = await call(origin, "/cancelled");
    assert.equal(cancelled.status, 503);
    await assert.rejects(call(origin, "/late"), "a response that had started is cut, as Node does");
    const errors = log.lines.filter((l) => l.level === "error");
    assert.deepEqual(
      errors.map((l) => l.msg.replace(/task \d+/, "task N")),
      ["request 'GET' (task N) failed: Error: db password=hunter2 rejected", "request 'GET' (task N) failed: Error: sync secret=1", "request 'GET' (task N) failed: Error: after headers"],
    );
    assert.ok(errors[0]!.obj.err instanceof Error);
    assert.equal(errors[0]!.obj.taskName, "GET");
    assert.equal(errors[0]!.obj.status, 500);
  } finally {
    log.restore();
    await close(server);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.equal(report.tasks.panicked, 0);
});

void test("a disconnect aborts the handler's task within 50 ms; timeoutMs answers 503", { timeout: 30_000 }, async (t) => {
  const rt = new Runtime();
  let started = deferred();
  let aborted = deferred<number>();
  const log = capture();
  const server = createServer(
    handle(
      async (req, res) => {
        if (req.url === "/ignores") {
          await new Promise((r) => setTimeout(r, 300));
          return;
        }
        currentTask()!.signal.addEventListener("abort", () => aborted.resolve(performance.now()));
        started.resolve();
        await sleep(5000);
        res.end("late");
      },
      { runtime: rt, timeoutMs: 1000 },
    ),
  );
  const port = await listen(server);
  try {
    const lags: number[] = [];
    for (let i = 0; i < 3; i++) {
      started = deferred();
      aborted = deferred();
      const closedAt = await disconnectAfter(port, rawRequest("GET", "/slow"), started.promise);
      lags.push((await aborted.promise) - closedAt);
    }
    t.diagnostic(`abort lags ${lags.map((x) => x.toFixed(2)).join(", ")} ms`);
    assert.ok(Math.min(...lags) <= 50, lags.join(", "));
    const r = await call(`http://127.0.0.1:${port}`, "/ignores");
    assert.deepEqual([r.status, r.body], [503, "the request took longer than 1000 ms\n"]);
    const r2 = await call(`http://127.0.0.1:${port}`, "/honours");
    assert.equal(r2.status, 503);
  } finally {
    log.restore();
    await close(server);
  }
  await rt.shutdown({ timeoutMs: 2000 });
});

void test("admission through handle(): shed with 503 + Retry-After, rate-limited with 429 + Retry-After", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const gate = deferred();
  const server = createServer(
    handle(
      async (req, res) => {
        if (req.url === "/hold") await gate.promise;
        res.end("ok");
      },
      { runtime: rt, concurrency: 1, queue: 0, rate: { perSecond: 1, burst: 3 } },
    ),
  );
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  try {
    const held = call(origin, "/hold");
    await until(() => rt.taskCount === 1);
    const shed = await call(origin, "/x");
    assert.deepEqual([shed.status, shed.headers["retry-after"]], [503, "1"]);
    gate.resolve();
    assert.equal((await held).status, 200);
    // Two tokens went: the held one and the shed one gave its back. One left, then 429.
    assert.equal((await call(origin, "/x")).status, 200);
    assert.equal((await call(origin, "/x")).status, 200);
    const limited = await call(origin, "/x");
    assert.deepEqual([limited.status, limited.headers["retry-after"]], [429, "1"]);
  } finally {
    await close(server);
  }
  await rt.shutdown({ timeoutMs: 2000 });
});

void test("HTTP/2: each stream is a task, and a stream the client resets aborts it", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const started = deferred();
  const aborted = deferred<unknown>();
  const server = createH2Server(
    handle(
      async (req, res) => {
        if (req.url === "/slow") {
          const task = currentTask()!;
          task.signal.addEventListener("abort", () => aborted.resolve(task.signal.reason));
          started.resolve();
          await sleep(5000);
        }
        res.end(currentTask()?.name ?? "");
      },
      { runtime: rt, name: (req) => `${req.method} ${req.url}` },
    ),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const client = h2connect(`http://127.0.0.1:${port}`);
  try {
    const ok = await new Promise<string>((resolve, reject) => {
      const s = client.request({ ":path": "/fast" });
      let body = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => (body += d));
      s.on("end", () => resolve(body));
      s.on("error", reject);
    });
    assert.equal(ok, "GET /fast");
    const slow = client.request({ ":path": "/slow" });
    slow.on("error", () => {});
    await started.promise;
    slow.close(h2.NGHTTP2_CANCEL);
    const reason = await aborted.promise;
    assert.equal((reason as Error).name, "ClientClosedError");
    await until(() => rt.taskCount === 0, 5000, "the stream's task to end");
  } finally {
    client.close();
    await close(server);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.deepEqual({ completed: report.tasks.completed, cancelled: report.tasks.cancelled }, { completed: 1, cancelled: 1 });
});

void test("bad arguments are TypeErrors/RangeErrors naming them", () => {
  assert.throws(() => handle("x" as unknown as () => void), { name: "TypeError", message: /fn/ });
  assert.throws(() => handle(() => {}, { timeoutMs: 0 }), { name: "RangeError", message: /opts\.timeoutMs/ });
  assert.throws(() => handle(() => {}, { name: "GET" as unknown as () => string }), { name: "TypeError", message: /opts\.name/ });
  assert.throws(() => handle(() => {}, { queue: -1 }), { name: "RangeError", message: /opts\.queue/ });
});
