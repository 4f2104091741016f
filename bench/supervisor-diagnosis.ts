/**
 * The supervisor's diagnosis table (issue 15): 22 real ways a Node service blocks its loop, each
 * run inside an HTTP request's task on a node:http server in a child process, with the supervisor
 * on. For each run: did the report name the user's function, at its .ts line, and the request's
 * task; was the stack written while the loop was still blocked; how long after the block began.
 *
 * `node dist/bench/supervisor-diagnosis.js [--runs N] [--root path/to/steward/dist/src/index.js]`
 * prints the table (the supervisor bench includes it in BENCHMARKS.md); `--root` runs the same
 * cases against another build of steward (last round's), side by side.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeSync } from "node:fs";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { median, percentile } from "./harness.js";

const CHILD_FLAG = "--diagnosis-child";
const SELF = fileURLToPath(import.meta.url);
const CASES_TS = fileURLToPath(new URL("../../bench/supervisor-diagnosis-cases.ts", import.meta.url));
const WORKER_TS = fileURLToPath(new URL("../../bench/supervisor-diagnosis-worker.ts", import.meta.url));

/** Case names in table order; "worker" runs on a worker thread. */
const ORDER = [
  "bcryptjs",
  "js-yaml",
  "marked",
  "markdown-it",
  "regex",
  "lodash",
  "zlib",
  "dir-walk",
  "atomics-wait",
  "wasm",
  "stream",
  "timer",
  "then",
  "class-method",
  "worker",
  "json-parse",
  "json-stringify",
  "scrypt",
  "rsa-keygen",
  "deep-library",
  "deep-recursion",
  "buffer-base64",
];

const LABELS: Record<string, string> = {
  bcryptjs: "bcryptjs hashSync (cost 12)",
  "js-yaml": "js-yaml load of a 4 MB document",
  marked: "marked parse of 3 MB of markdown",
  "markdown-it": "markdown-it render of 3 MB",
  regex: "a validation regex, catastrophic backtracking",
  lodash: "lodash uniqWith(isEqual), O(n²)",
  zlib: "zlib gzipSync of 40 MB, level 9",
  "dir-walk": "a synchronous directory walk (node_modules ×2)",
  "atomics-wait": "Atomics.wait 600 ms",
  wasm: "WebAssembly loop",
  stream: "a Transform stream's _transform",
  timer: "a setTimeout callback",
  then: "a then() callback",
  "class-method": "a class method",
  worker: "a worker thread's job (its own task)",
  "json-parse": "JSON.parse of a 13 MB body",
  "json-stringify": "JSON.stringify of a 500k-row export",
  scrypt: "crypto.scryptSync (N = 2^16)",
  "rsa-keygen": "RSA-4096 generateKeyPairSync",
  "deep-library": "lodash cloneDeep, user frame ~470 frames down",
  "deep-recursion": "user recursion 30 frames from the stack limit",
  "buffer-base64": "Buffer#toString('base64') of 120 MB",
};

function now(): number {
  return performance.timeOrigin + performance.now();
}

// =============================================================================================
// Child: the service

async function child(): Promise<void> {
  const root = process.env.STEWARD_ROOT ?? "../src/index.js";
  const steward = (await import(root)) as typeof import("../src/index.js");
  const cases = await import("./supervisor-diagnosis-cases.js");
  cases.prepareInputs();
  const event = (kind: string) => (e: unknown) => writeSync(2, `EVENT ${JSON.stringify({ kind, ...(e as object) })}\n`);
  const sup = steward.Supervisor.start({ report: "json", startupGraceMs: 0 });
  sup.on("blocked", event("blocked")).on("unblocked", event("unblocked"));
  await sup.ready();
  const worker = new Worker(new URL("./supervisor-diagnosis-worker.js", import.meta.url), {
    env: { ...process.env, STEWARD_DIAGNOSIS_WORKER: "1", STEWARD_ROOT: root.startsWith("/") ? pathToFileURL(root).href : root },
  });
  await new Promise((r) => worker.once("message", r));
  let n = 0;
  const server = createServer((req, res) => {
    const name = (req.url ?? "").replace(/^\/case\//, "");
    const task = `GET /case/${name} #${++n}`;
    void steward.spawn(
      async () => {
        let span: { start: number; end: number };
        if (name === "worker") {
          worker.postMessage("go");
          span = await new Promise((r) => worker.once("message", r));
        } else {
          await cases.CASES[name]!.run();
          span = { ...cases.span };
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ...span, task: name === "worker" ? "resize job" : task }));
      },
      { name: task },
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
  for await (const line of createInterface({ input: process.stdin })) if (line === "exit") break;
  server.close();
  await worker.terminate();
  await sup.stop();
  process.exit(0);
}

// =============================================================================================
// Driver

interface Frame {
  functionName: string;
  file: string;
  line: number;
}
interface Record_ {
  steward?: string;
  event?: string;
  kind?: string;
  episode?: number;
  thread?: string | number;
  at?: number;
  writtenAt?: number;
  stack?: Frame[];
  sameStackAs?: number;
  stackCapture?: string;
  task?: { name?: string };
  index: number;
}

export interface Outcome {
  name: string;
  named: boolean;
  line: boolean;
  task: boolean;
  live: boolean;
  latencyMs: number | undefined;
  note: string;
}

function markerLines(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const file of [CASES_TS, WORKER_TS]) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((l, i) => {
        const m = /\/\/ @case:([\w-]+)/.exec(l);
        if (m !== null) out.set(m[1]!, [...(out.get(m[1]!) ?? []), i + 1]);
      });
  }
  return out;
}

const FNS: Record<string, string> = {
  bcryptjs: "hashPassword",
  "js-yaml": "loadConfig",
  marked: "renderMarkdown",
  "markdown-it": "renderDocs",
  regex: "isValidEmail",
  lodash: "dedupeOrders",
  zlib: "compressReport",
  "dir-walk": "walkTree",
  "atomics-wait": "waitForSlot",
  wasm: "runWasm",
  stream: "_transform",
  timer: "onTick",
  then: "afterFetch",
  "class-method": "ReportBuilder.build",
  worker: "resizeImage",
  "json-parse": "parseUpload",
  "json-stringify": "serializeExport",
  scrypt: "deriveKey",
  "rsa-keygen": "makeKeys",
  "deep-library": "cloneTree",
  "deep-recursion": "nested",
  "buffer-base64": "encodeAttachment",
};

/** Runs every case `runs` times against the steward build at `root` (undefined: this one). */
export async function diagnose(runs: number, root?: string, log: (s: string) => void = () => {}): Promise<Outcome[]> {
  const cp = spawn(process.execPath, ["--max-old-space-size=4096", SELF, CHILD_FLAG], {
    env: { ...process.env, ...(root !== undefined ? { STEWARD_ROOT: root } : {}) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: string[] = [];
  createInterface({ input: cp.stderr! }).on("line", (l) => lines.push(l));
  const out = createInterface({ input: cp.stdout! })[Symbol.asyncIterator]();
  const first = await out.next();
  if (first.done === true) throw new Error(`diagnosis child ended early:\n${lines.join("\n")}`);
  const base = `http://127.0.0.1:${first.value.trim()}`;
  const spans: { name: string; start: number; end: number; task: string }[] = [];
  for (let r = 0; r < runs; r++) {
    for (const name of ORDER) {
      log(`  diagnosis ${name} (${r + 1}/${runs})`);
      const res = await fetch(`${base}/case/${name}`);
      spans.push({ name, ...((await res.json()) as { start: number; end: number; task: string }) });
      await new Promise((z) => setTimeout(z, 400));
    }
  }
  cp.stdin!.end("exit\n");
  await new Promise((r) => cp.on("close", r));

  const records: Record_[] = [];
  const events: Record_[] = [];
  lines.forEach((l, index) => {
    if (l.startsWith('{"steward":"supervisor"')) records.push({ ...(JSON.parse(l) as Record_), index });
    else if (l.startsWith("EVENT ")) events.push({ ...(JSON.parse(l.slice(6)) as Record_), index });
  });
  const markers = markerLines();
  const outcomes: Outcome[] = [];
  for (const s of spans) {
    const o: Outcome = { name: s.name, named: false, line: false, task: false, live: false, latencyMs: undefined, note: "" };
    outcomes.push(o);
    // The episode: the first blocked record seen during the block.
    const b = records.find((r) => r.event === "blocked" && r.at !== undefined && r.at >= s.start - 5 && r.at <= s.end + 50);
    if (b === undefined) {
      o.note = "not reported";
      continue;
    }
    // The stack: from the listener event of the episode (every episode reaches listeners whole),
    // or, for a build without episode ids, from the records that follow the blocked one.
    let stack: Frame[] | undefined;
    let task: string | undefined;
    let stackAt: number | undefined;
    if (b.episode !== undefined) {
      const ev = events.find((e) => e.kind === "blocked" && e.episode === b.episode);
      stack = ev?.stack;
      task = ev?.task?.name;
      const withStack = records.find((r) => r.episode === b.episode && ((r.stack?.length ?? 0) > 0 || r.sameStackAs !== undefined) && (r.event === "blocked" || r.event === "stack"));
      stackAt = withStack?.writtenAt;
    } else {
      const withStack = records.find((r) => r.index >= b.index && (r.event === "blocked" || r.event === "stack") && (r.stack?.length ?? 0) > 0 && r.index <= b.index + 3);
      stack = withStack?.stack;
      task = withStack?.task?.name;
      stackAt = withStack?.writtenAt;
    }
    const fn = FNS[s.name]!;
    const frame = stack?.find((f) => f.functionName.includes(fn) && /supervisor-diagnosis-(cases|worker)\.ts$/.test(f.file));
    o.named = frame !== undefined;
    o.line = frame !== undefined && (markers.get(s.name) ?? []).includes(frame.line);
    o.task = task === s.task;
    o.live = stackAt !== undefined && stackAt <= s.end;
    o.latencyMs = stackAt !== undefined ? stackAt - s.start : undefined;
    if (!o.named) o.note = stack === undefined || stack.length === 0 ? "no stack" : `top: ${stack[0]!.functionName}`;
    else if (!o.line) o.note = `line ${frame!.line}, marked ${(markers.get(s.name) ?? []).join(" or ")}`;
  }
  return outcomes;
}

/** The table: per case, the share of runs that got each right, and the median latency. */
export function diagnosisTable(outcomes: Outcome[], labelled = true): { markdown: string; full: number; total: number; medianMs: number; p90Ms: number; runs: number; allRight: number } {
  const rows = ["| case | named the user's function | its .ts line | the request's task | while still blocked | latency p50 (ms) |", "| --- | ---: | ---: | ---: | ---: | ---: |"];
  let full = 0;
  const lat: number[] = [];
  let allRight = 0;
  for (const name of ORDER) {
    const os = outcomes.filter((o) => o.name === name);
    const n = os.length;
    const c = (f: (o: Outcome) => boolean): string => `${os.filter(f).length}/${n}`;
    const l = os.map((o) => o.latencyMs).filter((x): x is number => x !== undefined);
    lat.push(...l);
    const right = os.filter((o) => o.named && o.line && o.task && o.live).length;
    allRight += right;
    if (right * 2 > n) full++;
    const notes = [...new Set(os.map((o) => o.note).filter((x) => x !== ""))].join("; ");
    rows.push(
      `| ${labelled ? (LABELS[name] ?? name) : name} | ${c((o) => o.named)} | ${c((o) => o.line)} | ${c((o) => o.task)} | ${c((o) => o.live)} | ${l.length > 0 ? median(l).toFixed(0) : "–"}${notes !== "" ? ` (${notes})` : ""} |`,
    );
  }
  return { markdown: rows.join("\n"), full, total: ORDER.length, medianMs: lat.length > 0 ? median(lat) : NaN, p90Ms: lat.length > 0 ? percentile(lat, 90) : NaN, runs: outcomes.length, allRight };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const runs = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 3;
  const root = argv.includes("--root") ? argv[argv.indexOf("--root") + 1] : undefined;
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const outcomes = await diagnose(runs, root, log);
  const t = diagnosisTable(outcomes);
  process.stdout.write(
    `${t.markdown}\n\n${t.full}/${t.total} cases right in most runs (all four columns); ${t.allRight}/${t.runs} runs; stack written ${t.medianMs.toFixed(0)} ms (p50) / ${t.p90Ms.toFixed(0)} ms (p90) after the block began\n`,
  );
  process.stdout.write(`${JSON.stringify(outcomes)}\n`);
}

if (process.argv[2] === CHILD_FLAG) await child();
else if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
void now;
