/**
 * The demo service (run by tour.ts in a child process, or on its own with `--serve`): a node:http
 * server under runMain, with the supervisor on. Every request runs as a named steward task.
 *
 *   GET  /fast          answers at once
 *   GET  /slow          blocks the event loop in crunchNumbers() for 600 ms
 *   GET  /offload       the same work on a blockingPool thread: the loop stays free
 *   POST /ingest        a job into a bounded channel(16); a consumer works them 4 at a time (Semaphore)
 *   GET  /work?ms=N     an async wait of N ms (in flight when SIGTERM arrives)
 *   GET  /stats         what the ingest pipeline holds, and the heap
 */
import http from "node:http";
import { blockingPool, channel, currentRuntime, httpResource, runMain, Semaphore, shield, sleep, spawn, TaskTracker } from "../src/index.js";
import type { ShutdownReport } from "../src/index.js";
import { crunchNumbers } from "./crunch.js";

const port = Number(process.env.DEMO_PORT ?? 8123);
const serve = process.argv.includes("--serve");

interface Job {
  id: number;
  body: string;
}

function printReport(r: ShutdownReport): void {
  const t = r.tasks;
  process.stdout.write(
    `SHUTDOWN clean=${r.clean} in ${r.durationMs} ms: tasks total ${t.total}, completed ${t.completed}, ` +
      `cancelled ${t.cancelled}, panicked ${t.panicked}, stuck ${t.stuck.length}; dispose errors ${r.disposeErrors.length}\n`,
  );
}

await runMain(
  async (ctx) => {
    const rt = currentRuntime();
    rt.token.onCancel(() => void rt.shutdown().then(printReport));
    const pool = blockingPool(new URL("./work.js", import.meta.url), { name: "crunch", maxThreads: 1 });

    // Ingest: a bounded channel is the backpressure; a semaphore bounds the concurrent work.
    const [tx, rx] = channel<Job>(16);
    const permits = new Semaphore(4);
    const stats = { received: 0, processed: 0, maxBuffered: 0, maxWorking: 0, heapStartMB: process.memoryUsage().heapUsed / 2 ** 20 };
    const work = new TaskTracker();
    spawn(
      async () => {
        for await (const job of rx) {
          const permit = await permits.acquire();
          stats.maxWorking = Math.max(stats.maxWorking, 4 - permits.available);
          work.spawn(async () => {
            try {
              await sleep(2); // the job's I/O
              stats.processed += job.body.length > 0 ? 1 : 0;
            } finally {
              permit.release();
            }
          });
        }
      },
      { name: "ingest consumer" },
    );

    let nextRequest = 0;
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      // A request in flight should finish even once shutdown has begun: its waits are shielded
      // from the stop (the drain deadline still cuts it), so the collect phase waits for it.
      spawn(() => shield(() => handle(url, req, res)), { name: `${req.method} ${url.pathname} #${++nextRequest}` });
    });

    async function handle(url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      switch (url.pathname) {
        case "/fast":
          return void res.end("fast\n");
        case "/slow":
          crunchNumbers(600);
          return void res.end("slow: done on the event loop\n");
        case "/offload":
          await pool.run(600);
          return void res.end("offload: done on a pool thread\n");
        case "/work":
          await sleep(Number(url.searchParams.get("ms") ?? 100));
          return void res.end("work: done\n");
        case "/ingest": {
          let body = "";
          for await (const chunk of req) body += String(chunk);
          stats.received++;
          await tx.send({ id: stats.received, body }); // waits while 16 jobs are buffered
          stats.maxBuffered = Math.max(stats.maxBuffered, rx.length);
          res.statusCode = 202;
          return void res.end("accepted\n");
        }
        case "/stats":
          res.setHeader("content-type", "application/json");
          return void res.end(JSON.stringify({ ...stats, buffered: rx.length, heapMB: process.memoryUsage().heapUsed / 2 ** 20 }));
        default:
          res.statusCode = 404;
          return void res.end("not found\n");
      }
    }

    httpResource(server, { name: "demo http" });
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      const p = typeof addr === "object" && addr !== null ? addr.port : port;
      process.stdout.write(`LISTENING ${p}\n`);
      if (serve) {
        process.stdout.write(`demo service on http://127.0.0.1:${p}/fast, /slow, /offload, /work?ms=500, /stats (Ctrl-C to stop)\n`);
        process.stdout.write("live console: `npx steward console` in a terminal, http://127.0.0.1:6670/ in a browser (browsers refuse 6669)\n");
      }
    });
    await ctx.token.cancelled();
  },
  // With --serve the live console runs too: http://127.0.0.1:6669 or `npx steward console`.
  // The flight recorder is on (runMain's default); the tour names its dump at the end.
  { name: "demo", supervisor: { thresholdMs: 100, startupGraceMs: 300 }, shutdownTimeoutMs: 5_000, console: serve, recorder: { log: serve } },
);
