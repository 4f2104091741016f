/**
 * `steward/fastify`: request scopes for Fastify 5 (an optional peer dependency; this module only
 * imports its types).
 *
 * ```ts
 * import Fastify from "fastify";
 * import { fastifySteward } from "steward/fastify";
 * const app = Fastify();
 * await app.register(fastifySteward, { concurrency: 64, queue: 256, timeoutMs: 10_000 });
 * app.get("/users/:id", async (req) => db.user(req.params.id, { signal: currentTask()!.signal }));
 * ```
 *
 * Register it before your routes and other plugins: it applies to the whole instance (it skips
 * Fastify's encapsulation, as fastify-plugin does). Each request then runs as the task
 * "GET /users/:id" from its first `onRequest` hook through the handler and `onSend`/`onResponse`.
 * Errors thrown anywhere keep going through Fastify's error handling as they are; admission
 * failures are `OverloadedError` (503) and `RateLimitedError` (429), answered by that same error
 * handling with a `Retry-After` header.
 *
 * Shutdown: when the server starts listening it becomes a stop participant of the runtime
 * current there (`httpResource`, unless `drain: false` or you manage it yourself), and
 * `app.close()` — so your `onClose` hooks — runs in the runtime's drop phase, after every
 * request's task has ended.
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { als } from "../core/context.js";
import { currentRuntime } from "../runtime/runtime.js";
import type { RequestTimeoutError } from "./errors.js";
import { type Adapter, type HttpScopeOptions, RequestScope, runtimeFor, ScopeCore } from "./scope.js";

export { ClientClosedError, RequestTimeoutError } from "./errors.js";
export { currentRequest, logFields } from "./scope.js";
export type { HttpScopeOptions, LogFields, RequestInfo } from "./scope.js";
export { Limiter, OverloadedError, RateLimitedError } from "../limiter/index.js";
export type { LimiterOptions, LimiterRunOptions, LimiterStats } from "../limiter/index.js";

/** Where the scope lives on Fastify's request (declared with decorateRequest, so shapes stay stable). */
const SCOPE = Symbol("steward.scope");

type Done = (err?: Error) => void;

const fastifyAdapter: Adapter = {
  kind: "fastify",
  proceed(s) {
    const done = s.next!;
    s.next = undefined;
    done();
  },
  fail(s, err) {
    // The hook's done(err) hands the error to Fastify's error handling: its status, its headers
    // (Retry-After), its serializer, its logging. Once the hook has gone on, reply.send(err)
    // does the same.
    const done = s.next;
    if (done !== undefined) {
      s.next = undefined;
      done(err);
      return;
    }
    const reply = s.a as FastifyReply;
    if (!reply.sent) reply.send(err);
  },
  timedOut(s, err: RequestTimeoutError) {
    const reply = s.a as FastifyReply;
    if (reply.sent) return;
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    reply.send(err);
  },
};

/**
 * The Fastify plugin: `await app.register(fastifySteward, opts)`. See the module comment and
 * {@link HttpScopeOptions}.
 * @throws (through `register`) TypeError/RangeError naming a malformed option.
 */
export const fastifySteward: FastifyPluginCallback<HttpScopeOptions> = function fastifySteward(app: FastifyInstance, opts: HttpScopeOptions, done: (err?: Error) => void): void {
  let core: ScopeCore;
  try {
    core = new ScopeCore(pluginOptions(opts), fastifyAdapter);
  } catch (e) {
    done(e as Error);
    return;
  }
  app.decorateRequest(SCOPE as unknown as string, null);

  app.addHook("onRequest", function stewardOnRequest(request: FastifyRequest, reply: FastifyReply, next: Done) {
    const s = new RequestScope(core, request.raw, reply.raw, runtimeFor(core));
    s.a = reply;
    s.next = next as (err?: unknown) => void;
    s.frameworkId = request.id;
    (request as unknown as Record<symbol, RequestScope>)[SCOPE] = s;
    const url = routeUrl(request);
    s.route = url;
    let name: string;
    if (core.nameFn !== undefined) {
      try {
        name = core.nameFn(request.raw);
        if (typeof name !== "string") throw new TypeError(`opts.name must return a string, got ${typeof name}`);
      } catch (e) {
        next(e as Error);
        return;
      }
    } else {
      name = core.nameOf(request.method, url);
    }
    s.spawnTask(name);
    s.start();
  });

  // Body parsing reads the request stream, whose events run in the connection's async context:
  // re-enter the request's frame for validation, preHandler hooks and the handler.
  app.addHook("preValidation", function stewardPreValidation(request: FastifyRequest, _reply: FastifyReply, next: Done) {
    const s = (request as unknown as Record<symbol, RequestScope | null>)[SCOPE];
    // Already in it when nothing was parsed (GET, HEAD: Fastify went on synchronously from onRequest).
    if (s === null || s === undefined || als.getStore() === s) next();
    else als.run(s, next);
  });

  let closed = false;
  app.addHook("onClose", (_instance, hookDone) => {
    closed = true;
    hookDone();
  });
  app.addHook("onListen", function stewardOnListen(hookDone) {
    // The runtime current where the server starts listening (inside runMain's main: its runtime).
    const rt = core.runtime ?? currentRuntime();
    core.manage(app.server, rt);
    try {
      rt.defer(() => (closed ? undefined : app.close()), "fastify");
    } catch {
      // The runtime is closed: the app is its owner's to close.
    }
    hookDone();
  });
  done();
};

// Apply to the whole instance, as fastify-plugin does, and name the plugin.
Object.assign(fastifySteward, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "steward",
  [Symbol.for("plugin-meta")]: { name: "steward", fastify: "5.x" },
});

/**
 * The symbol under which Fastify keeps a request's route context (its description is
 * "fastify.context"), found on the first request; null when this Fastify has none.
 */
let contextKey: symbol | null | undefined;

/**
 * The matched route's pattern, or undefined for a 404. `request.routeOptions.url` says the same,
 * but that getter builds a fresh twelve-field object on every access (and asks the router for
 * its version strategy): per request, that was a measurable part of the adapter's cost. The
 * context's `config.url` is what the getter reads; without it, the getter.
 */
function routeUrl(request: FastifyRequest): string | undefined {
  if (contextKey === undefined) contextKey = Object.getOwnPropertySymbols(request).find((k) => k.description === "fastify.context") ?? null;
  if (contextKey !== null) {
    const c = (request as unknown as Record<symbol, { config?: { url?: unknown } } | undefined>)[contextKey];
    if (c !== null && typeof c === "object") {
      const url = c.config?.url;
      return typeof url === "string" ? url : undefined;
    }
  }
  return request.is404 ? undefined : request.routeOptions.url;
}

/** Fastify passes the register options object with its own keys (prefix, logLevel...): keep ours. */
function pluginOptions(opts: HttpScopeOptions | undefined): HttpScopeOptions | undefined {
  if (opts === undefined || opts === null || typeof opts !== "object") return opts;
  const { name, timeoutMs, runtime, drain, concurrency, queue, queueTimeoutMs, key, rate, label, retryAfterMs } = opts;
  return { name, timeoutMs, runtime, drain, concurrency, queue, queueTimeoutMs, key, rate, label, retryAfterMs };
}
