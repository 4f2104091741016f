/**
 * CPU work that blocks whatever thread runs it for `ms` milliseconds: a stand-in for a large
 * JSON.parse, a password hash or an image resize. The supervisor's report names this function
 * and the line of the loop below.
 */
export function crunchNumbers(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1); // the line that blocks the event loop
  return x;
}
