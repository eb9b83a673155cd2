import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Lifecycle } from '../../src/lifecycle.js';
import { listenToProcess } from '../../src/signals.js';

describe('process events', () => {
  it('first SIGTERM or SIGINT stops, the next one forces the exit; SIGHUP reloads; SIGUSR1 reports; SIGUSR2 and SIGALRM are ignored; errors are fatal', () => {
    const proc = new EventEmitter();
    const calls: string[] = [];
    const lifecycle = new Lifecycle();
    const remove = listenToProcess(proc, {
      stop: (s) => {
        calls.push(`stop ${s}`);
        lifecycle.stopping();
      },
      forceExit: (s) => calls.push(`force ${s}`),
      reload: () => calls.push('reload'),
      status: () => calls.push('status'),
      ignored: (s) => calls.push(`ignored ${s}`),
      fatal: (e, origin) => calls.push(`fatal ${origin} ${String(e)}`),
      warning: (w) => calls.push(`warning ${w.message}`),
    }, lifecycle);
    proc.emit('SIGHUP', 'SIGHUP');
    proc.emit('SIGUSR1', 'SIGUSR1');
    proc.emit('SIGUSR2', 'SIGUSR2');
    proc.emit('SIGALRM', 'SIGALRM');
    proc.emit('SIGTERM', 'SIGTERM');
    proc.emit('SIGHUP', 'SIGHUP');
    proc.emit('SIGINT', 'SIGINT');
    proc.emit('uncaughtException', 'x');
    proc.emit('unhandledRejection', 'y');
    proc.emit('warning', new Error('w'));
    assert.deepEqual(calls, [
      'reload',
      'status',
      'ignored SIGUSR2',
      'ignored SIGALRM',
      'stop SIGTERM',
      'reload',
      'force SIGINT',
      'fatal uncaughtException x',
      'fatal unhandledRejection y',
      'warning w',
    ]);
    remove();
    for (const event of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'uncaughtException', 'unhandledRejection', 'warning']) {
      assert.equal(proc.listenerCount(event), 0, event);
    }
  });
});

describe('one lifecycle', () => {
  it('a stop begun by a stop step makes the first SIGTERM force the exit, as a stop begun by a signal would', () => {
    const proc = new EventEmitter();
    const calls: string[] = [];
    const lifecycle = new Lifecycle();
    const ignore = (): void => {};
    listenToProcess(proc, { stop: (s) => calls.push(`stop ${s}`), forceExit: (s) => calls.push(`force ${s}`), reload: ignore, status: ignore, ignored: ignore, fatal: ignore, warning: ignore }, lifecycle);
    lifecycle.running();
    // What Daemon.stop() does when a `stop` step asks for it.
    assert.equal(lifecycle.stopping(), true);
    proc.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(calls, ['force SIGTERM']);
  });
});
