/**
 * `steward/http`: request scopes for plain node:http, https and http2 (its compatibility API)
 * servers, and everything the framework adapters share (no framework is loaded).
 *
 * ```ts
 * import http from "node:http";
 * import { handle, httpResource } from "steward/http";
 * const server = http.createServer(handle(async (req, res) => {
 *   const user = await db.user(idOf(req), { signal: currentTask()!.signal });
 *   res.end(JSON.stringify(user));
 * }, { concurrency: 64, queue: 256, timeoutMs: 10_000, name: (req) => `${req.method} ${routeOf(req)}` }));
 * httpResource(server, { readinessPath: "/readyz" });
 * server.listen(8080, "127.0.0.1");
 * ```
 *
 * Each request runs as a task (named by `opts.name`, or just its method: a plain server has no
 * router to say the route). With no framework to answer errors, `handle()` does it: an error
 * with a 4xx/5xx `statusCode` or `status` is answered with it (and its `headers`, such as
 * Retry-After); anything else is a 500 whose body is only the status text — never the error's
 * message, which may carry secrets — and is logged through steward's logger. A handler that
 * throws after its response started gets its connection closed, as Node does.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import { log } from "../core/log.js";
import { checkFunction } from "../util/validate.js";
import { CancelledError } from "../errors.js";
import { ClientClosedError, type RequestTimeoutError } from "./errors.js";
import { type Adapter, type AnyRequest, type AnyResponse, bindEmit, describe, type HttpScopeOptions, logFieldsOf, RequestScope, runtimeFor, ScopeCore } from "./scope.js";

export { ClientClosedError, RequestTimeoutError } from "./errors.js";
export { currentRequest, logFields } from "./scope.js";
export type { AnyRequest, AnyResponse, HttpScopeOptions, LogFields, RequestInfo } from "./scope.js";
export { HttpResource, httpResource } from "./resource.js";
export type { HttpDrainResult, HttpResourceOptions, HttpResourceState } from "./resource.js";
export { Limiter, OverloadedError, RateLimitedError } from "../limiter/index.js";
export type { LimiterOptions, LimiterRunOptions, LimiterStats } from "../limiter/index.js";

/** A request handler for node:http, https or http2's compatibility API. */
export type RequestHandler<Req extends AnyRequest = IncomingMessage, Res extends AnyResponse = ServerResponse> = (req: Req, res: Res) => unknown;

type Handler = (req: AnyRequest, res: AnyResponse) => unknown;

const httpAdapter: Adapter = {
  kind: "http",
  proceed(s) {
    const fn = s.a as Handler;
    const r = fn(s.raw, s.res);
    if (r !== null && (typeof r === "object" || typeof r === "function") && typeof (r as PromiseLike<unknown>).then === "function") {
      (r as PromiseLike<unknown>).then(undefined, (e: unknown) => s.fail(e));
    }
  },
  fail(s, err) {
    respondError(s, err);
  },
  timedOut(s, err: RequestTimeoutError) {
    respondError(s, err);
  },
};

/**
 * Wraps `fn` as a server's request listener: `http.createServer(handle(fn, opts))` (also
 * `https.createServer`, `http2.createServer`/`createSecureServer`). Each request runs as a task
 * with the scope {@link HttpScopeOptions} describe; see the module comment for errors.
 * @throws TypeError when `fn` is not a function; TypeError/RangeError naming a malformed option.
 */
export function handle<Req extends AnyRequest = IncomingMessage, Res extends AnyResponse = ServerResponse>(fn: RequestHandler<Req, Res>, opts?: HttpScopeOptions): (req: Req, res: Res) => void {
  checkFunction(fn, "fn");
  const core = new ScopeCore(opts, httpAdapter);
  return function stewardHandle(req: Req, res: Res): void {
    const rt = runtimeFor(core);
    const s = new RequestScope(core, req, res, rt);
    s.a = fn;
    s.untracked = core.manage((req.socket as { server?: unknown } | undefined)?.server, rt, (req as { stream?: unknown }).stream);
    bindEmit(req, s);
    let name: string = req.method ?? "";
    if (core.nameFn !== undefined) {
      try {
        name = core.nameFn(req as IncomingMessage);
        if (typeof name !== "string") throw new TypeError(`opts.name must return a string, got ${typeof name}`);
      } catch (e) {
        respondError(s, e);
        return;
      }
    }
    s.spawnTask(name);
    s.start();
  };
}

function statusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== "object") return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  for (const v of [e.statusCode, e.status]) {
    if (typeof v === "number" && Number.isInteger(v) && v >= 400 && v <= 599) return v;
  }
  return undefined;
}

/** node:http's answer to an error, as the module comment describes. */
function respondError(s: RequestScope, err: unknown): void {
  const res = s.res as ServerResponse;
  if (s.closed || err instanceof ClientClosedError) return;
  // Cancelled without a status of its own (the runtime's cancellation at the drain deadline):
  // the service is going away, not failing.
  const own = statusOf(err);
  const status = own ?? (err instanceof CancelledError ? 503 : 500);
  const who = s.taskHandle === undefined ? `request ${s.method}` : `request '${s.taskHandle.name ?? s.method}' (task ${s.taskHandle.id})`;
  // Only failures nobody chose to answer are logged: an error with its own status (a 404, a shed
  // 503 under load) is an answer, and logging each would flood the log exactly when overloaded.
  if (own === undefined && status === 500) {
    log("error", { err, ...logFieldsOf(s), status }, `${who} failed: ${describe(err)}`);
  }
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const expose = status < 500 || (err as { expose?: unknown } | null)?.expose === true;
  const body = `${expose && err instanceof Error ? err.message : (STATUS_CODES[status] ?? "Error")}\n`;
  const headers = (err as { headers?: unknown } | null)?.headers;
  try {
    if (headers !== null && typeof headers === "object") {
      for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
        if (typeof v === "string" || typeof v === "number") res.setHeader(k, v);
      }
    }
    res.statusCode = status;
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.setHeader("Content-Length", Buffer.byteLength(body));
    res.end(body);
  } catch (e) {
    log("error", { err: e }, `${who}: the error response could not be sent: ${describe(e)}`);
    res.destroy();
  }
}
