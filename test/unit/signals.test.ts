import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { listenToProcess } from '../../src/signals.js';

describe('process events', () => {
  it('first SIGTERM or SIGINT stops, the next one forces the exit; SIGHUP reloads; errors are fatal', () => {
    const proc = new EventEmitter();
    const calls: string[] = [];
    const remove = listenToProcess(proc, {
      stop: (s) => calls.push(`stop ${s}`),
      forceExit: (s) => calls.push(`force ${s}`),
      reload: () => calls.push('reload'),
      fatal: (e, origin) => calls.push(`fatal ${origin} ${String(e)}`),
      warning: (w) => calls.push(`warning ${w.message}`),
    });
    proc.emit('SIGHUP');
    proc.emit('SIGTERM', 'SIGTERM');
    proc.emit('SIGHUP');
    proc.emit('SIGINT', 'SIGINT');
    proc.emit('uncaughtException', 'x');
    proc.emit('unhandledRejection', 'y');
    proc.emit('warning', new Error('w'));
    assert.deepEqual(calls, ['reload', 'stop SIGTERM', 'reload', 'force SIGINT', 'fatal uncaughtException x', 'fatal unhandledRejection y', 'warning w']);
    remove();
    for (const event of ['SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection', 'warning']) {
      assert.equal(proc.listenerCount(event), 0, event);
    }
  });
});
