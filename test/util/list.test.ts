import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IntrusiveList } from "../../src/util/list.js";

class Node {
  prev: Node | null = null;
  next: Node | null = null;
  constructor(readonly id: number) {}
}

const ids = (l: IntrusiveList<Node>): number[] => [...l].map((n) => n.id);

void test("push, unshift and remove keep order, size, head and tail; removing a node in no list changes nothing", () => {
  const l = new IntrusiveList<Node>();
  const [a, b, c] = [new Node(1), new Node(2), new Node(3)];
  l.push(a);
  l.push(b);
  l.unshift(c);
  assert.deepEqual(ids(l), [3, 1, 2]);
  assert.equal(l.size, 3);
  assert.equal(l.head, c);
  assert.equal(l.tail, b);
  assert.equal(l.remove(a), true);
  assert.equal(l.remove(a), false, "a second remove is a no-op");
  assert.deepEqual(ids(l), [3, 2]);
  assert.equal(a.prev, null);
  assert.equal(a.next, null);
  assert.equal(l.remove(b), true);
  assert.equal(l.tail, c);
  assert.equal(l.remove(c), true);
  assert.equal(l.head, null);
  assert.equal(l.tail, null);
  assert.equal(l.size, 0);
});

void test("a node can be unlinked while the list is iterated", () => {
  const l = new IntrusiveList<Node>();
  for (let i = 0; i < 5; i++) l.push(new Node(i));
  for (const n of l) if (n.id % 2 === 0) l.remove(n);
  assert.deepEqual(ids(l), [1, 3]);
});

void test("property: any sequence of push, unshift and remove matches an array model", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom("push", "unshift", "remove"), fc.nat({ max: 9 })), { maxLength: 60 }), (ops) => {
      const nodes = Array.from({ length: 10 }, (_, i) => new Node(i));
      const l = new IntrusiveList<Node>();
      let model: number[] = [];
      for (const [op, i] of ops) {
        const inList = model.includes(i);
        if (op === "remove") {
          assert.equal(l.remove(nodes[i]!), inList);
          model = model.filter((x) => x !== i);
        } else if (!inList) {
          if (op === "push") {
            l.push(nodes[i]!);
            model.push(i);
          } else {
            l.unshift(nodes[i]!);
            model.unshift(i);
          }
        }
        assert.deepEqual(ids(l), model);
        assert.equal(l.size, model.length);
        assert.equal(l.head?.id, model[0]);
        assert.equal(l.tail?.id, model.at(-1));
        // Backward links agree with forward ones.
        const back: number[] = [];
        for (let n = l.tail; n !== null; n = n.prev) back.unshift(n.id);
        assert.deepEqual(back, model);
      }
    }),
  );
});
