import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

/**
 * The tutorial's scenarios (README.md, "The tutorial's scenarios") through the real CLI:
 * which lines come, in which order, and how the daemon ends. When they come is
 * proved with a fake clock (test/unit/scheduler.test.ts: scenario 2 at 0, 200,
 * 1000 and 3200 ms); a loaded machine is not a stopwatch, so nothing here
 * depends on real time (the timing figures are in test/bench).
 */

/** The `task[step] msg` lines of the tasks, at info level, in order. */
function stepTexts(daemon: RunningDaemon): string[] {
  return daemon.lines.filter((l) => l.task !== undefined && l.level === 30).map((l) => `${l.task}[${String(l.step)}] ${l.msg}`);
}

describe('scenario 2: waiting with sleep', () => {
  it('logs in the tutorial order, and keeps running after the tasks are done', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')]);
    try {
      await daemon.waitFor((l) => l.msg === 'operation3', 15_000, 'operation3');
      assert.deepEqual(stepTexts(daemon), [
        'operation[0] start operation',
        'operation[2] operation1',
        'operationsub[0] start operationsub',
        'operationsub[1] operationsub10',
        'operation[4] operation2',
        'operationsub[3] operationsub11',
        'operation[6] operation3',
      ]);
      assert.equal(daemon.child.exitCode, null, 'the loop runs on after the tasks are done');
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
    assert.equal(daemon.texts().at(-1), 'stopped after 11 steps');
  });
});

describe('scenario 3: cancelling a task and stopping the loop', () => {
  it('cancels operationsub in its sleep (no operationsub11), and the stop step ends the daemon with exit 0', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario3-cancel-stop.yaml')]);
    const exit = await daemon.waitExit(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, daemon.stderr());
    assert.deepEqual(stepTexts(daemon), [
      'operation[0] start operation',
      'operation[2] operation1',
      'operationsub[0] start operationsub',
      'operationsub[1] operationsub10',
      // The cancel step aborts operationsub at once; operation runs on to its next sleep first, then
      // operationsub, rejected in its sleep, logs why (a coroutine's cancellation lands at its await).
      'operation[5] operation2',
      'operationsub[2] cancelled by operation[4]',
      'operation[7] operation3',
      'operation[8] stop: stopping the daemon',
    ]);
    const texts = daemon.texts();
    assert.deepEqual(texts.slice(-2), ['stopping (requested by operation[8]): cancelling 0 running tasks', 'stopped after 11 steps']);
    assert.deepEqual(daemon.stray, []);
  });
});

describe('scenario 1: running tasks, and debug mode', () => {
  it('with debug mode on, reports the slow step by task and step, between the two tasks\' lines', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario1-debug.yaml')]);
    try {
      await daemon.waitFor((l) => l.msg === 'start operationsub', 10_000, 'start operationsub');
      // The busy step's report. Under a loaded CPU another step can pass the 1 ms threshold too, and be reported as well.
      const slow = await daemon.waitFor((l) => l.msg.startsWith('slow step: busy'), 5000, 'the slow-step report');
      assert.equal(slow.task, 'operation');
      assert.equal(slow.step, 1);
      assert.equal(slow.level, 40);
      assert.match(slow.msg, /^slow step: busy 4ms held the event loop for [\d.]+ms \(threshold 1ms\)$/);
      const order = daemon.texts().filter((t) => /start operation|slow step: busy/.test(t));
      assert.deepEqual(order.map((t) => t.replace(/ held .*/, '')), ['operation[0] start operation', 'operation[1] slow step: busy 4ms', 'operationsub[0] start operationsub']);
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.equal((await daemon.waitExit()).code, 0);
  });

  it('with debug mode off, the report is absent', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario1-debug.yaml')], { ASYNCDEMO_DEBUG: 'false' });
    try {
      await daemon.waitFor((l) => l.msg === 'start operationsub', 10_000, 'start operationsub');
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.equal((await daemon.waitExit()).code, 0);
    assert.ok(!daemon.lines.some((l) => /slow step|event loop blocked|pending at shutdown/.test(l.msg)), daemon.texts().join('\n'));
  });
});
