/**
 * Core costs: spawn+join against a raw call, the deferred-start floor and Effect/Effection; a
 * select over two ready waits; a ready wait inside a task against outside (AsyncLocalStorage).
 * The same measurements also run on Node 24 in a child process (`npx -p node@24`) when it can be
 * fetched, since AsyncLocalStorage costs differ by version.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Effect, Fiber } from "effect";
import * as effection from "effection";
import { WaitQueue } from "../src/core/waiter.js";
import { select, spawn } from "../src/index.js";
import { type BenchContext, type Case, compare, fmt, log, ratioTable, type Result, type Section } from "./harness.js";

async function asyncFn(i: number): Promise<number> {
  return i;
}

/** An always-ready resource on the waiter core (a ready wait costs what steward's fast path costs). */
function readyQueue(): WaitQueue<number> {
  return new WaitQueue<number>({ ready: () => true, take: () => 1 }, "bench");
}

export function spawnCases(): Case[] {
  return [
    {
      name: "await asyncFn()",
      async run(n) {
        for (let i = 0; i < n; i++) await asyncFn(i);
      },
    },
    {
      name: "queueMicrotask floor",
      async run(n) {
        for (let i = 0; i < n; i++) await new Promise<number>((r) => queueMicrotask(() => r(asyncFn(i))));
      },
    },
    {
      name: "steward spawn+join",
      async run(n) {
        for (let i = 0; i < n; i++) await spawn(() => asyncFn(i));
      },
    },
    {
      name: "Effect forkChild+join",
      async run(n) {
        await Effect.runPromise(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) {
              const f = yield* Effect.forkChild(Effect.succeed(i));
              yield* Fiber.join(f);
            }
          }),
        );
      },
    },
  ];
}

export function effectionCase(): Case {
  return {
    name: "Effection spawn+join",
    async run(n) {
      await effection.run(function* () {
        for (let i = 0; i < n; i++) {
          const t = yield* effection.spawn(function* () {
            return i;
          });
          yield* t;
        }
      });
    },
  };
}

export function waitCases(): Case[] {
  const q = readyQueue();
  const a = readyQueue();
  const b = readyQueue();
  return [
    {
      name: "ready wait, outside a task",
      async run(n) {
        for (let i = 0; i < n; i++) await q.wait(undefined);
      },
    },
    {
      name: "ready wait, inside a task",
      async run(n) {
        await spawn(async () => {
          for (let i = 0; i < n; i++) await q.wait(undefined);
        });
      },
    },
    {
      name: "await Promise.race(2 ready)",
      async run(n) {
        for (let i = 0; i < n; i++) await Promise.race([Promise.resolve(1), Promise.resolve(2)]);
      },
    },
    {
      name: "select over 2 ready waits",
      async run(n) {
        for (let i = 0; i < n; i++) await select({ a: (signal) => a.wait(undefined, { signal }), b: (signal) => b.wait(undefined, { signal }) });
      },
    },
  ];
}

interface Measured {
  node: string;
  spawn: Result[];
  effection: Result[];
  waits: Result[];
}

async function measure(quick: boolean): Promise<Measured> {
  const n = quick ? 20_000 : 200_000;
  const rounds = quick ? 3 : 7;
  const spawnRes = await compare(spawnCases(), { n, rounds });
  // Effection is ~30× slower than the rest: fewer iterations, same per-op figure.
  const eff = await compare([effectionCase()], { n: Math.max(500, n / 100), rounds });
  const waits = await compare(waitCases(), { n, rounds });
  return { node: process.version, spawn: spawnRes, effection: eff, waits };
}

function tables(m: Measured): string {
  const all = [...m.spawn, ...m.effection];
  const floor = all.find((r) => r.name === "queueMicrotask floor")!;
  const steward = all.find((r) => r.name === "steward spawn+join")!;
  const effect = all.find((r) => r.name === "Effect forkChild+join")!;
  const inTask = m.waits.find((r) => r.name === "ready wait, inside a task")!;
  const outTask = m.waits.find((r) => r.name === "ready wait, outside a task")!;
  return [
    `**Node ${m.node}** — spawn + join, one task at a time:`,
    "",
    ratioTable(all, "await asyncFn()", "× raw call"),
    "",
    `steward spawn+join = **${(steward.nsPerOp / floor.nsPerOp).toFixed(2)}×** the queueMicrotask floor (goal ≤ 1.3×), ` +
      `**${(effect.nsPerOp / steward.nsPerOp).toFixed(1)}×** faster than Effect forkChild+join (goal ≥ 10×).`,
    "",
    `Waits (a ready wait on the waiter core, with the cooperative budget on):`,
    "",
    ratioTable(m.waits, "ready wait, outside a task", "× outside a task"),
    "",
    `Inside a task a ready wait costs ${fmt(inTask.nsPerOp)} ns vs ${fmt(outTask.nsPerOp)} ns outside (${(inTask.nsPerOp / outTask.nsPerOp).toFixed(2)}×). ` +
      "Once any task has run, the AsyncLocalStorage behind currentTask() is active and, on Node 20/22, its promise hooks tax " +
      "every await in the process, inside tasks or not (compare `await asyncFn()` here with ≈ 60–100 ns in a process without it); " +
      "Node 24 has no such tax but pays per task start instead. The select row passes each branch's signal on " +
      "(`(signal) => q.wait({ signal })`): an AbortSignal costs ≈ 6 µs to create on Node 20; branches that declare no " +
      "parameter get none (see the select section).",
  ].join("\n");
}

/** Runs the same measurements on Node 24 in a child process, if npx can fetch it. */
function measureOnNode24(quick: boolean): Measured | string {
  const self = fileURLToPath(import.meta.url);
  try {
    const out = execFileSync("npx", ["-y", "-p", "node@24", "node", self, "--child", quick ? "--quick" : ""], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 240_000,
    });
    const line = out.trim().split("\n").pop()!;
    return JSON.parse(line) as Measured;
  } catch (e) {
    return `Node 24 not measured: ${(e as Error).message.split("\n")[0]}`;
  }
}

export default async function run(ctx: BenchContext): Promise<Section> {
  log("core: spawn/join and waits on this Node");
  const here = await measure(ctx.quick);
  log("core: the same on Node 24 (npx -p node@24)");
  // Quick mode stays under a minute overall: fetching Node 24 alone can take 10-15 s.
  const n24 = ctx.quick ? "Node 24: measured in the full run only (`npm run bench`)." : measureOnNode24(false);
  const parts = [tables(here), ""];
  if (typeof n24 === "string") parts.push(n24);
  else parts.push(tables(n24));
  parts.push(
    "",
    "Spawn sites: capturing one costs a V8 stack capture (≈ 4–5 µs here, async frames included), so by default only " +
      "named tasks capture theirs (`configure({ spawnSites })`); the rows above spawn unnamed tasks.",
  );
  return { title: "Tasks, select and waits (API.md §1–4)", markdown: parts.join("\n") };
}

if (process.argv.includes("--child")) {
  const m = await measure(process.argv.includes("--quick"));
  process.stdout.write(`${JSON.stringify(m)}\n`);
}
