/**
 * Import time (issue 13): CPU time of `await import()` of each published entry point, by package
 * name as a user writes it (package.json "exports": the esbuild bundle in dist/bundle/), in a
 * fresh process each time (nothing cached, no steward context active: an import runs before any
 * task), against the same import of an empty module (what Node's ES module loader costs anyway)
 * and of the unbundled root as tsc emits it (dist/src/, what the tests import). Rounds interleave
 * the modules, so load on the machine hits them alike; best and median shown.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchContext, Section } from "./harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What a user imports (the bundle), and the same module as tsc emits it (dist/src/, unbundled). */
const MODULES: [string, string][] = [
  ["steward", "index.js"],
  ["steward/http", "http/handle.js"],
  ["steward/fastify", "http/fastify.js"],
  ["steward/express", "http/express.js"],
  ["steward/supervisor", "supervisor/index.js"],
  ["steward/console", "console/index.js"],
  ["steward/testing", "testing/index.js"],
];

/** CPU ms (user + system) that importing `spec` takes in a fresh process inside the package (so "steward" resolves to itself). */
function importCpuMs(spec: string): number {
  const code = `const t = process.cpuUsage(); await import(${JSON.stringify(spec)}); const c = process.cpuUsage(t); console.log((c.user + c.system) / 1000);`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" });
  return Number(out.trim().split("\n").pop());
}

const fmt = (x: number): string => x.toFixed(1);

export default async function importTime(ctx: BenchContext): Promise<Section> {
  const rounds = ctx.quick ? 5 : 15;
  const dir = mkdtempSync(join(tmpdir(), "steward-import-"));
  try {
    const empty = join(dir, "empty.mjs");
    writeFileSync(empty, "export {};\n");
    const targets = [pathToFileURL(empty).href, ...MODULES.flatMap(([spec, file]) => [spec, pathToFileURL(join(ROOT, "dist/src", file)).href])];
    const samples = targets.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) targets.forEach((u, i) => samples[i]!.push(importCpuMs(u)));
    const cell = (i: number): string => {
      const s = samples[i]!.sort((a, b) => a - b);
      return `${fmt(s[0]!)} (${fmt(s[s.length >> 1]!)})`;
    };
    const rows = [
      `| an empty module (the loader's own cost) | ${cell(0)} | |`,
      ...MODULES.map(([spec, file], i) => `| \`import "${spec}"\` (dist/src/${file} unbundled) | ${cell(2 * i + 1)} | ${cell(2 * i + 2)} |`),
    ];
    return {
      title: "Import time (issue 13)",
      markdown: [
        `CPU ms to import on Node ${process.version}, fresh process each, ${rounds} interleaved rounds, load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(" / ")} at the end. Goal for the package root: ≤ 20 ms.`,
        "",
        "| module | bundle (shipped): best (median) | unbundled: best (median) |",
        "| --- | ---: | ---: |",
        ...rows,
      ].join("\n"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
