/**
 * The flight recorder: a process-wide observer (core/instrument.ts) that writes what tasks,
 * resources and the event loop do into a fixed ring of events (ring.ts), cheap enough to leave on
 * in production, so that when something goes wrong the seconds before it can be dumped to a file
 * (dump.ts) and replayed (`steward replay`).
 *
 * What it records, per event a few stores into a typed array:
 *  - tasks: spawn (name, parent, runtime), start (the first run's begin and end), every steward
 *    wait (park: what it waits on and the resource) and its end (wake), joins, the end and its
 *    outcome. It installs no promise hook: between a wake and the next park a task is "active"
 *    (running, or awaiting something steward does not see); the live console measures resumes.
 *  - resources: lock and permit acquire/release with the task holding them, admission-control
 *    sheds, and the depth of every channel something waited on (sampled each loop interval).
 *  - the loop: delay and utilization per interval; blocked episodes with the supervisor's stacks.
 *
 * A clock read costs 0.1–0.35 µs on a loaded VM (more than the rest of an event), so only the
 * events that begin or end a span of waiting or running read it: the end of a first run, a park,
 * a wake. A spawn takes the time its task record already has (ms resolution); the first run's
 * start, the end, joins, resource events and depths carry the latest time known (their order in
 * the ring is exact).
 */
import { performance } from "node:perf_hooks";
import { als, type TaskLike } from "../core/context.js";
import { addInstrumentHooks, type BlockedEventLike, type InstrumentedTask, type InstrumentHooks, removeInstrumentHooks } from "../core/instrument.js";
import type { JoinHandle } from "../task/join-handle.js";
import type { SpawnSite } from "../task/spawn-site.js";
import { LoopSampler } from "../console/instrument/loop.js";
import { EpisodeLedger } from "../console/model/episodes.js";
import type { BlockedEpisode } from "../console/model/types.js";
import { type DumpEpisode, EV_BLOCKED, EV_DEPTH, EV_END, EV_JOIN, EV_LOOP, EV_MARK, EV_PARK, EV_POLL, EV_POLL_END, EV_RESOURCE, EV_SPAWN, EV_WAKE, UNBOUNDED } from "./format.js";
import { EventRing, StringTable } from "./ring.js";

/** Spawn sites kept (the latest tasks that had one captured). */
const SITES = 4096;
/** Resources whose channel depth is sampled (the latest that something waited on). */
const WATCHED = 256;
/** Resource descriptions kept for dumps. */
const RESOURCE_DEFS = 8192;
/** Episodes kept. */
const EPISODES = 64;
/** Loop stalls this soon after the recorder started are start-up, not episodes (a supervisor's still are). */
const STARTUP_MS = 2000;

interface Watched {
  readonly ref: WeakRef<object>;
  depth: number;
}

/** What the recorder calls when something may deserve a dump (triggers.ts). */
export interface RecorderEvents {
  blocked(e: BlockedEpisode): void;
  panic(task: { id: number; name?: string }): void;
}

/** The process-wide recorder. */
export class FlightRecorder implements InstrumentHooks {
  readonly ring: EventRing;
  readonly strings = new StringTable();
  readonly episodes = new EpisodeLedger();
  /** Episodes in recording order, with their numbers (EV_BLOCKED's a). */
  readonly #episodeList: { n: number; ep: BlockedEpisode }[] = [];
  readonly #episodeNumbers = new Map<BlockedEpisode, number>();
  #episodeSeq = 0;
  readonly #resourceIds = new WeakMap<object, number>();
  readonly #resourceDefs = new Map<number, { kind: string; label: string }>();
  #nextResource = 1;
  readonly #watched = new Map<number, Watched>();
  readonly #siteTasks = new Int32Array(SITES);
  readonly #sites: (SpawnSite | undefined)[] = new Array<SpawnSite | undefined>(SITES);
  #sitePos = 0;
  readonly #runtimes = new Map<unknown, number>();
  readonly runtimeNames: string[] = ["(other)"];
  /** The latest clock read (performance.now()): the time of events that do not read it. */
  #now = performance.now();
  /** The ring position of the latest park, and its task (queueWaited adds the resource to it). */
  #parkAt = -1;
  #parkTask: TaskLike | undefined;
  readonly loop: LoopSampler;
  readonly #blockedMs: number;
  listener: RecorderEvents | undefined;
  #installed = false;
  #startedAt = 0;

  /**
   * @param bytes the ring's size.
   * @param blockedMs a loop stall at least this long that no supervisor reported is a blocked episode.
   */
  constructor(bytes: number, blockedMs: number) {
    this.ring = new EventRing(bytes);
    this.#blockedMs = blockedMs;
    this.loop = new LoopSampler((now, f, windowStart) => {
      this.#now = now;
      this.ring.put(now, EV_LOOP, 0, Math.min(1000, Math.round(f.elu * 1000)), 0, Math.min(0xffffffff, Math.round(f.delayP99Ms * 1000)), Math.min(0xffffffff, Math.round(f.delayMaxMs * 1000)));
      // A stall's final duration (the supervisor reports at detection), or one nobody reported.
      // Loop-only stalls in the first seconds are start-up (module loading, wiring): not episodes.
      if (f.delayMaxMs > 0) {
        const create = f.delayMaxMs >= this.#blockedMs && now - this.#startedAt >= STARTUP_MS;
        const ep = this.episodes.loopStall(performance.timeOrigin + windowStart, performance.timeOrigin + now, f.delayMaxMs, create);
        if (ep !== undefined) this.#episode(ep);
      }
      this.#sampleDepths();
    });
  }

  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    this.#startedAt = performance.now();
    addInstrumentHooks(this);
    this.loop.start();
  }

  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    removeInstrumentHooks(this);
    this.loop.stop();
  }

  get installed(): boolean {
    return this.#installed;
  }

  /** Gives a runtime's tasks its name in dumps. */
  addRuntime(host: unknown, name: string): void {
    if (this.#runtimes.has(host)) return;
    this.#runtimes.set(host, this.runtimeNames.length);
    this.runtimeNames.push(name);
  }

  /** Writes a mark (a trigger, a note) into the ring. */
  mark(text: string): void {
    const t = (this.#now = performance.now());
    this.ring.put(t, EV_MARK, 0, 0, 0, this.strings.intern(text), 0);
  }

  // -------------------------------------------------------------------------------------------
  // The core's hooks

  taskSpawned(task: InstrumentedTask, host: unknown): void {
    const h = task as unknown as JoinHandle<unknown>;
    const name = h.name;
    const parent = als.getStore()?.taskRecord?.id ?? 0;
    const site = h.site;
    if (site !== undefined) {
      const i = this.#sitePos;
      this.#siteTasks[i] = h.id;
      this.#sites[i] = site;
      this.#sitePos = i + 1 === SITES ? 0 : i + 1;
    }
    // The record's own spawn time (Date.now(), read by the core anyway): no clock read of ours.
    const at = h.spawnedAtMs - performance.timeOrigin;
    const t = at > this.#now ? (this.#now = at) : this.#now;
    this.ring.put(t, EV_SPAWN, 0, this.#runtimes.get(host) ?? 0, h.id, parent, name === undefined ? 0 : this.strings.intern(name));
  }

  pollStart(task: InstrumentedTask): void {
    // On the microtask after its spawn: the spawn's time is close enough.
    this.ring.put(this.#now, EV_POLL, 0, 0, task.id, 0, 0);
  }

  pollEnd(task: InstrumentedTask): void {
    const t = (this.#now = performance.now());
    this.ring.put(t, EV_POLL_END, 0, 0, task.id, 0, 0);
  }

  taskParked(task: TaskLike, what: string): void {
    const t = (this.#now = performance.now());
    this.ring.put(t, EV_PARK, 0, 0, task.id, this.strings.intern(what), 0);
    this.#parkAt = this.ring.written;
    this.#parkTask = task;
  }

  queueWaited(queue: object, task: TaskLike | undefined): void {
    const id = this.#resource(queue);
    this.#watch(id, queue);
    // The park just recorded is this waiter's: it waits on this resource.
    if (task !== undefined && task === this.#parkTask && this.#parkAt === this.ring.written) this.ring.setLastB(id);
    this.#parkTask = undefined;
  }

  taskWoken(task: TaskLike, what: string): void {
    const t = (this.#now = performance.now());
    this.ring.put(t, EV_WAKE, 0, 0, task.id, this.strings.intern(what), 0);
  }

  taskDone(task: InstrumentedTask): void {
    const e = (task as unknown as JoinHandle<unknown>).joinError;
    const outcome = e === undefined ? 0 : e.kind === "panic" ? 1 : 2;
    this.ring.put(this.#now, EV_END, outcome, 0, task.id, 0, 0);
  }

  taskJoined(task: InstrumentedTask): void {
    const me = als.getStore()?.taskRecord;
    if (me === undefined || me === task) return;
    this.ring.put(this.#now, EV_JOIN, 0, 0, me.id, task.id, 0);
  }

  panicUnobserved(task: InstrumentedTask): void {
    this.listener?.panic(task.name === undefined ? { id: task.id } : { id: task.id, name: task.name });
  }

  queueCreated(): void {}

  resource(resource: object, event: number, value: number): void {
    const id = this.#resource(resource);
    const holder = als.getStore()?.taskRecord?.id ?? 0;
    this.ring.put(this.#now, EV_RESOURCE, event, 0, holder, id, value);
  }

  blocked(e: BlockedEventLike): void {
    if (e === null || typeof e !== "object" || typeof e.blockedMs !== "number" || !(e.blockedMs >= 0)) return;
    if (e.thread !== undefined && e.thread !== "main") return;
    const end = typeof e.at === "number" && e.at > 1e12 ? e.at : Date.now();
    const r: Parameters<EpisodeLedger["report"]>[0] = { source: "supervisor", startMs: end - e.blockedMs, endMs: end, durationMs: e.blockedMs };
    if (e.id !== undefined && e.id !== null) r.id = String(e.id);
    if (e.task !== undefined && typeof e.task.id === "number") r.task = e.task.name === undefined ? { id: e.task.id } : { id: e.task.id, name: e.task.name };
    if (e.stack !== undefined && Array.isArray(e.stack as unknown) && e.stack.length > 0) {
      r.stack = e.stack.slice(0, 32).map((f) => `${f.functionName || "<anonymous>"} (${f.file ?? "?"}:${f.line ?? 0}:${f.column ?? 0})`);
    }
    r.phase = "stack" in e ? "blocked" : "unblocked";
    this.#episode(this.episodes.report(r));
  }

  // -------------------------------------------------------------------------------------------

  #episode(ep: BlockedEpisode): void {
    // The ledger hands back the same object for every report of one episode.
    let n = this.#episodeNumbers.get(ep);
    this.#now = performance.now();
    if (n === undefined) {
      n = ++this.#episodeSeq;
      this.#episodeNumbers.set(ep, n);
      this.#episodeList.push({ n, ep });
      if (this.#episodeList.length > EPISODES) this.#episodeNumbers.delete(this.#episodeList.shift()!.ep);
    }
    this.ring.put(ep.startMs - performance.timeOrigin, EV_BLOCKED, 0, 0, ep.task?.id ?? 0, n, Math.round(ep.durationMs));
    this.listener?.blocked(ep);
  }

  #resource(r: object): number {
    let id = this.#resourceIds.get(r);
    if (id !== undefined) return id;
    id = this.#nextResource++;
    this.#resourceIds.set(r, id);
    let kind = "resource";
    let label = `resource#${id}`;
    try {
      const d = (r as { inspect?: () => Record<string, unknown> }).inspect?.();
      if (d !== undefined && d !== null) {
        if (typeof d.kind === "string") kind = d.kind;
        if (typeof d.label === "string") label = d.label;
      }
    } catch {
      // a description is a nicety
    }
    this.#resourceDefs.set(id, { kind, label });
    if (this.#resourceDefs.size > RESOURCE_DEFS) this.#resourceDefs.delete(this.#resourceDefs.keys().next().value!);
    return id;
  }

  #watch(id: number, q: object): void {
    if (this.#watched.has(id)) return;
    this.#watched.set(id, { ref: new WeakRef(q), depth: -1 });
    if (this.#watched.size > WATCHED) this.#watched.delete(this.#watched.keys().next().value!);
  }

  #sampleDepths(): void {
    for (const [id, w] of this.#watched) {
      const q = w.ref.deref() as { inspect?: () => Record<string, unknown> } | undefined;
      if (q === undefined) {
        this.#watched.delete(id);
        continue;
      }
      let d: Record<string, unknown> | undefined;
      try {
        d = q.inspect?.();
      } catch {
        d = undefined;
      }
      const len = d?.length;
      if (typeof len !== "number" || len === w.depth) continue;
      w.depth = len;
      const cap = d!.capacity;
      this.ring.put(this.#now, EV_DEPTH, 0, 0, typeof cap === "number" && Number.isFinite(cap) ? cap : UNBOUNDED, id, len);
    }
  }

  // -------------------------------------------------------------------------------------------
  // For dumps

  /** The description of resource `id`, if still kept. */
  resourceDef(id: number): { kind: string; label: string } | undefined {
    return this.#resourceDefs.get(id);
  }

  /** The spawn site of task `id`, if it had one captured and it is still kept. */
  siteOf(id: number): SpawnSite | undefined {
    for (let i = 0; i < SITES; i++) if (this.#siteTasks[i] === id) return this.#sites[i];
    return undefined;
  }

  /** Spawn sites by task, for the tasks in `ids`. */
  sitesFor(ids: ReadonlySet<number>): Map<number, SpawnSite> {
    const out = new Map<number, SpawnSite>();
    for (let i = 0; i < SITES; i++) {
      const id = this.#siteTasks[i]!;
      const s = this.#sites[i];
      if (s !== undefined && ids.has(id)) out.set(id, s);
    }
    return out;
  }

  /** The episodes kept, as a dump writes them. */
  dumpEpisodes(): DumpEpisode[] {
    return this.#episodeList.map(({ n, ep }) => {
      const d: DumpEpisode = { n, id: ep.id, startMs: ep.startMs, durationMs: ep.durationMs, source: ep.source === "loop" ? "loop" : "supervisor" };
      if (ep.task !== undefined) d.task = ep.task;
      if (ep.stack !== undefined) d.stack = ep.stack;
      return d;
    });
  }
}
