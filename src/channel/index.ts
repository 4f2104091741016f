/**
 * Channels (API.md §6): bounded and unbounded mpsc, oneshot, broadcast and watch, after
 * tokio::sync. Every wait is a core waiter: abortable, withdrawn when the task is cancelled,
 * select-safe through the claim protocol, and on the cooperative budget.
 */
export { channel, unboundedChannel, Sender, Receiver, SendPermit, SendPermits } from "./mpsc.js";
export { oneshot, OneshotSender, OneshotReceiver } from "./oneshot.js";
export { broadcast, BroadcastSender, BroadcastReceiver } from "./broadcast.js";
export { watch, WatchSender, WatchReceiver } from "./watch.js";
