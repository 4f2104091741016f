/**
 * Real redis-server processes for the Redis tests: each test starts its own on 127.0.0.1 and a
 * random port (no persistence), so it can kill, restart and pause it.
 *
 * The suite needs a `redis-server` binary (STEWARD_REDIS_SERVER, or one on PATH: Debian's
 * `apt-get install redis-server`). Without one the Redis tests do not run and
 * availability.test.ts says so in one line — unless STEWARD_REQUIRE_REDIS=1 (CI), which makes
 * that a failure.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createClient } from "redis";

/** The redis-server binary to run, or undefined when there is none. */
export const REDIS_SERVER: string | undefined = findServer();

function findServer(): string | undefined {
  const env = process.env.STEWARD_REDIS_SERVER;
  if (env !== undefined && env !== "") return env;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, "redis-server");
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect(port, "127.0.0.1");
    let buf = "";
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
  });
}

/** One redis-server process on 127.0.0.1, restartable on the same port. */
export class RedisServer {
  proc: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "steward-redis-"));
  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const s = new RedisServer(await freePort());
    await s.launch();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) and waits until it answers PING. */
  async launch(): Promise<void> {
    if (REDIS_SERVER === undefined) throw new Error("no redis-server");
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, "--enable-debug-command", "local", "--loglevel", "warning"];
    const p = spawn(REDIS_SERVER, args, { stdio: ["ignore", "ignore", "inherit"] });
    this.proc = p;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode}`);
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("redis-server did not start within 10 s");
  }

  /** Kills the server (SIGKILL by default: no shutdown, data gone) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function makeClient(server: RedisServer, opts: { offlineQueue?: boolean }) {
  return createClient({
    url: server.url,
    socket: { reconnectStrategy: (n: number) => Math.min(50 * (n + 1), 200), connectTimeout: 1_000 },
    disableOfflineQueue: opts.offlineQueue === false,
  });
}

export type Client = ReturnType<typeof makeClient>;

/** A connected node-redis client that retries fast (tests restart servers) and ignores errors. */
export async function connect(server: RedisServer, opts: { offlineQueue?: boolean } = {}): Promise<Client> {
  const c = makeClient(server, opts);
  c.on("error", () => {});
  await c.connect();
  return c;
}

/** Closes a client without waiting on a dead server. */
export function close(c: Client): void {
  try {
    c.destroy();
  } catch {
    // already closed
  }
}

/** Keys steward holds for `name` (default prefix): how many leases, waiters and permits in use. */
export async function held(c: Client, name: string): Promise<{ holders: number; queued: number; used: number }> {
  const base = `steward:{${name}}`;
  const [h, q, u] = await Promise.all([c.zCard(`${base}:holders`), c.zCard(`${base}:queue`), c.get(`${base}:used`)]);
  return { holders: h, queued: q, used: u === null ? 0 : Number(u) };
}

export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until it holds or `ms` passed; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await sleepMs(10);
  }
}

/** A message a replica sent. */
export interface ReplicaEvent {
  ev: string;
  [k: string]: unknown;
}

/** A replica: test/redis/fixtures/worker.ts in a child process, driven over IPC. */
export class Replica {
  readonly events: ReplicaEvent[] = [];
  #read = 0;
  #wake: (() => void) | undefined;
  readonly exited: Promise<void>;
  private constructor(readonly proc: ChildProcess) {
    proc.on("message", (m: ReplicaEvent) => {
      this.events.push(m);
      this.#wake?.();
    });
    this.exited = new Promise((r) => proc.once("exit", () => r()));
  }

  static async start(server: RedisServer): Promise<Replica> {
    const worker = new URL("./fixtures/worker.js", import.meta.url);
    const proc = fork(worker, [server.url], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
    const r = new Replica(proc);
    await r.next("ready", 15_000);
    return r;
  }

  send(m: Record<string, unknown>): void {
    this.proc.send(m);
  }

  /** The next unread event named `ev` (earlier unread events of other names are skipped). */
  async next(ev: string, ms = 20_000): Promise<ReplicaEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.#read < this.events.length) {
        const e = this.events[this.#read++]!;
        if (e.ev === ev) return e;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`replica sent no "${ev}" within ${ms} ms (got ${JSON.stringify(this.events.slice(-5))})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    await this.exited;
  }
}
