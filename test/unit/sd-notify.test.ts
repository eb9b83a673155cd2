import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childEnv, createSdNotifier, watchdogInterval } from '../../src/systemd/sd-notify.js';

describe('sd_notify', () => {
  it('is silent outside systemd', () => {
    const sent: string[] = [];
    const { notifier, problem } = createSdNotifier({ env: {}, pid: 1, monotonicUsec: () => 0n, loadBinding: () => (m) => sent.push(m) });
    notifier.ready('x');
    assert.equal(notifier.active, false);
    assert.deepEqual(sent, []);
    assert.equal(problem, undefined);
  });

  it('sends READY, RELOADING with MONOTONIC_USEC, STOPPING, STATUS and WATCHDOG', () => {
    const sent: string[] = [];
    const { notifier } = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 1, monotonicUsec: () => 123n, loadBinding: () => (m) => sent.push(m) });
    notifier.ready('2 tasks running');
    notifier.reloading('reloading');
    notifier.status('a\nb');
    notifier.stopping('bye');
    notifier.watchdog();
    assert.deepEqual(sent, ['READY=1\nSTATUS=2 tasks running', 'RELOADING=1\nMONOTONIC_USEC=123\nSTATUS=reloading', 'STATUS=a b', 'STOPPING=1\nSTATUS=bye', 'WATCHDOG=1']);
  });

  it('without the binding, falls back to systemd-notify and says how to fix it', () => {
    const sent: string[] = [];
    const { notifier, problem } = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 1, monotonicUsec: () => 0n, loadBinding: () => undefined, fallback: (m) => sent.push(m) });
    notifier.ready('up');
    assert.deepEqual(sent, ['READY=1\nSTATUS=up']);
    assert.match(problem ?? '', /sd-notify binding is not installed.*NotifyAccess=all.*Fix: sudo apt install libsystemd-dev/);
  });

  it('pings at half the watchdog period, only for the process systemd named', () => {
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '10000000' }, 42), 5000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 42), 5000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, 42), undefined);
    assert.equal(watchdogInterval({}, 42), undefined);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  });

  it('keeps the sd_notify variables out of child processes', () => {
    assert.deepEqual(childEnv({ PATH: '/bin', NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1', WATCHDOG_PID: '2', HOME: undefined }), { PATH: '/bin' });
  });
});
