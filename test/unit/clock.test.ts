import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { MAX_TIMER_DELAY_MS, createSystemClock } from '../../src/clock.js';
import { AbortError } from '../../src/errors.js';
import { nodeTimers, type Timers } from '../../src/timers.js';

/** Timers that record what they are asked and fire only when told. */
function fakeTimers() {
  let now = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  let id = 0;
  const delays: number[] = [];
  let immediates = 0;
  const timers: Timers = {
    now: () => now,
    wallNow: () => now,
    setTimeout(callback, ms) {
      delays.push(ms);
      pending.set(++id, { at: now + ms, callback });
      return id;
    },
    clearTimeout: (handle) => pending.delete(handle as number),
    setInterval: () => assert.fail('the clock arms no interval'),
    clearInterval: () => assert.fail('the clock arms no interval'),
    setImmediate(callback) {
      immediates++;
      pending.set(++id, { at: now, callback });
      return id;
    },
    clearImmediate: (handle) => pending.delete(handle as number),
  };
  /** Fires the earliest timer, moving time to it. */
  const fireNext = (): boolean => {
    const [key, next] = [...pending].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
    if (key === undefined || next === undefined) return false;
    pending.delete(key);
    now = Math.max(now, next.at);
    next.callback();
    return true;
  };
  return { timers, delays, pending, fireNext, setNow: (t: number) => (now = t), getNow: () => now, immediates: () => immediates };
}

describe('system clock', () => {
  it('waits out a sleep longer than the 24.8-day timer limit in chunks, instead of firing at once', async () => {
    const { timers, delays, fireNext, getNow } = fakeTimers();
    const clock = createSystemClock(timers);
    const thirtyDays = 30 * 86_400_000;
    let woke = false;
    const sleep = clock.sleepUntil(thirtyDays).then(() => (woke = true));
    assert.equal(delays[0], MAX_TIMER_DELAY_MS, 'no single timer beyond what Node can hold');
    fireNext();
    await Promise.resolve();
    assert.equal(woke, false, 'still asleep after the first chunk');
    while (fireNext()) await Promise.resolve();
    await sleep;
    assert.equal(getNow(), thirtyDays);
    assert.ok(delays.every((d) => d <= MAX_TIMER_DELAY_MS && d >= 1));
  });

  it('arms one timer for the milliseconds left, rounded up, and wakes once, without spinning', async () => {
    const { timers, delays, pending, immediates, setNow } = fakeTimers();
    const clock = createSystemClock(timers);
    let woke = false;
    void clock.sleepUntil(100.4).then(() => (woke = true));
    assert.deepEqual(delays, [101], 'rounded up: a timer never fires before its delay, so it wakes at or after the deadline');
    const [timer] = pending.values();
    pending.clear();
    setNow(101);
    timer?.callback();
    await Promise.resolve();
    assert.equal(woke, true);
    assert.equal(pending.size, 0, 'nothing left armed');
    assert.equal(immediates(), 0, 'no loop turn spent waiting out a fraction of a millisecond');
  });

  it('re-arms a timer that fires early, for what is left, rounded up', async () => {
    const { timers, delays, pending, immediates, setNow } = fakeTimers();
    const clock = createSystemClock(timers);
    let woke = false;
    void clock.sleepUntil(100.4).then(() => (woke = true));
    const fire = async (now: number): Promise<void> => {
      const [next] = pending.values();
      setNow(now);
      pending.clear();
      next?.callback();
      await Promise.resolve();
    };
    await fire(90); // ten milliseconds early (a timer armed while the loop's clock was stale)
    assert.deepEqual(delays, [101, 11]);
    await fire(100.1); // and a fraction early
    assert.equal(woke, false);
    assert.deepEqual(delays, [101, 11, 1], 'a whole millisecond more, not a loop turn at a time');
    await fire(101.1);
    assert.equal(woke, true);
    assert.equal(immediates(), 0);
  });

  it('yields a turn even when the deadline has passed, like asyncio.sleep(0)', async () => {
    const { timers, pending, fireNext, setNow } = fakeTimers();
    const clock = createSystemClock(timers);
    setNow(50);
    let woke = false;
    void clock.sleepUntil(10).then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    assert.equal(pending.size, 1);
    fireNext();
    await Promise.resolve();
    assert.equal(woke, true);
  });

  it("rejects with Node's AbortError carrying the signal's reason, and clears its timer", async () => {
    const { timers, pending } = fakeTimers();
    const clock = createSystemClock(timers);
    const controller = new AbortController();
    const sleep = clock.sleepUntil(1000, { signal: controller.signal });
    const reason = new Error('because');
    controller.abort(reason);
    await assert.rejects(sleep, (error: unknown) => {
      assert.ok(error instanceof AbortError);
      assert.equal(error.code, 'ABORT_ERR');
      assert.equal(error.cause, reason);
      return true;
    });
    assert.equal(pending.size, 0, 'the timer is cleared');
  });

  it('rejects at once for a signal that is already aborted', async () => {
    const clock = createSystemClock(fakeTimers().timers);
    await assert.rejects(clock.sleepUntil(1, { signal: AbortSignal.abort('gone') }), { name: 'AbortError', cause: 'gone' });
  });

  it('removes its abort listener when a sleep ends normally (real timers)', async () => {
    const clock = createSystemClock(nodeTimers);
    const controller = new AbortController();
    const sleep = clock.sleepUntil(clock.now() + 5, { signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'listening while asleep');
    await sleep;
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'not once awake');
  });

  it("a task's sleeper listens to its signal once for many sleeps, and not at all once closed", async () => {
    const { timers, fireNext, pending } = fakeTimers();
    const clock = createSystemClock(timers);
    const controller = new AbortController();
    const sleeper = clock.sleeper(controller.signal);
    for (const deadline of [10, 20, 30]) {
      const sleep = sleeper.until(deadline);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
      fireNext();
      await sleep;
    }
    const last = sleeper.until(1000);
    const reason = new Error('cancelled by operation[4]');
    controller.abort(reason);
    await assert.rejects(last, (error: unknown) => error instanceof AbortError && error.cause === reason);
    assert.equal(pending.size, 0, 'the timer is cleared');
    await assert.rejects(sleeper.until(2000), { name: 'AbortError' });
    sleeper.close();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);

    const other = new AbortController();
    clock.sleeper(other.signal).close();
    assert.equal(getEventListeners(other.signal, 'abort').length, 0, 'close removes the listener of a sleeper that never slept');
  });
});
