#!/usr/bin/env node
/** The `steward` command. Subcommands grow with the console issue; for now --help and --version. */
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

const HELP = `steward ${pkg.version} — tokio's async discipline for Node.js

Usage:
  steward --help        show this help
  steward --version     print the version

The library is imported from your code: import { spawn, channel, Supervisor } from "steward".
`;

function main(argv: string[]): number {
  const arg = argv[0];
  if (arg === undefined || arg === "--help" || arg === "-h" || arg === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (arg === "--version" || arg === "-v") {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  process.stderr.write(`steward: unknown command '${arg}'\n\n${HELP}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
