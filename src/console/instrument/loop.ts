/**
 * The loop sampler: event-loop utilization and delay, every second while a console is on, for the
 * header and the `nodejs.eventloop.*` metrics; a stall that no task resume explained becomes a
 * "loop" blocked episode.
 */
import { type IntervalHistogram, monitorEventLoopDelay, performance } from "node:perf_hooks";

const DELAY_RESOLUTION_MS = 10;
const SAMPLE_MS = 1000;

/** Loop figures over one sampling window (ms; elu 0–1). */
export interface LoopFigures {
  elu: number;
  delayP99Ms: number;
  delayMaxMs: number;
  /** For the semantic-convention metrics (ms). */
  delayMinMs: number;
  delayMeanMs: number;
  delayStddevMs: number;
  delayP50Ms: number;
  delayP90Ms: number;
  /** Active and idle time of the loop over the window (ms). */
  activeMs: number;
  idleMs: number;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The histogram records each interval of its timer (ns), resolution included: how late it was, in ms. */
function lateMs(ns: number): number {
  return round3(Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS));
}

const ZERO: LoopFigures = { elu: 0, delayP99Ms: 0, delayMaxMs: 0, delayMinMs: 0, delayMeanMs: 0, delayStddevMs: 0, delayP50Ms: 0, delayP90Ms: 0, activeMs: 0, idleMs: 0 };

/** Samples the loop every second while started. */
export class LoopSampler {
  /** The last complete window's figures. */
  last: LoopFigures = { ...ZERO };
  /** Totals since start (ms), for the nodejs.eventloop.time counter. */
  activeTotalMs = 0;
  idleTotalMs = 0;
  #delay: IntervalHistogram | undefined;
  #timer: NodeJS.Timeout | undefined;
  #prevElu: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  #lastTick = 0;
  readonly #onTick: (now: number, figures: LoopFigures, windowStart: number) => void;

  /** `onTick` runs after each window with its figures (performance.now() times). */
  constructor(onTick: (now: number, figures: LoopFigures, windowStart: number) => void) {
    this.#onTick = onTick;
  }

  start(): void {
    this.#delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
    this.#delay.enable();
    this.#prevElu = performance.eventLoopUtilization();
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#delay?.disable();
    this.#delay = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The figures over the window since the last tick when it is long enough (a quarter second), else the last window's. */
  now(): LoopFigures {
    const now = performance.now();
    if (this.#prevElu === undefined || now - this.#lastTick < 250) return { ...this.last };
    const u = performance.eventLoopUtilization(this.#prevElu);
    const d = this.#delay;
    const f = d === undefined || d.count === 0 ? { ...this.last } : figures(d);
    f.elu = round3(u.utilization);
    return f;
  }

  #sample(): void {
    const now = performance.now();
    const start = this.#lastTick;
    const u = performance.eventLoopUtilization(this.#prevElu);
    this.#prevElu = performance.eventLoopUtilization();
    const d = this.#delay;
    const f = d !== undefined && d.count > 0 ? figures(d) : { ...ZERO };
    f.elu = round3(u.utilization);
    f.activeMs = round3(u.active);
    f.idleMs = round3(u.idle);
    this.activeTotalMs += u.active;
    this.idleTotalMs += u.idle;
    d?.reset();
    this.last = f;
    this.#lastTick = now;
    this.#onTick(now, f, start);
  }
}

function figures(d: IntervalHistogram): LoopFigures {
  return {
    elu: 0,
    delayP99Ms: lateMs(d.percentile(99)),
    delayMaxMs: lateMs(d.max),
    delayMinMs: lateMs(d.min),
    delayMeanMs: lateMs(d.mean),
    delayStddevMs: round3(d.stddev / 1e6),
    delayP50Ms: lateMs(d.percentile(50)),
    delayP90Ms: lateMs(d.percentile(90)),
    activeMs: 0,
    idleMs: 0,
  };
}
