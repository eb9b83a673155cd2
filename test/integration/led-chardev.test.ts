import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_CDEV_BIN, fakeGpioUnavailable, PI4_CHIPS, startWithFakeGpio } from '../helpers/fake-gpio.js';
import { waitFor } from '../helpers/wait.js';
import { unlessMissing } from '../helpers/requirements.js';

// No sysfs GPIO (as on Raspberry Pi OS trixie) and a /dev/gpiochip0: the real
// daemon must pick the character device and drive the line through its
// python3 helper. The helper is the real one; only the kernel's side of its
// ioctls is played, by test/fixtures/gpio-cdev/fake_cdev.py, which decodes
// them by <linux/gpio.h>'s layout and logs every request, value and release
// as it is made: the log is the line's whole history, in order, whatever the
// timing. (The real kernel, with a gpio-sim chip, is the VM suite's: test/vm.)
const skip = unlessMissing(fakeGpioUnavailable());

const CONFIG = (extra = '') => `
log: {level: debug, file: {enabled: false}}
led: {enabled: true, backend: auto, pin: 17, mode: hold${extra}}
tasks:
  blinker:
    autostart: true
    steps:
      - {sleep: 1ms}
      - {sleep: 1ms, led: none}
      - {sleep: 1ms}
      - {stop: true, led: none}
  holder:
    autostart: true
    steps:
      - {log: lit, led: none}
      - {sleep: 1h, led: none}
`;
/** The holder keeps the LED lit in its long sleep: the state every exit path must undo. */
const HOLDING = CONFIG().replace('{sleep: 1h, led: none}', '{sleep: 1h, led: hold}').replace('{stop: true, led: none}', '{sleep: 1h, led: none}');

interface KernelEvent {
  readonly event: 'request' | 'set' | 'release';
  readonly pid: number;
  readonly chip: string;
  readonly offset: number;
  readonly value?: number;
  readonly activeLow?: boolean;
  readonly consumer?: string;
}

/** What the fake kernel was asked to do, in order. */
function kernelLog(dir: string): KernelEvent[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'gpio-cdev.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as KernelEvent);
}

/** The line's history as text: "request 0", "set 1", …, "release". */
const history = (events: readonly KernelEvent[]): string[] => events.map((e) => (e.event === 'release' ? 'release' : `${e.event} ${e.value}`));

/** Waits, with a bound, until the fake kernel's log has an event that matches. */
function kernelEvent(dir: string, match: (e: KernelEvent) => boolean, what: string, timeoutMs = 10_000): Promise<KernelEvent> {
  return waitFor(() => kernelLog(dir).find(match), timeoutMs, `kernel event for "${what}"`, { everyMs: 10, seen: () => `the kernel saw: ${history(kernelLog(dir)).join(', ')}` });
}

const lit = (e: KernelEvent): boolean => e.event === 'set' && e.value === 1;

function env(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${FAKE_CDEV_BIN}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    FAKE_GPIO_LOG: join(dir, 'gpio-cdev.log'),
    FAKE_GPIO_CHIPS: 'gpiochip0=pinctrl-bcm2711=58;gpiochip1=raspberrypi-exp-gpio=8',
    ...extra,
  };
}

describe('LED through the GPIO character device (the real helper, a fake kernel)', { skip }, () => {
  it('picked by auto without sysfs GPIO; one helper takes every step, in order; the line ends driven off, then released', async () => {
    const run = startWithFakeGpio([], CONFIG(), (dir) => env(dir), ['gpiochip0', 'gpiochip1']);
    const { code } = await run.finish();
    assert.equal(code, 0, run.daemon.stderr());
    const picked = run.daemon.lines.find((l) => l.msg.startsWith('LED: '))?.msg ?? '';
    assert.match(picked, /^LED: GPIO character device gpiochip0 \[pinctrl-bcm2711\] through a python3 helper \(BCM 17 is line 17\), picked by led\.backend: auto because sysfs GPIO is not usable \(no sysfs GPIO/);
    const events = kernelLog(run.dir);
    // Held off from the start; each hold step lights it and puts it out; at the end it is already off, and let go.
    assert.deepEqual(history(events), ['request 0', 'set 1', 'set 0', 'set 1', 'set 0', 'release']);
    assert.deepEqual(events[0], { event: 'request', pid: events[0]?.pid, chip: 'gpiochip0', offset: 17, value: 0, activeLow: false, consumer: 'asyncdemo' });
    assert.equal(new Set(events.map((e) => e.pid)).size, 1, 'one helper process for the whole run');
  });

  it('active-low: the line is requested active-low, so 1 still means lit', async () => {
    const run = startWithFakeGpio([], CONFIG(', activeLow: true'), (dir) => env(dir), ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    const events = kernelLog(run.dir);
    assert.deepEqual(history(events), ['request 0', 'set 1', 'set 0', 'set 1', 'set 0', 'release']);
    assert.equal(events[0]?.activeLow, true);
  });

  it('SIGTERM while the line is lit: driven off, then released, exit 0', async () => {
    const run = startWithFakeGpio([], HOLDING, (dir) => env(dir), ['gpiochip0']);
    await kernelEvent(run.dir, lit, 'the LED lit');
    run.daemon.child.kill('SIGTERM');
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    assert.deepEqual(history(kernelLog(run.dir)).slice(-2), ['set 0', 'release']);
  });

  it("a stop signal to the whole group (systemd's stop, Ctrl-C) leaves the helper running until the daemon has driven the line off", async () => {
    const run = startWithFakeGpio([], HOLDING, (dir) => env(dir), ['gpiochip0']);
    const on = await kernelEvent(run.dir, lit, 'the LED lit');
    process.kill(on.pid, 'SIGTERM');
    process.kill(on.pid, 'SIGINT');
    run.daemon.child.kill('SIGTERM');
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    assert.deepEqual(history(kernelLog(run.dir)).slice(-2), ['set 0', 'release']);
    assert.deepEqual(run.daemon.lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'no error: the helper was not stopped by the signal');
  });

  it('a daemon killed with SIGKILL while the LED is lit still leaves it off: the helper sees its stdin close', async () => {
    const run = startWithFakeGpio([], HOLDING, (dir) => env(dir), ['gpiochip0']);
    await kernelEvent(run.dir, lit, 'the LED lit');
    run.daemon.child.kill('SIGKILL');
    await run.daemon.waitExit(10_000);
    await kernelEvent(run.dir, (e) => e.event === 'release', 'the line released after the daemon died');
    assert.deepEqual(history(kernelLog(run.dir)).slice(-2), ['set 0', 'release']);
  });

  it('a line in use elsewhere: one error line with the reason, and the tasks run on', async () => {
    const run = startWithFakeGpio([], HOLDING, (dir) => env(dir, { FAKE_GPIO_BUSY: '17' }), ['gpiochip0']);
    const error = await run.daemon.waitFor((l) => l.level === 50, 10_000, 'the error line');
    assert.match(error.msg, /^LED: the GPIO helper for BCM 17 exited \(2\) and let go of the line: EBUSY: Device or resource busy \(fake GPIO: line 17 is in use\)$/);
    await run.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    run.daemon.child.kill('SIGTERM');
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    assert.equal(run.daemon.lines.filter((l) => l.level === 50).length, 1, `one error line, not one per change or at the stop: ${run.daemon.texts().join('\n')}`);
    assert.ok(run.daemon.lines.some((l) => l.msg.startsWith('stopped after')), 'the daemon ran on and stopped cleanly');
  });

  it('a helper that hangs at the end is killed after a second, and the stop still ends, saying the LED may be lit', async () => {
    const run = startWithFakeGpio([], HOLDING, (dir) => env(dir, { FAKE_GPIO_STALL_MS: '60000' }), ['gpiochip0']);
    await run.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    run.daemon.child.kill('SIGTERM');
    assert.equal((await run.finish(10_000)).code, 0, run.daemon.stderr());
    assert.ok(
      run.daemon.lines.some((l) => /^LED: the GPIO helper for BCM 17 could not turn the LED off \(SIGKILL\)/.test(l.msg)),
      run.daemon.texts().join('\n'),
    );
    assert.ok(!kernelLog(run.dir).some((e) => e.event === 'release'), 'killed before it let go');
  });

  it('a second SIGTERM while a hung helper delays the stop exits 1 at once, saying so', async () => {
    const run = startWithFakeGpio([], HOLDING, (dir) => env(dir, { FAKE_GPIO_STALL_MS: '60000' }), ['gpiochip0']);
    await run.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    run.daemon.child.kill('SIGTERM');
    await run.daemon.waitFor((l) => l.msg.startsWith('stopping'));
    run.daemon.child.kill('SIGTERM');
    const { code } = await run.finish(5_000);
    assert.equal(code, 1);
    assert.ok(run.daemon.lines.some((l) => l.msg === 'SIGTERM while already stopping: exiting now, without finishing the stop'), run.daemon.texts().join('\n'));
  });

  it('no python3: one warning with the fix (apt install python3), a simulated LED, and the tasks run', async () => {
    const run = startWithFakeGpio([], CONFIG(), { PATH: '/nonexistent' }, ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    const warnings = run.daemon.lines.filter((l) => l.level === 40 && l.msg.startsWith('LED: '));
    assert.equal(warnings.length, 1, run.daemon.texts().join('\n'));
    assert.match(warnings[0]?.msg ?? '', /using a simulated LED instead: no sysfs GPIO .*; python3 does not run \(.*\)\. Fix: sudo apt install python3$/);
  });

  it('no Raspberry Pi chip among the character devices: the chips found and the fix (led.chip)', async () => {
    const run = startWithFakeGpio([], CONFIG(), (dir) => env(dir, { FAKE_GPIO_CHIPS: 'gpiochip0=some-other-soc=32' }), ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    const warning = run.daemon.lines.find((l) => l.level === 40 && l.msg.startsWith('LED: '))?.msg ?? '';
    assert.match(warning, /no Raspberry Pi GPIO controller among the GPIO chips \(found: gpiochip0 \[some-other-soc\]\)\. Fix: set led\.chip/);
  });

  it('sysfs GPIO is preferred where it works, even with a character device present', async () => {
    const run = startWithFakeGpio(PI4_CHIPS, CONFIG(), (dir) => env(dir), ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    assert.match(run.daemon.lines.find((l) => l.msg.startsWith('LED: '))?.msg ?? '', /^LED: sysfs GPIO through onoff/);
    assert.ok(run.events().some((e) => e.event === 'export' && e.gpio === 529));
    assert.deepEqual(kernelLog(run.dir), [], 'the character device was not touched');
  });
});
