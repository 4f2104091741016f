// Every export of steward/redis carries a doc comment, as the root's do (test/package/docs.test.ts);
// and the core never imports the Redis module or its client. Syntax only (no type checker): fast.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const src = fileURLToPath(new URL("../../../src/", import.meta.url));

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
}

void test("every steward/redis export has a doc comment, and the core never imports it", () => {
  // The names index.ts re-exports, and the module each comes from.
  const index = parse(join(src, "redis/index.ts"));
  const wanted = new Map<string, string>();
  for (const st of index.statements) {
    if (!ts.isExportDeclaration(st) || st.exportClause === undefined || !ts.isNamedExports(st.exportClause)) continue;
    const from = (st.moduleSpecifier as ts.StringLiteral).text.replace(/\.js$/, ".ts");
    for (const el of st.exportClause.elements) wanted.set((el.propertyName ?? el.name).text, from);
  }
  assert.ok(wanted.size >= 14, `only ${wanted.size} exports found`);
  const missing: string[] = [];
  for (const [name, from] of wanted) {
    const sf = parse(join(src, "redis", from));
    const decl = sf.statements.find((st) => (st as { name?: ts.Identifier }).name?.text === name);
    assert.ok(decl !== undefined, `${name} is not declared in ${from}`);
    if (ts.getJSDocCommentsAndTags(decl).length === 0) missing.push(name);
  }
  assert.deepEqual(missing, [], `exports without a doc comment: ${missing.join(", ")}`);

  for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith(".ts")) continue;
    const file = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    if (file.startsWith(join(src, "redis"))) continue;
    assert.doesNotMatch(readFileSync(file, "utf8"), /from "(\.\.?\/)+redis\/|from "redis"/, `${file} imports the Redis module`);
  }
});
