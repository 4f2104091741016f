/**
 * Import time (issue 13): CPU time of `await import()` of the package root and of each subpath, in
 * a fresh process each time (nothing cached, no steward context active: an import runs before any
 * task), against the same import of an empty module (what Node's ES module loader costs anyway).
 * Rounds interleave the modules, so load on the machine hits them alike; best and median shown.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchContext, Section } from "./harness.js";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Module, what a user writes to get it. */
const MODULES: [string, string][] = [
  ["index.js", `import "steward"`],
  ["http/handle.js", `import "steward/http"`],
  ["http/fastify.js", `import "steward/fastify"`],
  ["http/express.js", `import "steward/express"`],
  ["supervisor/index.js", `import "steward/supervisor"`],
  ["testing/index.js", `import "steward/testing"`],
  ["task/spawn.js", "task/spawn.js alone (the core of spawn)"],
];

/** CPU ms (user + system) that importing `url` takes in a fresh process. */
function importCpuMs(url: string): number {
  const code = `const t = process.cpuUsage(); await import(${JSON.stringify(url)}); const c = process.cpuUsage(t); console.log((c.user + c.system) / 1000);`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
  return Number(out.trim().split("\n").pop());
}

const fmt = (x: number): string => x.toFixed(1);

export default async function importTime(ctx: BenchContext): Promise<Section> {
  const rounds = ctx.quick ? 5 : 15;
  const dir = mkdtempSync(join(tmpdir(), "steward-import-"));
  try {
    const empty = join(dir, "empty.mjs");
    writeFileSync(empty, "export {};\n");
    const targets = [pathToFileURL(empty).href, ...MODULES.map(([m]) => pathToFileURL(join(SRC, m)).href)];
    const samples = targets.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) targets.forEach((u, i) => samples[i]!.push(importCpuMs(u)));
    const stats = samples.map((s) => {
      s.sort((a, b) => a - b);
      return { best: s[0]!, median: s[s.length >> 1]! };
    });
    const rows = [
      `| an empty module (the loader's own cost) | ${fmt(stats[0]!.best)} | ${fmt(stats[0]!.median)} |`,
      ...MODULES.map(([m, what], i) => `| ${what.startsWith("import") ? `\`${what}\`` : what} (dist/src/${m}) | ${fmt(stats[i + 1]!.best)} | ${fmt(stats[i + 1]!.median)} |`),
    ];
    return {
      title: "Import time (issue 13)",
      markdown: [`CPU ms to import, fresh process each, ${rounds} interleaved rounds. Goal for the package root: ≤ 20 ms.`, "", "| module | best | median |", "| --- | ---: | ---: |", ...rows].join(
        "\n",
      ),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
