/**
 * Breadcrumbs: the few heavy native calls V8 cannot interrupt leave their caller's stack in
 * shared memory on entry.
 *
 * The probe rides a V8 interrupt, which a long native call (JSON.parse, scryptSync, RSA key
 * generation, base64 of a large buffer) takes only when it returns: the stack comes late, and for
 * JSON.parse it comes after the user's function has returned, blaming the wrong one. A sampling
 * profiler has the same limit from the inspector (its data can only be read on the blocked
 * thread). So the known heavy calls are wrapped: above a size gate, the wrapper captures the
 * stack (≈ 10 µs, against a call of a millisecond or more), writes it to the thread's shared
 * buffer and marks the breadcrumb open; on return it marks it closed. A watchdog that finds the
 * thread blocked with an open breadcrumb reports that stack at once.
 *
 * Below the gate a wrapped call costs one type check and one length comparison. JSON.stringify
 * is not wrapped: V8 takes interrupts inside it (measured), so the probe sees it live.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";
import { captureFrames, currentRequestId, currentTaskInfo } from "./probe.js";
import { type Crumb, CRUMB_BYTES, crumbView, F_CRUMB_AT, float64View, I_CRUMB_LEN, I_CRUMB_SEQ, int32View, now, type RawFrame } from "./shared.js";

/** Strings and buffers from this size up leave a breadcrumb (JSON.parse of 256 K chars takes ≈ 1–3 ms). */
export const TEXT_GATE = 256 * 1024;
export const BUFFER_GATE = 1024 * 1024;
/** Frames kept in a breadcrumb (the record must fit its 32 KiB slot). */
const CRUMB_FRAMES = 200;

let i32: Int32Array | undefined;
let f64: Float64Array | undefined;
let bytes: Uint8Array | undefined;
let requestIdHook: (() => unknown) | undefined;
/** Nested tracked calls (a reviver that parses again): only the outermost writes. */
let depth = 0;
const encoder = new TextEncoder();

/** Opens the breadcrumb: the caller of `wrapper` is inside `call`. */
function enter(call: string, size: number | undefined, wrapper: (...args: never[]) => unknown): boolean {
  if (i32 === undefined || depth++ > 0) return i32 !== undefined;
  try {
    let frames: RawFrame[] = captureFrames(wrapper, CRUMB_FRAMES);
    frames.unshift([call, "", 0, 0]);
    const crumb: Crumb = { call, frames };
    if (size !== undefined) crumb.size = size;
    const task = currentTaskInfo();
    if (task !== undefined) crumb.task = task;
    const rid = currentRequestId(requestIdHook);
    if (rid !== undefined) crumb.requestId = rid;
    for (;;) {
      const json = JSON.stringify(crumb);
      const r = encoder.encodeInto(json, bytes!);
      if (r.read === json.length) {
        i32[I_CRUMB_LEN] = r.written;
        break;
      }
      // Too big for the slot: keep the innermost frames.
      frames = frames.slice(0, Math.max(1, frames.length >> 1));
      crumb.frames = frames;
    }
    f64![F_CRUMB_AT] = now();
    Atomics.add(i32, I_CRUMB_SEQ, 1); // odd: open
  } catch {
    // A breadcrumb is a help, never a failure of the user's call.
    depth--;
    return false;
  }
  return true;
}

function leave(): void {
  if (--depth === 0 && i32 !== undefined) Atomics.add(i32, I_CRUMB_SEQ, 1); // even: closed
}

/** What was wrapped: the owner, the property and the original, for uninstall. */
const wrapped: { owner: Record<string, unknown>; key: string; original: unknown; wrapper: unknown }[] = [];

function wrap<F extends (...args: never[]) => unknown>(owner: object, key: string, make: (original: F) => F): void {
  const o = owner as Record<string, unknown>;
  const original = o[key];
  if (typeof original !== "function") return;
  const wrapper = make(original as F);
  Object.defineProperty(wrapper, "name", { value: (original as F).name });
  Object.defineProperty(wrapper, "length", { value: (original as F).length });
  o[key] = wrapper;
  wrapped.push({ owner: o, key, original, wrapper });
}

type Gate = (self: unknown, a0: unknown, a1: unknown, a2: unknown) => number | undefined;
type Call = (self: unknown, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown) => unknown;

/**
 * Wraps a function that always gets a breadcrumb, or one whose size gate decides. No `arguments`
 * object and a direct `call` with the arguments given (trailing undefined ones dropped, which the
 * wrapped functions treat as absent), so V8 optimises the call below the gate as a direct one.
 */
function tracked<F extends (...args: never[]) => unknown>(call: string, size?: Gate) {
  return (original: F): F => {
    const fn = original as unknown as { call: Call };
    const forward: Call = (self, a0, a1, a2, a3, a4) =>
      a4 !== undefined
        ? fn.call(self, a0, a1, a2, a3, a4)
        : a3 !== undefined
          ? fn.call(self, a0, a1, a2, a3)
          : a2 !== undefined
            ? fn.call(self, a0, a1, a2)
            : a1 !== undefined
              ? fn.call(self, a0, a1)
              : a0 !== undefined
                ? fn.call(self, a0)
                : fn.call(self);
    const wrapper = function (this: unknown, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown): unknown {
      let n: number | undefined;
      if (size !== undefined) {
        n = size(this, a0, a1, a2);
        if (n === undefined) return forward(this, a0, a1, a2, a3, a4);
      }
      if (!enter(call, n, wrapper)) return forward(this, a0, a1, a2, a3, a4);
      try {
        return forward(this, a0, a1, a2, a3, a4);
      } finally {
        leave();
      }
    };
    return wrapper as unknown as F;
  };
}

function byteLengthOf(x: unknown): number | undefined {
  if (typeof x === "string") return x.length;
  if (ArrayBuffer.isView(x)) return x.byteLength;
  return undefined;
}

function gated(n: number | undefined, gate: number): number | undefined {
  return n !== undefined && n >= gate ? n : undefined;
}

/**
 * Installs the wrappers and points the breadcrumb at `sab` (the calling thread's shared buffer).
 * Each thread has its own builtins: this wraps the calling thread's.
 */
export function installBreadcrumbs(sab: SharedArrayBuffer, requestId: (() => unknown) | undefined): void {
  i32 = int32View(sab);
  f64 = float64View(sab);
  bytes = crumbView(sab);
  requestIdHook = requestId;
  depth = 0;
  if (wrapped.length > 0) return;
  const load = createRequire(import.meta.url);
  wrap(
    JSON,
    "parse",
    tracked("JSON.parse", (_s, text) => (typeof text === "string" && text.length >= TEXT_GATE ? text.length : undefined)),
  );
  const crypto = load("node:crypto") as Record<string, unknown>;
  wrap(crypto, "scryptSync", tracked("crypto.scryptSync"));
  wrap(
    crypto,
    "pbkdf2Sync",
    tracked("crypto.pbkdf2Sync", (_s, _p, _salt, iterations) => (typeof iterations === "number" && iterations >= 1000 ? iterations : undefined)),
  );
  wrap(
    crypto,
    "generateKeyPairSync",
    tracked("crypto.generateKeyPairSync", (_s, _type, opts) => modulusLength(opts)),
  );
  wrap(crypto, "generateKeySync", tracked("crypto.generateKeySync"));
  wrap(
    crypto,
    "generatePrimeSync",
    tracked("crypto.generatePrimeSync", (_s, bits) => (typeof bits === "number" ? bits : 0)),
  );
  wrap(crypto, "checkPrimeSync", tracked("crypto.checkPrimeSync"));
  wrap(
    crypto,
    "hash",
    tracked("crypto.hash", (_s, _alg, data) => gated(byteLengthOf(data), BUFFER_GATE)),
  );
  const createHash = crypto.createHash as (alg: string) => object;
  const createHmac = crypto.createHmac as (alg: string, key: string) => object;
  for (const [label, proto] of [
    ["Hash#update", Object.getPrototypeOf(createHash("sha256")) as object],
    ["Hmac#update", Object.getPrototypeOf(createHmac("sha256", "k")) as object],
  ] as const) {
    wrap(
      proto,
      "update",
      tracked(label, (_s, data) => gated(byteLengthOf(data), BUFFER_GATE)),
    );
  }
  wrap(
    Buffer.prototype as object,
    "toString",
    tracked("Buffer#toString", (self) => gated((self as Buffer).length, BUFFER_GATE)),
  );
  wrap(
    Buffer,
    "from",
    tracked("Buffer.from", (_s, x) => gated(typeof x === "string" ? x.length : undefined, BUFFER_GATE)),
  );
  // `import { scryptSync } from "node:crypto"` bindings follow the CommonJS exports from here on.
  syncBuiltinESMExports();
}

function modulusLength(opts: unknown): number | undefined {
  if (opts === null || typeof opts !== "object") return 0;
  const m = (opts as { modulusLength?: unknown }).modulusLength;
  return typeof m === "number" ? m : 0;
}

/** Restores every wrapped function that still holds our wrapper, and closes the breadcrumb. */
export function uninstallBreadcrumbs(): void {
  for (const w of wrapped.splice(0)) {
    if (w.owner[w.key] === w.wrapper) w.owner[w.key] = w.original;
  }
  if (i32 !== undefined && (Atomics.load(i32, I_CRUMB_SEQ) & 1) === 1) Atomics.add(i32, I_CRUMB_SEQ, 1);
  i32 = undefined;
  f64 = undefined;
  bytes = undefined;
  requestIdHook = undefined;
  syncBuiltinESMExports();
}

/** The watchdog's read of an open breadcrumb: the record and when the call began, or undefined. */
export function readCrumb(sab: SharedArrayBuffer): { crumb: Crumb; since: number } | undefined {
  const i = int32View(sab);
  const seq = Atomics.load(i, I_CRUMB_SEQ);
  if ((seq & 1) === 0) return undefined;
  const len = Math.min(Atomics.load(i, I_CRUMB_LEN), CRUMB_BYTES);
  const since = float64View(sab)[F_CRUMB_AT]!;
  // slice() copies into an unshared buffer, which TextDecoder accepts.
  const copy = crumbView(sab).slice(0, len);
  if (Atomics.load(i, I_CRUMB_SEQ) !== seq) return undefined; // it left (and maybe re-entered) meanwhile
  try {
    return { crumb: JSON.parse(new TextDecoder().decode(copy)) as Crumb, since };
  } catch {
    return undefined;
  }
}
