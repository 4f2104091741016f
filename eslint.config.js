// Type-aware lint (typescript-eslint's recommendedTypeChecked): its main job is to catch floating
// and misused promises. Rules turned off below say why on the line above them.
import tseslint from "typescript-eslint";

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
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] }] },
      ],
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
