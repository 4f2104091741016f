// Every export of the package root carries a doc comment (the README promises it; this keeps it true).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../../", import.meta.url));

test("every root export has a doc comment", () => {
  const program = ts.createProgram([`${root}src/index.ts`], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(`${root}src/index.ts`)!;
  const moduleSymbol = checker.getSymbolAtLocation(index)!;
  const missing: string[] = [];
  const exports = checker.getExportsOfModule(moduleSymbol);
  for (const exp of exports) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const doc = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
    if (doc === "") missing.push(exp.getName());
  }
  assert.ok(exports.length > 60, `only ${exports.length} exports found`);
  assert.deepEqual(missing, [], `exports without a doc comment: ${missing.join(", ")}`);
});

// ---------------------------------------------------------------------------------------------
// Every ```ts snippet of README.md type-checks against the published types (dist/src/*.d.ts,
// resolved through the package's own "exports", as a user's import of "steward" is).

/**
 * What README snippets use without defining: each with the type a user's code would give it, so
 * the snippet is checked as it would be in their program. A snippet that uses a name missing here
 * fails the test: add it (precisely typed, not `any`).
 */
const DECLARATIONS: Record<string, string> = {
  url: "declare const url: string;",
  heartbeat: "declare function heartbeat(task: { signal: AbortSignal }): Promise<void>;",
  flushMetrics: "declare function flushMetrics(): Promise<void>;",
  ids: "declare const ids: string[];",
  load: "declare function load(id: string): Promise<number>;",
  use: "declare function use(value: number): void;",
  partA: "declare function partA(): Promise<string>;",
  partB: "declare function partB(): Promise<number>;",
  log: "declare function log(reason: unknown): void;",
  poll: "declare function poll(signal: AbortSignal): Promise<string>;",
  tick: "declare function tick(n: number): void;",
  Msg: "interface Msg { id: number; body: string }",
  rx: "declare const rx: Receiver<Msg>;",
  mutex: "declare const mutex: Mutex<Map<string, number>>;",
  handle:
    "declare function handle(msg: Msg): void;\n" +
    "declare function handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void>;\n" +
    "declare function handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, jobs: unknown, signal: AbortSignal): Promise<void>;",
  pool: "declare const pool: { query(sql: string, opts?: { signal?: AbortSignal }): Promise<unknown[]> };",
  sql: "declare const sql: string;",
  batch: "declare function batch(): Promise<void>;",
  Config: "interface Config { port: number }",
  loadConfig: "declare function loadConfig(): Promise<Config>;",
  Job: "interface Job { id: number }",
  job: "declare const job: Job;",
  signal: "declare const signal: AbortSignal;",
  work: "declare function work(job: Job): Promise<void>;",
  sink: "declare const sink: NodeJS.WritableStream;",
  Readable: 'import { Readable } from "node:stream";',
  http: 'import http from "node:http";',
  initialConfig: "declare const initialConfig: Config;",
  openDb: "declare function openDb(): Promise<AsyncDisposable>;",
  image: "declare const image: Uint8Array;",
  tenantId: "declare const tenantId: string;",
  redis: 'declare const redis: import("redis").RedisClientType;',
  RedisMutex: 'import { RedisMutex } from "steward/redis";',
  pg: "declare const pg: { query(sql: string, params: unknown[]): Promise<{ rowCount: number | null }> };",
  state: "declare const state: string;",
  id: "declare const id: number;",
};
/** Declarations some entries above rely on. */
const DEPENDS: Record<string, string[]> = { rx: ["Msg"], handle: ["Msg"], loadConfig: ["Config"], initialConfig: ["Config"], job: ["Job"], work: ["Job"] };

interface Snippet {
  line: number;
  code: string;
}

function readmeSnippets(): Snippet[] {
  const text = readFileSync(`${root}README.md`, "utf8");
  const out: Snippet[] = [];
  const re = /^```ts\n([\s\S]*?)^```/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ line: text.slice(0, m.index).split("\n").length + 1, code: m[1]! });
  }
  return out;
}

/** The snippet as a module: `imports` from "steward" (names the snippet uses without importing them), then `decls`, then its code. */
function moduleText(s: Snippet, imports: string[], decls: string[]): string {
  const head = imports.length > 0 ? `import { ${imports.join(", ")} } from "steward";` : 'import * as __steward from "steward";';
  return [head, ...decls, "export {};", s.code].join("\n");
}

function typeCheck(files: Map<string, string>, old?: ts.Program): ts.Program {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
    types: ["node"],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    const text = files.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  return ts.createProgram({ rootNames: [...files.keys()], options, host, ...(old === undefined ? {} : { oldProgram: old }) });
}

test("every ts snippet of README.md type-checks against the published types", () => {
  const snippets = readmeSnippets();
  assert.ok(snippets.length >= 8, `only ${snippets.length} snippets found`);
  const fileOf = (i: number): string => `${root}test/package/__readme_snippet_${i}__.ts`;
  // Pass 1: which names does each snippet use without defining them, and which of those are steward's?
  const bare = new Map(snippets.map((s, i) => [fileOf(i), moduleText(s, [], [])]));
  const first = typeCheck(bare);
  const checker = first.getTypeChecker();
  const firstImport = first.getSourceFile(fileOf(0))!.statements[0] as ts.ImportDeclaration;
  const stewardExports = new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(firstImport.moduleSpecifier)!).map((e) => e.getName()));
  assert.ok(stewardExports.size > 60, "the package's own exports resolve");
  const unknown = new Map<string, Set<string>>();
  for (const d of ts.getPreEmitDiagnostics(first)) {
    // 2304/2552: "Cannot find name 'x'"; 18004: "No value exists in scope for the shorthand property 'x'".
    if (d.file === undefined || !bare.has(d.file.fileName) || (d.code !== 2304 && d.code !== 2552 && d.code !== 18004)) continue;
    const name = /(?:Cannot find name|shorthand property) '([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, "\n"))?.[1];
    if (name === undefined) continue;
    let set = unknown.get(d.file.fileName);
    if (set === undefined) unknown.set(d.file.fileName, (set = new Set()));
    set.add(name);
  }
  const undeclared: string[] = [];
  // Pass 2: steward's names imported, the others declared.
  const full = new Map<string, string>();
  snippets.forEach((s, i) => {
    const imports: string[] = [];
    const wanted = new Set<string>();
    const add = (n: string): void => {
      if (wanted.has(n)) return;
      wanted.add(n);
      for (const dep of DEPENDS[n] ?? []) add(dep);
    };
    for (const n of unknown.get(fileOf(i)) ?? []) {
      if (stewardExports.has(n)) imports.push(n);
      else if (DECLARATIONS[n] === undefined) undeclared.push(`README.md:${s.line} uses '${n}'`);
      else add(n);
    }
    const decls = [...wanted].map((n) => DECLARATIONS[n]!);
    // The declarations name steward's types too (`Receiver<Msg>`): import those as well.
    const own = new Set(
      [...s.code.matchAll(/import\s*\{([^}]*)\}\s*from\s*"steward[^"]*"/g)].flatMap((m) =>
        m[1]!.split(",").map((x) =>
          x
            .trim()
            .replace(/^type\s+/, "")
            .split(/\s+as\s+/)
            .pop()!,
        ),
      ),
    );
    for (const word of decls.join(" ").match(/[A-Za-z_$][\w$]*/g) ?? []) if (stewardExports.has(word) && !imports.includes(word) && !own.has(word)) imports.push(word);
    full.set(fileOf(i), moduleText(s, imports, decls));
  });
  assert.deepEqual(undeclared, [], "declare these in DECLARATIONS (test/package/docs.test.ts)");
  const second = typeCheck(full, first);
  const errors: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(second)) {
    if (d.file === undefined || !full.has(d.file.fileName)) continue;
    const i = [...full.keys()].indexOf(d.file.fileName);
    const prelude = full.get(d.file.fileName)!.split("\n").length - snippets[i]!.code.split("\n").length;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    errors.push(`README.md:${snippets[i]!.line + line - prelude}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
  }
  assert.deepEqual(errors, []);
});
