/**
 * The worker-thread case of the supervisor diagnosis bench: a worker that watches itself and, on
 * each message, runs a job as a steward task that blocks its loop.
 */
import { writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";

function now(): number {
  return performance.timeOrigin + performance.now();
}

export function resizeImage(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1); // @case:worker
  return x;
}

if (parentPort !== null && process.env.STEWARD_DIAGNOSIS_WORKER === "1") {
  const port = parentPort;
  const root = process.env.STEWARD_ROOT ?? "../src/index.js";
  const { Supervisor, spawn } = (await import(root)) as typeof import("../src/index.js");
  const sup = Supervisor.watchThisThread({ report: "json", startupGraceMs: 0 });
  // What the bench reads: the events, as this thread's listeners get them.
  sup.on("blocked", (e) => writeSync(2, `EVENT ${JSON.stringify({ kind: "blocked", ...e })}\n`));
  await sup.ready();
  port.on("message", () => {
    void spawn(
      () => {
        const start = now();
        resizeImage(600);
        port.postMessage({ start, end: now() });
      },
      { name: "resize job" },
    );
  });
  port.postMessage("ready");
}
