import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { defaultPreStopDelayMs } from "../../src/http/resource.js";
import { formatReport } from "../../src/runtime/format.js";
import { HttpResource, Runtime, ShutdownError, httpResource, sleep, spawn } from "../../src/index.js";
import { deferred, delay, get, listen, rawClient, tryConnect } from "./helpers.js";

/** A handler: /slow sends its headers at once and its body when `gate` opens; others answer at once. */
function slowHandler(gate: Promise<void>, afterGateMs = 0) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith("/slow")) {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.flushHeaders();
      res.write("first half;");
      void gate.then(() => setTimeout(() => res.end("second half."), afterGateMs));
      return;
    }
    res.end("fast");
  };
}

void test("late requests on an existing connection get 503 + Connection: close; new connections are refused; the drain waits for the request in flight", async () => {
  const rt = new Runtime();
  const gate = deferred();
  const server = createServer(slowHandler(gate.promise));
  const web = httpResource(server, { runtime: rt, name: "api" });
  const port = await listen(server);
  assert.equal(web.ready, true);
  assert.equal(web.state, "serving");

  const c = await rawClient(port);
  c.send(get("/slow"));
  await c.waitFor("first half;");
  const shutdown = rt.shutdown({ timeoutMs: 10_000 });
  assert.equal(web.ready, false);
  assert.equal(web.state, "draining");
  // A request that arrives now on the busy keep-alive connection (pipelined behind /slow).
  c.send(get("/fast"));
  await delay(30);
  assert.equal(web.stats.rejected, 1);
  assert.equal(await tryConnect(port), "refused");
  assert.equal(rt.state, "draining", "the drain waits for the request in flight");
  gate.resolve();
  const closedAt = await c.closed;
  const report = await shutdown;
  const text = c.data();
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*first half;[\s\S]*second half\.\r\n0\r\n\r\nHTTP\/1\.1 503 Service Unavailable\r\n/);
  const late = text.slice(text.indexOf("HTTP/1.1 503"));
  assert.match(late, /\r\nConnection: close\r\n/i);
  assert.match(late, /service is shutting down\n$/);
  assert.ok(closedAt > 0);
  assert.equal(report.clean, true, formatReport(report, "test"));
  assert.equal(report.drain.endedBy, "done");
  assert.equal(web.state, "closed");
  assert.equal(server.listening, false);
  assert.deepEqual({ accepted: web.stats.accepted, rejected: web.stats.rejected, cut: web.stats.cut, forced: web.stats.forced }, { accepted: 2, rejected: 1, cut: 0, forced: false });
});

void test("a response in flight whose headers are not sent yet carries Connection: close: the client is told to go", async () => {
  const rt = new Runtime();
  const gate = deferred();
  const server = createServer((_req, res) => void gate.promise.then(() => res.end("done")));
  httpResource(server, { runtime: rt });
  const port = await listen(server);
  const c = await rawClient(port);
  c.send(get("/"));
  await delay(20);
  const shutdown = rt.shutdown();
  gate.resolve();
  await c.closed;
  assert.match(c.data(), /^HTTP\/1\.1 200 OK\r\n(?:.*\r\n)*Connection: close\r\n/i);
  assert.equal((await shutdown).clean, true);
});

void test("a keep-alive client that sends its next request right after a response gets a 503, not a closed socket (round 1: a reset)", async () => {
  const rt = new Runtime();
  const server = createServer((_req, res) => res.end("ok"));
  const web = httpResource(server, { runtime: rt, idleGraceMs: 300, sweepIntervalMs: 5 });
  const port = await listen(server);
  const c = await rawClient(port);
  c.send(get("/one"));
  await c.waitFor("ok");
  // The drain starts just after the response ended; the client's next request follows 20 ms later.
  const shutdown = rt.shutdown();
  await delay(20);
  c.send(get("/two"));
  await c.closed;
  assert.match(c.data(), /HTTP\/1\.1 503 Service Unavailable\r\n(?:.*\r\n)*Connection: close\r\n/i);
  assert.equal(web.stats.rejected, 1);
  assert.equal(web.stats.idleClosed, 0);
  assert.equal((await shutdown).clean, true);
});

void test("a connection is swept only when its parser has seen nothing of a next request; a partial request is answered once complete", async () => {
  const rt = new Runtime();
  const server = createServer((_req, res) => res.end("ok"));
  const web = httpResource(server, { runtime: rt, idleGraceMs: 0, sweepIntervalMs: 5 });
  const port = await listen(server);
  const idle = await rawClient(port);
  const partial = await rawClient(port);
  idle.send(get("/x"));
  await idle.waitFor("ok");
  partial.send("GET /half HTTP/1.1\r\nHost: 127.0.0.1\r\n"); // the blank line is still to come
  await delay(30);
  const t0 = performance.now();
  const shutdown = rt.shutdown();
  const idleClosedAt = await idle.closed;
  assert.ok(idleClosedAt - t0 < 1000, `the idle connection was swept after ${idleClosedAt - t0} ms`);
  await delay(50); // several sweeps
  assert.equal(partial.socket.destroyed, false, "the connection with a partial request was left alone");
  partial.send("\r\n");
  await partial.closed;
  assert.match(partial.data(), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.equal((await shutdown).clean, true);
  assert.equal(web.stats.idleClosed, 1);
});

void test("idle keep-alive connections are closed again and again until the drain ends: the one busy at the first sweep goes later", async () => {
  const rt = new Runtime();
  const gate = deferred();
  const slowY = deferred();
  const server = createServer((req, res) => {
    if (req.url === "/x") {
      res.writeHead(200);
      res.flushHeaders();
      void gate.promise.then(() => setTimeout(() => res.end("x done"), 30));
    } else if (req.url === "/y") {
      res.writeHead(200);
      res.flushHeaders();
      void slowY.promise.then(() => res.end("y done"));
    } else {
      res.end("ok");
    }
  });
  const web = httpResource(server, { runtime: rt, idleGraceMs: 50, sweepIntervalMs: 20 });
  const port = await listen(server);
  const idle = await rawClient(port);
  idle.send(get("/ping"));
  await idle.waitFor("ok");
  const x = await rawClient(port);
  const y = await rawClient(port);
  x.send(get("/x"));
  y.send(get("/y"));
  await x.waitFor("200 OK");
  await y.waitFor("200 OK");
  await delay(60);
  const t0 = performance.now();
  const shutdown = rt.shutdown({ timeoutMs: 10_000 });
  gate.resolve();
  const idleClosedAt = await idle.closed;
  const xClosedAt = await x.closed;
  assert.ok(idleClosedAt - t0 < 2500, `idle connection closed after ${idleClosedAt - t0} ms`);
  assert.ok(xClosedAt >= idleClosedAt, "x was busy at the first sweep");
  assert.ok(xClosedAt - t0 < 2500, `x closed ${xClosedAt - t0} ms after the stop`);
  assert.match(x.data(), /x done/);
  assert.equal(y.socket.destroyed, false, "y is still in flight");
  assert.equal(rt.state, "draining");
  slowY.resolve();
  await y.closed;
  assert.match(y.data(), /y done/);
  const report = await shutdown;
  assert.equal(report.clean, true);
  assert.ok(web.stats.idleClosed >= 2, `idleClosed ${web.stats.idleClosed}`);
  assert.ok(web.stats.sweeps >= 2, `sweeps ${web.stats.sweeps}`);
});

void test("readiness fails at the announcement; through the pre-stop delay it still serves; then the listener closes", async () => {
  const rt = new Runtime();
  const server = createServer((_req, res) => res.end("app"));
  const web = httpResource(server, { runtime: rt, preStopDelayMs: 300, readinessPath: "/readyz" });
  const port = await listen(server);
  const probe = async (path: string): Promise<number> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    await r.text();
    return r.status;
  };
  assert.equal(await probe("/readyz"), 200);
  assert.equal(await probe("/readyz?full=1"), 200);
  assert.equal(await probe("/"), 200);
  const t0 = performance.now();
  const shutdown = rt.shutdown({ timeoutMs: 10_000 });
  assert.equal(web.ready, false);
  assert.equal(web.state, "pre-stop");
  assert.equal(rt.state, "stopping");
  assert.equal(await probe("/readyz"), 503);
  assert.equal(await probe("/"), 200, "still serving during the pre-stop delay");
  const report = await shutdown;
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 290, `the pre-stop delay was honoured (${elapsed} ms)`);
  assert.ok(report.phases.announceMs >= 290);
  assert.ok(elapsed < 5000);
  assert.equal(report.clean, true);
  assert.equal(await tryConnect(port), "refused");
});

void test("the default pre-stop delay is 5 s in Kubernetes and 0 elsewhere", () => {
  const prev = process.env.KUBERNETES_SERVICE_HOST;
  try {
    delete process.env.KUBERNETES_SERVICE_HOST;
    assert.equal(defaultPreStopDelayMs(), 0);
    process.env.KUBERNETES_SERVICE_HOST = "10.0.0.1";
    assert.equal(defaultPreStopDelayMs(), 5000);
  } finally {
    if (prev === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = prev;
  }
});

void test("request tasks keep their signal through the drain; it aborts when the drain ends; what is left at the collect deadline is cut and reported lost", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 400, collectTimeoutMs: 150 });
  const aborted: string[] = [];
  const server = createServer((req, res) => {
    spawn(
      async (ctx) => {
        ctx.signal.addEventListener("abort", () => aborted.push(`${req.url} in ${rt.state}`));
        if (req.url === "/short") {
          await sleep(50);
          res.end("short done");
          return;
        }
        res.writeHead(200);
        res.write("never ends");
        await new Promise(() => {}); // ignores its signal
      },
      { name: `GET ${req.url}` },
    );
  });
  // Listening inside the runtime (as in runMain's main), requests run in its frame: spawn() uses it.
  const web = rt.enter(() => httpResource(server, { name: "stuck-api" }));
  const port = await rt.enter(() => listen(server));
  const shortC = await rawClient(port);
  const stuckC = await rawClient(port);
  shortC.send(get("/short"));
  stuckC.send(get("/stuck"));
  await stuckC.waitFor("never ends");
  const t0 = performance.now();
  const report = await rt.shutdown();
  const elapsed = performance.now() - t0;
  await stuckC.closed;
  assert.match(shortC.data(), /short done/);
  assert.deepEqual(aborted, ["/stuck in cancelling"], "only at the drain's end, and only the task still at work");
  assert.ok(elapsed >= 390 && elapsed < 3000, `took ${elapsed} ms`);
  assert.equal(report.clean, false);
  const requests = report.lost.find((l) => l.kind === "requests");
  assert.deepEqual(requests, { kind: "requests", count: 1, what: "1 request(s) in flight on stuck-api were cut at the deadline", participant: "stuck-api" });
  assert.deepEqual(
    report.tasks.stuck.map((t) => t.name),
    ["GET /stuck"],
  );
  assert.equal(web.stats.cut, 1);
  assert.equal(web.stats.forced, true);
  assert.equal(web.state, "closed");
});

void test("listeners added after httpResource (as frameworks do) are drained too; upgrades are refused while draining", async () => {
  const rt = new Runtime();
  const server = createServer();
  const gate = deferred();
  httpResource(server, { runtime: rt });
  server.on("request", slowHandler(gate.promise));
  let upgrades = 0;
  server.on("upgrade", (_req, socket) => {
    upgrades++;
    socket.destroy();
  });
  const port = await listen(server);
  const c = await rawClient(port);
  c.send(get("/slow"));
  await c.waitFor("first half;");
  const shutdown = rt.shutdown({ timeoutMs: 10_000 });
  // An upgrade that reaches the server while draining (handed in directly).
  const sock = new PassThrough();
  let written = "";
  sock.on("data", (d: Buffer) => (written += d.toString()));
  server.emit("upgrade", {} as IncomingMessage, sock as never, Buffer.alloc(0));
  await delay(5);
  assert.match(written, /^HTTP\/1\.1 503 Service Unavailable\r\nConnection: close\r\n/);
  assert.equal(upgrades, 0);
  c.send(get("/late"));
  await delay(20);
  gate.resolve();
  await c.closed;
  assert.match(c.data(), /second half\.[\s\S]*HTTP\/1\.1 503/);
  assert.equal((await shutdown).clean, true);
});

void test("dump() shows the server with its counts; disposing it alone drains it", async () => {
  const rt = new Runtime();
  const server = createServer((_req, res) => res.end("ok"));
  const web = httpResource(server, { runtime: rt, name: "web", idleGraceMs: 0 });
  const port = await listen(server);
  await (await fetch(`http://127.0.0.1:${port}/`)).text();
  const info = rt.dump().resources.find((r) => r.name === "web");
  assert.deepEqual(info, { name: "web", kind: "asyncDisposable", state: "serving", ready: true, inFlight: 0, connections: info?.connections, accepted: 1 });
  await web[Symbol.asyncDispose]();
  assert.equal(web.state, "closed");
  assert.equal(server.listening, false);
  const r = await web.drain(); // idempotent
  assert.equal(r.accepted, 1);
  assert.equal((await rt.shutdown()).clean, true);
});

void test("bad input names the argument", async () => {
  const rt = new Runtime();
  assert.throws(() => httpResource(42 as never, { runtime: rt }), { name: "TypeError", message: /server must be a node:http/ });
  assert.throws(() => httpResource({} as never, { runtime: rt }), { name: "TypeError", message: /server/ });
  const server = createServer();
  assert.throws(() => httpResource(server, { runtime: rt, preStopDelayMs: -1 }), { name: "RangeError", message: /opts\.preStopDelayMs/ });
  assert.throws(() => httpResource(server, { runtime: rt, preStopDelayMs: Infinity }), { name: "RangeError", message: /opts\.preStopDelayMs/ });
  assert.throws(() => httpResource(server, { runtime: rt, idleGraceMs: -1 }), { name: "RangeError", message: /opts\.idleGraceMs/ });
  assert.throws(() => httpResource(server, { runtime: rt, sweepIntervalMs: 0 }), { name: "RangeError", message: /opts\.sweepIntervalMs/ });
  assert.throws(() => httpResource(server, { runtime: rt, readinessPath: "readyz" }), { name: "TypeError", message: /opts\.readinessPath/ });
  assert.throws(() => httpResource(server, { runtime: rt, name: 1 as never }), { name: "TypeError", message: /opts\.name/ });
  const web = httpResource(server, { runtime: rt });
  assert.ok(web instanceof HttpResource);
  assert.throws(() => httpResource(server, { runtime: rt }), { name: "TypeError", message: /already managed/ });
  assert.throws(() => web.drain({ timeoutMs: -1 }), { name: "RangeError", message: /opts\.timeoutMs/ });
  await rt.shutdown();
  assert.throws(() => httpResource(createServer(), { runtime: rt }), ShutdownError);
});

void test("a server that never listened drains at once", async () => {
  const rt = new Runtime();
  httpResource(createServer(), { runtime: rt });
  const t0 = performance.now();
  const report = await rt.shutdown();
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(report.clean, true);
  await sleep(1);
});
