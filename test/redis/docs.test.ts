// Every export of steward/redis carries a doc comment, as the root's do (test/package/docs.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../../", import.meta.url));

void test("every steward/redis export has a doc comment, and the core never imports it", () => {
  const file = `${root}src/redis/index.ts`;
  const program = ts.createProgram([file, `${root}src/index.ts`], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!);
  const missing = exports
    .filter((exp) => {
      const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      return ts.displayPartsToString(sym.getDocumentationComment(checker)).trim() === "";
    })
    .map((e) => e.getName());
  assert.ok(exports.length >= 14, `only ${exports.length} exports found`);
  assert.deepEqual(missing, [], `exports without a doc comment: ${missing.join(", ")}`);
  // The core (everything outside src/redis) must not reach the Redis module or the client.
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(`${root}src/`) || sf.fileName.startsWith(`${root}src/redis/`)) continue;
    assert.doesNotMatch(sf.text, /from "(\.\.?\/)+redis\/|from "redis"/, `${sf.fileName} imports the Redis module`);
  }
});
