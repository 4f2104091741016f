// Small helpers shared by the sync tests.

/** Lets every microtask and pending immediate (budget refills, late deliveries) run. */
export async function settle(turns = 2): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** True while `p` has not settled, after letting everything already due run. */
export async function isPending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return !done;
}

/** The abort reason a test uses, so assertions can check identity. */
export function reason(label = "stop"): Error {
  return new Error(label);
}
