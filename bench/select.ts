/**
 * select (API.md §3) against Promise.race, the peer a user would otherwise write: two ready
 * branches in the shapes users write them (branches that ignore their signal, branches that pass
 * it on, async branches), and one ready branch beside a pending sleep (the loser's timer must be
 * withdrawn, which Promise.race never does).
 *
 * Every figure comes from a fresh child process, on this Node and on Node 24 (`npx -p node@24`),
 * twice: in a process where no task has run yet, and in one where steward's AsyncLocalStorage is
 * already active (a task has run), since on Node 20/22 an active ALS taxes every await.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WaitQueue } from "../src/core/waiter.js";
import { select, sleep, spawn } from "../src/index.js";
import { type BenchContext, type Case, fmt, log, median, type Result, type Section } from "./harness.js";

/** An always-ready resource on the waiter core: the wait costs what steward's fast path costs. */
function readyQueue(): WaitQueue<number> {
  return new WaitQueue<number>({ ready: () => true, take: () => 1 }, "bench");
}

function neverSettles(): Promise<number> {
  return new Promise<number>(() => {});
}

/**
 * The cases, in two groups measured in separate processes: an async branch enters an
 * AsyncLocalStorage frame, which on Node 20/22 turns on promise hooks for the rest of the process,
 * so it must not run in the same process as the "fresh" figures of the others.
 */
export function selectCases(group: "main" | "async"): Case[] {
  const a = readyQueue();
  const b = readyQueue();
  const race: Case = {
    name: "await Promise.race(2 ready)",
    async run(n) {
      for (let i = 0; i < n; i++) await Promise.race([Promise.resolve(1), Promise.resolve(2)]);
    },
  };
  if (group === "async") {
    return [
      race,
      {
        name: "select, 2 ready, async () => q.wait()",
        async run(n) {
          for (let i = 0; i < n; i++) await select({ a: async () => a.wait(undefined), b: async () => b.wait(undefined) });
        },
      },
    ];
  }
  return [
    race,
    {
      name: "select, 2 ready, () => q.wait()",
      async run(n) {
        for (let i = 0; i < n; i++) await select({ a: () => a.wait(undefined), b: () => b.wait(undefined) });
      },
    },
    {
      name: "select, 2 ready, (signal) => q.wait({ signal })",
      async run(n) {
        for (let i = 0; i < n; i++) await select({ a: (signal) => a.wait(undefined, { signal }), b: (signal) => b.wait(undefined, { signal }) });
      },
    },
    {
      name: "await Promise.race(ready, pending)",
      async run(n) {
        for (let i = 0; i < n; i++) await Promise.race([Promise.resolve(1), neverSettles()]);
      },
    },
    {
      name: "select, ready + () => sleep(1000)",
      async run(n) {
        for (let i = 0; i < n; i++) await select({ a: () => a.wait(undefined), t: () => sleep(1000) });
      },
    },
  ];
}

interface Measured {
  node: string;
  als: boolean;
  results: Result[];
}

/** A row of the report: a case and the Promise.race it is compared with, from the same process. */
interface Row {
  name: string;
  nsPerOp: number;
  peerNs: number;
}

/**
 * As harness.compare (interleaved rounds, median), but in CPU time (user + system) rather than
 * wall time: the machine these figures come from is shared by several busy processes, and wall
 * time there measured the neighbours as much as the code.
 */
async function compareCpu(cases: Case[], n: number, rounds: number): Promise<Result[]> {
  for (const c of cases) await c.run(Math.max(1, Math.floor(n / 5)));
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const t0 = process.cpuUsage();
      await cases[i]!.run(n);
      const d = process.cpuUsage(t0);
      samples[i]!.push(((d.user + d.system) * 1000) / n);
    }
  }
  return cases.map((c, i) => ({ name: c.name, nsPerOp: median(samples[i]!) }));
}

async function measure(quick: boolean, als: boolean, group: "main" | "async"): Promise<Measured> {
  if (als) await spawn(() => 1); // steward's AsyncLocalStorage is active from here on
  const n = quick ? 5_000 : 40_000;
  const results = await compareCpu(selectCases(group), n, quick ? 3 : 9);
  return { node: process.version, als, results };
}

function rows(m: Measured): Row[] {
  const peer = (name: string): number => {
    const p = name.includes("pending") || name.includes("sleep") ? "await Promise.race(ready, pending)" : "await Promise.race(2 ready)";
    return m.results.find((r) => r.name === p)!.nsPerOp;
  };
  return m.results.map((r) => ({ name: r.name, nsPerOp: r.nsPerOp, peerNs: peer(r.name) }));
}

/** Both groups of cases for one Node and one ALS state; the async row keeps its own process's peer. */
function child(node: "self" | "24", als: boolean, quick: boolean): { node: string; rows: Row[] } | string {
  const main = childGroup(node, als, quick, "main");
  if (typeof main === "string") return main;
  const asy = childGroup(node, als, quick, "async");
  if (typeof asy === "string") return asy;
  const r = rows(main);
  const [, ...asyncRows] = rows(asy);
  r.splice(4, 0, ...asyncRows);
  return { node: main.node, rows: r };
}

function childGroup(node: "self" | "24", als: boolean, quick: boolean, group: "main" | "async"): Measured | string {
  const self = fileURLToPath(import.meta.url);
  const args = [self, "--child", group, ...(als ? ["--als"] : []), ...(quick ? ["--quick"] : [])];
  try {
    const out =
      node === "self"
        ? execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
        : execFileSync("npx", ["-y", "-p", "node@24", "node", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 300_000 });
    return JSON.parse(out.trim().split("\n").pop()!) as Measured;
  } catch (e) {
    return `not measured: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** One table: rows are the cases, columns are {fresh, ALS active} × {ns/op, × Promise.race}. */
function table(fresh: Row[], active: Row[]): string {
  const lines = ["| case | fresh CPU ns/op | × race | ALS active CPU ns/op | × race |", "| --- | ---: | ---: | ---: | ---: |"];
  for (const r of fresh) {
    const a = active.find((x) => x.name === r.name)!;
    lines.push(`| ${r.name} | ${fmt(r.nsPerOp)} | ${(r.nsPerOp / r.peerNs).toFixed(2)} | ${fmt(a.nsPerOp)} | ${(a.nsPerOp / a.peerNs).toFixed(2)} |`);
  }
  return lines.join("\n");
}

export default async function run(ctx: BenchContext): Promise<Section> {
  const parts: string[] = [];
  for (const node of ["self", "24"] as const) {
    if (node === "24" && ctx.quick) {
      parts.push("Node 24: measured in the full run only (`npm run bench`).");
      continue;
    }
    log(`select: Node ${node === "self" ? process.version : "24"}, fresh and ALS-active processes`);
    const fresh = child(node, false, ctx.quick);
    const active = child(node, true, ctx.quick);
    if (typeof fresh === "string" || typeof active === "string") {
      parts.push(`Node ${node}: ${typeof fresh === "string" ? fresh : (active as string)}`, "");
      continue;
    }
    parts.push(`**Node ${fresh.node}** (CPU ns per select; ratios against Promise.race in the same process):`, "", table(fresh.rows, active.rows), "");
  }
  parts.push(
    "A branch function that declares no parameter gets no AbortSignal (none is made: on Node 20 creating one costs ≈ 6 µs); " +
      "the steward waits it starts synchronously are claimed without one. A branch that declares its signal pays for it. " +
      "An async branch runs in its own AsyncLocalStorage frame so that its later waits are claimed too. " +
      "Promise.race is not a peer in behaviour: it consumes both ready values and never withdraws the pending loser.",
  );
  return { title: "select (API.md §3)", markdown: parts.join("\n") };
}

if (process.argv.includes("--child")) {
  const group = process.argv.includes("async") ? "async" : "main";
  const m = await measure(process.argv.includes("--quick"), process.argv.includes("--als"), group);
  process.stdout.write(`${JSON.stringify(m)}\n`);
  // The pending sleeps of the old implementation would keep a child alive.
  process.exit(0);
}
