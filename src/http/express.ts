/**
 * `steward/express`: request scopes for Express 5 (an optional peer dependency; this module does
 * not import it, and its types are plain node:http ones, so `@types/express` is not required).
 *
 * ```ts
 * import express from "express";
 * import { expressSteward } from "steward/express";
 * const app = express();
 * app.use(expressSteward({ concurrency: 64, queue: 256, timeoutMs: 10_000 }));   // first
 * app.get("/users/:id", async (req, res) => res.json(await db.user(req.params.id)));
 * ```
 *
 * Use it first, before body parsers and routes. Express knows a request's route only when its
 * router matches one, so that is when the request's task starts, named "GET /users/:id"
 * (with the `name` option it starts at once, named as you say); the middleware that runs before
 * — body parsing, authentication — already runs in the request's scope: its steward waits and
 * `currentRequest()` see the request's cancellation, and `currentTask()` is undefined there. A
 * request that matches no route (a 404) has no task.
 *
 * Nothing is wrapped: an error thrown or rejected by a route reaches Express's error handling
 * as it is (Express 5 catches rejected promises itself); the middleware returns nothing, so
 * Express prints no "Promise-like" deprecation. Admission failures go to `next(err)` as
 * `OverloadedError` (503) and `RateLimitedError` (429), whose `headers` carry Retry-After, which
 * Express's final handler (and http-errors-style handlers) set on the response.
 */
import { IncomingMessage, type ServerResponse } from "node:http";
import type { RequestTimeoutError } from "./errors.js";
import { type Adapter, bindEmit, type HttpScopeOptions, RequestScope, runtimeFor, ScopeCore } from "./scope.js";

export { ClientClosedError, RequestTimeoutError } from "./errors.js";
export { currentRequest, logFields } from "./scope.js";
export type { HttpScopeOptions, LogFields, RequestInfo } from "./scope.js";
export { Limiter, OverloadedError, RateLimitedError } from "../limiter/index.js";
export type { LimiterOptions, LimiterRunOptions, LimiterStats } from "../limiter/index.js";

/** An Express (or Connect-style) middleware, typed with node:http's types so Express's own types are optional. */
export type StewardMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const SCOPE = Symbol("steward.scope");
const ROUTE = Symbol("steward.route");

interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  next?: (err?: unknown) => void;
  [SCOPE]?: RequestScope;
  [ROUTE]?: unknown;
}

const expressAdapter: Adapter = {
  kind: "express",
  proceed(s) {
    s.next!();
  },
  fail(s, err) {
    s.next!(err);
  },
  timedOut(s, err: RequestTimeoutError) {
    const res = s.res as ServerResponse;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // The router's current `next` (an inner router's, while one dispatches): the error goes on
    // from where the request is, to the app's error handlers or Express's final handler.
    const req = s.raw as ExpressRequest;
    (req.next ?? s.next!)(err);
  },
};

/**
 * The Express middleware: `app.use(expressSteward(opts))`, before anything else. See the module
 * comment and {@link HttpScopeOptions}.
 * @throws TypeError/RangeError naming a malformed option.
 */
export function expressSteward(opts?: HttpScopeOptions): StewardMiddleware {
  const core = new ScopeCore(opts, expressAdapter);
  return function steward(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    // Used twice on one path (an app and a router): the first scope is the request's.
    if ((req as ExpressRequest)[SCOPE] !== undefined) return next();
    const rt = runtimeFor(core);
    const s = new RequestScope(core, req, res, rt);
    (req as ExpressRequest)[SCOPE] = s;
    s.next = next;
    s.untracked = core.manage((req.socket as { server?: unknown } | undefined)?.server, rt);
    bindEmit(req, s);
    if (core.nameFn !== undefined) {
      let name: string;
      try {
        name = core.nameFn(req);
        if (typeof name !== "string") throw new TypeError(`opts.name must return a string, got ${typeof name}`);
      } catch (e) {
        next(e);
        return;
      }
      s.spawnTask(name);
    } else {
      trapRoutes(req as ExpressRequest);
    }
    s.start();
  };
}

const trapped = new WeakSet<object>();

/**
 * Learns the route when Express's router matches it (it assigns `req.route` just before calling
 * the route's handlers), to start the request's task with the route's pattern as its name. The
 * accessor goes on the app's request prototype, once per app (a sub-app's inherits it); where
 * the prototype is node's own IncomingMessage (a bare router), on the request itself.
 */
function trapRoutes(req: ExpressRequest): void {
  const proto = Object.getPrototypeOf(req) as object;
  if (trapped.has(proto)) return;
  if (proto === IncomingMessage.prototype || proto === null) {
    Object.defineProperty(req, "route", ROUTE_ACCESSOR);
    return;
  }
  trapped.add(proto);
  if (!Object.prototype.hasOwnProperty.call(proto, "route")) Object.defineProperty(proto, "route", ROUTE_ACCESSOR);
}

const ROUTE_ACCESSOR: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: ExpressRequest): unknown {
    return this[ROUTE];
  },
  set(this: ExpressRequest, route: unknown): void {
    this[ROUTE] = route;
    const s = this[SCOPE];
    if (s === undefined || s.taskHandle !== undefined || route === null || typeof route !== "object") return;
    s.route = patternOf(route, this.baseUrl ?? "");
    s.spawnTask(s.core.nameOf(this.method ?? "", s.route));
  },
};

/** Patterns by route and mount path, built once rather than concatenated per request. */
const patterns = new WeakMap<object, Map<string, string>>();

function patternOf(route: object, baseUrl: string): string {
  let byBase = patterns.get(route);
  if (byBase === undefined) patterns.set(route, (byBase = new Map<string, string>()));
  let p = byBase.get(baseUrl);
  if (p === undefined) {
    p = `${baseUrl}${String((route as { path?: unknown }).path)}`;
    // A mount path with parameters is the matched one ("/users/42/posts"): keep those few.
    if (byBase.size < 100) byBase.set(baseUrl, p);
  }
  return p;
}
