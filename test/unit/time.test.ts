import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDeadline, TIMED_OUT, withTimeout } from '../../src/time.js';
import { deferred, FakeTime } from '../helpers/fake-time.js';

describe('this promise or a timeout', () => {
  it("gives the work's value when it comes first, and clears its timer", async () => {
    const time = new FakeTime();
    const work = deferred<string>();
    const result = withTimeout(work.promise, 100, time);
    assert.deepEqual(time.pendingDelays(), [100]);
    work.resolve('done');
    assert.equal(await result, 'done');
    assert.deepEqual(time.pendingDelays(), []);
  });

  it('gives TIMED_OUT when the time passes first', async () => {
    const time = new FakeTime();
    let result: unknown;
    void withTimeout(new Promise(() => {}), 100, time).then((r) => (result = r));
    await time.advance(99);
    assert.equal(result, undefined);
    await time.advance(1);
    assert.equal(result, TIMED_OUT);
  });

  it('passes a rejection through', async () => {
    const time = new FakeTime();
    const broken = new Error('broken');
    await assert.rejects(withTimeout(Promise.reject(broken), 100, time), (error) => error === broken);
    assert.deepEqual(time.pendingDelays(), []);
  });

  it('a deadline is shared by the steps raced against it, in turn: it counts from when it was armed', async () => {
    const time = new FakeTime();
    const deadline = startDeadline(time, 100);
    const first = deferred<number>();
    time.setTimeout(() => first.resolve(1), 60);
    let second: unknown;
    const raced = deadline.race(first.promise).then(async (one) => {
      assert.equal(one, 1);
      second = await deadline.race(new Promise((resolve) => time.setTimeout(() => resolve(2), 60)));
    });
    await time.advance(99);
    assert.equal(second, undefined);
    assert.equal(deadline.expired, false);
    await time.advance(1);
    await raced;
    assert.equal(second, TIMED_OUT, 'the second step had 40 ms left, not 100');
    assert.equal(deadline.expired, true);
    assert.equal(await deadline.race(Promise.resolve(3)), TIMED_OUT, 'once passed, it stays passed');
  });
});
