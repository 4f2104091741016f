/**
 * An HTTP server as a runtime resource and shutdown participant: readiness goes false at the
 * announcement, intake stops when the drain begins, requests in flight finish while the runtime
 * drains its tasks, and the server is closed for good before the drop phase.
 *
 * Works with anything built on node:http or node:https servers (Express's `app.listen()`,
 * Fastify's `fastify.server`, Hono's `serve()` from @hono/node-server): it wraps the server's
 * `emit` for "request", "checkContinue" and "upgrade", so it sees every request before any
 * listener, whatever order they were added in.
 *
 * HTTP/1.1 has no way to tell an idle keep-alive client to go: closing the connection is the only
 * message, and a client may send a request at that very moment (it then sees a reset, or the
 * connection close without an answer). The drain keeps that race as narrow as it can be: a
 * response in flight carries `Connection: close`; a request that arrives is answered 503 with
 * `Connection: close`; a connection is closed as idle only when the HTTP parser has seen nothing
 * of a next request, nothing is left to write, and it has been idle for `idleGraceMs` (a client
 * sending back to back gets its 503 instead), and only in the event loop's check phase, right
 * after the poll phase read whatever had arrived.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { now, schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkOptions, checkSignal, typeName } from "../util/validate.js";
import { ShutdownError } from "../errors.js";
import { currentRuntime, DEFAULT_SHUTDOWN_TIMEOUT_MS, resourceInfo, Runtime, type StopOutcome } from "../runtime/runtime.js";

/** Where an {@link HttpResource} is: serving, failing readiness before it stops, draining, closed. */
export type HttpResourceState = "serving" | "pre-stop" | "draining" | "closed";

/** The pre-stop delay when none is given: 5 s inside Kubernetes (where a pod's endpoints take a few seconds to be removed everywhere), 0 elsewhere. */
export function defaultPreStopDelayMs(): number {
  return process.env.KUBERNETES_SERVICE_HOST ? 5_000 : 0;
}

/** Options of {@link httpResource}. */
export interface HttpResourceOptions {
  /**
   * The runtime whose shutdown drains the server.
   * @default the current runtime (`currentRuntime()`)
   */
  runtime?: Runtime;
  /**
   * Shown in dumps and reports.
   * @default "http"
   */
  name?: string;
  /**
   * How long, once shutdown starts, to keep serving normally with `ready` false before the
   * listener closes, in ms. The runtime waits the longest pre-stop delay of its participants
   * (and its own `preStopDelayMs`), within its shutdown budget. Set it a little above the time
   * your load balancer needs to stop sending traffic (for Kubernetes: endpoint removal, a few
   * seconds).
   * @default 5000 when running in Kubernetes (`KUBERNETES_SERVICE_HOST` is set), else 0
   */
  preStopDelayMs?: number;
  /**
   * If set (e.g. "/readyz"), GET/HEAD requests to this path are answered by the resource itself:
   * 200 while `ready`, 503 once shutdown started. The application never sees them.
   */
  readinessPath?: string;
  /**
   * While draining, a keep-alive connection is closed as idle only once nothing has been received
   * or sent on it for at least this long, in ms: a client that sends its next request right after
   * a response gets a 503 with `Connection: close` (it is told to go) instead of a closed socket.
   * The grace grows by itself for a connection whose client is slow to send (three times its
   * longest recent gap, up to 1 s) and while the event loop runs late.
   * @default 250
   */
  idleGraceMs?: number;
  /**
   * While draining, idle keep-alive connections are looked for every this many ms (and whenever a
   * response ends).
   * @default 50
   */
  sweepIntervalMs?: number;
  /**
   * The drain deadline in ms when `drain()` or disposal is used without a runtime deadline.
   * @default 20000
   */
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
  /** When it last became idle (accepted, or its last response ended), on steward's clock. */
  idleSince: number;
  /**
   * How long this client usually leaves it idle before its next request (the longest gap seen,
   * decaying): a client that is slow to send (or a server too busy to read) needs a longer grace.
   * Only gaps after a response count: the wait for a new connection's first request says more
   * about how busy connecting was than about the client.
   */
  gap: number;
  /** A response on it has ended (so a later request's gap is measured). */
  answered: boolean;
}

/** node:http's list of connections with their parsers (Node >= 18.2): `idle()` are those whose parser has seen nothing of a next request. */
interface ConnectionsList {
  idle(): { socket?: Socket | null }[];
}

/** The longest a connection's own history can stretch its idle grace: a client that pauses longer between requests is unlikely to send at the moment of the close, and must not hold the drain. */
const MAX_ADAPTIVE_GRACE_MS = 1_000;

const SERVING = 0;
const PRE_STOP = 1;
const DRAINING = 2;
const CLOSED = 3;
const STATES: HttpResourceState[] = ["serving", "pre-stop", "draining", "closed"];

/**
 * A node:http (or https) server managed as a runtime resource; make one with
 * {@link httpResource}.
 *
 * At the shutdown's **announcement**: `ready` turns false (and `readinessPath` answers 503), and
 * the server keeps serving through the pre-stop delay. When the **drain** begins: the listener
 * closes (new connections are refused); requests that still arrive on open connections are
 * answered 503 with `Connection: close`; responses in flight that have not sent their headers get
 * `Connection: close`; idle keep-alive connections are closed, again and again until none is left
 * (see the module comment for how the HTTP/1.1 race is kept narrow); requests in flight finish,
 * their tasks' signals intact (they abort only when the drain ends, with the cancel phase). At the
 * **collect** deadline whatever is left is destroyed: those requests are `cut` and the shutdown
 * report lists them as lost. The **drop** phase only confirms the server is closed.
 */
export class HttpResource implements AsyncDisposable {
  /** The server it manages. */
  readonly server: HttpServer | HttpsServer;
  /** Shown in dumps and reports. */
  readonly name: string;
  private phase = SERVING;
  private readonly preStopDelayMs: number;
  private readonly readinessPath: string | undefined;
  private readonly idleGraceMs: number;
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
  /** How late the periodic sweep timer fires (decaying max): a busy event loop reads requests late. */
  private loopLag = 0;
  private drainPromise: Promise<HttpDrainResult> | undefined;
  private readonly forceCtl = new AbortController();
  private wakeDone: (() => void) | undefined;
  private readonly origEmit: Emit;
  private readonly onConnection = (socket: Socket): void => void this.track(socket);
  private readonly connectionEvent: string;
  private readonly runSweep = (): void => {
    this.sweepScheduled = false;
    if (this.phase === DRAINING) this.sweep();
  };

  /** Prefer {@link httpResource}. @throws as httpResource does. */
  constructor(server: HttpServer | HttpsServer, opts: HttpResourceOptions = {}) {
    // node:net and node:tls are looked up here, not imported: loading them (and crypto with tls)
    // is a third of what importing the package root would otherwise cost.
    if (!(server instanceof process.getBuiltinModule("node:net").Server) || typeof (server as { closeAllConnections?: unknown }).closeAllConnections !== "function") {
      throw new TypeError(`server must be a node:http or node:https Server, got ${typeName(server)}`);
    }
    checkOptions(opts, "opts");
    if (opts.name !== undefined && typeof opts.name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(opts.name)}`);
    if (opts.preStopDelayMs !== undefined) checkDuration(opts.preStopDelayMs, "opts.preStopDelayMs", { long: true });
    if (opts.drainTimeoutMs !== undefined) checkDuration(opts.drainTimeoutMs, "opts.drainTimeoutMs", { infinity: true });
    if (opts.idleGraceMs !== undefined) checkDuration(opts.idleGraceMs, "opts.idleGraceMs", { long: true });
    if (opts.sweepIntervalMs !== undefined) {
      checkDuration(opts.sweepIntervalMs, "opts.sweepIntervalMs", { long: true });
      if (opts.sweepIntervalMs === 0) throw new RangeError("opts.sweepIntervalMs must be > 0");
    }
    if (opts.readinessPath !== undefined && (typeof opts.readinessPath !== "string" || !opts.readinessPath.startsWith("/"))) {
      throw new TypeError(`opts.readinessPath must be a path starting with "/", got ${typeName(opts.readinessPath)}`);
    }
    if ((server as unknown as Record<symbol, unknown>)[MANAGED] !== undefined) {
      throw new TypeError("server is already managed by an httpResource");
    }
    if (opts.runtime !== undefined && !(opts.runtime instanceof Runtime)) {
      throw new TypeError(`opts.runtime must be a Runtime, got ${typeName(opts.runtime)}`);
    }
    const rt = opts.runtime ?? currentRuntime();
    if (rt.state === "dropping" || rt.state === "closed") throw new ShutdownError("the runtime is past its stop phase: it cannot take an HTTP server");
    this.server = server;
    this.name = opts.name ?? "http";
    this.preStopDelayMs = opts.preStopDelayMs ?? defaultPreStopDelayMs();
    this.readinessPath = opts.readinessPath;
    this.idleGraceMs = opts.idleGraceMs ?? 250;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 50;
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
    this.connectionEvent = server instanceof process.getBuiltinModule("node:tls").Server ? "secureConnection" : "connection";
    server.on(this.connectionEvent, this.onConnection);

    rt.onStop({
      name: this.name,
      preStopDelayMs: this.preStopDelayMs,
      announce: () => {
        if (this.phase === SERVING) this.phase = PRE_STOP;
      },
      // The runtime ran the pre-stop delay; `force` aborts at its collect deadline.
      stop: (force) =>
        this.startDrain(undefined, force, false).then((r): StopOutcome | undefined =>
          r.cut > 0 ? { lost: [{ kind: "requests", count: r.cut, what: `${r.cut} request(s) in flight on ${this.name} were cut at the deadline` }] } : undefined,
        ),
    });
    rt.defer(this, this.name);
  }

  /**
   * The readiness flag: true while serving, false from the moment shutdown is announced (through
   * the pre-stop delay and the drain). Answer your readiness probe with it, or use `readinessPath`.
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
   * Drains the server by itself, outside a runtime shutdown: pre-stop delay, close the listener,
   * 503 late requests, close idle connections until none is left, wait for requests in flight.
   * Forces the close when `opts.signal` aborts or after `opts.timeoutMs` (default: the option
   * `drainTimeoutMs` when no signal is given, else no timer). Idempotent: later calls return the
   * same promise (their signal and timeout can still force it). Never rejects.
   * @throws TypeError/RangeError for malformed options.
   */
  drain(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<HttpDrainResult> {
    checkOptions(opts, "opts");
    checkSignal(opts?.signal);
    if (opts?.timeoutMs !== undefined) checkDuration(opts.timeoutMs, "opts.timeoutMs", { infinity: true });
    return this.startDrain(opts?.timeoutMs, opts?.signal, true);
  }

  /** Drains (if not yet) and waits until the server is closed; the runtime's drop phase calls it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.drain();
  }

  /** @internal What `runtime.dump()` shows for it. */
  [resourceInfo](): Record<string, unknown> {
    return { state: this.state, ready: this.ready, inFlight: this.inFlight, connections: this.connections, accepted: this.accepted };
  }

  private startDrain(timeoutMs: number | undefined, signal: AbortSignal | undefined, preStop: boolean): Promise<HttpDrainResult> {
    if (signal !== undefined) {
      if (signal.aborted) this.force();
      else signal.addEventListener("abort", () => this.force(), { once: true });
    }
    if (this.drainPromise === undefined) {
      const ms = timeoutMs ?? (signal === undefined ? this.drainTimeoutMs : Infinity);
      this.drainPromise = this.runDrain(ms, preStop);
    } else if (timeoutMs !== undefined && timeoutMs !== Infinity) {
      schedule(() => this.force(), timeoutMs, { ref: false });
    }
    return this.drainPromise;
  }

  private async runDrain(timeoutMs: number, preStop: boolean): Promise<HttpDrainResult> {
    const timer = timeoutMs === Infinity ? undefined : schedule(() => this.force(), timeoutMs);
    const forced = this.forceCtl.signal;
    if (this.phase === SERVING) this.phase = PRE_STOP;
    if (preStop && this.preStopDelayMs > 0 && !forced.aborted) {
      await new Promise<void>((resolve) => {
        const t = schedule(done, this.preStopDelayMs);
        function done(): void {
          t.cancel();
          forced.removeEventListener("abort", done);
          resolve();
        }
        forced.addEventListener("abort", done);
      });
    }
    const t1 = now();
    this.phase = DRAINING;
    this.closeListener();
    // A connection's last response in flight, if its headers are not sent yet, will close the
    // connection after it: the client is told to go. (Not an earlier one: pipelined responses
    // queued behind it would be lost.)
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
    let periodic: TimerHandle | undefined;
    let due = now();
    const tick = (): void => {
      if (this.phase !== DRAINING) return; // the drain ended before this turn
      const t = now();
      this.loopLag = Math.max(t - due, this.loopLag * 0.5);
      this.scheduleSweep();
      due = t + this.sweepIntervalMs;
      periodic = schedule(tick, this.sweepIntervalMs, { ref: false });
    };
    // The first sweep, like every sweep, runs in the check phase, right after a poll phase read
    // what had arrived: swept here (in a signal's turn), a connection whose next request waits
    // unread in the kernel would be reset. How long that hop took is the first measure of how
    // late this loop reads what arrives (a loaded process can be hundreds of ms late).
    setImmediate(tick);
    if (forced.aborted) this.destroyAll();
    await new Promise<void>((resolve) => {
      this.wakeDone = resolve;
      this.checkDone();
    });
    periodic?.cancel();
    timer?.cancel();
    this.phase = CLOSED;
    this.server.removeListener(this.connectionEvent, this.onConnection);
    if ((this.server.emit as unknown as Record<symbol, unknown>)[PATCHED_EMIT] === true) {
      (this.server as unknown as { emit: Emit }).emit = this.origEmit;
    }
    delete (this.server as unknown as Record<symbol, unknown>)[MANAGED];
    return this.result(now() - t1);
  }

  /**
   * Stops accepting. node:http's close() (Node >= 19) also closes every idle connection at once,
   * among them connections whose client is sending its next request right now: those would see
   * a reset. The sweeps close idle connections with more care, so close() must not.
   */
  private closeListener(): void {
    if (!this.server.listening) {
      this.serverClosed = true;
      return;
    }
    const server = this.server as HttpServer & { closeIdleConnections(): void };
    const own = Object.hasOwn(server, "closeIdleConnections");
    const prev = server.closeIdleConnections;
    server.closeIdleConnections = () => {};
    try {
      server.close(() => {
        this.serverClosed = true;
        this.checkDone();
      });
    } finally {
      if (own) server.closeIdleConnections = prev;
      else delete (server as unknown as Record<string, unknown>).closeIdleConnections;
    }
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
    if (conn.inFlight === 0 && conn.answered) conn.gap = Math.max(now() - conn.idleSince, conn.gap * 0.75);
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
    conn.idleSince = now();
    conn.answered = true;
    if (conn.last === res) conn.last = undefined;
    if (this.phase === DRAINING) this.checkDone();
  }

  private track(socket: Socket): Conn {
    const known = this.sockets.get(socket);
    if (known !== undefined) return known;
    const conn: Conn = { inFlight: 0, last: undefined, idleSince: now(), gap: 0, answered: false };
    this.sockets.set(socket, conn);
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.phase === DRAINING) this.checkDone();
    });
    return conn;
  }

  /** Sweeps in the check phase (setImmediate): right after the poll phase fed the parsers what had arrived. */
  private scheduleSweep(): void {
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(this.runSweep);
  }

  /**
   * Closes every tracked connection that is idle: no request in flight, nothing of a next request
   * seen by its parser, nothing left to write, and idle for longer than its client usually waits
   * before its next request: at least `idleGraceMs`, three times the longest recent gap on that
   * connection (at most {@link MAX_ADAPTIVE_GRACE_MS}), plus how late this event loop runs.
   */
  private sweep(): void {
    this.sweeps++;
    const parserIdle = this.parserIdleSockets();
    const t = now();
    for (const [socket, conn] of this.sockets) {
      if (conn.inFlight !== 0 || socket.destroyed || socket.writableLength !== 0 || socket.readableLength !== 0) continue;
      const grace = Math.max(this.idleGraceMs, Math.min(MAX_ADAPTIVE_GRACE_MS, 3 * conn.gap)) + this.loopLag;
      if (t - conn.idleSince < grace) continue;
      if (parserIdle !== undefined && !parserIdle.has(socket)) continue;
      socket.destroy();
      // Gone for the drain now (nothing can arrive on it any more), not when its "close" event comes.
      this.sockets.delete(socket);
      this.idleClosed++;
    }
    this.checkDone();
  }

  /** Sockets whose HTTP parser is between requests; undefined when node:http does not say. */
  private parserIdleSockets(): Set<Socket> | undefined {
    const list = connectionsList(this.server);
    if (list === undefined) return undefined;
    const out = new Set<Socket>();
    try {
      for (const p of list.idle()) if (p.socket) out.add(p.socket);
    } catch {
      return undefined;
    }
    return out;
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

let connectionsKey: symbol | undefined;

/**
 * node:http's connections list of `server` (a private field, set up when the server listens:
 * looked up by its symbol's description, which is the same symbol for every server).
 */
function connectionsList(server: object): ConnectionsList | undefined {
  connectionsKey ??= Object.getOwnPropertySymbols(server).find((s) => s.description === "http.server.connections");
  if (connectionsKey === undefined) return undefined;
  const list = (server as Record<symbol, unknown>)[connectionsKey] as Partial<ConnectionsList> | undefined;
  return list !== undefined && typeof list.idle === "function" ? (list as ConnectionsList) : undefined;
}

/**
 * Makes a node:http/https server (Express, Fastify, Hono's node adapter...) a resource and stop
 * participant of the runtime: readiness false at the announcement, intake stopped and in-flight
 * requests finished in the drain, and the shutdown report lists requests the deadline had to cut
 * as lost. See {@link HttpResource}.
 *
 * ```ts
 * const web = httpResource(http.createServer(app), { readinessPath: "/readyz" });
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
