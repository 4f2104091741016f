// Small helpers shared by the sync tests.

import { settle } from "../helpers/timing.js";

export { settle };

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
