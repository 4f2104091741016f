// Fuzz cases of src/http (the shutdown engineer's lane) that still fail: not run by `npm test`;
// run with `node --test dist/test/fuzz/http.pending.js`. Delete a case here once it passes.
import { type Parked, runParkedIfMain } from "./harness.js";

export const parked: Parked[] = [
  { target: "httpResource(server, opts)", param: "opts.runtime", why: "a non-Runtime opts.runtime ({}, 1, ...): internal TypeError 'rt.onStop is not a function' (issue 11)" },
];

runParkedIfMain(import.meta.url, parked);
