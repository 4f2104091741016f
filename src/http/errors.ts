/**
 * Why a request's task was cancelled by its scope. Both are CancelledErrors: steward waits in the
 * request's task reject with them as they are (not wrapped), `fetch(url, { signal })` rejects
 * with them (they are the signal's reason), and a handler that lets one propagate gives the
 * framework an error that carries its HTTP status — so the framework's own error handling
 * answers it, with its own body.
 */
import { CancelledError } from "../errors.js";

/** The request ran longer than its scope's `timeoutMs`. HTTP: 503. */
export class RequestTimeoutError extends CancelledError {
  /** The limit that passed, in ms. */
  readonly timeoutMs: number;
  /** 503, for HTTP frameworks' error handlers. */
  readonly statusCode = 503;
  /** 503 (Express reads `status`). */
  readonly status = 503;
  /** The message is safe to show to clients. */
  readonly expose = true;
  /** `STEWARD_REQUEST_TIMEOUT`: Fastify puts it in its error body. */
  readonly code = "STEWARD_REQUEST_TIMEOUT";

  constructor(timeoutMs: number) {
    super(undefined, `the request took longer than ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The client went away before the response ended (the connection or HTTP/2 stream closed). Its
 * status, 499, is nginx's "client closed request": nobody receives it, but a framework that logs
 * the error logs it as a client error, not a server failure.
 */
export class ClientClosedError extends CancelledError {
  /** 499, for HTTP frameworks' error handlers and logs. */
  readonly statusCode = 499;
  /** 499 (Express reads `status`). */
  readonly status = 499;
  /** The message is safe to show. */
  readonly expose = true;
  /** `STEWARD_CLIENT_CLOSED`. */
  readonly code = "STEWARD_CLIENT_CLOSED";

  constructor() {
    super(undefined, "the client closed the request before the response ended");
    this.name = "ClientClosedError";
  }
}
