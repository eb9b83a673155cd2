import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import type { TaskDef } from '../../src/config/tasks.js';
import type { Step } from '../../src/steps.js';
import type { Time } from '../../src/time.js';
import { TaskCancelledError } from '../../src/errors.js';
import type { TaskLed } from '../../src/led/led.js';
import { runTask, type TaskOutcome, type TaskRun, type TaskCallbacks } from '../../src/worker.js';
import { FakeTime } from '../helpers/fake-time.js';
import { createSinkLogger } from '../helpers/log-sink.js';
import { taskFrom } from '../helpers/tasks.js';

interface Harness {
  callbacks: TaskCallbacks;
  sink: ReturnType<typeof createSinkLogger>;
  calls: string[];
  /** Runs the task as the scheduler would; the run record is returned with the outcome. */
  run(task: TaskDef, options?: { controller?: AbortController; led?: TaskLed }): { outcome: Promise<TaskOutcome>; record: TaskRun };
}

function harnessFor(time: Time, overrides: Partial<TaskCallbacks> = {}): Harness {
  const sink = createSinkLogger('info');
  const calls: string[] = [];
  const callbacks: TaskCallbacks = {
    time,
    logger: sink.logger,
    slowStepMs: () => undefined,
    spawn: (name, by) => calls.push(`spawn ${name} by ${by}`),
    cancel: (name, by) => calls.push(`cancel ${name} by ${by}`),
    crash: (error) => calls.push(`crash ${error.message}`),
    stepDone: () => {},
    slowStep: () => {},
    ended: () => {},
    ...overrides,
  };
  return {
    callbacks,
    sink,
    calls,
    run(task, { controller = new AbortController(), led } = {}) {
      const record: TaskRun = { def: task, controller, led, step: 0, stepSince: 0, deadline: 0, sleeper: undefined, stopBy: undefined };
      return { outcome: runTask(record, callbacks, { nextTurn: false, by: 'test' }), record };
    },
  };
}

/** busy spins on the monotonic clock; one that moves 1 ms per read lets it end without real time passing. */
function ticking(time: FakeTime): Time {
  let t = 0;
  return { ...time, monotonicMs: () => (t += 1) };
}

describe('worker', () => {
  it('runs steps in order, up to each sleep in one go, and logs with task and step', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {steps: [{log: a}, {spawn: u}, {log: b}, {sleep: 0.2}, {log: c}], autostart: true}\nu: {steps: [{log: x}]}', 't');
    const { sink, calls, run } = harnessFor(time);
    const { outcome } = run(task);
    await time.settle();
    assert.deepEqual(sink.lines(), ['t[0] a', 't[2] b']);
    assert.deepEqual(calls, ['spawn u by t[1]']);
    await time.advance(199);
    assert.deepEqual(sink.lines(), ['t[0] a', 't[2] b']);
    await time.advance(1);
    assert.deepEqual(sink.lines(), ['t[0] a', 't[2] b', 't[4] c']);
    assert.equal(await outcome, 'done');
  });

  it('stops at once when cancelled mid-sleep, logs why, runs no further step and removes its abort listener', async () => {
    const task = taskFrom('t: {autostart: true, steps: [{log: a}, {sleep: 86400}, {log: never}]}', 't');
    // The real clock on fake timers: its sleeper is what listens to the signal.
    const time = new FakeTime();
    const { sink, run } = harnessFor(time);
    const controller = new AbortController();
    const { signal } = controller;
    const { outcome } = run(task, { controller });
    await time.settle();
    assert.equal(getEventListeners(signal, 'abort').length, 1, 'the sleep listens for the abort');
    assert.equal(time.pendingDelays().length, 1, 'one timer for the sleep');
    controller.abort(new TaskCancelledError('cancelled by someone[3]'));
    assert.equal(await outcome, 'cancelled');
    assert.deepEqual(sink.lines(), ['t[0] a', 't[1] cancelled by someone[3]']);
    assert.equal(getEventListeners(signal, 'abort').length, 0, 'the listener is gone once the run has ended');
    assert.deepEqual(time.pendingDelays(), [], 'the sleep\'s timer is cleared');
    await time.advance(86_400_000);
    assert.deepEqual(sink.lines(), ['t[0] a', 't[1] cancelled by someone[3]']);
  });

  it('removes its abort listener when the run ends normally too', async () => {
    const task = taskFrom('t: {autostart: true, repeat: 3, steps: [{sleep: 10ms}, {log: tick}]}', 't');
    const time = new FakeTime();
    const { sink, run } = harnessFor(time);
    const controller = new AbortController();
    const { outcome } = run(task, { controller });
    await time.settle();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    await time.advance(30);
    assert.equal(await outcome, 'done');
    assert.equal(sink.lines().length, 3);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('keeps a periodic schedule on absolute deadlines: steps that take time do not add drift', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, repeat: 1000, steps: [{log: tick}, {sleep: 10ms}]}', 't');
    const stamps: number[] = [];
    let steps = 0;
    const stepDone = (): void => {
      if (steps++ % 2 !== 0) return; // after each log step, not each sleep
      stamps.push(time.monotonicMs());
      time.jump(3); // the log step takes 3 ms before the sleep starts
    };
    const { run } = harnessFor(time, { stepDone });
    const { outcome } = run(task);
    await time.settle();
    // With sleeps measured from when they start, each round would need 13 ms; 7 more after the 3 must do.
    for (let i = 0; i < 1000; i++) await time.advance(7);
    assert.equal(await outcome, 'done');
    assert.equal(stamps.length, 1000);
    assert.equal(stamps[999], 9990, 'the 1000th tick is at 9990 ms exactly, not 9990 + 999 × 3');
  });

  it('starts a new schedule after a long block instead of firing a burst of missed steps', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, repeat: forever, steps: [{log: tick}, {sleep: 10ms}]}', 't');
    const { sink, run } = harnessFor(time);
    const controller = new AbortController();
    void run(task, { controller });
    await time.settle();
    await time.advance(10); // tick 2 at 10, next deadline 20
    time.jump(100); // blocked for 100 ms: now 110
    await time.advance(0); // wakes the overdue sleep once
    const ticks = sink.lines().filter((l) => l.endsWith('tick')).length;
    assert.equal(ticks, 3);
    await time.advance(9);
    assert.equal(sink.lines().filter((l) => l.endsWith('tick')).length, 3, 'no catch-up burst');
    await time.advance(1);
    assert.equal(sink.lines().filter((l) => l.endsWith('tick')).length, 4, 'the next tick is a whole period later');
    controller.abort();
  });

  it('logs a failing step with the task and step, and ends as failed', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, steps: [{log: a}, {fail: the sensor is gone}, {log: never}]}', 't');
    const { sink, run } = harnessFor(time);
    assert.equal(await run(task).outcome, 'failed');
    const last = sink.records.at(-1);
    assert.equal(last?.step, 1);
    assert.equal(last?.level, 50);
    assert.equal((last?.['err'] as { code?: unknown } | undefined)?.code, 'TASK_FAILED');
    assert.match(last?.msg ?? '', /failed: the sensor is gone/);
    assert.ok(!sink.lines().some((l) => l.includes('never')));
  });

  it('ends at a stop step, saying who asked the daemon to stop', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, steps: [{stop: true}, {log: never}]}', 't');
    const { sink, run } = harnessFor(time);
    const { outcome, record } = run(task);
    assert.equal(await outcome, 'stopped');
    assert.equal(record.stopBy, 't[0]');
    assert.ok(!sink.lines().some((l) => l.includes('never')));
  });

  it('in debug mode reports a step that holds the loop longer than the threshold, and no other', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, steps: [{log: quick}, {busy: 0.05}, {log: after}]}', 't');
    const { sink, run } = harnessFor(ticking(time), { slowStepMs: () => 20 });
    assert.equal(await run(task).outcome, 'done');
    const slow = sink.records.filter((r) => r.msg.startsWith('slow step'));
    assert.equal(slow.length, 1);
    assert.equal(slow[0]?.step, 1);
    assert.match(slow[0]?.msg ?? '', /busy 50ms held the event loop for .* \(threshold 20ms\)/);
  });

  it('reports nothing about step durations when debug mode is off', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, steps: [{busy: 0.05}]}', 't');
    const { sink, run } = harnessFor(ticking(time));
    await run(task).outcome;
    assert.equal(sink.records.filter((r) => r.msg.startsWith('slow step')).length, 0);
  });

  it('tells the LED about every step, and that the task ended, even when cancelled', async () => {
    const time = new FakeTime();
    const task = taskFrom('t: {autostart: true, steps: [{log: a}, {sleep: 1}, {log: b}]}', 't');
    const events: string[] = [];
    const led: TaskLed = {
      stepStarted: (s: Step) => events.push(`start ${s.kind}`),
      stepEnded: (s: Step) => events.push(`end ${s.kind}`),
      taskEnded: () => events.push('ended'),
    };
    const { run } = harnessFor(time);
    const controller = new AbortController();
    const { outcome } = run(task, { controller, led });
    await time.settle();
    controller.abort();
    await outcome;
    assert.deepEqual(events, ['start log', 'end log', 'start sleep', 'ended']);
  });
});
