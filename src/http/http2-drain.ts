/**
 * The drain of an HTTP/2 server (`http2.createServer`/`createSecureServer`, Fastify's
 * `http2: true`) that a request scope manages: httpResource() takes node:http/https servers,
 * whose connections carry one request at a time; an HTTP/2 connection (a session) multiplexes
 * streams, and the protocol has its own way to say "go": GOAWAY.
 *
 * At the drain the listener closes (new connections are refused) and every session is closed
 * gracefully: `session.close()` sends GOAWAY with the last stream the server took, the client
 * opens no new stream on it (one it opened meanwhile is refused, REFUSED_STREAM, safe to retry
 * elsewhere), and the session ends once its streams in flight have finished. At the collect
 * deadline the sessions left are destroyed and their open streams are the shutdown report's lost
 * requests.
 */
import type { Http2Server, Http2SecureServer, Http2Session, ServerHttp2Stream } from "node:http2";
import type { Runtime, StopOutcome } from "../runtime/runtime.js";

type AnyHttp2Server = Http2Server | Http2SecureServer;

/** True for a node:http2 server (plain or secure). */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  const name = server.constructor?.name;
  return (name === "Http2Server" || name === "Http2SecureServer") && typeof (server as { close?: unknown }).close === "function";
}

/** One HTTP/2 server as a stop participant of a runtime. */
export class Http2Drain {
  private readonly sessions = new Set<Http2Session>();
  /** Streams open on the server's sessions (requests in flight). */
  private readonly streams = new Set<ServerHttp2Stream>();
  private draining = false;
  /** Wakes the drain when the last session has ended. */
  private idle: (() => void) | undefined;
  private cut = 0;
  private readonly onSession = (s: Http2Session): void => this.track(s);

  constructor(
    readonly server: AnyHttp2Server,
    readonly name: string,
    rt: Runtime,
    preStopDelayMs: number,
  ) {
    server.on("session", this.onSession);
    rt.onStop({
      name,
      preStopDelayMs,
      stop: (force) => this.drain(force),
    });
  }

  /**
   * Tracks a session the server already had when the drain began managing it (the session of
   * the request that made the scope manage the server), and the stream of that request.
   */
  adopt(stream: ServerHttp2Stream | undefined): void {
    const s = stream?.session;
    if (s === undefined || s.destroyed) return;
    this.track(s);
    this.trackStream(stream!);
  }

  private track(s: Http2Session): void {
    if (this.sessions.has(s)) return;
    this.sessions.add(s);
    s.on("stream", (st: ServerHttp2Stream) => this.trackStream(st));
    s.once("close", () => {
      this.sessions.delete(s);
      if (this.sessions.size === 0) this.idle?.();
    });
    if (this.draining) s.close(); // a connection accepted just before the listener closed
  }

  private trackStream(st: ServerHttp2Stream): void {
    if (this.streams.has(st) || st.closed) return;
    this.streams.add(st);
    st.once("close", () => this.streams.delete(st));
  }

  private async drain(force: AbortSignal): Promise<StopOutcome | undefined> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    // GOAWAY to every client; each session ends when its streams in flight have.
    for (const s of this.sessions) s.close();
    const ended = new Promise<void>((resolve) => {
      this.idle = resolve;
      if (this.sessions.size === 0) resolve();
    });
    await Promise.race([Promise.all([closed, ended]), new Promise<void>((resolve) => (force.aborted ? resolve() : force.addEventListener("abort", () => resolve(), { once: true })))]);
    if (this.sessions.size > 0) {
      this.cut = this.streams.size;
      for (const s of this.sessions) s.destroy();
    }
    this.server.removeListener("session", this.onSession);
    return this.cut > 0 ? { lost: [{ kind: "requests", count: this.cut, what: `${this.cut} HTTP/2 stream(s) in flight on ${this.name} were cut at the deadline` }] } : undefined;
  }
}
