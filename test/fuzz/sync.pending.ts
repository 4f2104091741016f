// Fuzz cases of src/sync (the conformance engineer's lane) that still fail: not run by `npm test`
// (only *.test.ts are); run with `node --test dist/test/fuzz/sync.pending.js`. When a case passes,
// delete it here and api.test.ts runs it.
import { type Parked, runParkedIfMain } from "./harness.js";

export const parked: Parked[] = [
  { target: "new Semaphore(0).acquire(n)", param: "n", why: "Semaphore(0) cannot be waited on: RangeError 'n must be at most 0' (issue 11)" },
  { target: "semaphore.acquire(n, opts)", param: "n", why: "an acquire of more than the semaphore's capacity is refused rather than waiting for addPermits (issue 11)" },
  { target: "closed semaphore.acquire(n, opts)", param: "n", why: "n above capacity: RangeError rather than SemaphoreClosedError / waiting" },
  { target: "semaphore.tryAcquire(n)", param: "n", why: "n above capacity: RangeError rather than undefined (tokio: NoPermits)" },
  { target: "released guard.release(), guard.value", param: "(none)", why: "use after release throws a plain Error (sync/shared.ts released())" },
];

runParkedIfMain(import.meta.url, parked);
