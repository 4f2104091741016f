/**
 * An intrusive doubly linked list: the nodes carry their own `prev`/`next` links, so linking and
 * unlinking allocate nothing and unlinking a node you hold is O(1) — what a registry of live
 * records needs (a task added at spawn, removed when it ends, from anywhere in the list).
 *
 * A node is in at most one IntrusiveList at a time (it has one pair of links). Lists whose nodes
 * must sit in two lists at once (a waiter in its queue and in its token's listeners) keep links of
 * their own names; core/waiter.ts is such a list, and stays hand-written for that reason and for
 * its hot path.
 */

/** What a node of an {@link IntrusiveList} carries. Both links are null while it is in no list. */
export interface ListNode<T> {
  prev: T | null;
  next: T | null;
}

/** An intrusive doubly linked list of `T`s (see the module comment). */
export class IntrusiveList<T extends ListNode<T>> {
  /** The first node, or null when empty; walk on with `node.next`. */
  head: T | null = null;
  /** The last node, or null when empty. */
  tail: T | null = null;
  /** Nodes in the list now. */
  size = 0;

  /** Links `node` (which must be in no list) first. */
  unshift(node: T): void {
    node.prev = null;
    node.next = this.head;
    if (this.head !== null) this.head.prev = node;
    else this.tail = node;
    this.head = node;
    this.size++;
  }

  /** Links `node` (which must be in no list) last. */
  push(node: T): void {
    node.next = null;
    node.prev = this.tail;
    if (this.tail !== null) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  /**
   * Unlinks `node`; false (and nothing changes) when it is in no list. A node linked in another
   * list must not be passed.
   */
  remove(node: T): boolean {
    if (node.prev !== null) node.prev.next = node.next;
    else if (this.head === node) this.head = node.next;
    else return false;
    if (node.next !== null) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    this.size--;
    return true;
  }

  /** The nodes, first to last. Unlinking the current node while iterating is allowed. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let n = this.head; n !== null;) {
      const next = n.next;
      yield n;
      n = next;
    }
  }
}
