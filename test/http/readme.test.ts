// The README's "Services" examples type-check against the built package, imported the way a user
// imports it ("steward", "steward/fastify", "steward/express"), with strict TypeScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function servicesSnippets(): string[] {
  const readme = readFileSync(`${root}README.md`, "utf8");
  const start = readme.indexOf("\n## Services\n");
  assert.ok(start >= 0, "README has a Services section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

void test("the README's Services examples (Fastify and Express) type-check against the package's exports", { timeout: 60_000 }, () => {
  const snippets = servicesSnippets();
  assert.ok(snippets.length >= 2, `found ${snippets.length} examples`);
  assert.ok(snippets.some((s) => s.includes('from "steward/fastify"')));
  assert.ok(snippets.some((s) => s.includes('from "steward/express"')));
  // Inside the package, so "steward" resolves to itself through package.json "exports".
  const dir = `${root}dist/readme-snippets/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const files = snippets.map((code, i) => {
      const f = `${dir}services-${i}.ts`;
      writeFileSync(f, code);
      return f;
    });
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts", "lib.dom.d.ts"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
    });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file === undefined ? "" : `${d.file.fileName.slice(dir.length)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: `;
      return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
    });
    assert.deepEqual(diags, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
