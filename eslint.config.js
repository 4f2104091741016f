// Type-aware lint (typescript-eslint's recommendedTypeChecked): its main job is to catch floating
// and misused promises. Rules turned off below say why on the line above them.
import tseslint from "typescript-eslint";

/** A layer rule: files matching `files` may not import (other than type-only) what `regex` matches. */
function layer(files, regex, message) {
  return [{ files, rules: { "@typescript-eslint/no-restricted-imports": ["error", { patterns: [{ regex, allowTypeImports: true, message }] }] } }];
}

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "eslint.config.js", "coverage/**"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] }] }],
      // async functions without await are the usual shape of an async callback a task or test takes.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // 389 findings, nearly all `xs[i]!`: the code marks indexed reads as if noUncheckedIndexedAccess were on.
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
      // Waits reject with `signal.reason`, which is `any` by the DOM's typing: the AbortSignal convention.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Every finding saves a method to patch and restore it (Error.prepareStackTrace, server.emit), called with .call.
      "@typescript-eslint/unbound-method": "off",
      // String(x) of an unknown value is how messages and snapshots describe whatever a user passed.
      "@typescript-eslint/no-base-to-string": "off",
      // `const self = this` is kept for `function` patches that have their own `this`.
      "@typescript-eslint/no-this-alias": ["error", { allowedNames: ["self"] }],
    },
  },
  // The layers (ARCHITECTURE.md): each folder imports only the ones below it; type-only imports
  // are free (they vanish at runtime). The optional parts attach through runtime/extension.ts,
  // which loads them by name, never by an import.
  ...layer(["src/errors.ts"], "^\\.", "errors.ts is a leaf: it imports nothing of steward"),
  ...layer(["src/util/**/*.ts"], "^\\.\\./", "util/ is a leaf: it imports nothing of steward outside util/"),
  ...layer(["src/core/**/*.ts"], "^\\.\\./(?!util/|errors\\.js$)", "core/ imports only util/ and errors.ts"),
  ...layer(["src/cancel/**/*.ts"], "^\\.\\./(?!util/|core/|errors\\.js$)", "cancel/ imports only core/, util/ and errors.ts"),
  ...layer(
    ["src/{task,sync,channel,time,select}/**/*.ts"],
    "^\\.\\./(runtime|console|supervisor|recorder|pool|http|redis|limiter|cli)/",
    "the primitives know nothing of the runtime or the optional parts",
  ),
  ...layer(["src/runtime/**/*.ts"], "^\\.\\./(console|supervisor|recorder|pool|http|redis|limiter|cli)/", "the runtime reaches optional parts only through runtime/extension.ts"),
  {
    // Tests and benchmarks reach into untyped internals and third-party objects on purpose.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
    },
  },
);
