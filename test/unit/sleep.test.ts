import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { AbortError } from '../../src/errors.js';
import { Sleeper } from '../../src/sleep.js';
import { MAX_TIMER_DELAY_MS, systemTime } from '../../src/time.js';
import { FakeTime } from '../helpers/fake-time.js';

/** One sleep to `deadline` on a sleeper of its own, and whether it has woken. */
function sleepTo(time: FakeTime, deadline: number, signal = new AbortController().signal): { woke: () => boolean; sleep: Promise<void>; sleeper: Sleeper } {
  const sleeper = new Sleeper(time, signal);
  let woke = false;
  const sleep = sleeper.until(deadline).then(() => {
    woke = true;
  });
  return { woke: () => woke, sleep, sleeper };
}

describe('sleeps', () => {
  it('waits out a sleep longer than the 24.8-day timer limit in chunks, instead of firing at once', async () => {
    const time = new FakeTime();
    const thirtyDays = 30 * 86_400_000;
    const { woke, sleep } = sleepTo(time, thirtyDays);
    assert.equal(time.armed[0], MAX_TIMER_DELAY_MS, 'no single timer beyond what Node can hold');
    await time.advance(MAX_TIMER_DELAY_MS);
    assert.equal(woke(), false, 'still asleep after the first chunk');
    await time.advance(thirtyDays - MAX_TIMER_DELAY_MS);
    await sleep;
    assert.equal(time.monotonicMs(), thirtyDays);
    assert.ok(time.armed.every((d) => d <= MAX_TIMER_DELAY_MS && d >= 1));
  });

  it('arms one timer for the milliseconds left, rounded up, and wakes once, without spinning', async () => {
    const time = new FakeTime();
    const { woke } = sleepTo(time, 100.4);
    assert.deepEqual(time.armed, [101], 'rounded up: a timer never fires before its delay, so it wakes at or after the deadline');
    await time.fireNextAt(101);
    assert.equal(woke(), true);
    assert.equal(time.pending, 0, 'nothing left armed');
    assert.equal(time.immediatesArmed, 0, 'no loop turn spent waiting out a fraction of a millisecond');
  });

  it('re-arms a timer that fires early, for what is left, rounded up', async () => {
    const time = new FakeTime();
    const { woke } = sleepTo(time, 100.4);
    await time.fireNextAt(90); // ten milliseconds early (a timer armed while the loop's clock was stale)
    assert.deepEqual(time.armed, [101, 11]);
    await time.fireNextAt(100.1); // and a fraction early
    assert.equal(woke(), false);
    assert.deepEqual(time.armed, [101, 11, 1], 'a whole millisecond more, not a loop turn at a time');
    await time.fireNextAt(101.1);
    assert.equal(woke(), true);
    assert.equal(time.immediatesArmed, 0);
  });

  it('yields a turn even when the deadline has passed, like asyncio.sleep(0)', async () => {
    const time = new FakeTime();
    time.jump(50);
    const { woke } = sleepTo(time, 10);
    await Promise.resolve();
    assert.equal(woke(), false);
    assert.equal(time.immediatesArmed, 1);
    await time.settle();
    assert.equal(woke(), true);
  });

  it("rejects with Node's AbortError carrying the signal's reason, and clears its timer", async () => {
    const time = new FakeTime();
    const controller = new AbortController();
    const { sleep } = sleepTo(time, 1000, controller.signal);
    const reason = new Error('because');
    controller.abort(reason);
    await assert.rejects(sleep, (error: unknown) => {
      assert.ok(error instanceof AbortError);
      assert.equal(error.code, 'ABORT_ERR');
      assert.equal(error.cause, reason);
      return true;
    });
    assert.equal(time.pending, 0, 'the timer is cleared');
  });

  it('rejects at once for a signal that is already aborted', async () => {
    const sleeper = new Sleeper(new FakeTime(), AbortSignal.abort('gone'));
    await assert.rejects(sleeper.until(1), { code: 'ABORT_ERR', cause: 'gone' });
  });

  it("a task's sleeper listens to its signal once for many sleeps, and not at all once closed (real timers)", async () => {
    const controller = new AbortController();
    const sleeper = new Sleeper(systemTime, controller.signal);
    for (let i = 0; i < 3; i++) {
      await sleeper.until(systemTime.monotonicMs() + 2);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'one listener for the whole run');
    }
    sleeper.close();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'none once the run is over');
  });

  it('a cancelled sleeper rejects the sleep under way and every later one, and close removes a listener that never fired', async () => {
    const time = new FakeTime();
    const controller = new AbortController();
    const sleeper = new Sleeper(time, controller.signal);
    const last = sleeper.until(1000);
    const reason = new Error('cancelled by operation[4]');
    controller.abort(reason);
    await assert.rejects(last, (error: unknown) => error instanceof AbortError && error.cause === reason);
    assert.equal(time.pending, 0, 'the timer is cleared');
    await assert.rejects(sleeper.until(2000), { code: 'ABORT_ERR' });
    sleeper.close();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);

    const other = new AbortController();
    new Sleeper(time, other.signal).close();
    assert.equal(getEventListeners(other.signal, 'abort').length, 0, 'close removes the listener of a sleeper that never slept');
  });
});

describe('system time', () => {
  it('caps a timer delay beyond what Node can hold instead of letting it become 1 ms', async () => {
    let fired = false;
    const timer = systemTime.setTimeout(() => (fired = true), 50 * 86_400_000, { ref: false });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 5));
    systemTime.clearTimeout(timer);
    assert.equal(fired, false);
  });
});
