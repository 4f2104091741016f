/**
 * An HTTP server as a runtime resource: it drains in the stop phase of shutdown, while the
 * runtime collects its tasks, and is closed for good in the drop phase.
 *
 * Works with anything built on node:http or node:https servers (Express's `app.listen()`,
 * Fastify's `fastify.server`, Hono's `serve()` from @hono/node-server): it wraps the server's
 * `emit` for "request", "checkContinue" and "upgrade", so it sees every request before any
 * listener, whatever order they were added in.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { Server as NetServer, type Socket } from "node:net";
import { Server as TlsServer } from "node:tls";
import type { Duplex } from "node:stream";
import { checkDuration, checkOptions, checkSignal, typeName } from "../core/validate.js";
import { ShutdownError } from "../errors.js";
import { currentRuntime, DEFAULT_SHUTDOWN_TIMEOUT_MS, resourceInfo, type Runtime } from "../runtime/runtime.js";

/** Where an {@link HttpResource} is: serving, failing readiness before it stops, draining, closed. */
export type HttpResourceState = "serving" | "pre-stop" | "draining" | "closed";

/** Options of {@link httpResource}. */
export interface HttpResourceOptions {
  /** The runtime whose shutdown drains the server. Default: the current runtime (`currentRuntime()`). */
  runtime?: Runtime;
  /** Shown in dumps and reports. Default "http". */
  name?: string;
  /**
   * How long, once shutdown starts, to keep serving normally with `ready` false before the
   * listener closes, in ms. Default 0. For Kubernetes, set it a little above the readiness
   * probe's `periodSeconds × failureThreshold` (and above the time endpoints take to update), so
   * the load balancer stops sending traffic before the pod stops accepting it. It counts
   * against the runtime's shutdown deadline.
   */
  preStopDelayMs?: number;
  /**
   * If set (e.g. "/readyz"), GET/HEAD requests to this path are answered by the resource itself:
   * 200 while `ready`, 503 once shutdown started. The application never sees them.
   */
  readinessPath?: string;
  /** While draining, idle keep-alive connections are closed again every this many ms (and whenever a response ends). Default 100. */
  sweepIntervalMs?: number;
  /** The drain deadline when `drain()` or disposal is used without a runtime deadline. Default 10 000 ms. */
  drainTimeoutMs?: number;
}

/** What a drain did. */
export interface HttpDrainResult {
  /** Requests the server received over its life (those answered 503 included). */
  accepted: number;
  /** Requests answered 503 (with `Connection: close`) because they arrived while draining. */
  rejected: number;
  /** Requests still in flight when the deadline forced the close (their connections were destroyed). */
  cut: number;
  /** Idle keep-alive connections closed by the drain's sweeps. */
  idleClosed: number;
  /** How many idle sweeps ran. */
  sweeps: number;
  /** True when the deadline forced the close. */
  forced: boolean;
  /** From the start of the drain proper (after the pre-stop delay) until the server closed. */
  durationMs: number;
}

const MANAGED = Symbol("steward.httpResource");
const PATCHED_EMIT = Symbol("steward.httpResource.emit");

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

/** A tracked connection. */
interface Conn {
  inFlight: number;
  /** The latest response on it (the one the connection's fate rides on). */
  last: ServerResponse | undefined;
}

const SERVING = 0;
const PRE_STOP = 1;
const DRAINING = 2;
const CLOSED = 3;
const STATES: HttpResourceState[] = ["serving", "pre-stop", "draining", "closed"];

/**
 * A node:http (or https) server managed as a runtime resource; make one with
 * {@link httpResource}.
 *
 * On shutdown's **stop** phase: `ready` turns false; after `preStopDelayMs` the listener closes
 * (new connections are refused); requests that still arrive on existing connections are answered
 * 503 with `Connection: close`; responses in flight that have not sent their headers get
 * `Connection: close`; idle keep-alive connections are closed, again and again (every
 * `sweepIntervalMs` and whenever a response ends) until the drain ends, because a keep-alive
 * connection that was busy at the first sweep becomes idle later; requests in flight finish.
 * At the runtime's deadline, whatever is left is destroyed (counted as `cut`, and the shutdown
 * report is then not clean). The **collect** phase waits for the drain as it waits for tasks;
 * the **drop** phase only confirms the server is closed.
 */
export class HttpResource implements AsyncDisposable {
  /** The server it manages. */
  readonly server: HttpServer | HttpsServer;
  /** Shown in dumps and reports. */
  readonly name: string;
  private phase = SERVING;
  private readonly preStopDelayMs: number;
  private readonly readinessPath: string | undefined;
  private readonly sweepIntervalMs: number;
  private readonly drainTimeoutMs: number;
  /** Tracked connections: requests in flight on each, and the latest one (pipelining). */
  private readonly sockets = new Map<Socket, Conn>();
  private readonly responses = new Set<ServerResponse>();
  private accepted = 0;
  private rejected = 0;
  private cut = 0;
  private idleClosed = 0;
  private sweeps = 0;
  private forced = false;
  private serverClosed = false;
  private sweepScheduled = false;
  private drainPromise: Promise<HttpDrainResult> | undefined;
  private readonly forceCtl = new AbortController();
  private wakeDone: (() => void) | undefined;
  private readonly origEmit: Emit;
  private readonly onConnection = (socket: Socket): void => void this.track(socket);
  private readonly connectionEvent: string;

  /** Prefer {@link httpResource}. @throws as httpResource does. */
  constructor(server: HttpServer | HttpsServer, opts: HttpResourceOptions = {}) {
    if (!(server instanceof NetServer) || typeof (server as { closeAllConnections?: unknown }).closeAllConnections !== "function") {
      throw new TypeError(`server must be a node:http or node:https Server, got ${typeName(server)}`);
    }
    checkOptions(opts, "opts");
    if (opts.name !== undefined && typeof opts.name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(opts.name)}`);
    if (opts.preStopDelayMs !== undefined) checkDuration(opts.preStopDelayMs, "opts.preStopDelayMs");
    if (opts.drainTimeoutMs !== undefined) checkDuration(opts.drainTimeoutMs, "opts.drainTimeoutMs");
    if (opts.sweepIntervalMs !== undefined) {
      checkDuration(opts.sweepIntervalMs, "opts.sweepIntervalMs");
      if (opts.sweepIntervalMs === 0) throw new RangeError("opts.sweepIntervalMs must be > 0");
    }
    if (opts.readinessPath !== undefined && (typeof opts.readinessPath !== "string" || !opts.readinessPath.startsWith("/"))) {
      throw new TypeError(`opts.readinessPath must be a path starting with "/", got ${typeName(opts.readinessPath)}`);
    }
    if ((server as unknown as Record<symbol, unknown>)[MANAGED] !== undefined) {
      throw new TypeError("server is already managed by an httpResource");
    }
    const rt = opts.runtime ?? currentRuntime();
    if (rt.state === "dropping" || rt.state === "closed") throw new ShutdownError("the runtime is past its stop phase: it cannot take an HTTP server");
    this.server = server;
    this.name = opts.name ?? "http";
    this.preStopDelayMs = opts.preStopDelayMs ?? 0;
    this.readinessPath = opts.readinessPath;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 100;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;

    // Requests: seen before any listener, however they were added.
    const orig = server.emit as Emit;
    this.origEmit = orig;
    const self = this;
    const patched: Emit = function (this: unknown, event, ...args) {
      if (event === "request" || event === "checkContinue") {
        return self.onRequest(event, args[0] as IncomingMessage, args[1] as ServerResponse);
      }
      if ((event === "upgrade" || event === "connect") && self.phase >= DRAINING) {
        refuseRaw(args[1] as Duplex);
        self.rejected++;
        return true;
      }
      return Reflect.apply(orig, this, [event, ...args]) as boolean;
    };
    (patched as unknown as Record<symbol, boolean>)[PATCHED_EMIT] = true;
    (server as unknown as { emit: Emit }).emit = patched;
    (server as unknown as Record<symbol, unknown>)[MANAGED] = this;
    // Connections (TLS: the secure socket, which is what requests run on).
    this.connectionEvent = server instanceof TlsServer ? "secureConnection" : "connection";
    server.on(this.connectionEvent, this.onConnection);

    rt.onStop({
      name: this.name,
      stop: (force) =>
        this.drain({ signal: force }).then((r) => {
          if (r.cut > 0) throw new ShutdownError(`${this.name}: ${r.cut} request(s) still in flight at the deadline were cut`);
        }),
    });
    rt.defer(this, this.name);
  }

  /**
   * The readiness flag: true while serving, false from the moment shutdown starts (through the
   * pre-stop delay and the drain). Answer your readiness probe with it, or use `readinessPath`.
   */
  get ready(): boolean {
    return this.phase === SERVING;
  }

  /** "serving", "pre-stop", "draining" or "closed". */
  get state(): HttpResourceState {
    return STATES[this.phase]!;
  }

  /** Requests received whose response has not ended. */
  get inFlight(): number {
    return this.responses.size;
  }

  /** Open connections it tracks. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Counts so far (the drain's result when it is over). */
  get stats(): HttpDrainResult {
    return this.result(0);
  }

  /**
   * Drains the server (what the runtime's stop phase calls): pre-stop delay, close the listener,
   * 503 late requests, sweep idle connections until none is left, wait for requests in flight.
   * Forces the close when `opts.signal` aborts or after `opts.timeoutMs` (default: the option
   * `drainTimeoutMs` when no signal is given, else no timer). Idempotent: later calls return the
   * same promise (their signal can still force it). Never rejects.
   * @throws TypeError/RangeError for malformed options.
   */
  drain(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<HttpDrainResult> {
    checkOptions(opts, "opts");
    checkSignal(opts?.signal);
    if (opts?.timeoutMs !== undefined) checkDuration(opts.timeoutMs, "opts.timeoutMs");
    const signal = opts?.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.force();
      else signal.addEventListener("abort", () => this.force(), { once: true });
    }
    if (this.drainPromise === undefined) {
      const ms = opts?.timeoutMs ?? (signal === undefined ? this.drainTimeoutMs : undefined);
      this.drainPromise = this.runDrain(ms);
    } else if (opts?.timeoutMs !== undefined) {
      setTimeout(() => this.force(), opts.timeoutMs).unref();
    }
    return this.drainPromise;
  }

  /** Drains (if not yet) and waits until the server is closed; the runtime's drop phase calls it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.drain();
  }

  /** @internal What `runtime.dump()` shows for it. */
  [resourceInfo](): Record<string, unknown> {
    return { state: this.state, ready: this.ready, inFlight: this.inFlight, connections: this.connections, accepted: this.accepted };
  }

  private async runDrain(timeoutMs: number | undefined): Promise<HttpDrainResult> {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.force(), timeoutMs);
    const forced = this.forceCtl.signal;
    if (this.preStopDelayMs > 0 && !forced.aborted) {
      this.phase = PRE_STOP;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.preStopDelayMs);
        function done(): void {
          clearTimeout(t);
          forced.removeEventListener("abort", done);
          resolve();
        }
        forced.addEventListener("abort", done);
      });
    }
    const t1 = performance.now();
    this.phase = DRAINING;
    // Stop accepting. (Node's close() also closes the idle connections once.)
    if (this.server.listening) {
      this.server.close(() => {
        this.serverClosed = true;
        this.checkDone();
      });
    } else {
      this.serverClosed = true;
    }
    // A connection's last response in flight, if its headers are not sent yet, will close the
    // connection after it. (Not an earlier one: pipelined responses queued behind it would be lost.)
    for (const conn of this.sockets.values()) {
      const res = conn.last;
      if (conn.inFlight > 0 && res !== undefined && !res.headersSent) {
        try {
          res.setHeader("Connection", "close");
        } catch {
          // headers were sent meanwhile
        }
      }
    }
    const interval = setInterval(() => this.sweep(), this.sweepIntervalMs);
    interval.unref();
    this.sweep();
    if (forced.aborted) this.destroyAll();
    await new Promise<void>((resolve) => {
      this.wakeDone = resolve;
      this.checkDone();
    });
    clearInterval(interval);
    clearTimeout(timer);
    this.phase = CLOSED;
    this.server.removeListener(this.connectionEvent, this.onConnection);
    if ((this.server.emit as unknown as Record<symbol, unknown>)[PATCHED_EMIT] === true) {
      (this.server as unknown as { emit: Emit }).emit = this.origEmit;
    }
    delete (this.server as unknown as Record<symbol, unknown>)[MANAGED];
    return this.result(performance.now() - t1);
  }

  private result(ms: number): HttpDrainResult {
    return {
      accepted: this.accepted,
      rejected: this.rejected,
      cut: this.cut,
      idleClosed: this.idleClosed,
      sweeps: this.sweeps,
      forced: this.forced,
      durationMs: Math.round(ms * 100) / 100,
    };
  }

  private onRequest(event: string, req: IncomingMessage, res: ServerResponse): boolean {
    this.accepted++;
    const socket = req.socket;
    const conn = this.sockets.get(socket) ?? this.track(socket);
    conn.inFlight++;
    conn.last = res;
    this.responses.add(res);
    res.once("close", () => this.onResponseClosed(conn, res));
    if (this.readinessPath !== undefined && (req.method === "GET" || req.method === "HEAD") && pathOf(req.url) === this.readinessPath) {
      if (this.phase >= DRAINING) res.setHeader("Connection", "close");
      respond(res, this.phase === SERVING ? 200 : 503, this.phase === SERVING ? "ready\n" : "not ready\n");
      return true;
    }
    if (this.phase >= DRAINING) {
      this.rejected++;
      res.setHeader("Connection", "close");
      res.setHeader("Retry-After", "1");
      respond(res, 503, "service is shutting down\n");
      return true;
    }
    return Reflect.apply(this.origEmit, this.server, [event, req, res]) as boolean;
  }

  private onResponseClosed(conn: Conn, res: ServerResponse): void {
    this.responses.delete(res);
    conn.inFlight--;
    if (conn.last === res) conn.last = undefined;
    if (this.phase === DRAINING) {
      if (conn.inFlight === 0) this.scheduleSweep();
      this.checkDone();
    }
  }

  private track(socket: Socket): Conn {
    const known = this.sockets.get(socket);
    if (known !== undefined) return known;
    const conn: Conn = { inFlight: 0, last: undefined };
    this.sockets.set(socket, conn);
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.phase === DRAINING) this.checkDone();
    });
    // A connection that arrives while draining (accepted just before the listener closed) is
    // idle until it sends a request: the next sweep takes it.
    if (this.phase === DRAINING) this.scheduleSweep();
    return conn;
  }

  private scheduleSweep(): void {
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(() => {
      this.sweepScheduled = false;
      if (this.phase === DRAINING) this.sweep();
    });
  }

  /** Closes every tracked connection with no request in flight and nothing left to write. */
  private sweep(): void {
    this.sweeps++;
    for (const [socket, conn] of this.sockets) {
      if (conn.inFlight === 0 && socket.writableLength === 0 && !socket.destroyed) {
        socket.destroy();
        this.idleClosed++;
      }
    }
  }

  private force(): void {
    if (this.forceCtl.signal.aborted) return;
    this.forced = true;
    this.forceCtl.abort();
    if (this.phase === DRAINING) this.destroyAll();
  }

  private destroyAll(): void {
    this.cut += this.responses.size;
    for (const socket of this.sockets.keys()) socket.destroy();
    (this.server as HttpServer).closeAllConnections();
    // Responses whose socket is gone emit "close"; the wait ends when the sockets are closed.
    this.checkDone();
  }

  private checkDone(): void {
    if (this.wakeDone === undefined) return;
    const socketsGone = this.sockets.size === 0 && (this.serverClosed || this.forced);
    if (this.responses.size === 0 && socketsGone) {
      const wake = this.wakeDone;
      this.wakeDone = undefined;
      wake();
    }
  }
}

/**
 * Makes a node:http/https server (Express, Fastify, Hono's node adapter...) a resource of the
 * runtime: it drains during the stop phase of shutdown, while tasks are collected, and the
 * shutdown report is unclean if the deadline had to cut requests. See {@link HttpResource}.
 *
 * ```ts
 * const web = httpResource(http.createServer(app), { preStopDelayMs: 5_000, readinessPath: "/readyz" });
 * web.server.listen(8080);
 * ```
 * @throws TypeError when `server` is not a node:http/https Server (or is already managed) or an
 * option is malformed; RangeError for a negative or non-finite duration; ShutdownError when the
 * runtime is past its stop phase.
 */
export function httpResource(server: HttpServer | HttpsServer, opts?: HttpResourceOptions): HttpResource {
  return new HttpResource(server, opts);
}

function respond(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

function refuseRaw(socket: Duplex): void {
  try {
    socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  } catch {
    socket.destroy();
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return "";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
