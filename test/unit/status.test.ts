import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatStatus, type StatusSnapshot } from '../../src/status.js';

const BASE: StatusSnapshot = {
  state: 'running',
  configFile: '/etc/asyncdemo/config.yaml',
  configLoadedAt: Date.UTC(2026, 10, 26, 9, 0, 0),
  tasks: [],
  stepsDone: 0,
  lastReload: undefined,
};

describe('the status line', () => {
  it('names each task with its step, then the counts, the config and the last reload, on one line', () => {
    const line = formatStatus({
      ...BASE,
      tasks: [
        { name: 'operation', step: 4, doing: 'sleep 3s' },
        { name: 'operationsub', step: 2, doing: 'sleep 1s' },
      ],
      stepsDone: 42,
      lastReload: { at: Date.UTC(2026, 10, 26, 10, 0, 0), result: 'refused', reason: 'invalid config c.yaml (1 problem):\n  c.yaml:6: tasks.a.steps[0].sleep: must not be negative; got -1' },
    });
    assert.equal(
      line,
      'status: running; 2 tasks: operation[4] sleep 3s, operationsub[2] sleep 1s; 42 steps done; config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; ' +
        'last reload: refused at 2026-11-26T10:00:00.000Z: invalid config c.yaml (1 problem):; c.yaml:6: tasks.a.steps[0].sleep: must not be negative; got -1',
    );
  });

  it('stays bounded with ten thousand tasks and a long reason', () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ name: `t${i}`, step: 1, doing: 'sleep 1h' }));
    const line = formatStatus({ ...BASE, tasks, lastReload: { at: 0, result: 'refused', reason: 'x'.repeat(100_000) } });
    assert.ok(line.length < 1500, `${line.length} characters`);
    assert.match(line, /^status: running; 10000 tasks: t0\[1\] sleep 1h, .* t19\[1\] sleep 1h, and 9980 more; 0 steps done; /);
    assert.match(line, /x…$/);
  });

  it('says when no task runs and no reload happened', () => {
    assert.equal(formatStatus(BASE), 'status: running; no task running; 0 steps done; config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; no reload yet');
  });
});
