/**
 * `npx tsc -p . && node dist/examples/shutdown-race/main.js [runs]`: runs the post's
 * producer/worker pair 10,000 times per variant with a shutdown in mid-flight, and prints how
 * many runs ended in an "impossible" outcome. Exits 1 if steward's count is not 0.
 */
import { runShutdownRace, type RaceCounts } from "./race.js";

const runs = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write("usage: main.js [runs]  (a whole number >= 1)\n");
  process.exit(2);
}

const { naive, naiveGrace, steward } = await runShutdownRace(runs);
const line = (c: RaceCounts): string => `${c.variant.padEnd(12)} impossible ${String(c.impossible).padStart(6)} / ${c.runs}   (ok ${c.ok}, cancelled ${c.cancelled}; ${c.ms} ms)`;
process.stdout.write(`shutdown in mid-flight, ${runs} runs each:\n${line(naive)}\n${line(naiveGrace)}\n${line(steward)}\n`);
if (steward.impossible !== 0) {
  process.stdout.write("steward let a task see a resource torn down under it\n");
  process.exitCode = 1;
}
