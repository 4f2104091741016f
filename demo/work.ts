/** The demo's blocking work, as a blockingPool worker module (runs on a pool thread). */
import { crunchNumbers } from "./crunch.js";

export default function crunch(ms: number): number {
  return crunchNumbers(ms);
}
