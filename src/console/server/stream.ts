/**
 * The event stream (`GET /api/events`, Server-Sent Events): a `snapshot` event first, then a
 * `delta` every `intervalMs` with only what changed (server/delta.ts). Every delta is built and
 * encoded once and the same bytes go to every client.
 *
 * Memory per client is bounded. A client whose unsent data passes {@link CLIENT_HIGH_WATER}
 * (a paused tab, a slow link) is skipped — it misses deltas rather than queueing them — and once
 * it has drained it is sent a fresh snapshot and follows the deltas again. At most `maxClients`
 * clients are served at once; more get 503.
 *
 * The timer runs only while a client is connected, and never keeps the process alive.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConsoleSnapshot } from "../model/types.js";
import { DeltaTracker } from "./delta.js";

/** Unsent bytes above which a client is considered behind. */
export const CLIENT_HIGH_WATER = 256 * 1024;

interface Client {
  readonly res: ServerResponse;
  /** False while it is behind: it gets a snapshot (not the next delta) once drained. */
  inSync: boolean;
}

/** One server's event stream. */
export class EventStream {
  readonly #clients = new Set<Client>();
  readonly #tracker = new DeltaTracker();
  readonly #snapshot: () => ConsoleSnapshot;
  readonly #intervalMs: number;
  readonly #maxClients: number;
  #timer: NodeJS.Timeout | undefined;
  /** The base of the next delta, and its encoding as a snapshot event (made when someone needs it). */
  #base: ConsoleSnapshot | undefined;
  #baseEvent: Buffer | undefined;
  /** Clients resynced, and deltas skipped for clients that were behind (for tests and the bench). */
  readonly stats = { resyncs: 0, skipped: 0, refused: 0 };
  /** Called with each snapshot the stream builds (the server caches it for GET /api/snapshot). */
  onSnapshot: ((snap: ConsoleSnapshot) => void) | undefined;

  constructor(snapshot: () => ConsoleSnapshot, intervalMs: number, maxClients: number) {
    this.#snapshot = snapshot;
    this.#intervalMs = intervalMs;
    this.#maxClients = maxClients;
  }

  /** Clients connected now. */
  get size(): number {
    return this.#clients.size;
  }

  /** @internal Bytes waiting to be sent, per client (tests). */
  buffered(): number[] {
    return [...this.#clients].map((c) => c.res.writableLength);
  }

  /** Serves `GET /api/events`. */
  open(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    if (this.#clients.size >= this.#maxClients) {
      this.stats.refused++;
      const body = JSON.stringify({ error: `the console serves at most ${this.#maxClients} event-stream clients at once (console.maxClients)` });
      res.writeHead(503, { ...headers, "content-type": "application/json", "retry-after": "5", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, { ...headers, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive", "x-accel-buffering": "no" });
    if (req.method === "HEAD") return void res.end();
    if (this.#base === undefined) this.#rebase(this.#snapshot());
    res.write("retry: 2000\n\n");
    res.write(this.#baseEventBytes());
    const client: Client = { res, inSync: true };
    this.#clients.add(client);
    const drop = (): void => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stop();
    };
    req.on("close", drop);
    res.on("error", drop);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.tick(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Ends every client's stream. */
  close(): void {
    this.#stop();
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  /** @internal One delta to every client that keeps up; snapshots to those that caught up. */
  tick(): void {
    if (this.#clients.size === 0) return;
    const snap = this.#snapshot();
    this.onSnapshot?.(snap);
    const delta = this.#tracker.next(snap);
    this.#base = snap;
    this.#baseEvent = undefined;
    const bytes = Buffer.from(`id: ${delta.seq}\nevent: delta\ndata: ${JSON.stringify(delta)}\n\n`);
    for (const c of this.#clients) {
      const res = c.res;
      if (res.destroyed || res.writableEnded) continue;
      if (!c.inSync) {
        if (res.writableLength > 0) {
          this.stats.skipped++;
          continue;
        }
        c.inSync = true;
        this.stats.resyncs++;
        res.write(this.#baseEventBytes());
        continue;
      }
      if (res.writableLength > CLIENT_HIGH_WATER) {
        c.inSync = false;
        this.stats.skipped++;
        continue;
      }
      res.write(bytes);
    }
  }

  #rebase(snap: ConsoleSnapshot): void {
    this.#tracker.reset(snap);
    this.#base = snap;
    this.#baseEvent = undefined;
  }

  #baseEventBytes(): Buffer {
    return (this.#baseEvent ??= Buffer.from(`id: ${this.#tracker.seq}\nevent: snapshot\ndata: ${JSON.stringify({ ...this.#base!, seq: this.#tracker.seq })}\n\n`));
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#base = undefined;
    this.#baseEvent = undefined;
  }
}
