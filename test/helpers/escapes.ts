// What escaped a test's code to the process: one capture shared by every test that asserts
// "never an unhandledRejection" (steward reports panics itself; nothing may leak past it).

/** Runs `fn`, then one more event-loop turn, and returns every uncaught exception and unhandled rejection seen meanwhile. */
export async function noEscapes(fn: () => Promise<void>): Promise<unknown[]> {
  const escaped: unknown[] = [];
  const onError = (e: unknown): void => void escaped.push(e);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
  }
  return escaped;
}
