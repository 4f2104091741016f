// The drain of HTTP/2 servers under a request scope (steward/http's handle(), Fastify's
// http2: true): GOAWAY to every client, streams in flight finish, new connections are refused,
// and what is left at the deadline is reported lost. Real node:http2 clients and a real Fastify.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as h2connect, createServer as createH2Server, type ClientHttp2Session, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { Runtime, sleep } from "../../src/index.js";
import { handle } from "../../src/http/handle.js";
import { fastifySteward } from "../../src/http/fastify.js";
import { deferred, tryConnect } from "./helpers.js";

function get(client: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = client.request({ ":path": path });
    let status = 0;
    let body = "";
    s.setEncoding("utf8");
    s.on("response", (h) => (status = Number(h[":status"])));
    s.on("data", (d: string) => (body += d));
    s.on("end", () => resolve({ status, body }));
    s.on("error", reject);
  });
}

function listenH2(server: Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

void test("handle() on http2.createServer: at shutdown the client gets GOAWAY, the stream in flight finishes 200, new connections are refused, the report is clean", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "h2", shutdownTimeoutMs: 10_000 });
  const started = deferred();
  const server = createH2Server(
    handle(
      async (req, res) => {
        if (req.url === "/slow") {
          started.resolve();
          await sleep(400);
        }
        res.end(`done ${req.url}`);
      },
      { runtime: rt },
    ),
  );
  const port = await listenH2(server);
  const client = h2connect(`http://127.0.0.1:${port}`);
  const goaway = new Promise<number>((resolve) => client.once("goaway", (code: number) => resolve(code)));
  try {
    assert.deepEqual(await get(client, "/fast"), { status: 200, body: "done /fast" }, "served before shutdown");
    const slow = get(client, "/slow");
    await started.promise;
    const report = rt.shutdown();
    assert.equal(await goaway, 0, "GOAWAY with NO_ERROR, while the stream is still in flight");
    assert.deepEqual(await slow, { status: 200, body: "done /slow" }, "the stream in flight finished");
    const r = await report;
    assert.equal(r.clean, true, JSON.stringify(r));
    assert.deepEqual(r.lost, []);
    assert.equal(await tryConnect(port), "refused", "the listener is closed");
  } finally {
    client.destroy();
    server.close();
  }
});

void test("handle() on http2: a stream still running at the collect deadline is destroyed and reported as a lost request", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "h2-deadline", shutdownTimeoutMs: 600, collectTimeoutMs: 200 });
  const started = deferred();
  const server = createH2Server(
    handle(
      async (_req, res) => {
        started.resolve();
        await new Promise((r) => setTimeout(r, 5_000)); // ignores its signal: never finishes in time
        res.end("late");
      },
      { runtime: rt },
    ),
  );
  const port = await listenH2(server);
  const client = h2connect(`http://127.0.0.1:${port}`);
  client.on("error", () => {});
  try {
    const stuck = get(client, "/stuck").then(
      (r) => (r.status === 0 ? "reset" : `answered ${r.status}`), // ended with no response: the session was destroyed
      () => "reset",
    );
    await started.promise;
    const r = await rt.shutdown();
    const lost = r.lost.find((l) => l.kind === "requests");
    assert.ok(lost !== undefined && lost.count === 1, JSON.stringify(r.lost));
    assert.match(lost.what, /HTTP\/2 stream\(s\) in flight/);
    // The cancel phase aborted the request's signal and handle() answered for the handler that
    // ignored it; a stream still open after that would have been reset. Never a hang.
    assert.match(await stuck, /^(answered 5\d\d|reset)$/, "the client sees its stream end, not a hang or a 200");
  } finally {
    client.destroy();
    server.close();
  }
});

void test("Fastify with http2: true: at shutdown the client gets GOAWAY and the request in flight finishes 200", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "fastify-h2", shutdownTimeoutMs: 10_000 });
  const app = Fastify({ http2: true });
  await app.register(fastifySteward, { runtime: rt });
  const started = deferred();
  app.get("/slow", async () => {
    started.resolve();
    await sleep(300);
    return { ok: true };
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const client = h2connect(`http://127.0.0.1:${port}`);
  const goaway = new Promise<void>((resolve) => client.once("goaway", () => resolve()));
  try {
    const slow = get(client, "/slow");
    await started.promise;
    const report = rt.shutdown();
    await goaway;
    assert.deepEqual(await slow, { status: 200, body: '{"ok":true}' });
    assert.equal((await report).clean, true);
  } finally {
    client.destroy();
    await app.close();
  }
});
