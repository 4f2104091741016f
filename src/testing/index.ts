/**
 * `steward/testing`: test helpers, kept out of the package root so production code never loads
 * them. See API.md §12 and the README's "Testing with virtual time".
 */
export { withTestClock, TestClockError } from "./test-clock.js";
export type { TestClock, TestClockOptions } from "./test-clock.js";
