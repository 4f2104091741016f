/**
 * The console server (node:http): one per host and port, shared by the runtimes that ask for the
 * same one.
 *
 *   GET /                 the web page (client/web: index.html, app.js, style.css)
 *   GET /timeline.html    the flight recorder's timeline (when a recorder is on)
 *   GET /api/snapshot     the ConsoleSnapshot as JSON, from the snapshot every reader shares
 *                         (server/snapshot-cache.ts: one sliced build per change of the model,
 *                         reused for a while under churn), gzip-compressed once on the thread
 *                         pool for clients that accept it
 *   GET /api/tasks/<id>   one task with its histograms and its full spawn stack
 *   GET /api/events       Server-Sent Events: `snapshot` first, then a `delta` every intervalMs
 *                         (server/stream.ts: bounded per client, at most maxClients)
 *   GET /api/routes       the prefixes of the routes below
 *   /api/recorder/...     routes of other parts (server/routes.ts): the flight recorder's
 *
 * It binds 127.0.0.1 by default. Beyond loopback it requires a token (options.ts refuses the
 * configuration otherwise); with a token every /api request must carry it, as
 * `Authorization: Bearer <token>` or `?token=<token>`. Without a token, requests whose Host
 * header is not a loopback name are refused (a DNS-rebinding page cannot read it).
 *
 * Neither the server nor its connections keep the process alive (unref), and the stream's timer
 * runs only while a client is connected.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { type Collector, getCollector } from "../instrument/collector.js";
import { spawnStack } from "../../task/spawn-site.js";
import { buildSnapshot, type SnapshotSource, taskSnapshot } from "../model/snapshot.js";
import type { TaskStats } from "../model/task-stats.js";
import type { ConsoleSnapshot } from "../model/types.js";
import { isLoopback, type ResolvedConsoleOptions } from "../options.js";
import { asset, PAGE_CSP } from "./assets.js";
import { consoleRoutes } from "./routes.js";
import { type SharedSnapshot, SnapshotCache } from "./snapshot-cache.js";
import { EventStream } from "./stream.js";

const gzipAsync = promisify(gzip);

/** Ports the Fetch standard blocks (browsers refuse them with ERR_UNSAFE_PORT). */
const BROWSER_BLOCKED_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512,
  513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679,
  6697, 10080,
]);

/** A source the server can also ask for one task. */
export interface ServedSource extends SnapshotSource {
  findTask(id: number): TaskStats | undefined;
}

/** A runtime's use of a server. */
export interface ServerLease {
  readonly server: ConsoleServer;
  release(): Promise<void>;
}

const servers = new Map<string, ConsoleServer>();

/** @internal Joins (or starts) the server for `o.host`:`o.port`. Port 0 always starts its own. */
export function acquireServer(o: ResolvedConsoleOptions, src: ServedSource): ServerLease {
  const key = `${o.host}:${o.port}`;
  let s = o.port === 0 ? undefined : servers.get(key);
  if (s !== undefined && s.token !== o.token) {
    // A different token cannot share the server: this runtime's console gets none.
    s = new ConsoleServer(o, key, new Error(`the console server on ${key} is already used by a runtime with another token`));
  } else if (s === undefined) {
    s = new ConsoleServer(o, key);
    if (o.port !== 0) servers.set(key, s);
  }
  const server = s;
  server.sources.add(src);
  server.invalidate();
  let released = false;
  return {
    server,
    release: async () => {
      if (released) return;
      released = true;
      server.sources.delete(src);
      server.invalidate();
      if (server.sources.size === 0) {
        if (servers.get(key) === server) servers.delete(key);
        await server.close();
      }
    },
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** One console server. */
export class ConsoleServer {
  readonly sources = new Set<ServedSource>();
  readonly token: string | undefined;
  /** Resolves with the URL once listening. */
  readonly ready: Promise<string>;
  url: string | undefined = undefined;
  readonly #options: ResolvedConsoleOptions;
  readonly #server: Server | undefined;
  readonly #tokenDigest: Buffer | undefined;
  readonly #collector: Collector = getCollector();
  /** The event stream's clients and deltas. */
  readonly stream: EventStream;
  /** The snapshot every reader shares (GET /api/snapshot, the event stream). */
  readonly #cache: SnapshotCache;
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedConsoleOptions, key: string, refuse?: Error) {
    this.#options = o;
    this.token = o.token;
    this.#cache = new SnapshotCache(() => [...this.sources], this.#collector);
    this.stream = new EventStream(() => this.#cache.get(), o.intervalMs, o.maxClients);
    this.#tokenDigest = o.token === undefined ? undefined : digest(o.token);
    if (refuse !== undefined) {
      this.ready = Promise.reject(refuse);
      this.ready.catch(() => warn(refuse.message));
      return;
    }
    const server = createServer((req, res) => this.#handle(req, res));
    this.#server = server;
    server.on("connection", (socket) => socket.unref());
    server.unref();
    this.ready = new Promise<string>((resolve, reject) => {
      server.once("error", reject);
      server.listen(o.port, o.host, () => {
        server.off("error", reject);
        server.on("error", () => undefined);
        const a = server.address() as AddressInfo;
        const host = a.family === "IPv6" || a.address.includes(":") ? `[${a.address}]` : a.address;
        this.url = `http://${host}:${a.port}/`;
        if (BROWSER_BLOCKED_PORTS.has(a.port)) this.#listenForBrowsers(o, host, a.port);
        resolve(this.url);
      });
    });
    this.ready.catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      warn(`cannot listen on ${key} (${code}); runtime.dump() still has everything the console shows`);
    });
  }

  /**
   * Browsers (and fetch) refuse the Fetch standard's "bad ports", and the default port 6669
   * (tokio-console's) is one. The page is then also served on the next port, where a browser
   * can open it; the JSON API and `steward console` keep working on the first.
   */
  #listenForBrowsers(o: ResolvedConsoleOptions, host: string, port: number): void {
    const web = createServer((req, res) => this.#handle(req, res));
    web.on("connection", (socket) => socket.unref());
    web.unref();
    let webPort = port + 1;
    while (BROWSER_BLOCKED_PORTS.has(webPort)) webPort++;
    web.on("error", () => warn(`the page cannot be served on port ${webPort} for browsers (which refuse port ${port}); set console: { port }`));
    web.listen(webPort, o.host, () => {
      this.webUrl = `http://${host}:${webPort}/`;
    });
    this.#webServer = web;
  }

  /** Where a browser can open the page: `url`, or the next port when `url`'s is one browsers refuse. */
  webUrl: string | undefined;
  #webServer: Server | undefined;

  /** The address it is bound to, once listening. */
  address(): AddressInfo | undefined {
    const a = this.#server?.address();
    return a !== null && typeof a === "object" ? a : undefined;
  }

  /** A snapshot over every runtime using this server. */
  snapshot(): ConsoleSnapshot {
    return buildSnapshot([...this.sources], this.#collector);
  }

  /** Forgets the cached snapshot (the runtimes using the server changed). */
  invalidate(): void {
    this.#cache.invalidate();
  }

  /** Snapshots built for readers (a burst of requests, and the stream's ticks, share one). */
  get snapshotBuilds(): number {
    return this.#cache.builds;
  }

  /** @internal The shared snapshot, if one was built (tests, the bench). */
  get cachedSnapshot(): SharedSnapshot | undefined {
    return this.#cache.peek();
  }

  #sendSnapshot(req: IncomingMessage, res: ServerResponse): void {
    const r = this.#cache.get();
    if (!(r instanceof Promise)) return this.#sendShared(req, res, r);
    r.then(
      (c) => {
        if (!res.destroyed) this.#sendShared(req, res, c);
      },
      (e: unknown) => {
        if (!res.destroyed) send(res, 500, "text/plain; charset=utf-8", `steward console: ${e instanceof Error ? e.message : String(e)}\n`);
      },
    );
  }

  #sendShared(req: IncomingMessage, res: ServerResponse, c: SharedSnapshot): void {
    if (!/\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")) || c.body.length < 16 * 1024) return send(res, 200, "application/json", c.body);
    // Compressed once per snapshot, off the event loop; every request of a burst shares it.
    c.gz ??= gzipAsync(c.body, { level: 1 });
    c.gz.then(
      (gz) => {
        if (res.destroyed) return;
        res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "application/json", "content-encoding": "gzip", vary: "accept-encoding", "content-length": gz.length });
        res.end(req.method === "HEAD" ? undefined : gz);
      },
      () => send(res, 200, "application/json", c.body),
    );
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.stream.close();
      const server = this.#server;
      if (this.#webServer?.listening === true) {
        this.#webServer.close();
        this.#webServer.closeAllConnections();
      }
      if (server === undefined || !server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.#closing;
  }

  #authorized(req: IncomingMessage, url: URL): boolean {
    const d = this.#tokenDigest;
    if (d === undefined) return true;
    const auth = req.headers.authorization;
    let given: string | undefined;
    if (typeof auth === "string" && /^bearer /i.test(auth)) given = auth.slice(7).trim();
    else given = url.searchParams.get("token") ?? undefined;
    return given !== undefined && timingSafeEqual(digest(given), d);
  }

  #hostAllowed(req: IncomingMessage): boolean {
    if (this.#tokenDigest !== undefined) return true;
    const h = req.headers.host;
    if (h === undefined) return true; // HTTP/1.0 tools; a browser always sends Host
    const name = h.startsWith("[") ? h.slice(0, h.indexOf("]") + 1) : h.replace(/:\d+$/, "");
    return isLoopback(name) || name === this.#options.host;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.#route(req, res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", `steward console: ${e instanceof Error ? e.message : String(e)}\n`);
      else res.destroy();
    }
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method;
    if (!this.#hostAllowed(req)) return send(res, 403, "text/plain; charset=utf-8", "steward console: this Host is not allowed\n");
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const path = url.pathname;
    const extra = [...consoleRoutes].find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
    if (extra !== undefined) {
      if (!this.#authorized(req, url)) return unauthorized(res);
      if (extra[1](req, res, url)) return;
      return send(res, 404, "application/json", JSON.stringify({ error: "not found" }));
    }
    if (method !== "GET" && method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    }
    const page = asset(path === "/" ? "index.html" : path.slice(1));
    if (page !== undefined) {
      if (page.type.startsWith("text/html")) res.setHeader("content-security-policy", PAGE_CSP);
      return send(res, 200, page.type, page.body);
    }
    if (path === "/favicon.ico") return send(res, 204, "text/plain", "");
    if (!path.startsWith("/api/")) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
    if (!this.#authorized(req, url)) return unauthorized(res);
    if (path === "/api/snapshot") return this.#sendSnapshot(req, res);
    if (path === "/api/routes") return send(res, 200, "application/json", JSON.stringify([...consoleRoutes.keys()]));
    if (path === "/api/events") return this.stream.open(req, res, SECURITY_HEADERS);
    const m = /^\/api\/tasks\/(\d+)$/.exec(path);
    if (m !== null) {
      const id = Number(m[1]);
      for (const src of this.sources) {
        const s = src.findTask(id);
        if (s === undefined) continue;
        const task = taskSnapshot(s, performance.now(), this.sources.size > 1 ? src.runtimeName : undefined, this.#collector);
        const stack = spawnStack(s.site);
        return send(res, 200, "application/json", JSON.stringify({ task, spawnStack: stack }));
      }
      return send(res, 404, "application/json", JSON.stringify({ error: `no task ${id} (it ended more than retainMs ago, or never existed)` }));
    }
    return send(res, 404, "application/json", JSON.stringify({ error: "not found" }));
  }
}

function unauthorized(res: ServerResponse): void {
  res.setHeader("www-authenticate", 'Bearer realm="steward console"');
  send(res, 401, "application/json", JSON.stringify({ error: "a token is required (Authorization: Bearer <token>, or ?token=)" }));
}

/** Answers with `body` and the security headers (the body is left out for HEAD). */
export function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

const warned = new Set<string>();
function warn(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  process.stderr.write(`steward console: ${msg}\n`);
}
