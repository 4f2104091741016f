#!/usr/bin/env node
// Builds the published entry points (package.json "exports" and "bin") as one esbuild bundle with
// code splitting, in the flat directory dist/bundle/. Importing the package root through Node's ES
// module loader file by file cost ~80 ms (61 files at ~1.2 ms each); one bundle loads a handful of
// files (BENCHMARKS.md, "Import time").
//
// Every module steward loads by name at run time (src/util/own-files.ts: the runtime from spawn,
// the optional parts through the extension seam, the supervisor's thread and its worker, the
// source-map helper) is an entry point too, so all of them share the bundle's chunks: a program
// that imports `steward` and `steward/fastify` and starts the console gets one copy of the
// runtime's state. src/<dir>/<name>.ts becomes <dir>.<name>.js (ownModule() knows the rule).
// Types stay tsc's (dist/src/**/*.d.ts); the source maps point at src/*.ts, which the package ships.
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { relative, resolve } from "node:path";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));

/** The published entry points, from package.json (so the two cannot drift). */
const published = [...Object.values(pkg.exports).flatMap((e) => (typeof e === "object" ? [e.default] : [])), ...Object.values(pkg.bin)];

/**
 * The modules loaded by name: every `loadOwn("…")` / `ownModule("…")` literal in src/, plus the
 * extension modules runtime/extension.ts names in its table. Read from the source, so that a new
 * by-name load cannot be left out of the bundle (it would load a second copy of the runtime).
 */
const byName = (() => {
  const found = new Set();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) {
        const text = readFileSync(p, "utf8");
        for (const m of text.matchAll(/\b(?:loadOwn|ownModule)\("([^"]+\.js)"\)/g)) found.add(m[1]);
        for (const m of text.matchAll(/\bmodule: "([^"]+\/extension\.js)"/g)) found.add(m[1]);
      }
    }
  };
  walk("src");
  return [...found].sort();
})();

const OUT = "dist/bundle";
const srcPath = (p) => `src/${p.replace(/\.js$/, ".ts")}`;
const flat = (p) => p.replace(/\.js$/, "").replaceAll("/", ".");

const entryPoints = {};
for (const file of published) {
  const m = /^\.\/dist\/bundle\/(.+)\.js$/.exec(file);
  if (m === null) throw new Error(`package.json names ${file}, which is not in ${OUT}/`);
  entryPoints[m[1]] = srcPath(m[1].replaceAll(".", "/") + ".js");
}
for (const p of byName) entryPoints[flat(p)] = srcPath(p);

/**
 * Split by reachability alone, the root's ~60 modules land in a dozen chunks (one per set of entry
 * points reaching them), and each file the ES module loader opens costs ~2 ms. So every entry
 * point also holds a reference to the root's namespace: the root's whole graph is then reached by
 * the same entry points and lands in one chunk.
 */
const ROOT = "src/index.ts";
const withRoot = {
  name: "steward-one-core-chunk",
  setup(b) {
    b.onResolve({ filter: /^steward-entry:/ }, (a) => ({ path: a.path.slice("steward-entry:".length), namespace: "steward-entry" }));
    // A module the CLI imports dynamically is an entry point of its own: it holds the reference too.
    b.onResolve({ filter: /^\./ }, (a) =>
      a.kind === "dynamic-import" ? { path: relative(process.cwd(), resolve(a.resolveDir, a.path.replace(/\.js$/, ".ts"))), namespace: "steward-entry" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "steward-entry" }, (a) => ({
      resolveDir: process.cwd(),
      loader: "js",
      // The CLI's hashbang stays at the top of its output file.
      contents: `${readFileSync(a.path, "utf8").startsWith("#!") ? "#!/usr/bin/env node\n" : ""}import * as root from "./${ROOT}";\nexport * from "./${a.path}";\nObject.isFrozen(root);\n`,
    }));
  },
};

/**
 * The supervisor's worker runs in its own thread, where no module state is shared with the main
 * thread's anyway: it is built alone, as one file, so its few modules in common with the root do
 * not split the root's chunk.
 */
const WORKER = "supervisor.watchdog";
const worker = { [WORKER]: entryPoints[WORKER] };
delete entryPoints[WORKER];
/**
 * Two small subpaths stay as they are: with the reference they would load the whole core
 * (steward/supervisor 12 -> 29 ms, steward/testing 10 -> 25 ms); without it the root opens five
 * files instead of two, which costs it ~3.4 M instructions of ~60 M (cachegrind).
 */
const SMALL = new Set(["supervisor.index", "testing.index"]);
for (const [name, file] of Object.entries(entryPoints)) if (file !== ROOT && !SMALL.has(name)) entryPoints[name] = `steward-entry:${file}`;

const common = {
  outdir: OUT,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  // Node's builtins and every package (dependencies, peers) stay external: one copy of each, the user's.
  packages: "external",
  sourcemap: "linked",
  sourcesContent: false,
  // Class and function names are part of behaviour (error names, stack frames, the console's labels).
  keepNames: true,
  // Whitespace only: a third less for V8 to parse at import (53 M instructions instead of 74 M
  // above an empty module's import, cachegrind); names and the src/*.ts source maps stay.
  minifyWhitespace: true,
  define: { STEWARD_BUNDLED: "true" },
  legalComments: "none",
  // package.json's "sideEffects" describes the shipped files, not src/*.ts: esbuild must not drop
  // src/diagnostics/install.ts's bare import by it (everything bundled here is steward's own code).
  ignoreAnnotations: true,
  metafile: true,
  logLevel: "warning",
};

rmSync(OUT, { recursive: true, force: true });
const main = await build({ ...common, entryPoints, splitting: true, chunkNames: "chunk-[hash]", plugins: [withRoot] });
const alone = await build({ ...common, entryPoints: worker });
const outputs = { ...main.metafile.outputs, ...alone.metafile.outputs };

// "sideEffects" in package.json must name every output file that runs code when imported.
// Modules with top-level effects: which output holds them is found in the metafile.
const effectful = ["src/diagnostics/install.ts", "src/cli/main.ts", "src/supervisor/watchdog.ts"];
const globs = (Array.isArray(pkg.sideEffects) ? pkg.sideEffects : []).map((g) => new RegExp(`^${g.replace(/^\.\//, "").replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*")}$`));
for (const [out, meta] of Object.entries(outputs)) {
  const has = effectful.filter((m) => m in meta.inputs);
  if (has.length > 0 && !globs.some((g) => g.test(out))) throw new Error(`${out} holds ${has.join(", ")} (top-level effects) but package.json "sideEffects" does not name it`);
}
const files = Object.keys(outputs).filter((o) => o.endsWith(".js"));
const entries = Object.keys(entryPoints).length + 1;
console.log(`bundle: ${entries} entry points and ${files.length - entries} shared chunks in ${OUT}/`);
