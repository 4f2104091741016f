// Ported from tokio-util/tests/sync_cancellation_token.rs. tokio's wake counters are replaced by
// whether each `cancelled()` wait has resolved. See README.md here for the tests not ported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CancellationToken, oneshot } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

void test("sync_cancellation_token::cancel_token", async () => {
  const token = new CancellationToken();
  assert.ok(!token.isCancelled);

  const waitFut = spawned(() => token.cancelled());
  await assertPending(waitFut);

  const waitFut2 = spawned(() => token.cancelled());

  token.cancel();
  assert.ok(token.isCancelled);

  await assertReady(waitFut);
  await assertReady(waitFut2);
});

void test("sync_cancellation_token::cancel_child_token_through_parent", async () => {
  const token = new CancellationToken();
  const childToken = token.child();
  assert.ok(!childToken.isCancelled);

  const childFut = spawned(() => childToken.cancelled());
  const parentFut = spawned(() => token.cancelled());
  await assertPending(childFut);
  await assertPending(parentFut);

  token.cancel();
  assert.ok(token.isCancelled);
  assert.ok(childToken.isCancelled);

  await assertReady(childFut);
  await assertReady(parentFut);
});

// tokio drops the intermediate token; in JavaScript nothing is dropped, and the point stands:
// the grandchild is cancelled through its grandparent.
void test("sync_cancellation_token::cancel_grandchild_token_through_parent_if_child_was_dropped", async () => {
  const token = new CancellationToken();
  let intermediateToken: CancellationToken | undefined = token.child();
  const childToken = intermediateToken.child();
  intermediateToken = undefined;
  assert.ok(!childToken.isCancelled);

  const childFut = spawned(() => childToken.cancelled());
  const parentFut = spawned(() => token.cancelled());
  await assertPending(childFut);
  await assertPending(parentFut);

  token.cancel();
  assert.ok(token.isCancelled);
  assert.ok(childToken.isCancelled);
  await assertReady(childFut);
  await assertReady(parentFut);
});

void test("sync_cancellation_token::cancel_child_token_without_parent", async () => {
  const token = new CancellationToken();
  const childToken1 = token.child();

  const childFut = spawned(() => childToken1.cancelled());
  const parentFut = spawned(() => token.cancelled());
  await assertPending(childFut);
  await assertPending(parentFut);

  childToken1.cancel();
  assert.ok(!token.isCancelled);
  assert.ok(childToken1.isCancelled);

  await assertReady(childFut);
  await assertPending(parentFut);

  const childToken2 = token.child();
  const childFut2 = spawned(() => childToken2.cancelled());
  await assertPending(childFut2);
  await assertPending(parentFut);

  token.cancel();
  assert.ok(token.isCancelled);
  assert.ok(childToken2.isCancelled);

  await assertReady(childFut2);
  await assertReady(parentFut);
});

void test("sync_cancellation_token::create_child_token_after_parent_was_cancelled", async () => {
  for (const _dropChildFirst of [true, false]) {
    const token = new CancellationToken();
    token.cancel();

    const childToken = token.child();
    assert.ok(childToken.isCancelled);

    const childFut = spawned(() => childToken.cancelled());
    const parentFut = spawned(() => token.cancelled());
    await assertReady(childFut);
    await assertReady(parentFut);
  }
});

void test("sync_cancellation_token::cancel_only_all_descendants", async () => {
  const parentToken = new CancellationToken();
  const token = parentToken.child();
  const siblingToken = parentToken.child();
  const child1Token = token.child();
  const child2Token = token.child();
  const grandchildToken = child1Token.child();
  const grandchild2Token = child1Token.child();
  const greatGrandchildToken = grandchildToken.child();

  const all = [parentToken, token, siblingToken, child1Token, child2Token, grandchildToken, grandchild2Token, greatGrandchildToken];
  for (const t of all) assert.ok(!t.isCancelled);

  const futs = all.map((t) => spawned(() => t.cancelled()));
  for (const f of futs) await assertPending(f);

  token.cancel();

  const [parentFut, fut, siblingFut, ...descendants] = futs;
  assert.ok(!parentToken.isCancelled);
  assert.ok(token.isCancelled);
  assert.ok(!siblingToken.isCancelled);
  for (const t of [child1Token, child2Token, grandchildToken, grandchild2Token, greatGrandchildToken]) assert.ok(t.isCancelled);

  await assertReady(fut!);
  for (const f of descendants) await assertReady(f);
  await assertPending(parentFut!);
  await assertPending(siblingFut!);
});

// tokio's run_until_cancelled(fut) takes a future; steward's takes a function given the token's
// signal (so the work can stop too).
void test("sync_cancellation_token::run_until_cancelled_test", async () => {
  {
    const token = new CancellationToken();
    const fut = spawned(() => token.runUntilCancelled(() => new Promise<void>(() => {})));
    await assertPending(fut);
    token.cancel();
    assert.equal(await assertReady(fut), undefined);
  }
  {
    const [tx, rx] = oneshot<null>();
    const token = new CancellationToken();
    const fut = spawned(() =>
      token.runUntilCancelled(async () => {
        await rx;
        return 42;
      }),
    );
    await assertPending(fut);
    assert.ok(tx.send(null));
    assert.equal(await assertReady(fut), 42);
  }
  // Do not run the function when the token is already cancelled.
  {
    const token = new CancellationToken();
    token.cancel();
    let ran = false;
    const fut = spawned(() =>
      token.runUntilCancelled(async () => {
        ran = true;
        throw new Error("fut polled after cancellation");
      }),
    );
    assert.equal(await assertReady(fut), undefined);
    assert.ok(!ran, "fut polled after cancellation");
  }
});
