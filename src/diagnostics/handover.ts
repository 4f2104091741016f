/**
 * Guards handed over through a channel. A guard or permit records the task that acquired it; once
 * it is sent through a steward channel (mpsc `deliver`, the one place every send passes), the task
 * that will release it is whoever receives it, which the detector cannot know. Such a hold is
 * detached from its task: it stays held (the lock is still taken) but belongs to no task, so it
 * never closes a reported cycle and no longer counts for the sender's lock order. A deadlock
 * through a handed-over guard then goes unreported (a miss), never a false report.
 *
 * What counts as carrying a guard: the message itself, or one of the first {@link MAX_FIELDS}
 * elements of an array or own values of a plain object (a message like `{ guard, job }`). Deeper
 * nesting is not searched: a send stays O(1).
 */
import { type Hold, popHold } from "../core/holds.js";

/** How many elements or fields of a message are looked at. */
const MAX_FIELDS = 16;

/** A steward guard or permit: they alone have a held-stack link (core/holds.ts). */
function isHold(v: object): v is Hold {
  return Object.hasOwn(v, "heldNext") && Object.hasOwn(v, "seq");
}

function detach(v: unknown): void {
  if (typeof v === "object" && v !== null && isHold(v)) popHold(v);
}

/** The diagnostics hook `handedOver` (core/holds.ts). */
export function handedOver(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  if (isHold(value)) {
    popHold(value);
    return;
  }
  if (Array.isArray(value)) {
    const n = Math.min(value.length, MAX_FIELDS);
    for (let i = 0; i < n; i++) detach(value[i]);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return;
  let n = 0;
  for (const k in value) {
    if (n++ >= MAX_FIELDS) break;
    detach((value as Record<string, unknown>)[k]);
  }
}
