/**
 * One runtime's console: the records of its tasks (live, then retained for `retainMs` after they
 * end), its metrics, and its lease on a console server. Made by the Runtime constructor when
 * `console` is on (or STEWARD_CONSOLE is set) and handed to the runtime's `defer()`, so it is
 * closed last in the drop phase, after every task has ended and every other resource was dropped.
 */
import { performance } from "node:perf_hooks";
import { Deque } from "../util/deque.js";
import { IntrusiveList } from "../util/list.js";
import { type Collector, getCollector } from "./instrument/collector.js";
import { notable } from "./model/lints.js";
import type { DeferredLike } from "./model/resources.js";
import { buildSnapshot, type SnapshotSource } from "./model/snapshot.js";
import type { TaskSink, TaskStats } from "./model/task-stats.js";
import type { ConsoleSnapshot } from "./model/types.js";
import { watchLimiters } from "./metrics/limiters.js";
import { ConsoleMetrics, resolveProvider } from "./metrics/otel.js";
import type { ResolvedConsoleOptions } from "./options.js";
import { acquireServer, type ConsoleServer, type ServerLease } from "./server/server.js";

/** What the console needs from a Runtime (typed structurally: no import cycle). */
export interface ConsoleHost {
  readonly name: string | undefined;
  readonly state: string;
  defer(resource: AsyncDisposable, name?: string): void;
  /** @internal The runtime's deferred resources, in the order given. */
  deferredList?(): readonly DeferredLike[];
}

const consoles = new WeakMap<object, RuntimeConsole>();

/** Completed tasks kept apart because a lint fired for them (or they panicked). */
const MAX_NOTABLE = 200;

/** The console of `runtime`, or undefined when it has none. */
export function consoleOf(runtime: object): RuntimeConsole | undefined {
  return consoles.get(runtime);
}

/**
 * A runtime's live console. Get it with {@link consoleOf}; it is made by `new Runtime({ console })`.
 */
export class RuntimeConsole implements TaskSink, SnapshotSource, AsyncDisposable {
  /** @internal The live tasks, newest first. */ readonly live = new IntrusiveList<TaskStats>();
  /** @internal First live task: walk on with `next`. */
  get head(): TaskStats | null {
    return this.live.head;
  }
  /** Tasks of the runtime that have not ended (since the console started). */
  liveCount = 0;
  /** Tasks spawned since the console started. */
  spawned = 0;
  /** Tasks ended since the console started, by outcome. */
  readonly completed = { ok: 0, panic: 0, cancelled: 0 };
  /** @internal */ resumeHist: TaskSink["resumeHist"] = null;
  /** @internal */ attrs: Record<string, string> = {};
  /** @internal Work in its tasks' context that was not theirs (ConsoleHeader.outside). */
  readonly outside = { resumes: 0, busyMs: 0 };
  /** @internal Resumes before this (performance.now()) are start-up for the lints. */
  readonly lintFrom: number;
  /** @internal The process-wide collector this console reads. */
  readonly collector: Collector;
  readonly #done = new Deque<TaskStats>(64);
  /** Completed tasks a lint fires for, or that panicked: kept for the whole retainMs, apart from the churn. */
  readonly #notable = new Deque<TaskStats>(16);
  readonly #metrics: ConsoleMetrics | undefined;
  readonly #lease: ServerLease | undefined;
  readonly #unwatchLimiters: () => void;
  #closed: Promise<void> | undefined;

  /** @internal Use `new Runtime({ console })`. */
  constructor(
    private readonly host: ConsoleHost,
    /** The resolved options (defaults filled in). */
    readonly options: ResolvedConsoleOptions,
  ) {
    this.lintFrom = performance.now() + options.lints.startupMs;
    this.collector = getCollector();
    this.collector.attach(host, this, options.lints.blockedMs);
    consoles.set(host, this);
    const provider = options.metrics === false ? undefined : resolveProvider(options.metrics === true ? undefined : options.metrics);
    if (provider !== undefined) {
      this.#metrics = new ConsoleMetrics(provider, this, this.collector);
      this.resumeHist = this.#metrics.resumeHist;
      this.attrs = this.#metrics.attrs;
    }
    this.#unwatchLimiters = watchLimiters(this.collector, provider);
    if (options.server) this.#lease = acquireServer(options, this);
  }

  /** @internal */
  get runtimeName(): string {
    return this.host.name ?? "unnamed";
  }

  /** @internal */
  get runtimeState(): string {
    return this.host.state;
  }

  /** The server's URL once it listens ("http://127.0.0.1:6669/"); undefined before, or without a server. */
  get url(): string | undefined {
    return this.#lease?.server.url;
  }

  /** @internal The server this console uses, if any. */
  get server(): ConsoleServer | undefined {
    return this.#lease?.server;
  }

  /** Where a browser can open the page: `url`, or the next usable port when browsers refuse `url`'s (6669 is one). */
  get webUrl(): string | undefined {
    const s = this.#lease?.server;
    return s?.webUrl ?? s?.url;
  }

  /**
   * Resolves with the server's URL once it listens; rejects if it cannot (the port is taken) or
   * when the console has no server (`server: false`).
   */
  listening(): Promise<string> {
    if (this.#lease === undefined) return Promise.reject(new Error("this console has no server (console.server is false)"));
    return this.#lease.server.ready;
  }

  /** Everything the console shows now: what `GET /api/snapshot` returns for this runtime. */
  snapshot(): ConsoleSnapshot {
    return buildSnapshot([this], this.collector);
  }

  /** @internal */
  link(s: TaskStats): void {
    this.live.unshift(s);
    this.liveCount++;
    this.spawned++;
  }

  /** @internal */
  finished(s: TaskStats): void {
    if (!this.live.remove(s)) return;
    this.liveCount--;
    const o = s.outcome ?? "ok";
    this.completed[o]++;
    if (this.#closed !== undefined || this.options.retainMs === 0) return;
    const keep = notable(s, this.options);
    const q = keep ? this.#notable : this.#done;
    const cap = keep ? MAX_NOTABLE : this.options.maxRetained;
    if (cap === 0) return;
    q.push(s);
    if (q.length > cap) q.shift();
    else if (q.length % 256 === 0) this.#evict(performance.now());
  }

  #evict(now: number): void {
    const limit = now - this.options.retainMs;
    for (const q of [this.#done, this.#notable]) {
      let s: TaskStats | undefined;
      while ((s = q.peek()) !== undefined && s.endAt < limit) q.shift();
    }
  }

  /** @internal Oldest first. */
  retainedTasks(now: number): Iterable<TaskStats> {
    this.#evict(now);
    const out: TaskStats[] = [];
    for (const q of [this.#notable, this.#done]) for (let i = 0; i < q.length; i++) out.push(q.at(i)!);
    return out.sort((a, b) => a.endAt - b.endAt);
  }

  /** @internal */
  get retainedCount(): number {
    return this.#done.length + this.#notable.length;
  }

  /** @internal */
  deferred(): readonly DeferredLike[] {
    try {
      return this.host.deferredList?.().filter((d) => d.resource !== this) ?? [];
    } catch {
      return [];
    }
  }

  /** @internal A task record by id, live or retained. */
  findTask(id: number): TaskStats | undefined {
    for (let s = this.head; s !== null; s = s.next) if (s.id === id) return s;
    for (const q of [this.#notable, this.#done]) for (let i = 0; i < q.length; i++) if (q.at(i)!.id === id) return q.at(i);
    return undefined;
  }

  /**
   * Stops the console: leaves its server (closed when no other runtime uses it), removes its
   * metrics callbacks and, with the last console, every instrumentation hook. Idempotent; the
   * runtime calls it at the end of its drop phase.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.collector.detach(this.host);
      this.#unwatchLimiters();
      this.#metrics?.close();
      this.resumeHist = null;
      this.#done.clear();
      this.#notable.clear();
      await this.#lease?.release();
    })();
    return this.#closed;
  }

  /** = {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * @internal Starts the console of a runtime being constructed: the runtime hands it to its
 * `defer()` so it is closed at the very end of shutdown.
 */
export function startConsole(host: ConsoleHost, options: ResolvedConsoleOptions): RuntimeConsole {
  const c = new RuntimeConsole(host, options);
  host.defer(c, "console");
  return c;
}
