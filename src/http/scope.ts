/**
 * Request scopes: what the Fastify, Express and node:http adapters share.
 *
 * Each request gets a {@link RequestScope}. It is an AsyncLocalStorage frame (core/context.ts):
 * the adapter runs the request's code under it (Fastify's hooks and handler, Express's
 * middleware and routes, the handler of `handle()`), so `currentTask()` there is the request's
 * task and every steward wait there watches the request's cancellation. The task itself is a
 * record-only task of the runtime (task/request-task.ts) — named "GET /users/:id", listed in
 * dumps and the console, waited for by shutdown — started synchronously when the request arrives
 * (no function to run, no start microtask) and ended by the scope when the response closes
 * (completed when it finished, cancelled when the client went away first).
 *
 * What cancels a request's task: the client closing the connection or HTTP/2 stream before the
 * response ended (seen on the response side: a request's own `close` can fire early on POST,
 * fastify#6725), `timeoutMs` after it was admitted, and the runtime's cancellation at the
 * shutdown's drain deadline — nothing else. Errors are never wrapped: what a handler throws goes
 * to the framework as it is.
 *
 * Admission control (a {@link Limiter}, when any of its options is set) runs first, inside the
 * frame, so a request waiting in the queue is withdrawn the moment its client goes away.
 */
import type { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from "node:http2";
import type { CancellationToken } from "../cancel/token.js";
import { als, currentFrame, type ContextFrame } from "../core/context.js";
import { log } from "../core/log.js";
import { checkDuration, checkFunction, checkOptions, typeName } from "../util/validate.js";
import { CancelledError } from "../errors.js";
import { Limiter, type LimiterOptions } from "../limiter/limiter.js";
import { currentRuntime, type Runtime } from "../runtime/runtime.js";
import type { JoinHandle, TaskContext, TaskOwner } from "../task/join-handle.js";
import { type RequestTask, startRequestTask } from "../task/request-task.js";
import type { SpawnSite } from "../task/spawn-site.js";
import { ClientClosedError, RequestTimeoutError } from "./errors.js";
import { Http2Drain, isHttp2Server } from "./http2-drain.js";
import { defaultPreStopDelayMs, httpResource, type HttpResource, type HttpResourceOptions } from "./resource.js";

/** A request as the adapters see it: node:http's, or HTTP/2's compatibility API. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** A response as the adapters see it. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Options of the request scopes (`fastifySteward`, `expressSteward`, `handle`). */
export interface HttpScopeOptions extends LimiterOptions {
  /**
   * The request task's name. Keep names low-cardinality: they label dumps, reports and logs.
   * @default "METHOD route" with the route's pattern ("GET /users/:id"), never the raw URL; just
   *   "METHOD" where no route is known (a 404, or `handle()`, which has no router)
   */
  name?: (req: IncomingMessage) => string;
  /**
   * A request running longer than this, once admitted, has its signal aborted with a
   * {@link RequestTimeoutError} (HTTP 503); if the handler has not answered by the next turn of
   * the event loop, the adapter answers 503 itself through the framework's error handling.
   * @default no limit
   */
  timeoutMs?: number;
  /** The runtime whose tasks the requests are. @default the current runtime where each request arrives (`currentRuntime()`) */
  runtime?: Runtime;
  /**
   * The server's drain at shutdown: `httpResource(server, drain)` unless you manage the server
   * yourself (an `httpResource` already on it is left alone), or `false` for none. Fastify's
   * server is registered when it starts listening; with Express and `handle()` the adapter sees
   * the server only at its first request, so call `httpResource(server, …)` yourself where you
   * listen (readiness, pre-stop delay) and this is only a fallback. An HTTP/2 server (which
   * httpResource does not take) is drained with GOAWAY: the listener closes, every session is
   * closed gracefully and ends when its streams in flight have, and what is left at the collect
   * deadline is destroyed and reported lost (`name` and `preStopDelayMs` apply; `readinessPath`
   * does not).
   * @default true
   */
  drain?: boolean | Omit<HttpResourceOptions, "runtime">;
}

/** The request of the code running now, as {@link currentRequest} describes it. */
export interface RequestInfo {
  /** The request id: the framework's (Fastify's `request.id`), else the `x-request-id` header, else a generated one. */
  readonly id: string;
  /** The HTTP method. */
  readonly method: string;
  /** The route pattern ("/users/:id"), once the router matched one. */
  readonly route: string | undefined;
  /** The request's task, once it has one (Express: from the moment a route matched). */
  readonly task: TaskContext | undefined;
  /** The underlying node:http (or HTTP/2 compatibility) request. */
  readonly raw: AnyRequest;
  /** Aborts when the request is cancelled (client gone, timeout, drain deadline). */
  readonly signal: AbortSignal;
}

/** What differs between the frameworks: how a request goes on, and how it fails. */
export interface Adapter {
  /** "fastify", "express" or "http": shown in the tasks' spawn site. */
  readonly kind: string;
  /** Continues the request (Fastify's `done()`, Express's `next()`, the handler); called inside the frame. */
  proceed(s: RequestScope): void;
  /** Answers `err` through the framework's error handling (never wraps it). */
  fail(s: RequestScope, err: unknown): void;
  /** After `timeoutMs`, if the handler did not answer: answer 503 (or cut a started response). */
  timedOut(s: RequestScope, err: RequestTimeoutError): void;
}

/** The options of one adapter instance, resolved once. */
export class ScopeCore {
  readonly limiter: Limiter | undefined;
  readonly nameFn: ((req: IncomingMessage) => string) | undefined;
  readonly keyFn: ((req: IncomingMessage) => string) | undefined;
  readonly timeoutMs: number | undefined;
  readonly runtime: Runtime | undefined;
  readonly drain: Omit<HttpResourceOptions, "runtime"> | undefined;
  private readonly servers = new WeakSet<object>();
  /** Task names by route and method, and spawn sites by name: built once, not per request. */
  private readonly names = new Map<string, Map<string, string>>();
  private readonly sites = new Map<string, SpawnSite>();

  /** @throws TypeError/RangeError naming the malformed option. */
  constructor(
    opts: HttpScopeOptions | undefined,
    readonly adapter: Adapter,
  ) {
    checkOptions(opts, "opts");
    const o = opts ?? {};
    if (o.name !== undefined) checkFunction(o.name, "opts.name");
    if (o.key !== undefined) checkFunction(o.key, "opts.key");
    if (o.timeoutMs !== undefined) {
      checkDuration(o.timeoutMs, "opts.timeoutMs");
      if (o.timeoutMs === 0 || o.timeoutMs > 2 ** 31 - 1) throw new RangeError(`opts.timeoutMs must be > 0 and at most 2^31-1 ms, got ${o.timeoutMs}`);
    }
    if (o.runtime !== undefined && (o.runtime === null || typeof o.runtime !== "object" || typeof (o.runtime as Runtime).spawn !== "function")) {
      throw new TypeError(`opts.runtime must be a Runtime, got ${typeName(o.runtime)}`);
    }
    if (o.drain !== undefined && typeof o.drain !== "boolean") checkOptions(o.drain, "opts.drain");
    this.nameFn = o.name;
    this.keyFn = o.key;
    this.timeoutMs = o.timeoutMs;
    this.runtime = o.runtime;
    this.drain = o.drain === false ? undefined : o.drain === true || o.drain === undefined ? {} : o.drain;
    const limited = o.concurrency !== undefined || o.queue !== undefined || o.queueTimeoutMs !== undefined || o.rate !== undefined;
    this.limiter = limited
      ? new Limiter({ concurrency: o.concurrency, queue: o.queue, queueTimeoutMs: o.queueTimeoutMs, rate: o.rate, retryAfterMs: o.retryAfterMs, label: o.label ?? adapter.kind })
      : undefined;
  }

  /** "METHOD route" (or "METHOD" without a route), the same string every time for a route. */
  nameOf(method: string, route: string | undefined): string {
    if (route === undefined) return method;
    let byMethod = this.names.get(route);
    if (byMethod === undefined) {
      if (this.names.size >= MAX_CACHED) return `${method} ${route}`;
      byMethod = new Map();
      this.names.set(route, byMethod);
    }
    let name = byMethod.get(method);
    if (name === undefined) {
      name = `${method} ${route}`;
      byMethod.set(method, name);
    }
    return name;
  }

  /**
   * A request task's spawn site: a request's stack says nothing (it is the framework's dispatch),
   * and capturing one costs 4–8 µs. Its name says where it comes from, and groups stuck requests.
   */
  siteOf(name: string): SpawnSite {
    let site = this.sites.get(name);
    if (site === undefined) {
      site = { stack: `Request\n    at ${name} (steward/${this.adapter.kind})` };
      if (this.sites.size < MAX_CACHED) this.sites.set(name, site);
    }
    return site;
  }

  /**
   * Makes `server` (a node:http/https server) a stop participant of `rt`, once per server,
   * unless drains are off or it already is one. Never throws: a server the drain cannot manage
   * (HTTP/2) is left to its owner.
   */
  manage(server: unknown, rt: Runtime, stream?: unknown): HttpResource | undefined {
    if (this.drain === undefined || server === null || typeof server !== "object" || this.servers.has(server)) return undefined;
    this.servers.add(server);
    if (isHttp2Server(server)) {
      // GOAWAY at the drain (http2-drain.ts); the request being served is tracked as it goes.
      new Http2Drain(server, this.drain.name ?? "http2", rt, this.drain.preStopDelayMs ?? defaultPreStopDelayMs()).adopt(stream as ServerHttp2Stream | undefined);
      return undefined;
    }
    try {
      return httpResource(server as Parameters<typeof httpResource>[0], { ...this.drain, runtime: rt });
    } catch (e) {
      log("debug", { err: e }, `the server's drain was not set up: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }
}

/** Cached names and sites per adapter: route patterns are few; a `name` option's results may not be. */
const MAX_CACHED = 1000;

let requestSeq = 0;
const idPrefix = `${process.pid.toString(36)}-${Date.now().toString(36)}`;
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * One request: its frame (what `currentTask()` and steward waits see), its task, its admission
 * slot, its timeout. See the module comment.
 */
export class RequestScope implements ContextFrame, TaskOwner, RequestInfo {
  readonly runtimeRef: Runtime;
  /** The request task (Express: from the moment a route matched). */
  taskHandle: RequestTask | undefined = undefined;
  /** Adapter data: Fastify's request/reply and hook callback, Express's next, the user's handler. */
  a: unknown = undefined;
  next: ((err?: unknown) => void) | undefined = undefined;
  /** The route pattern, once known. */
  route: string | undefined = undefined;
  /** The framework's request id, if it has one. */
  frameworkId: string | undefined = undefined;
  /** True once the response closed. */
  closed = false;
  /** A drain that began managing the server during this request (it does not track this request). */
  untracked: HttpResource | undefined = undefined;
  #pre: CancellationToken | undefined = undefined;
  #limiter: Limiter | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #id: string | undefined = undefined;

  constructor(
    readonly core: ScopeCore,
    readonly raw: AnyRequest,
    readonly res: AnyResponse,
    rt: Runtime,
  ) {
    this.runtimeRef = rt;
    // One shared listener (the response's own `this`), not a closure per request.
    (res as unknown as Record<symbol, RequestScope>)[SCOPE] = this;
    res.on("close", onResponseClose);
  }

  /** Not shielded: the request's cancellation applies to the waits under it (ContextFrame). */
  get shielded(): boolean {
    return false;
  }

  // --- ContextFrame -------------------------------------------------------------------------------
  /** The request's task record (ContextFrame). */
  get taskRecord(): RequestTask | undefined {
    return this.taskHandle;
  }

  /** The token steward waits under this frame watch: the task's, or before it exists, the scope's own. */
  get token(): CancellationToken {
    const t = this.taskHandle;
    if (t !== undefined) return t.token;
    return (this.#pre ??= this.runtimeRef.token.child());
  }

  // --- RequestInfo ---------------------------------------------------------------------------
  get id(): string {
    if (this.#id === undefined) {
      const h = this.raw.headers["x-request-id"];
      this.#id = this.frameworkId ?? (typeof h === "string" && REQUEST_ID.test(h) ? h : `${idPrefix}-${(++requestSeq).toString(36)}`);
    }
    return this.#id;
  }

  get method(): string {
    return this.raw.method ?? "";
  }

  get task(): TaskContext | undefined {
    return this.taskHandle?.ctx;
  }

  get signal(): AbortSignal {
    return this.token.signal;
  }

  // --- TaskOwner ----------------------------------------------------------------------------
  /** @internal The task ended (it ends when the response closes). */
  onTaskDone(): void {}

  /**
   * Starts the request's task named `name` on the scope's runtime, now: a record-only task
   * (task/request-task.ts) that this scope ends when the response closes. Called at entry
   * (Fastify, `handle()`, a user's `name` option) or when Express's router matched a route.
   */
  spawnTask(name: string): void {
    if (this.taskHandle !== undefined || this.closed) return;
    const h = startRequestTask(this.runtimeRef, name, this, this.core.siteOf(name));
    const pre = this.#pre;
    if (pre !== undefined && pre.isCancelled) h.abort(pre.reason);
    this.taskHandle = h;
  }

  /** Cancels the request: its task (or, before it exists, the scope's token). First reason wins. */
  cancel(reason: CancelledError): void {
    const t = this.taskHandle;
    if (t !== undefined) t.abort(reason);
    if (this.#pre !== undefined) this.#pre.cancel(reason);
    else if (t === undefined) this.#pre = cancelledToken(this.runtimeRef, reason);
  }

  /** True once the request's token is cancelled (by the client, the timeout or the runtime). */
  get isCancelled(): boolean {
    const t = this.taskHandle;
    if (t !== undefined) return t.token.isCancelled;
    return this.#pre !== undefined && this.#pre.isCancelled;
  }

  // --- Admission and the timeout ------------------------------------------------------------
  /** Admission (when limited), then the adapter's `proceed`, all inside the frame. Never throws. */
  start(): void {
    als.run(this, admitThenProceed, this);
  }

  /** @internal */
  admitted(lim: Limiter | undefined): void {
    if (this.closed) {
      lim?.release();
      return;
    }
    this.#limiter = lim;
    const ms = this.core.timeoutMs;
    if (ms !== undefined) this.#timer = setTimeout(onTimeout, ms, this, ms);
    try {
      this.core.adapter.proceed(this);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Answers `err` through the adapter, unless the client is gone. */
  fail(err: unknown): void {
    if (this.closed) return;
    try {
      this.core.adapter.fail(this, err);
    } catch (e) {
      log("error", { err: e }, `steward could not answer a failed request: ${describe(e)}`);
      try {
        this.res.destroy();
      } catch {
        // already gone
      }
    }
  }

  /** @internal The response closed (its 'close' event). */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const res = this.res as ServerResponse;
    // Answered: the handler ended the response (`writableEnded`). Not 'finish' or
    // writableFinished: an HTTP/2 stream the client reset emits 'finish' and reports
    // writableFinished though the handler never ended it; an injected response (light-my-request,
    // Fastify's inject) never reports writableFinished. A client that leaves while the last bytes
    // of an ended response are in flight left a request whose work was done: nothing to cancel.
    // (This also spares a 'finish' listener per request.)
    const finished = res.writableEnded;
    if (!finished) this.cancel(new ClientClosedError());
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const lim = this.#limiter;
    if (lim !== undefined) {
      this.#limiter = undefined;
      lim.release();
    }
    // A scope token made before the task (Express) is a child of the runtime's root: unhook it.
    if (this.#pre !== undefined && !this.#pre.isCancelled) this.#pre.cancel(DONE);
    if (this.untracked !== undefined && this.untracked.state !== "serving") this.raw.socket?.destroySoon?.();
    // The task completed if its response did; it was cancelled if its client left, or if its
    // cancellation (timeout, drain deadline) ended it in an error answer. A handler that ignored
    // its cancellation and answered normally completed its work, as any task that returns does.
    const t = this.taskHandle;
    if (t === undefined) return;
    const token = t.token;
    if (finished && !(token.isCancelled && res.statusCode >= 500)) t.complete();
    else t.end(token.reason);
  }
}

/** Where a response keeps its scope, for the shared listeners. */
const SCOPE = Symbol("steward.requestScope");

function onResponseClose(this: AnyResponse): void {
  (this as unknown as Record<symbol, RequestScope>)[SCOPE]!.onClose();
}

/** The reason a pre-task scope token is cancelled with once its response closed (nobody waits on it then). */
const DONE = new CancelledError(undefined, "the request is over");

function cancelledToken(rt: Runtime, reason: CancelledError): CancellationToken {
  const t = rt.token.child();
  t.cancel(reason);
  return t;
}

function admitThenProceed(s: RequestScope): void {
  const lim = s.core.limiter;
  if (lim === undefined) return s.admitted(undefined);
  let key: string | undefined;
  const keyFn = s.core.keyFn;
  if (keyFn !== undefined) {
    try {
      key = keyFn(s.raw as IncomingMessage);
    } catch (e) {
      return s.fail(e);
    }
    if (typeof key !== "string") return s.fail(new TypeError(`opts.key must return a string, got ${typeName(key)}`));
  }
  let a: Promise<void> | undefined;
  try {
    a = lim.admit(key, undefined, false);
  } catch (e) {
    return s.fail(e);
  }
  if (a === undefined) return s.admitted(lim);
  a.then(
    () => s.admitted(lim),
    (e: unknown) => s.fail(e),
  );
}

function onTimeout(s: RequestScope, ms: number): void {
  if (s.closed || (s.res as ServerResponse).writableEnded) return;
  const err = new RequestTimeoutError(ms);
  s.cancel(err);
  // A handler that honours its signal answers now, through the framework, with this error.
  // One turn of the event loop later, if nothing was answered, the adapter does it.
  setImmediate(backstop, s, err);
}

function backstop(s: RequestScope, err: RequestTimeoutError): void {
  const res = s.res as ServerResponse;
  if (s.closed || res.writableEnded) return;
  const who = s.taskHandle === undefined ? `request ${s.method}` : `request '${s.taskHandle.name ?? s.method}' (task ${s.taskHandle.id})`;
  log("warn", { ...logFieldsOf(s), timeoutMs: err.timeoutMs }, `${who} did not answer within its timeoutMs (${err.timeoutMs} ms)${res.headersSent ? ": its response was cut" : ": answered 503"}`);
  try {
    s.core.adapter.timedOut(s, err);
  } catch (e) {
    log("error", { err: e }, `steward could not answer a timed-out request: ${describe(e)}`);
    res.destroy();
  }
}

/**
 * The runtime a request belongs to: the scope's option, else the one current where the request
 * arrived (the server's: a server listening inside `runMain` serves its runtime).
 */
export function runtimeFor(core: ScopeCore): Runtime {
  return core.runtime ?? currentRuntime();
}

/**
 * The request whose code is running now (inside a handler, a hook, a middleware behind the
 * adapter, or a steward wait's continuation there), or undefined outside any request scope.
 * Tasks the handler spawns are tasks of their own: this is undefined inside them.
 */
export function currentRequest(): RequestInfo | undefined {
  const f = currentFrame();
  if (f === undefined) return undefined;
  if (f instanceof RequestScope) return f;
  const owner = (f.taskRecord as JoinHandle<unknown> | undefined)?.owner;
  return owner instanceof RequestScope ? owner : undefined;
}

/** Fields that identify the current task and request in a log line; see {@link logFields}. */
export interface LogFields {
  /** The current task's id. */
  task?: number;
  /** The current task's name ("GET /users/:id" for a request). */
  taskName?: string;
  /** The current request's id. */
  reqId?: string;
  /** The current request's route pattern. */
  route?: string;
}

function logFieldsOf(s: RequestScope): LogFields {
  const out: LogFields = {};
  const t = s.taskHandle;
  if (t !== undefined) {
    out.task = t.id;
    if (t.name !== undefined) out.taskName = t.name;
  }
  out.reqId = s.id;
  if (s.route !== undefined) out.route = s.route;
  return out;
}

/**
 * The current task's id and name and the current request's id and route, for every log line.
 * Its signature fits pino's `mixin` option as it is:
 *
 * ```ts
 * const logger = pino({ mixin: logFields });                   // any pino logger
 * const app = Fastify({ logger: { mixin: logFields } });       // Fastify's own (request.log too)
 * ```
 * Returns an empty object outside any task or request. Cheap: no allocation beyond the result.
 */
export function logFields(): LogFields {
  const f = currentFrame();
  if (f === undefined) return {};
  const s = f instanceof RequestScope ? f : (f.taskRecord as JoinHandle<unknown> | undefined)?.owner;
  if (s instanceof RequestScope) return logFieldsOf(s);
  const t = f.taskRecord as JoinHandle<unknown> | undefined;
  if (t === undefined) return {};
  return t.name === undefined ? { task: t.id } : { task: t.id, taskName: t.name };
}

/** A short description of an error for a log line. */
export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return String(e);
  } catch {
    return "<unprintable>";
  }
}

/** @internal For log lines about a scope. */
export { logFieldsOf };

/**
 * Listeners on the request stream (body parsers, `req.on("data")`) run in the connection's async
 * context, not the request's: Express would then run the routes after a body parser outside the
 * request's scope. Emitting the request's events inside the scope's frame fixes that. (Not the
 * response's: what listens there — loggers on 'finish' — does not continue the request, and
 * rebinding both measurably costs a hello route.)
 */
export function bindEmit(em: EventEmitter, s: RequestScope): void {
  // An HTTP/1 request without a body (no Content-Length, or 0, and no Transfer-Encoding: a GET)
  // has no stream events that continue it: spare it the closure and the own `emit` property.
  // (HTTP/2 says nothing in its headers: a stream may carry a body without either.)
  const r = em as AnyRequest;
  const h = r.headers as IncomingMessage["headers"] | undefined;
  if (r.httpVersionMajor === 1 && h !== undefined && h["transfer-encoding"] === undefined && (h["content-length"] === undefined || h["content-length"] === "0")) return;
  const emit = em.emit;
  em.emit = function stewardEmit(this: unknown, ...args: unknown[]): boolean {
    return als.run(s, Reflect.apply, emit, this, args) as boolean;
  } as EventEmitter["emit"];
}
