#!/usr/bin/env node
/** The `steward` command: --help, --version, `steward console [URL]` (the live console) and `steward replay FILE` (a flight-recorder dump). */
import { readFileSync } from "node:fs";
import { packageFile } from "../util/own-files.js";

const pkg = JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string };

const HELP = `steward ${pkg.version} — tokio's async discipline for Node.js

Usage:
  steward console [URL]   the live console of a running program: tasks, resources, warnings
                          (the program runs with new Runtime({ console: true }) or STEWARD_CONSOLE=1;
                          URL defaults to http://127.0.0.1:6669/; --once prints one snapshot)
  steward replay FILE     a flight-recorder dump as a timeline, in a browser (or --tui, --once):
                          what every task did and waited on before the trigger
  steward --help          show this help
  steward --version       print the version

The library is imported from your code: import { spawn, channel, Supervisor } from "steward".
`;

async function main(argv: string[]): Promise<number> {
  const arg = argv[0];
  if (arg === undefined || arg === "--help" || arg === "-h" || arg === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (arg === "--version" || arg === "-v") {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (arg === "console") {
    // Loaded only for this subcommand, so --help and --version stay instant.
    const { runConsoleCommand } = await import("../console/client/tui.js");
    return runConsoleCommand(argv.slice(1));
  }
  if (arg === "replay") {
    const { runReplayCommand } = await import("./replay.js");
    return runReplayCommand(argv.slice(1));
  }
  process.stderr.write(`steward: unknown command '${arg}'\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`steward: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
