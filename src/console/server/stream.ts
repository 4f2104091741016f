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
 * The snapshots come from the server's shared cache (server/snapshot-cache.ts): while nothing
 * changed a tick sends an empty delta without building anything, a new client's snapshot event
 * is the cached JSON, and a build is sliced across loop turns.
 *
 * The timer runs only while a client is connected, and never keeps the process alive.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConsoleSnapshot } from "../model/types.js";
import { DeltaTracker } from "./delta.js";
import type { SharedSnapshot } from "./snapshot-cache.js";

/**
 * Where the stream's snapshots come from: a snapshot built now, or the server's shared one
 * (when a build is under way, the promise of it).
 */
export type StreamSource = () => ConsoleSnapshot | SharedSnapshot | Promise<SharedSnapshot>;

/** A snapshot and, if it was serialised already, its JSON. */
interface Based {
  snap: ConsoleSnapshot;
  body: Buffer | undefined;
}

function based(r: ConsoleSnapshot | SharedSnapshot): Based {
  return "snap" in r && "body" in r ? { snap: r.snap, body: r.body } : { snap: r, body: undefined };
}

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
  readonly #snapshot: StreamSource;
  readonly #intervalMs: number;
  readonly #maxClients: number;
  #timer: NodeJS.Timeout | undefined;
  /** The base of the next delta, and its encoding as a snapshot event (made when someone needs it). */
  #base: Based | undefined;
  #baseEvent: Buffer | undefined;
  /** A tick waiting for a build (a slow build skips ticks rather than stacking them). */
  #pending = false;
  /** Clients waiting for their first snapshot (counted against maxClients). */
  #joining = 0;
  /** Clients resynced, and deltas skipped for clients that were behind (for tests and the bench). */
  readonly stats = { resyncs: 0, skipped: 0, refused: 0 };
  constructor(snapshot: StreamSource, intervalMs: number, maxClients: number) {
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
    if (this.#clients.size + this.#joining >= this.#maxClients) {
      this.stats.refused++;
      const body = JSON.stringify({ error: `the console serves at most ${this.#maxClients} event-stream clients at once (console.maxClients)` });
      res.writeHead(503, { ...headers, "content-type": "application/json", "retry-after": "5", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, { ...headers, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive", "x-accel-buffering": "no" });
    if (req.method === "HEAD") return void res.end();
    res.write("retry: 2000\n\n");
    const client: Client = { res, inSync: true };
    let gone = false;
    const drop = (): void => {
      gone = true;
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stop();
    };
    req.on("close", drop);
    res.on("error", drop);
    const join = (): void => {
      if (gone || res.destroyed) return;
      res.write(this.#baseEventBytes());
      this.#clients.add(client);
      if (this.#timer === undefined) {
        this.#timer = setInterval(() => this.tick(), this.#intervalMs);
        this.#timer.unref();
      }
    };
    if (this.#base !== undefined) return join();
    const r = this.#snapshot();
    if (!(r instanceof Promise)) {
      this.#rebase(based(r));
      return join();
    }
    this.#joining++;
    r.then(
      (e) => {
        this.#joining--;
        if (this.#base === undefined) this.#rebase(based(e));
        join();
      },
      () => {
        this.#joining--;
        res.destroy();
      },
    );
  }

  /** Ends every client's stream. */
  close(): void {
    this.#stop();
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  /** @internal One delta to every client that keeps up; snapshots to those that caught up. */
  tick(): void {
    if (this.#clients.size === 0 || this.#pending) return;
    const r = this.#snapshot();
    if (!(r instanceof Promise)) return this.#send(based(r));
    this.#pending = true;
    r.then(
      (e) => {
        this.#pending = false;
        if (this.#clients.size > 0) this.#send(based(e));
      },
      () => {
        this.#pending = false;
      },
    );
  }

  #send(next: Based): void {
    // The same snapshot as the base: nothing the collector saw changed; an empty delta keeps the
    // clients' sequence (and their "live" indicator) going without comparing 2,000 records.
    const delta = this.#base !== undefined && next.snap === this.#base.snap ? this.#tracker.unchanged(Date.now()) : this.#tracker.next(next.snap);
    if (this.#base === undefined || next.snap !== this.#base.snap) this.#base = next;
    this.#baseEvent = undefined; // it carries the sequence number, which moved
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

  #rebase(b: Based): void {
    this.#tracker.reset(b.snap);
    this.#base = b;
    this.#baseEvent = undefined;
  }

  /** The base as a snapshot event (with the sequence number it is at): the cached JSON when there is one. */
  #baseEventBytes(): Buffer {
    if (this.#baseEvent !== undefined) return this.#baseEvent;
    const seq = this.#tracker.seq;
    const b = this.#base!;
    const bytes =
      b.body === undefined || b.body[0] !== 0x7b
        ? Buffer.from(`id: ${seq}\nevent: snapshot\ndata: ${JSON.stringify({ ...b.snap, seq })}\n\n`)
        : Buffer.concat([Buffer.from(`id: ${seq}\nevent: snapshot\ndata: {"seq":${seq},`), b.body.subarray(1), Buffer.from("\n\n")]);
    return (this.#baseEvent = bytes);
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#base = undefined;
    this.#baseEvent = undefined;
  }
}
