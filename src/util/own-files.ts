/**
 * Where steward's own files are, for the few places that find one at run time: a module loaded by
 * name (the runtime from `spawn`, the optional parts through the extension seam, the supervisor's
 * thread and worker), an asset (the console's web page), package.json, and the own-frame filters
 * that leave steward's frames out of spawn and await sites.
 *
 * The code runs from two layouts, and only this module knows them:
 * - unbundled, `dist/src/<path>.js` as tsc emits it (what the tests import);
 * - bundled, the published entry points: one flat directory `dist/bundle/` of esbuild output
 *   (scripts/bundle.mjs), where the module `src/<dir>/<name>.ts` is the file `<dir>.<name>.js`
 *   and the code of this file sits in some chunk of that same directory. The bundle defines
 *   `STEWARD_BUNDLED` as true, so the layout is known without looking at file names.
 */
import { fileURLToPath } from "node:url";
import { join, sep } from "node:path";

declare const STEWARD_BUNDLED: boolean | undefined;

/** True in the esbuild bundle (scripts/bundle.mjs defines it), false when run as tsc emitted it. */
const BUNDLED: boolean = typeof STEWARD_BUNDLED === "boolean" && STEWARD_BUNDLED;

/** The directory of steward's compiled modules: dist/src/ (this file is dist/src/util/own-files.js) or dist/bundle/. */
const CODE_ROOT = new URL(BUNDLED ? "./" : "../", import.meta.url);

/** The package's root directory (where package.json is): both layouts sit two levels below it. */
const PACKAGE_ROOT = new URL("../../", CODE_ROOT);

/**
 * The absolute path of a module of steward by its path under src/ with a .js extension
 * ("runtime/runtime.js"), for require() or a Worker. In the bundle, that module is one of its
 * entry points, so it shares the bundle's chunks (one copy of the runtime's state) with the rest.
 */
export function ownModule(path: string): string {
  return fileURLToPath(new URL(BUNDLED ? path.replaceAll("/", ".") : path, CODE_ROOT));
}

/**
 * Loads a module of steward by name (see {@link ownModule}), synchronously: require() of an ES
 * module (Node >= 20.19), which shares the ES module cache with `import`. node:module is looked
 * up here rather than imported, so importing the package root does not load it.
 */
export function loadOwn(path: string): unknown {
  return process.getBuiltinModule("node:module").createRequire(import.meta.url)(ownModule(path));
}

/** The file URL of a file beside steward's compiled modules, by its path under src/ ("console/client/web/"). */
export function codeFile(path: string): URL {
  return new URL(path, CODE_ROOT);
}

/** The file URL of a file the package ships, by its path from the package root ("src/console/client/web/"). */
export function packageFile(path: string): URL {
  return new URL(path, PACKAGE_ROOT);
}

/**
 * steward's own code directories, each ending in a path separator: the compiled modules and the
 * TypeScript sources (which frames name under --enable-source-maps). A frame in one of them is
 * steward's, not the user's.
 */
export const OWN_DIRS: readonly string[] = [fileURLToPath(CODE_ROOT), join(fileURLToPath(PACKAGE_ROOT), "src") + sep].map((d) => (d.endsWith(sep) ? d : d + sep));

/** The compiled modules' directory (the first of OWN_DIRS), ending in a path separator. */
export const OWN_DIR: string = OWN_DIRS[0]!;
