// Fuzz cases of src/time (the shutdown engineer's lane) that still fail: not run by `npm test`;
// run with `node --test dist/test/fuzz/time.pending.js`. Delete a case here once it passes.
import { type Parked, runParkedIfMain } from "./harness.js";

export const parked: Parked[] = [
  { target: "interval(ms, opts)", param: "opts.missedTick", why: "a null-prototype object: internal TypeError 'Cannot convert object to primitive value' building the message (String(missed))" },
  { target: "disposed interval.tick(opts)", param: "*", why: "tick() on a disposed interval rejects with a plain Error ('the interval was stopped'), not a typed one" },
];

runParkedIfMain(import.meta.url, parked);
