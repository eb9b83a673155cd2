import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDeadline, TIMED_OUT, withTimeout } from '../../src/timers.js';
import { deferred, FakeTimers } from '../helpers/fake-timers.js';

describe('this promise or a timeout', () => {
  it("gives the work's value when it comes first, and clears its timer", async () => {
    const timers = new FakeTimers();
    const work = deferred<string>();
    const result = withTimeout(work.promise, 100, timers);
    assert.deepEqual(timers.pendingDelays(), [100]);
    work.resolve('done');
    assert.equal(await result, 'done');
    assert.deepEqual(timers.pendingDelays(), []);
  });

  it('gives TIMED_OUT when the time passes first', async () => {
    const timers = new FakeTimers();
    let result: unknown;
    void withTimeout(new Promise(() => {}), 100, timers).then((r) => (result = r));
    await timers.advance(99);
    assert.equal(result, undefined);
    await timers.advance(1);
    assert.equal(result, TIMED_OUT);
  });

  it('passes a rejection through', async () => {
    const timers = new FakeTimers();
    await assert.rejects(withTimeout(Promise.reject(new Error('broken')), 100, timers), /broken/);
    assert.deepEqual(timers.pendingDelays(), []);
  });

  it('a deadline is shared by the steps raced against it, in turn: it counts from when it was armed', async () => {
    const timers = new FakeTimers();
    const deadline = startDeadline(timers, 100);
    const first = deferred<number>();
    timers.setTimeout(() => first.resolve(1), 60);
    let second: unknown;
    const raced = deadline.race(first.promise).then(async (one) => {
      assert.equal(one, 1);
      second = await deadline.race(new Promise((resolve) => timers.setTimeout(() => resolve(2), 60)));
    });
    await timers.advance(99);
    assert.equal(second, undefined);
    assert.equal(deadline.expired, false);
    await timers.advance(1);
    await raced;
    assert.equal(second, TIMED_OUT, 'the second step had 40 ms left, not 100');
    assert.equal(deadline.expired, true);
    assert.equal(await deadline.race(Promise.resolve(3)), TIMED_OUT, 'once passed, it stays passed');
  });
});
