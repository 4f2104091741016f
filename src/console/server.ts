/**
 * The console server (node:http): one per host and port, shared by the runtimes that ask for the
 * same one.
 *
 *   GET /                 the web page (self-contained HTML; its script at /app.js)
 *   GET /api/snapshot     the ConsoleSnapshot as JSON
 *   GET /api/tasks/<id>   one task with its full spawn stack
 *   GET /api/events       Server-Sent Events: `snapshot` first, then a `delta` every intervalMs
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
import { dirname, sep } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { TaskStats } from "./collector.js";
import { isLoopback, type ResolvedConsoleOptions } from "./options.js";
import { buildSnapshot, type SnapshotSource, taskSnapshot } from "./snapshot.js";
import type { ConsoleDelta, ConsoleSnapshot, TaskSnapshot } from "./types.js";
import { APP_JS, INDEX_HTML } from "./web.js";

/** Ports the Fetch standard blocks (browsers refuse them with ERR_UNSAFE_PORT). */
const BROWSER_BLOCKED_PORTS = new Set([1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080]);

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
  let released = false;
  return {
    server,
    release: async () => {
      if (released) return;
      released = true;
      server.sources.delete(src);
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

/** The fields of a task record that change only when something happens (not as time passes). */
function fingerprint(t: TaskSnapshot): string {
  return `${t.state}|${t.resumes}|${t.waitingOn ?? ""}|${t.outcome ?? ""}|${t.lints?.join(",") ?? ""}|${Math.round(t.maxScheduledMs)}|${t.name ?? ""}`;
}

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
  readonly #clients = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #prev = new Map<number, string>();
  #prevResources = "";
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedConsoleOptions, key: string, refuse?: Error) {
    this.#options = o;
    this.token = o.token;
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
    return buildSnapshot([...this.sources]);
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      for (const c of this.#clients) c.end();
      this.#clients.clear();
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
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    }
    if (!this.#hostAllowed(req)) return send(res, 403, "text/plain; charset=utf-8", "steward console: this Host is not allowed\n");
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const path = url.pathname;
    if (path === "/" || path === "/index.html") {
      res.setHeader("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'");
      return send(res, 200, "text/html; charset=utf-8", INDEX_HTML);
    }
    if (path === "/app.js") return send(res, 200, "text/javascript; charset=utf-8", APP_JS);
    if (path === "/favicon.ico") return send(res, 204, "text/plain", "");
    if (!path.startsWith("/api/")) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
    if (!this.#authorized(req, url)) {
      res.setHeader("www-authenticate", 'Bearer realm="steward console"');
      return send(res, 401, "application/json", JSON.stringify({ error: "a token is required (Authorization: Bearer <token>, or ?token=)" }));
    }
    if (path === "/api/snapshot") return send(res, 200, "application/json", JSON.stringify(this.snapshot()));
    if (path === "/api/events") return this.#stream(req, res);
    const m = /^\/api\/tasks\/(\d+)$/.exec(path);
    if (m !== null) {
      const id = Number(m[1]);
      for (const src of this.sources) {
        const s = src.findTask(id);
        if (s === undefined) continue;
        const task = taskSnapshot(s, performance.now(), this.sources.size > 1 ? src.runtimeName : undefined);
        const stack = typeof s.site?.stack === "string" ? userFrames(s.site.stack) : [];
        return send(res, 200, "application/json", JSON.stringify({ task, spawnStack: stack }));
      }
      return send(res, 404, "application/json", JSON.stringify({ error: `no task ${id} (it ended more than retainMs ago, or never existed)` }));
    }
    return send(res, 404, "application/json", JSON.stringify({ error: "not found" }));
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive", "x-accel-buffering": "no" });
    if (req.method === "HEAD") return void res.end();
    const snap = this.snapshot();
    if (this.#clients.size === 0) this.#remember(snap);
    res.write(`retry: 2000\n\nevent: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
    this.#clients.add(res);
    const drop = (): void => {
      this.#clients.delete(res);
      if (this.#clients.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
    req.on("close", drop);
    res.on("error", drop);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
      this.#timer.unref();
    }
  }

  #remember(snap: ConsoleSnapshot): void {
    this.#prev = new Map(snap.tasks.map((t) => [t.id, fingerprint(t)]));
    this.#prevResources = JSON.stringify(snap.resources);
  }

  #tick(): void {
    if (this.#clients.size === 0) return;
    const snap = this.snapshot();
    const prev = this.#prev;
    const next = new Map<number, string>();
    const changed: TaskSnapshot[] = [];
    for (const t of snap.tasks) {
      const f = fingerprint(t);
      next.set(t.id, f);
      if (prev.get(t.id) !== f) changed.push(t);
    }
    const removed: number[] = [];
    for (const id of prev.keys()) if (!next.has(id)) removed.push(id);
    const resources = JSON.stringify(snap.resources);
    const delta: ConsoleDelta = { now: snap.now, header: snap.header, tasks: changed, removed, warnings: snap.warnings, blocked: snap.blocked };
    if (resources !== this.#prevResources) delta.resources = snap.resources;
    this.#prev = next;
    this.#prevResources = resources;
    const msg = `event: delta\ndata: ${JSON.stringify(delta)}\n\n`;
    for (const c of this.#clients) c.write(msg);
  }
}

/** steward's own dist/src folder: its frames are not where the user spawned the task. */
const OWN_DIR = dirname(dirname(fileURLToPath(import.meta.url))) + sep;

/** The frames of a spawn stack outside steward and Node's internals, as paths rather than file URLs. */
function userFrames(stack: string): string[] {
  const out: string[] = [];
  for (const raw of stack.split("\n").slice(1)) {
    const line = raw.trim().replace(/file:\/\/[^\s):]+/g, (url) => {
      try {
        return fileURLToPath(url);
      } catch {
        return url;
      }
    });
    if (line.includes(OWN_DIR) || line.includes("node:internal")) continue;
    out.push(line);
  }
  return out;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

const warned = new Set<string>();
function warn(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  process.stderr.write(`steward console: ${msg}\n`);
}
