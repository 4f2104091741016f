/**
 * The recorder's memory: a fixed ring of 24-byte events in one ArrayBuffer (format.ts), and a
 * bounded table of the strings they refer to. Writing an event is five stores into typed arrays:
 * no allocation, no object per event; the oldest events are overwritten.
 */
import { RECORD_BYTES, RECORD_WORDS } from "./format.js";

/** A ring of events. */
export class EventRing {
  readonly bytes: number;
  readonly capacity: number;
  readonly #f64: Float64Array;
  readonly #u32: Uint32Array;
  #pos = 0;
  /** Events written since the ring was made (those beyond `capacity` overwrote older ones). */
  written = 0;

  constructor(bytes: number) {
    this.capacity = Math.max(16, Math.floor(bytes / RECORD_BYTES));
    this.bytes = this.capacity * RECORD_BYTES;
    const buf = new ArrayBuffer(this.bytes);
    this.#f64 = new Float64Array(buf);
    this.#u32 = new Uint32Array(buf);
  }

  /** Appends one event (see format.ts for the fields). */
  put(t: number, type: number, x8: number, x16: number, task: number, a: number, b: number): void {
    const i = this.#pos;
    const w = i * RECORD_WORDS;
    this.#f64[w >> 1] = t;
    const u = this.#u32;
    u[w + 2] = type | (x8 << 8) | (x16 << 16);
    u[w + 3] = task;
    u[w + 4] = a;
    u[w + 5] = b;
    this.#pos = i + 1 === this.capacity ? 0 : i + 1;
    this.written++;
  }

  /** The type of the latest event (0 when empty). */
  lastType(): number {
    if (this.written === 0) return 0;
    const i = this.#pos === 0 ? this.capacity - 1 : this.#pos - 1;
    return this.#u32[i * RECORD_WORDS + 2]! & 0xff;
  }

  /** Sets field `b` of the latest event. */
  setLastB(b: number): void {
    if (this.written === 0) return;
    const i = this.#pos === 0 ? this.capacity - 1 : this.#pos - 1;
    this.#u32[i * RECORD_WORDS + 5] = b;
  }

  /** Events held now. */
  get length(): number {
    return Math.min(this.written, this.capacity);
  }

  /** A copy of the events held, oldest first (one allocation, two memcpys). */
  copy(): Buffer {
    const n = this.length;
    const out = Buffer.allocUnsafe(n * RECORD_BYTES);
    const src = new Uint8Array(this.#u32.buffer);
    if (this.written <= this.capacity) {
      out.set(src.subarray(0, n * RECORD_BYTES), 0);
    } else {
      const head = this.#pos * RECORD_BYTES;
      out.set(src.subarray(head), 0);
      out.set(src.subarray(0, head), this.bytes - head);
    }
    return out;
  }
}

/** Slots of the string table: strings newer than the last this many can be resolved. */
export const STRING_SLOTS = 1 << 15;

/**
 * Interned strings, by id (1, 2, 3, ...). The table keeps the latest {@link STRING_SLOTS}; a
 * string used again after its slot was reused gets a new id, so an id in a recent event always
 * resolves. An event older than that many new strings may name one that is gone ("?" in a dump).
 */
export class StringTable {
  readonly #ids = new Map<string, number>();
  readonly #texts: (string | undefined)[] = new Array<string | undefined>(STRING_SLOTS);
  #next = 1;

  intern(s: string): number {
    const id = this.#ids.get(s);
    if (id !== undefined && this.#next - id < STRING_SLOTS) return id;
    const fresh = this.#next++;
    this.#texts[fresh & (STRING_SLOTS - 1)] = s;
    if (this.#ids.size >= 2 * STRING_SLOTS) this.#ids.clear();
    this.#ids.set(s, fresh);
    return fresh;
  }

  /** The text of `id`, or undefined when it is 0 or no longer kept. */
  text(id: number): string | undefined {
    if (id === 0 || id >= this.#next || this.#next - id > STRING_SLOTS) return undefined;
    return this.#texts[id & (STRING_SLOTS - 1)];
  }
}
