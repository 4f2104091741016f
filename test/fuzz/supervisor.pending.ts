// Fuzz cases of src/supervisor that still fail: not run by `npm test`; run with
// `node --test dist/test/fuzz/supervisor.pending.js`. Delete a case here once it passes.
import { type Parked, runParkedIfMain } from "./harness.js";

export const parked: Parked[] = [
  { target: "Supervisor.start() while one runs", param: "(none)", why: "refused with a plain Error ('a Supervisor already runs on this thread'), not a typed one" },
];

runParkedIfMain(import.meta.url, parked);
