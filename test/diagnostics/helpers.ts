/** Helpers shared by the diagnostics tests. */
import { DeadlockError, JoinError, type JoinHandle } from "../../src/index.js";

/** The DeadlockError a task ended with (as its panic's cause), or undefined. */
export async function deadlockOf(h: JoinHandle<unknown>): Promise<DeadlockError | undefined> {
  const r = await h.result();
  if (r.ok) return undefined;
  const cause = (r.error as JoinError).cause;
  return cause instanceof DeadlockError ? cause : undefined;
}

/** Fails the test if `p` has not settled within `ms` (a hang is what detection prevents). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
