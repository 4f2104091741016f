/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) as self time per function, the way the "Where
 * the floor is" notes in BENCHMARKS.md quote them: `node dist/bench/prof-summary.js FILE.cpuprofile
 * [top]`. Functions are keyed by name and file (the file's last two path parts); "(program)" and
 * "(garbage collector)" are V8's own.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function, largest first: [label, µs, share]. */
export function selfTimes(p: Profile): [string, number, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i] ?? 0;
    const f = n.callFrame;
    const file = f.url === "" ? "" : ` ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    const key = `${f.functionName === "" ? "(anonymous)" : f.functionName}${file}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us, us / total]);
}

const [file, top] = process.argv.slice(2);
if (file !== undefined) {
  const rows = selfTimes(JSON.parse(readFileSync(file, "utf8")) as Profile);
  for (const [k, us, share] of rows.slice(0, Number(top ?? 15))) process.stdout.write(`${(share * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}\n`);
}
