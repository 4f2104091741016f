/**
 * Whether the Redis suite runs here. It needs a redis-server binary (STEWARD_REDIS_SERVER or one
 * on PATH); no npm package ships one without downloading or compiling at install time. Without
 * it the other Redis test files define no tests, and this one says so in one line — unless
 * STEWARD_REQUIRE_REDIS=1 (CI sets it), which makes a missing server a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { close, connect, REDIS_SERVER, RedisServer } from "./helpers.js";

void test("the Redis suite has a real redis-server (7.x or Valkey) to run against, or says why it did not run", async (t) => {
  if (REDIS_SERVER === undefined) {
    const why = "the Redis suite (test/redis) did not run: no redis-server on PATH and STEWARD_REDIS_SERVER is not set (Debian: apt-get install redis-server)";
    assert.notEqual(process.env.STEWARD_REQUIRE_REDIS, "1", why);
    t.diagnostic(why);
    return;
  }
  await using server = await RedisServer.start();
  const c = await connect(server);
  try {
    const info = String(await c.sendCommand(["INFO", "server"]));
    const version = /(?:valkey|redis)_version:(\d+)/.exec(info);
    assert.ok(version !== null, "INFO names the server's version");
    assert.ok(Number(version[1]) >= 7, `Redis ${version[1]}: steward/redis needs 7.x or later (or Valkey)`);
  } finally {
    close(c);
  }
});
