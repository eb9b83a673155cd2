import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { abiBindingPath, childEnv, createSdNotifier, sdNotifyFix, sdNotifyPackageFix, watchdogInterval } from '../../src/systemd/sd-notify.js';

const FIX = sdNotifyFix('/opt/asyncdemo', false);

describe('sd_notify', () => {
  it('is silent outside systemd, and does not even look for the binding', () => {
    let loaded = false;
    const notifier = createSdNotifier({
      env: {},
      pid: 1,
      monotonicUsec: () => 0n,
      fix: FIX,
      loadBinding: () => {
        loaded = true;
        return undefined;
      },
    });
    notifier.ready('x');
    assert.equal(notifier.active, false);
    assert.equal(loaded, false);
  });

  it('sends READY, RELOADING with MONOTONIC_USEC, STOPPING, STATUS and WATCHDOG through the binding', () => {
    const sent: string[] = [];
    const notifier = createSdNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 1, monotonicUsec: () => 123n, fix: FIX, loadBinding: () => (m) => sent.push(m) });
    notifier.ready('2 tasks running');
    notifier.reloading('reloading');
    notifier.status('a\nb');
    notifier.stopping('bye');
    notifier.watchdog();
    assert.deepEqual(sent, ['READY=1\nSTATUS=2 tasks running', 'RELOADING=1\nMONOTONIC_USEC=123\nSTATUS=reloading', 'STATUS=a b', 'STOPPING=1\nSTATUS=bye', 'WATCHDOG=1']);
  });

  it('under systemd without the binding: a typed error that says the service cannot start, with the fix (no fallback)', () => {
    assert.throws(() => createSdNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 1, monotonicUsec: () => 0n, fix: FIX, loadBinding: () => undefined }), {
      code: 'SD_NOTIFY_MISSING',
      reason: /NOTIFY_SOCKET is set\) but the sd-notify binding is not installed .*so the service cannot start$/,
      fix: FIX,
    });
  });

  it('the fix reinstalls the package and rebuilds it; --omit=dev and sudo only for an installed copy', () => {
    assert.equal(
      sdNotifyFix('/opt/asyncdemo', false),
      'sudo apt install libsystemd-dev build-essential python3, then cd /opt/asyncdemo && sudo npm install --no-save --omit=dev sd-notify && sudo npm rebuild sd-notify',
    );
    assert.equal(
      sdNotifyFix('/home/pi/asyncdemo', true),
      'sudo apt install libsystemd-dev build-essential python3, then cd /home/pi/asyncdemo && npm install --no-save sd-notify && npm rebuild sd-notify',
    );
  });

  it('pings at half the watchdog period, only for the process systemd named', () => {
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '10000000' }, 42), 5000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 42), 5000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, 42), undefined);
    assert.equal(watchdogInterval({}, 42), undefined);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  });

  it("a WatchdogSec= of 50 days or more is capped at Node's longest timer, not turned into a ping every millisecond", () => {
    const fiftyDays = String(50 * 86_400 * 1_000_000);
    const interval = watchdogInterval({ WATCHDOG_USEC: fiftyDays }, 42) ?? 0;
    assert.equal(interval, 2 ** 31 - 1);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: String(Number.MAX_SAFE_INTEGER) }, 42), 2 ** 31 - 1);
  });

  it('keeps the sd_notify variables out of child processes', () => {
    assert.deepEqual(childEnv({ PATH: '/bin', NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1', WATCHDOG_PID: '2', HOME: undefined }), { PATH: '/bin' });
  });

  it("the Debian package's fix: reinstall it; under a Node.js it has no build for, the ABIs it has", () => {
    const app = mkdtempSync(join(tmpdir(), 'asyncdemo-packaged-'));
    for (const abi of ['115', '127', '137']) mkdirSync(join(app, 'node_modules', 'sd-notify', 'lib', 'binding', `node-v${abi}-linux-arm64`), { recursive: true });
    assert.equal(sdNotifyPackageFix(app, 'asyncdemo', '127'), 'sudo apt install --reinstall asyncdemo');
    assert.match(sdNotifyPackageFix(app, 'asyncdemo', '147'), /^the asyncdemo package has the binding for Node\.js module ABIs 115, 127, 137, not for this Node\.js v\S+ \(ABI 147\): install a Node\.js it was built for, or a build of the package for this one$/);
    // Nothing there at all: damaged files, which a reinstall brings back.
    assert.equal(sdNotifyPackageFix(join(app, 'elsewhere'), 'asyncdemo', '127'), 'sudo apt install --reinstall asyncdemo');
  });

  it('finds a build for this Node.js where the package ships it (node-pre-gyp\'s layout)', () => {
    assert.equal(abiBindingPath('notify', '115', 'arm'), 'lib/binding/node-v115-linux-arm/notify.node');
  });
});
