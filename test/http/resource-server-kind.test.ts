// httpResource tells node:http from node:https servers (node:net and node:tls are looked up when a
// resource is made, not imported with the package): an https server's requests run on the TLS
// socket, so the drain must track "secureConnection", not the raw TCP "connection".
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { Runtime, httpResource } from "../../src/index.js";

void test("httpResource tracks 'secureConnection' on an https server and 'connection' on an http one", async () => {
  const rt = new Runtime();
  const https = createHttpsServer();
  const http = createHttpServer();
  const before = { https: https.listenerCount("secureConnection"), http: http.listenerCount("connection") };
  httpResource(https, { runtime: rt });
  httpResource(http, { runtime: rt });
  assert.equal(https.listenerCount("secureConnection"), before.https + 1);
  assert.equal(http.listenerCount("connection"), before.http + 1);
  assert.equal(http.listenerCount("secureConnection"), 0);
  await rt.shutdown({ timeoutMs: 5_000 });
});

void test("httpResource still refuses what is not a node:http or node:https server", () => {
  const rt = new Runtime();
  assert.throws(() => httpResource({ on() {} } as never, { runtime: rt }), { name: "TypeError", message: /server must be a node:http or node:https Server/ });
});
