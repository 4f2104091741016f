// Every export of the package root carries a doc comment (the README promises it; this keeps it true).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../../", import.meta.url));

test("every root export has a doc comment", () => {
  const program = ts.createProgram([`${root}src/index.ts`], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true });
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
