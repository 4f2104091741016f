// Fuzz cases of src/console that still fail: not run by `npm test`; run with
// `node --test dist/test/fuzz/console.pending.js`. Delete a case here once it passes.
import { type Parked, runParkedIfMain } from "./harness.js";

export const parked: Parked[] = [
  { target: "formatSnapshot(snapshot, opts)", param: "snapshot", why: "anything but a snapshot: internal TypeError (\"Cannot read properties of undefined (reading 'header')\")" },
  { target: "formatSnapshot(snapshot, opts)", param: "opts", why: "opts is not checked: null is an internal TypeError, a number or string is silently accepted" },
  { target: "formatSnapshot(snapshot, opts)", param: "opts.width", why: "opts.width is not checked: a BigInt or Symbol is an internal TypeError, NaN/-1/'x' are silently accepted" },
];

runParkedIfMain(import.meta.url, parked);
