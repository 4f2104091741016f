// steward/express against real Express 5 on 127.0.0.1, in the shape users write it.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { Pool } from "undici";
import { currentTask, httpResource, Runtime, sleep } from "../../src/index.js";
import { currentRequest, expressSteward, logFields, type HttpScopeOptions } from "../../src/http/express.js";
import { call, deferred, disconnectAfter, heapAfterGc, rawRequest, until } from "./scope-helpers.js";

async function start(app: Express): Promise<{ origin: string; port: number; server: Server }> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((r) => server.once("listening", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return { origin: `http://127.0.0.1:${port}`, port, server };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

function scoped(opts: HttpScopeOptions, rt: Runtime): Express {
  const app = express();
  app.set("env", "test"); // Express prints every error it handles unless env is "test"
  app.use(expressSteward({ ...opts, runtime: rt, drain: false }));
  return app;
}

void test("each routed request runs as the task 'METHOD /route/:pattern', after body parsing too; middleware before the route runs in its scope", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const app = scoped({}, rt);
  app.use(express.json());
  const beforeRoute: unknown[] = [];
  app.use((req, _res, next) => {
    beforeRoute.push({ task: currentTask()?.name, req: currentRequest()?.method, signal: currentRequest()?.signal.aborted });
    next();
  });
  const inside = deferred();
  const release = deferred();
  app.get("/users/:id", async (req, res) => {
    inside.resolve();
    await release.promise;
    await sleep(1);
    res.json({ task: currentTask()?.name, id: req.params.id, route: currentRequest()?.route, reqId: currentRequest()?.id });
  });
  app.post("/echo", async (req, res) => {
    await sleep(1);
    res.json({ task: currentTask()?.name, body: req.body as unknown });
  });
  const api = express.Router();
  api.get("/items/:n", (_req, res) => void res.json({ task: currentTask()?.name, fields: logFields() }));
  app.use("/api", api);
  const { origin, server } = await start(app);
  try {
    const pending = call(origin, "/users/42", { headers: { "x-request-id": "abc-123" } });
    await inside.promise;
    const live = rt.tasks().filter((t) => t.name === "GET /users/:id");
    assert.equal(live.length, 1, JSON.stringify(rt.tasks()));
    assert.equal(live[0]!.spawnedAt, "GET /users/:id (steward/express)");
    release.resolve();
    assert.deepEqual(JSON.parse((await pending).body), { task: "GET /users/:id", id: "42", route: "/users/:id", reqId: "abc-123" });
    const post = await call(origin, "/echo", { method: "POST", body: JSON.stringify({ a: 1 }) });
    assert.deepEqual(JSON.parse(post.body), { task: "POST /echo", body: { a: 1 } });
    const sub = JSON.parse((await call(origin, "/api/items/3")).body) as { task: string; fields: Record<string, unknown> };
    assert.equal(sub.task, "GET /api/items/:n");
    assert.equal(sub.fields.taskName, "GET /api/items/:n");
    assert.equal(sub.fields.route, "/api/items/:n");
    assert.equal(typeof sub.fields.reqId, "string");
    assert.equal((await call(origin, "/nowhere")).status, 404);
    assert.deepEqual(
      beforeRoute,
      ["GET", "POST", "GET", "GET"].map((m) => ({ task: undefined, req: m, signal: false })),
    );
    assert.equal(rt.taskCount, 0);
  } finally {
    await close(server);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.equal(report.tasks.completed, 3, "three routed requests; the 404 has no task");
});

void test("with the name option the task starts at the middleware and covers what runs before the route", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const app = scoped({ name: (req) => `api ${req.method}` }, rt);
  app.use((_req, res, next) => {
    res.locals.before = currentTask()?.name;
    next();
  });
  app.get("/x", (_req, res) => void res.json({ before: res.locals.before as unknown, task: currentTask()?.name }));
  // Used again on a router: the request keeps its first scope and task.
  const router = express.Router();
  router.use(expressSteward({ runtime: rt, drain: false }));
  router.get("/y", (_req, res) => void res.json({ task: currentTask()?.name }));
  app.use("/r", router);
  const { origin, server } = await start(app);
  try {
    assert.deepEqual(JSON.parse((await call(origin, "/x")).body), { before: "api GET", task: "api GET" });
    assert.deepEqual(JSON.parse((await call(origin, "/r/y")).body), { task: "api GET" });
  } finally {
    await close(server);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.equal(report.tasks.total, 2, "one task per request");
});

/** The same routes and error handling on any Express app. */
function errorRoutes(app: Express): void {
  app.set("env", "production");
  app.get("/status", async () => {
    throw Object.assign(new Error("no such user"), { status: 404 });
  });
  app.get("/status-code", () => {
    throw Object.assign(new Error("bad input"), { statusCode: 400 });
  });
  app.get("/boom", async () => {
    await sleep(1);
    throw new Error("db password=hunter2 rejected");
  });
  app.get("/headers", async () => {
    throw Object.assign(new Error("slow down"), { status: 429, headers: { "Retry-After": "7" } });
  });
  app.get("/next-err", (_req, _res, next) => {
    setTimeout(() => next(Object.assign(new Error("gone"), { status: 410 })), 1);
  });
  const sub = express.Router();
  sub.get("/custom", async () => {
    throw new Error("handled by my error handler");
  });
  sub.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(422).json({ custom: err.message });
  });
  app.use("/sub", sub);
}

void test("handler errors reach Express's error handling unchanged: same status, headers and body as without steward; no deprecation", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const deprecations: string[] = [];
  const onDeprecation = (e: Error): void => void deprecations.push(e.message);
  process.on("deprecation" as "warning", onDeprecation);
  const bare = express();
  errorRoutes(bare);
  const app = scoped({}, rt);
  errorRoutes(app);
  const a = await start(bare);
  const b = await start(app);
  // Production bodies carry no stack; Express then prints each error: keep the test output clean.
  const printed: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    for (const path of ["/status", "/status-code", "/boom", "/headers", "/next-err", "/sub/custom"]) {
      const want = await call(a.origin, path);
      const got = await call(b.origin, path);
      assert.equal(got.status, want.status, path);
      assert.equal(got.body, want.body, path);
      assert.equal(got.headers["content-type"], want.headers["content-type"], path);
      assert.equal(got.headers["retry-after"], want.headers["retry-after"], path);
      assert.doesNotMatch(got.body, /JoinError|panicked|hunter2/, path);
    }
    assert.equal((await call(b.origin, "/status")).status, 404);
    assert.deepEqual(deprecations, []);
  } finally {
    console.error = consoleError;
    process.off("deprecation" as "warning", onDeprecation);
    await close(a.server);
    await close(b.server);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.equal(report.tasks.panicked, 0);
});

void test("a client that disconnects aborts the handler's task within 50 ms (GET, and POST after express.json())", { timeout: 30_000 }, async (t) => {
  const rt = new Runtime();
  const app = scoped({}, rt);
  app.use(express.json());
  let started = deferred();
  let aborted = deferred<{ at: number; reason: unknown }>();
  const handler = async (_req: Request, res: Response): Promise<void> => {
    const task = currentTask()!;
    task.signal.addEventListener("abort", () => aborted.resolve({ at: performance.now(), reason: task.signal.reason }));
    started.resolve();
    await sleep(5000);
    res.send("too late");
  };
  app.get("/slow", handler);
  app.post("/slow", handler);
  const { port, server } = await start(app);
  try {
    for (const req of [rawRequest("GET", "/slow"), rawRequest("POST", "/slow", JSON.stringify({ x: 1 }))]) {
      const lags: number[] = [];
      for (let i = 0; i < 3; i++) {
        started = deferred();
        aborted = deferred();
        const closedAt = await disconnectAfter(port, req, started.promise);
        const a = await aborted.promise;
        lags.push(a.at - closedAt);
        assert.equal((a.reason as Error).name, "ClientClosedError");
        await until(() => rt.taskCount === 0, 5000, "the request task to end");
      }
      t.diagnostic(`abort lags ${lags.map((x) => x.toFixed(2)).join(", ")} ms`);
      assert.ok(Math.min(...lags) <= 50, `abort lags ${lags.map((x) => x.toFixed(1)).join(", ")} ms`);
    }
  } finally {
    await close(server);
  }
  const report = await rt.shutdown({ timeoutMs: 2000 });
  assert.equal(report.tasks.cancelled, 6);
});

void test("timeoutMs: the signal aborts with RequestTimeoutError and Express answers 503; a handler that ignores it is answered 503 too", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const { configure } = await import("../../src/index.js");
  const { stderrLogger } = await import("../../src/core/log.js");
  const warned: string[] = [];
  configure({ logger: { error: () => {}, info: () => {}, debug: () => {}, warn: (_o, m) => void warned.push(String(m)) } });
  const app = scoped({ timeoutMs: 80 }, rt);
  app.get("/honours", async (_req, res) => {
    await sleep(10_000);
    res.send("never");
  });
  app.get("/ignores", async (_req, res) => {
    await new Promise((r) => setTimeout(r, 400));
    if (!res.headersSent) res.send("late");
  });
  const { origin, server } = await start(app);
  try {
    const r = await call(origin, "/honours");
    assert.equal(r.status, 503);
    assert.match(r.body, /RequestTimeoutError: the request took longer than 80 ms/); // env "test": the stack, as Express shows it
    const t1 = performance.now();
    const ig = await call(origin, "/ignores");
    assert.equal(ig.status, 503);
    assert.ok(performance.now() - t1 < 350);
    assert.equal(warned.length, 1);
    assert.match(warned[0]!, /request 'GET \/ignores' \(task \d+\) did not answer within its timeoutMs \(80 ms\): answered 503/);
  } finally {
    configure({ logger: stderrLogger });
    await close(server);
  }
  await rt.shutdown({ timeoutMs: 2000 });
});

void test("a burst of 200 into concurrency 4, queue 8: 12 served, 188 shed with 503 + Retry-After; memory stays flat", { timeout: 60_000 }, async (t) => {
  const rt = new Runtime();
  const app = scoped({ concurrency: 4, queue: 8 }, rt);
  let gate = deferred();
  app.get("/work", async (_req, res) => {
    await gate.promise;
    res.send("done");
  });
  const { origin, server } = await start(app);
  const pool = new Pool(origin, { connections: 200, pipelining: 1 });
  const burst = async (): Promise<{ ok: number; shed: number }> => {
    gate = deferred();
    let shed = 0;
    const all = Array.from({ length: 200 }, () =>
      call(origin, "/work", { pool }).then((r) => {
        if (r.status === 503) {
          shed++;
          assert.equal(r.headers["retry-after"], "1");
        }
        return r;
      }),
    );
    await until(() => shed === 188, 20_000, `188 shed (${shed} so far)`);
    gate.resolve();
    const rs = await Promise.all(all);
    return { ok: rs.filter((r) => r.status === 200).length, shed };
  };
  try {
    assert.deepEqual(await burst(), { ok: 12, shed: 188 });
    await burst();
    const before = heapAfterGc();
    for (let i = 0; i < 4; i++) assert.deepEqual(await burst(), { ok: 12, shed: 188 });
    const grown = heapAfterGc() - before;
    t.diagnostic(`heap after 4 more bursts: ${(grown / 1024).toFixed(0)} KiB`);
    assert.ok(grown < 3 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB`);
  } finally {
    await pool.close();
    await close(server);
  }
  await rt.shutdown({ timeoutMs: 2000 });
});

void test("keys: one tenant's burst does not starve another's (round-robin); a rate limit answers 429 + Retry-After", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  // With `name`, tasks start at the middleware, so the queue's waiters show in rt.tasks().
  const app = scoped({ concurrency: 1, key: (req) => String(req.headers["x-tenant"]), name: (req) => `t ${String(req.headers["x-label"])}` }, rt);
  const order: string[] = [];
  const gate = deferred();
  app.get("/t", async (req, res) => {
    const label = String(req.headers["x-label"]);
    if (label === "hold") await gate.promise;
    else order.push(label);
    res.send(label);
  });
  const { origin, server } = await start(app);
  const pool = new Pool(origin, { connections: 20 });
  const queued = (): number => rt.tasks().filter((t) => t.waitingOn?.startsWith("admit on Limiter")).length;
  try {
    const all = [call(origin, "/t", { pool, headers: { "x-tenant": "A", "x-label": "hold" } })];
    await until(() => rt.taskCount === 1, 5000, "the holder to run");
    let n = 0;
    const send = async (tenant: string, label: string): Promise<void> => {
      all.push(call(origin, "/t", { pool, headers: { "x-tenant": tenant, "x-label": label } }));
      n++;
      await until(() => queued() === n, 5000, `${label} to queue`);
    };
    for (let i = 0; i < 6; i++) await send("A", `A${i}`);
    for (let i = 0; i < 3; i++) await send("B", `B${i}`);
    gate.resolve();
    await Promise.all(all);
    assert.deepEqual(order, ["A0", "B0", "A1", "B1", "A2", "B2", "A3", "A4", "A5"]);
  } finally {
    await pool.close();
    await close(server);
  }

  const limited = scoped({ rate: { perSecond: 1, burst: 2 }, key: (req) => String(req.headers["x-tenant"]) }, rt);
  limited.get("/r", (_req, res) => void res.send("ok"));
  const l = await start(limited);
  try {
    const rs = [];
    for (let i = 0; i < 3; i++) rs.push(await call(l.origin, "/r", { headers: { "x-tenant": "A" } }));
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 200, 429],
    );
    assert.equal(rs[2]!.headers["retry-after"], "1");
    assert.equal((await call(l.origin, "/r", { headers: { "x-tenant": "B" } })).status, 200);
  } finally {
    await close(l.server);
  }
  await rt.shutdown({ timeoutMs: 2000 });
});

void test("shutdown drains the server (registered with httpResource where it listens) and in-flight requests complete", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const app = express();
  app.use(expressSteward({ runtime: rt }));
  const inside = deferred();
  app.get("/slow", async (_req, res) => {
    inside.resolve();
    await new Promise((r) => setTimeout(r, 100));
    res.send("finished");
  });
  const server = app.listen(0, "127.0.0.1");
  httpResource(server, { runtime: rt });
  await new Promise<void>((r) => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  const pending = call(`http://127.0.0.1:${port}`, "/slow");
  await inside.promise;
  const report = await rt.shutdown({ timeoutMs: 5000 });
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, "finished");
  assert.equal(report.clean, true, JSON.stringify(report.disposeErrors));
  assert.equal(server.listening, false);
});

void test("without httpResource, the first request makes the server a stop participant (the fallback)", { timeout: 30_000 }, async () => {
  const rt = new Runtime();
  const app = express();
  app.use(expressSteward({ runtime: rt }));
  app.get("/", (_req, res) => void res.send("ok"));
  const server = app.listen(0, "127.0.0.1");
  const port = await new Promise<number>((r) => server.once("listening", () => r((server.address() as { port: number }).port)));
  assert.equal((await call(`http://127.0.0.1:${port}`, "/")).status, 200);
  assert.ok(rt.dump().resources.some((x) => x.name === "http"));
  const report = await rt.shutdown({ timeoutMs: 5000 });
  assert.equal(report.clean, true);
  assert.equal(server.listening, false);
});
