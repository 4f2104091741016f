/**
 * The registry of wait queues: every lock, semaphore, channel, notify, barrier, cell, JoinSet,
 * tracker and interval is one or more WaitQueues of the waiter core, registered when made (as
 * WeakRefs: the registry never keeps one alive) while a console is on.
 */

/** A wait queue as the registry keeps it. */
export interface QueueEntry {
  readonly ref: WeakRef<object>;
  readonly seq: number;
}

/** Registered queues, pruned of collected ones every sampling tick. */
export class QueueRegistry {
  readonly entries: QueueEntry[] = [];
  #seq = 0;

  add(queue: object): void {
    this.entries.push({ ref: new WeakRef(queue), seq: ++this.#seq });
  }

  /** Drops entries whose queue was collected. */
  prune(): void {
    const q = this.entries;
    let j = 0;
    for (let i = 0; i < q.length; i++) {
      const e = q[i]!;
      if (e.ref.deref() !== undefined) q[j++] = e;
    }
    q.length = j;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
