import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, startDaemon, type Line } from '../helpers/daemon.js';

/**
 * The tutorial's scenarios (README.md, "Scenarios") through the real CLI.
 * Order is exact; times are checked against generous bounds, because a loaded
 * CI machine is not a benchmark (the timing figures live in test/bench).
 */
const SLACK_MS = 150;

function stepLines(lines: Line[]): Line[] {
  return lines.filter((l) => l.task !== undefined && l.level === 30);
}

function expectTimeline(lines: Line[], expected: [number, string][]): void {
  const steps = stepLines(lines).filter((l) => expected.some(([, msg]) => msg === l.msg));
  assert.deepEqual(
    steps.map((l) => l.msg),
    expected.map(([, msg]) => msg),
    'the lines come in the tutorial order',
  );
  const t0 = steps[0]?.time ?? 0;
  steps.forEach((line, i) => {
    const [at, msg] = expected[i] as [number, string];
    const offset = line.time - t0;
    assert.ok(offset >= at - 5 && offset <= at + SLACK_MS, `${msg} at ${offset} ms, expected ${at} ms`);
  });
}

describe('scenario 2: waiting with sleep', () => {
  it('logs in the tutorial order, at the tutorial times, and keeps running', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')]);
    try {
      await daemon.waitFor((l) => l.msg === 'operation3', 10_000, 'operation3');
      expectTimeline(daemon.lines, [
        [0, 'start operation'],
        [0, 'operation1'],
        [0, 'start operationsub'],
        [0, 'operationsub10'],
        [200, 'operation2'],
        [1000, 'operationsub11'],
        [3200, 'operation3'],
      ]);
      assert.equal(daemon.child.exitCode, null, 'the loop runs on after the tasks are done');
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
  });
});

describe('scenario 3: cancelling a task and stopping the loop', () => {
  it('never logs operationsub11, and exits 0 about 3.2 s after it started', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario3-cancel-stop.yaml')]);
    const exit = await daemon.waitExit(15_000);
    const elapsed = Date.now() - daemon.spawnedAt;
    assert.deepEqual(exit, { code: 0, signal: null }, daemon.stderr());
    expectTimeline(daemon.lines, [
      [0, 'start operation'],
      [0, 'operation1'],
      [0, 'start operationsub'],
      [0, 'operationsub10'],
      [200, 'operation2'],
      [3200, 'operation3'],
    ]);
    assert.ok(!daemon.lines.some((l) => l.msg === 'operationsub11'), 'operationsub was cancelled in its sleep');
    assert.ok(daemon.texts().includes('operationsub[2] cancelled by operation[4]'), daemon.texts().join('\n'));
    const first = stepLines(daemon.lines)[0]?.time ?? 0;
    const last = daemon.lines.at(-1)?.time ?? 0;
    assert.ok(last - first >= 3195 && last - first < 3200 + SLACK_MS, `stopped ${last - first} ms after the first line`);
    assert.ok(elapsed < 3200 + 5000, `the process took ${elapsed} ms in all`);
    assert.deepEqual(daemon.stray, []);
  });
});

describe('scenario 1: running tasks, and debug mode', () => {
  it('with debug mode on, reports the slow step by task and step', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario1-debug.yaml')]);
    try {
      await daemon.waitFor((l) => l.msg === 'start operationsub', 10_000, 'start operationsub');
      const slow = await daemon.waitFor((l) => l.msg.startsWith('slow step'), 5000, 'the slow-step report');
      assert.equal(slow.task, 'operation');
      assert.equal(slow.step, 1);
      assert.equal(slow.level, 40);
      assert.match(slow.msg, /^slow step: busy 4ms held the event loop for [\d.]+ms \(threshold 1ms\)$/);
      assert.deepEqual(
        stepLines(daemon.lines).map((l) => l.msg),
        ['start operation', 'start operationsub'],
      );
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
