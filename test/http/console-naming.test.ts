/**
 * The live console sees a request's task as the task it is: a real Fastify 5 service on
 * 127.0.0.1 with the console on, one request held in its handler. The request task is a
 * record-only task (src/task/request-task.ts, started with no function of its own), so this pins
 * that the console still lists it by its route name and spawn site while it runs, shows its
 * handler's time as its own, and records it completed when its response ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { Runtime } from "../../src/index.js";
import { consoleOf } from "../../src/console/index.js";
import { fastifySteward } from "../../src/http/fastify.js";
import { call, deferred } from "./scope-helpers.js";

interface TaskRow {
  id: number;
  name?: string;
  state: string;
  outcome?: string;
  spawnedAt: string;
  resumes: number;
}

async function tasksWhen(url: string, ok: (rows: TaskRow[]) => boolean, what: string): Promise<TaskRow[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await fetch(`${url}api/snapshot`);
    assert.equal(r.status, 200);
    const rows = ((await r.json()) as { tasks: TaskRow[] }).tasks;
    if (ok(rows)) return rows;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(rows)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

void test("the console lists a request's task by its route name while it runs, and completed once answered", { timeout: 30_000 }, async () => {
  const rt = new Runtime({ name: "svc", console: { port: 0 } });
  const app = Fastify();
  await app.register(fastifySteward, { runtime: rt, drain: false });
  const inside = deferred();
  const release = deferred();
  app.get("/users/:id", async () => {
    inside.resolve();
    await release.promise;
    await new Promise((res) => setTimeout(res, 5));
    return "ok";
  });
  try {
    const url = await consoleOf(rt)!.listening();
    await app.listen({ port: 0, host: "127.0.0.1" });
    const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const pending = call(origin, "/users/42");
    await inside.promise;
    const live = (await tasksWhen(url, (rows) => rows.some((t) => t.name === "GET /users/:id"), "the request's task is listed")).find((t) => t.name === "GET /users/:id")!;
    assert.equal(live.spawnedAt, "GET /users/:id (steward/fastify)");
    assert.equal(live.outcome, undefined, "still running");
    assert.equal(rt.dump().tasks.find((t) => t.id === live.id)?.name, "GET /users/:id");
    release.resolve();
    assert.equal((await pending).status, 200);
    const done = (await tasksWhen(url, (rows) => rows.some((t) => t.id === live.id && t.outcome !== undefined), "the request's task ended")).find((t) => t.id === live.id)!;
    assert.equal(done.outcome, "ok");
    assert.ok(done.resumes >= 1, `the handler's continuations count as the task's resumes: ${JSON.stringify(done)}`);
  } finally {
    release.resolve();
    await app.close();
    await rt.shutdown({ timeoutMs: 2000 });
  }
});
