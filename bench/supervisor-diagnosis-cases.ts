/**
 * The user's code of the supervisor diagnosis bench (bench/supervisor-diagnosis.ts): 22 ways a
 * real service blocks its event loop. Each case is a user function that blocks for about half a
 * second or more; the line marked `// @case:<name>` is the line the report should point at, in
 * this .ts file, inside the function named in CASES (a case whose user function spends its time
 * on several lines marks each). `at()` records when the block really began
 * and ended (inside callbacks, where it begins there).
 */
import { Buffer } from "node:buffer";
import { generateKeyPairSync, randomBytes, scryptSync } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Readable, Transform, type TransformCallback, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const require = createRequire(import.meta.url);

/** When the block of the case that runs now began and ended (epoch ms). */
export const span = { start: 0, end: 0 };
function now(): number {
  return performance.timeOrigin + performance.now();
}
function begin(): void {
  span.start = now();
}
function finish(): void {
  span.end = now();
}

export interface Case {
  /** The user function the report should name. */
  fn: string;
  run(): unknown;
}

// ---------------------------------------------------------------------------------------------
// Inputs, made once before any case runs (making them blocks too).

interface Inputs {
  yaml: string;
  markdown: string;
  email: string;
  orders: { id: number; items: number[] }[];
  zlibInput: Buffer;
  jsonBody: string;
  exportData: unknown[];
  tree: Tree;
  attachment: Buffer;
  wasm: WasmInstance;
  nearLimitDepth: number;
  modulesDir: string;
}

interface Tree {
  next?: Tree;
  leaf?: { i: number; s: string }[];
}

let inputs: Inputs | undefined;

/** The little of the WebAssembly API used here (@types/node 20 does not declare it). */
interface WasmInstance {
  exports: Record<string, unknown>;
}
const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => WasmInstance } }).WebAssembly;

/** A WebAssembly module with one export, spin(n): counts to n in a loop. Hand-assembled. */
function wasmModule(): WasmInstance {
  // prettier-ignore
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
    0x03, 0x02, 0x01, 0x00, // function 0 has type 0
    0x07, 0x08, 0x01, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, // export "spin"
    0x0a, 0x19, 0x01, 0x17, 0x01, 0x01, 0x7f, // code: one body, one i32 local
    0x03, 0x40, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x20, 0x01, 0x20, 0x00, 0x49, 0x0d, 0x00, 0x0b,
    0x20, 0x01, 0x0b,
  ]);
  return new WA.Instance(new WA.Module(bytes));
}

function spin(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x++;
  return x;
}

export function nested(n: number, target: number, ms: number): number {
  if (n < target) return nested(n + 1, target, ms) + 1;
  return spin(ms) > 0 ? 0 : 1; // @case:deep-recursion
}

function maxNestedDepth(): number {
  let lo = 0;
  let hi = 100_000;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      nested(0, mid, 0);
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

export function prepareInputs(): void {
  // Load the libraries now: a case's first run must not measure a module load.
  for (const m of ["bcryptjs", "js-yaml", "marked", "markdown-it", "lodash"]) require(m);
  const yamlDoc = Array.from({ length: 60_000 }, (_, i) => `item${i}:\n  name: "service ${i}"\n  ports: [${i}, ${i + 1}, ${i + 2}]\n  enabled: true\n`).join("");
  const md = Array.from({ length: 30_000 }, (_, i) => `## Section ${i}\n\nSome *emphasis* and **strong** text with a [link](http://example.com/${i}) and \`code\`.\n\n- one\n- two\n\n`).join("");
  const tree = ((): Tree => {
    let t: Tree = { leaf: Array.from({ length: 120_000 }, (_, i) => ({ i, s: `x${i}` })) };
    for (let i = 0; i < 150; i++) t = { next: t };
    return t;
  })();
  for (let i = 0; i < 5; i++) maxNestedDepth();
  inputs = {
    yaml: yamlDoc,
    markdown: md,
    email: `${"a".repeat(31)}!`,
    orders: Array.from({ length: 2500 }, (_, i) => ({ id: i % 2400, items: [i % 7, i % 11, i % 13] })),
    zlibInput: Buffer.concat(
      Array.from({ length: 40 }, () =>
        Buffer.from(
          randomBytes(512 * 1024)
            .toString("hex")
            .slice(0, 1024 * 1024),
        ),
      ),
    ),
    jsonBody: JSON.stringify(Array.from({ length: 200_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b"], score: i * 1.5 }))),
    exportData: Array.from({ length: 500_000 }, (_, i) => ({ id: i, name: `row ${i}`, values: [i, i * 2, i * 3], ok: i % 2 === 0 })),
    tree,
    attachment: randomBytes(120 * 1024 * 1024),
    wasm: wasmModule(),
    nearLimitDepth: maxNestedDepth(),
    modulesDir: join(fileURLToPath(new URL("../../node_modules", import.meta.url))),
  };
}

function input(): Inputs {
  if (inputs === undefined) throw new Error("prepareInputs() first");
  return inputs;
}

// ---------------------------------------------------------------------------------------------
// The user's functions

export function hashPassword(pw: string): string {
  const bcrypt = require("bcryptjs") as { hashSync(pw: string, rounds: number): string };
  return bcrypt.hashSync(pw, 12); // @case:bcryptjs
}

export function loadConfig(text: string): unknown {
  const yaml = require("js-yaml") as { load(s: string): unknown };
  return yaml.load(text); // @case:js-yaml
}

export function renderMarkdown(md: string): string {
  const marked = require("marked") as { marked: { parse(s: string, o: { async: false }): string } };
  return marked.marked.parse(md, { async: false }); // @case:marked
}

export function renderDocs(md: string): string {
  const MarkdownIt = require("markdown-it") as new () => { render(s: string): string };
  return new MarkdownIt().render(md); // @case:markdown-it
}

export function isValidEmail(s: string): boolean {
  return /^([a-zA-Z0-9]+[._-]?)+@example\.com$/.test(s); // @case:regex
}

export function dedupeOrders(orders: { id: number; items: number[] }[]): unknown[] {
  const _ = require("lodash") as { uniqWith<T>(a: T[], eq: (x: T, y: T) => boolean): T[]; isEqual(a: unknown, b: unknown): boolean };
  return _.uniqWith(orders, _.isEqual); // @case:lodash
}

export function compressReport(buf: Buffer): Buffer {
  return gzipSync(buf, { level: 9 }); // @case:zlib
}

export function walkTree(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    // @case:dir-walk
    const p = join(dir, name); // @case:dir-walk
    const st = statSync(p, { throwIfNoEntry: false }); // @case:dir-walk
    n++;
    if (st?.isDirectory() === true) n += walkTree(p);
  }
  return n;
}

export function waitForSlot(ms: number): string {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return Atomics.wait(cell, 0, 0, ms); // @case:atomics-wait
}

export function runWasm(n: number): number {
  const spinWasm = input().wasm.exports.spin as (n: number) => number;
  return spinWasm(n); // @case:wasm
}

export class CsvTransform extends Transform {
  constructor() {
    super({ objectMode: true });
  }
  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    begin();
    spin(600); // @case:stream
    finish();
    cb(null, chunk);
  }
}

export class ReportBuilder {
  rows = 0;
  build(ms: number): number {
    this.rows = spin(ms); // @case:class-method
    return this.rows;
  }
}

export function parseUpload(body: string): unknown {
  return JSON.parse(body); // @case:json-parse
}

export function serializeExport(data: unknown[]): string {
  return JSON.stringify(data); // @case:json-stringify
}

export function deriveKey(pw: string): Buffer {
  return scryptSync(pw, "salt", 64, { N: 2 ** 16, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }); // @case:scrypt
}

export function makeKeys(): unknown {
  return generateKeyPairSync("rsa", { modulusLength: 4096 }); // @case:rsa-keygen
}

export function cloneTree(t: Tree): Tree {
  const _ = require("lodash") as { cloneDeep<T>(v: T): T };
  return _.cloneDeep(t); // @case:deep-library
}

export function encodeAttachment(buf: Buffer): string {
  return buf.toString("base64"); // @case:buffer-base64
}

/** Runs `fn` as the block: records its span. */
function timed<T>(fn: () => T): T {
  begin();
  try {
    return fn();
  } finally {
    finish();
  }
}

/** The cases, in report order. Worker is run by the driver (it needs a worker thread). */
export const CASES: Record<string, Case> = {
  bcryptjs: { fn: "hashPassword", run: () => timed(() => hashPassword("hunter2")) },
  "js-yaml": { fn: "loadConfig", run: () => timed(() => loadConfig(input().yaml)) },
  marked: { fn: "renderMarkdown", run: () => timed(() => renderMarkdown(input().markdown)) },
  "markdown-it": { fn: "renderDocs", run: () => timed(() => renderDocs(input().markdown)) },
  regex: { fn: "isValidEmail", run: () => timed(() => isValidEmail(input().email)) },
  lodash: { fn: "dedupeOrders", run: () => timed(() => dedupeOrders(input().orders)) },
  zlib: { fn: "compressReport", run: () => timed(() => compressReport(input().zlibInput)) },
  "dir-walk": { fn: "walkTree", run: () => timed(() => walkTree(input().modulesDir) + walkTree(input().modulesDir)) },
  "atomics-wait": { fn: "waitForSlot", run: () => timed(() => waitForSlot(600)) },
  wasm: { fn: "runWasm", run: () => timed(() => runWasm(1_500_000_000)) },
  stream: {
    fn: "CsvTransform._transform",
    run: () =>
      pipeline(
        Readable.from([{ row: 1 }]),
        new CsvTransform(),
        new Writable({
          objectMode: true,
          write: (_c, _e, cb) => cb(),
        }),
      ),
  },
  timer: {
    fn: "onTick",
    run: () =>
      new Promise<void>((resolve) => {
        setTimeout(function onTick() {
          begin();
          spin(600); // @case:timer
          finish();
          resolve();
        }, 1);
      }),
  },
  then: {
    fn: "afterFetch",
    run: () =>
      Promise.resolve(42).then(function afterFetch(v) {
        begin();
        spin(600); // @case:then
        finish();
        return v;
      }),
  },
  "class-method": { fn: "ReportBuilder.build", run: () => timed(() => new ReportBuilder().build(600)) },
  "json-parse": { fn: "parseUpload", run: () => timed(() => parseUpload(input().jsonBody)) },
  "json-stringify": { fn: "serializeExport", run: () => timed(() => serializeExport(input().exportData)) },
  scrypt: { fn: "deriveKey", run: () => timed(() => deriveKey("hunter2")) },
  "rsa-keygen": { fn: "makeKeys", run: () => timed(() => makeKeys()) },
  "deep-library": { fn: "cloneTree", run: () => timed(() => cloneTree(input().tree)) },
  "deep-recursion": { fn: "nested", run: () => timed(() => nested(0, input().nearLimitDepth - 30, 600)) },
  "buffer-base64": { fn: "encodeAttachment", run: () => timed(() => encodeAttachment(input().attachment)) },
};
