// tokio's select! shape, ported as users write it: branches that ignore the AbortSignal select
// gives them (issue 11 item 1: select once lost the losing branch's message unless the branch
// passed its signal on). select.test.ts has the same tests with the signal passed on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { select, spawn, unboundedChannel, yieldNow } from "../../src/index.js";
import { within } from "./harness.js";

void test("macros_select::select_streams (branches ignore their signal)", async () => {
  const [tx1, rx1] = unboundedChannel<number>();
  const [tx2, rx2] = unboundedChannel<number>();

  spawn(async () => {
    await tx2.send(1);
    await yieldNow();
    await tx1.send(2);
    await yieldNow();
    await tx2.send(3);
    await yieldNow();
    tx1.close();
    tx2.close();
  });

  const msgs: number[] = [];
  let open1 = true;
  let open2 = true;
  const loop = async (): Promise<void> => {
    while (open1 || open2) {
      const branches: Record<string, () => Promise<number | undefined>> = {};
      if (open1) branches.rx1 = () => rx1.recv();
      if (open2) branches.rx2 = () => rx2.recv();
      const r = await select(branches);
      if (r.value === undefined) {
        if (r.key === "rx1") open1 = false;
        else open2 = false;
      } else {
        msgs.push(r.value);
      }
    }
  };
  await within(loop(), 2000, "every message and both closes seen");
  msgs.sort((a, b) => a - b);
  assert.deepEqual(msgs, [1, 2, 3]);
});

void test("macros_select::move_uncompleted_futures (branches ignore their signal, mpsc)", async () => {
  // tokio's test uses oneshot channels; with mpsc the loss is visible even while a second
  // oneshot recv still returns the value again (another issue 11 defect).
  for (let i = 0; i < 100; i++) {
    const [tx1, rx1] = unboundedChannel<number>();
    const [tx2, rx2] = unboundedChannel<number>();
    await tx1.send(1);
    await tx2.send(2);
    const r = await select({ rx1: () => rx1.recv(), rx2: () => rx2.recv() });
    if (r.key === "rx1") assert.equal(rx2.tryRecv(), 2, "the losing branch took nothing");
    else assert.equal(rx1.tryRecv(), 1, "the losing branch took nothing");
  }
});
