/**
 * The drain scenario of issue 14 (SIGTERM with 200 requests in flight) against the service in
 * fixtures/framework-service.ts, shared by drain-adapters.test.ts (runs now) and
 * drain-adapters.pending.ts (runs once shutdown drains before it cancels). Not a test file.
 */
import { spawn as spawnProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";

const FIXTURE = fileURLToPath(new URL("./fixtures/framework-service.js", import.meta.url));
export const IN_FLIGHT = 200;

export interface DrainOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  statuses: number[];
  bodies: { aborted: boolean; task: string }[];
  errors: string[];
  /** Index in stdout's lines of "onClose <n>", and n. */
  onClose: { line: number; sent: number } | undefined;
  /** How many responses had arrived when the child printed onClose (the client side). */
  receivedBeforeExit: number;
}

/** Starts the service, puts 200 requests in flight, sends SIGTERM, and collects everything. */
export async function drainScenario(framework: "fastify" | "express", mode: "timer" | "steward"): Promise<DrainOutcome> {
  const child = spawnProcess(process.execPath, [FIXTURE, framework, mode], { env: { ...process.env, STEWARD_FIXTURE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  const waitFor = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(stdout);
        if (m !== null) resolve(m);
        else if (child.exitCode !== null) reject(new Error(`child exited: ${stdout}\n${stderr}`));
        else waiters.push(check);
      };
      check();
    });
  try {
    const port = Number((await waitFor(/listening (\d+)/))[1]);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: IN_FLIGHT, pipelining: 1 });
    const statuses: number[] = [];
    const bodies: { aborted: boolean; task: string }[] = [];
    const errors: string[] = [];
    const all = Array.from({ length: IN_FLIGHT }, () =>
      pool.request({ path: "/work", method: "GET" }).then(
        async (r) => {
          statuses.push(r.statusCode);
          const text = await r.body.text();
          try {
            bodies.push(JSON.parse(text) as { aborted: boolean; task: string });
          } catch {
            errors.push(`${r.statusCode} ${text}`);
          }
        },
        (e: unknown) => void errors.push(String((e as { code?: string }).code ?? e)),
      ),
    );
    await waitFor(new RegExp(`inflight ${IN_FLIGHT}\\n`));
    child.kill("SIGTERM");
    await Promise.all(all);
    const received = statuses.length;
    const code = await exited;
    await pool.close();
    const lines = stdout.split("\n");
    const i = lines.findIndex((l) => l.startsWith("onClose "));
    return {
      code,
      stdout,
      stderr,
      statuses,
      bodies,
      errors,
      onClose: i < 0 ? undefined : { line: i, sent: Number(lines[i]!.slice(8)) },
      receivedBeforeExit: received,
    };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}
