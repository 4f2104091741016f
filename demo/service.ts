/**
 * The demo service (run by tour.ts in a child process, or on its own with `--serve`): a node:http
 * server under runMain, with the supervisor on. Every request runs as a named steward task.
 *
 *   GET  /fast          answers at once
 *   GET  /slow          blocks the event loop in crunchNumbers() for 600 ms
 *   GET  /offload       the same work on a blockingPool thread: the loop stays free
 *   POST /ingest?ms=N   a job into a bounded channel(16); a consumer works them 4 at a time (Semaphore),
 *                       N ms each (default 10); on SIGTERM it drains what is queued before the service exits
 *   GET  /work?ms=N     an async wait of N ms (in flight when SIGTERM arrives)
 *   GET  /stats         what the ingest pipeline holds, and the heap
 */
import http from "node:http";
import { blockingPool, channel, currentRuntime, httpResource, runMain, Semaphore, sleep, spawn, TaskTracker } from "../src/index.js";
import type { ShutdownReport } from "../src/index.js";
import { crunchNumbers } from "./crunch.js";

const port = Number(process.env.DEMO_PORT ?? 8123);
const serve = process.argv.includes("--serve");

interface Job {
  id: number;
  body: string;
  /** How long the job's I/O takes. */
  ms: number;
}

function printReport(r: ShutdownReport, jobs: { received: number; processed: number }): void {
  const t = r.tasks;
  const p = r.phases;
  process.stdout.write(
    `SHUTDOWN clean=${r.clean} in ${r.durationMs} ms (announce ${p.announceMs}, drain ${p.drainMs} ended by ${r.drain.endedBy}, ` +
      `collect ${p.collectMs}, drop ${p.dropMs}): tasks total ${t.total}, completed ${t.completed}, cancelled ${t.cancelled}, ` +
      `panicked ${t.panicked}, stuck ${t.stuck.length}; lost ${r.lost.length}; dispose errors ${r.disposeErrors.length}; ` +
      `jobs received ${jobs.received}, processed ${jobs.processed}\n`,
  );
}

await runMain(
  async (ctx) => {
    const rt = currentRuntime();
    const pool = blockingPool(new URL("./work.js", import.meta.url), { name: "crunch", maxThreads: 1 });

    // Ingest: a bounded channel is the backpressure; a semaphore bounds the concurrent work.
    const [tx, rx] = channel<Job>(16);
    const permits = new Semaphore(4);
    const stats = { received: 0, processed: 0, maxBuffered: 0, maxWorking: 0, heapStartMB: process.memoryUsage().heapUsed / 2 ** 20 };
    const work = new TaskTracker();
    rt.stopping.onCancel(() => {
      // The announcement: intake is about to stop; what is queued is still worked off (the drain).
      process.stdout.write(`STOPPING with ${rx.length} job(s) queued and ${4 - permits.available} in progress\n`);
      void rt.shutdown().then((r) => printReport(r, stats));
    });
    spawn(
      async () => {
        for await (const job of rx) {
          const permit = await permits.acquire();
          stats.maxWorking = Math.max(stats.maxWorking, 4 - permits.available);
          work.spawn(async () => {
            try {
              await sleep(job.ms); // the job's I/O
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
    let nextJob = 0;
    let workInFlight = 0;
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      // Each request is a task. Shutdown drains it: its waits keep working and its signal stays
      // intact until the drain deadline.
      spawn(() => handle(url, req, res), { name: `${req.method} ${url.pathname} #${++nextRequest}` });
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
          workInFlight++;
          try {
            await sleep(Number(url.searchParams.get("ms") ?? 100));
          } finally {
            workInFlight--;
          }
          return void res.end("work: done\n");
        case "/ingest": {
          let body = "";
          for await (const chunk of req) body += String(chunk);
          await tx.send({ id: ++nextJob, body, ms: Number(url.searchParams.get("ms") ?? 10) }); // waits while 16 jobs are buffered
          stats.received++; // accepted: in the queue
          stats.maxBuffered = Math.max(stats.maxBuffered, rx.length);
          res.statusCode = 202;
          return void res.end("accepted\n");
        }
        case "/stats":
          res.setHeader("content-type", "application/json");
          return void res.end(JSON.stringify({ ...stats, buffered: rx.length, workInFlight, heapMB: process.memoryUsage().heapUsed / 2 ** 20 }));
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
    // Until SIGTERM. Nothing to close here: the server stops intake by itself, and the ingest
    // consumer, once its queue is empty and nothing can fill it, is idle: the drain ends then.
    await ctx.stopping.cancelled();
  },
  // Default deadlines (a 20 s budget: drain, then 2 s to collect; 2 s per disposer).
  // With --serve the live console runs too: http://127.0.0.1:6669 or `npx steward console`.
  { name: "demo", supervisor: { thresholdMs: 100, startupGraceMs: 300 }, console: serve, recorder: { log: serve } },
);
