import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  fakeGpioUnavailable,
  lastPhysical,
  OLD_KERNEL_CHIPS,
  PI4_CHIPS,
  PI5_CHIPS,
  startWithFakeGpio,
  type FakeChip,
  type FakeGpioDaemon,
  type GpioEvent,
} from '../helpers/fake-gpio.js';
import { unlessMissing } from '../helpers/requirements.js';

// The real daemon, onoff and its native epoll against a fake /sys/class/gpio (see test/fixtures/fake-sysfs.sh).
const skip = unlessMissing(fakeGpioUnavailable());

function ledConfig({ pin = 17, activeLow = false, extra = '' }: { pin?: number; activeLow?: boolean; extra?: string } = {}): string {
  return `
log: {level: debug, file: {enabled: false}}
led: {enabled: true, backend: sysfs, required: true, pin: ${pin}, activeLow: ${activeLow}, mode: hold}
tasks:
  ${extra}`;
}

/** A task that lights the LED and keeps it lit in a long sleep: the state every exit path must undo. */
const HOLDER = `holder:
    autostart: true
    steps:
      - {log: lit, led: none}
      - {sleep: 1h}`;

const isOn = (gpio: number) => (e: GpioEvent) => e.event === 'value' && e.gpio === gpio && e.logical === 1;

/** Ends a run through a `stop` step once the test is ready: a reload adds an autostart task that stops the daemon. */
function stopByStep(run: FakeGpioDaemon & { readonly configFile: string }): void {
  writeFileSync(run.configFile, `${readFileSync(run.configFile, 'utf8')}
  stopper:
    autostart: true
    led: none
    steps:
      - {stop: true}`);
  run.daemon.child.kill('SIGHUP');
}

/** The pin ends off, then is unexported, and nothing touches it after. */
function assertReleased(events: readonly GpioEvent[], gpio: number): void {
  assert.equal(lastPhysical(events, gpio), 0, `GPIO ${gpio} ends off`);
  const last = events.filter((e) => e.gpio === gpio).at(-1);
  assert.equal(last?.event, 'unexport', `GPIO ${gpio} ends unexported; its events: ${JSON.stringify(events.filter((e) => e.gpio === gpio))}`);
}

describe('LED through onoff on a fake sysfs GPIO tree', { skip }, () => {
  it('BCM 17 on a base-512 chip (Pi 4, kernel 6.6+) is GPIO 529: exported, an output that starts off, lit by a step, off and unexported after a stop step', async () => {
    const run = startWithFakeGpio(PI4_CHIPS, ledConfig({ extra: HOLDER }));
    // The fake kernel reads the value file when inotify says it changed, so
    // writes close together can reach it as one: each state it must see is
    // held until it has seen it. (Every change, from the real kernel's trace,
    // is the VM suite's; the changes per step are leds.test.ts's.)
    await run.waitForEvent(isOn(529), 10_000, 'the LED lit');
    stopByStep(run);
    const { code, events } = await run.finish();
    assert.equal(code, 0, run.daemon.stderr());
    const picked = run.daemon.lines.find((l) => l.msg.startsWith('LED: '))?.msg;
    assert.match(picked ?? '', /^LED: sysfs GPIO through onoff \(pinctrl-bcm2711, base 512: BCM 17 is GPIO 529\)/);
    assert.deepEqual(events.find((e) => e.event === 'export'), { event: 'export', gpio: 529 });
    assert.equal(events.filter((e) => e.event === 'export').length, 1, 'exported once');
    const direction = events.find((e) => e.event === 'direction' && e.gpio === 529);
    assert.deepEqual(direction, { event: 'direction', gpio: 529, direction: 'out', physical: 0 }, 'an output that starts off');
    assertReleased(events, 529);
  });

  it('active-low inverts: on is a low pin, and the pin is left high (off)', async () => {
    const run = startWithFakeGpio(PI4_CHIPS, ledConfig({ activeLow: true, extra: HOLDER }));
    await run.waitForEvent((e) => e.event === 'value' && e.gpio === 529 && e.logical === 1 && e.physical === 0, 10_000, 'the LED lit by a low pin');
    stopByStep(run);
    const { code, events } = await run.finish();
    assert.equal(code, 0, run.daemon.stderr());
    assert.ok(events.some((e) => e.event === 'active_low' && e.gpio === 529 && e.active_low === 1), 'active_low set');
    assert.deepEqual(events.find((e) => e.event === 'direction' && e.gpio === 529)?.physical, 1, 'starts high: off');
    assert.equal(lastPhysical(events, 529), 1);
    assert.equal(events.filter((e) => e.gpio === 529).at(-1)?.event, 'unexport');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while the LED is lit: off and unexported, exit 0`, async () => {
      const run = startWithFakeGpio(PI4_CHIPS, ledConfig({ extra: HOLDER }));
      await run.waitForEvent(isOn(529), 10_000, 'the LED lit');
      run.daemon.child.kill(signal);
      const { code, events } = await run.finish();
      assert.equal(code, 0, run.daemon.stderr());
      assertReleased(events, 529);
    });
  }

  it('a crash while the LED is lit: off and unexported, exit 1', async () => {
    const run = startWithFakeGpio(PI4_CHIPS, ledConfig({ extra: HOLDER }));
    await run.waitForEvent(isOn(529), 10_000, 'the LED lit');
    // The crash comes once the LED is seen lit: a reload starts a new autostart task that crashes.
    writeFileSync(
      run.configFile,
      ledConfig({
        extra: `${HOLDER}
  crasher:
    autostart: true
    led: none
    steps:
      - {crash: boom}`,
      }),
    );
    run.daemon.child.kill('SIGHUP');
    const { code, events } = await run.finish();
    assert.equal(code, 1);
    assert.ok(run.daemon.lines.some((l) => l.msg.includes('uncaught exception: boom')), run.daemon.texts().join('\n'));
    assertReleased(events, 529);
  });

  it('a reload that changes the pin turns the old one off and unexports it; the new pin is used from the next step', async () => {
    const tasks = `looper:
    autostart: true
    repeat: forever
    steps:
      - {log: lit, led: none}
      - {sleep: 300ms}`;
    const run = startWithFakeGpio(PI4_CHIPS, ledConfig({ extra: tasks }));
    await run.waitForEvent(isOn(529), 10_000, 'GPIO 529 lit');
    writeFileSync(run.configFile, ledConfig({ pin: 27, extra: tasks }));
    run.daemon.child.kill('SIGHUP');
    await run.waitForEvent((e) => e.event === 'unexport' && e.gpio === 529, 10_000, 'GPIO 529 unexported at the reload');
    await run.waitForEvent(isOn(539), 10_000, 'GPIO 539 (BCM 27) lit after the reload');
    run.daemon.child.kill('SIGTERM');
    const { code, events } = await run.finish();
    assert.equal(code, 0, run.daemon.stderr());
    assertReleased(events, 529);
    assertReleased(events, 539);
    const unexported529 = events.findIndex((e) => e.event === 'unexport' && e.gpio === 529);
    const exported539 = events.findIndex((e) => e.event === 'export' && e.gpio === 539);
    assert.ok(unexported529 < exported539, 'the old pin is let go before the new one is taken');
  });

  const boards: [string, readonly FakeChip[], number][] = [
    ['an old kernel, chip at base 0 (pinctrl-bcm2835)', OLD_KERNEL_CHIPS, 17],
    ['a Pi 5: the RP1 at base 571, after the BCM2712 banks', PI5_CHIPS, 588],
  ];
  for (const [board, chips, gpio] of boards) {
    it(`BCM 17 on ${board} is GPIO ${gpio}`, async () => {
      const run = startWithFakeGpio(chips, ledConfig({ extra: HOLDER }));
      await run.waitForEvent(isOn(gpio), 10_000, `GPIO ${gpio} lit`);
      run.daemon.child.kill('SIGTERM');
      const { code, events } = await run.finish();
      assert.equal(code, 0, run.daemon.stderr());
      assert.deepEqual(
        events.filter((e) => e.event === 'export'),
        [{ event: 'export', gpio }],
      );
      assertReleased(events, gpio);
    });
  }

  it('led.sysfsBase overrides the detection, for a board it does not know', async () => {
    const chips = [{ name: 'gpiochip100', base: 100, ngpio: 32, label: 'some-other-soc' }];
    const run = startWithFakeGpio(chips, ledConfig({ extra: HOLDER }).replace('mode: hold', 'mode: hold, sysfsBase: 100'));
    await run.waitForEvent(isOn(117), 10_000, 'GPIO 117 lit');
    run.daemon.child.kill('SIGTERM');
    const { code, events } = await run.finish();
    assert.equal(code, 0, run.daemon.stderr());
    assertReleased(events, 117);
  });

  it('no Raspberry Pi chip: with led.required, exit 1 with the chips found and the fix; without, one warning and a simulated LED', async () => {
    const chips = [{ name: 'gpiochip0', base: 0, ngpio: 32, label: 'some-other-soc' }];
    const required = startWithFakeGpio(chips, ledConfig({ extra: HOLDER }));
    const { code, events } = await required.finish();
    assert.equal(code, 1);
    const fatal = required.daemon.lines.find((l) => l.level === 60);
    assert.equal(fatal?.['code'], 'GPIO_UNAVAILABLE');
    assert.match(fatal?.msg ?? '', /no Raspberry Pi GPIO controller among the sysfs GPIO chips \(found: gpiochip0 some-other-soc\)/);
    assert.match(fatal?.msg ?? '', /led\.sysfsBase/);
    assert.equal(events.filter((e) => e.event === 'export').length, 0);

    const fallback = startWithFakeGpio(chips, ledConfig({ extra: HOLDER }).replace('required: true', 'required: false').replace('backend: sysfs', 'backend: auto'));
    await fallback.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    const warnings = fallback.daemon.lines.filter((l) => l.level === 40 && l.msg.startsWith('LED: '));
    assert.equal(warnings.length, 1, fallback.daemon.texts().join('\n'));
    assert.match(warnings[0]?.msg ?? '', /using a simulated LED instead: no Raspberry Pi GPIO controller/);
    fallback.daemon.child.kill('SIGTERM');
    assert.equal((await fallback.finish()).code, 0);
  });

  it('asyncdemo doctor on a Pi 5: finds the RP1 and gives the sysfs number of the configured pin', async () => {
    const run = startWithFakeGpio(PI5_CHIPS, ledConfig({ pin: 4, extra: HOLDER }), {}, ['gpiochip0'], 'doctor');
    const { code } = await run.finish();
    const report = run.daemon.stray.join('\n');
    assert.equal(code, 0, report);
    assert.match(report, /^✓ sysfs GPIO: pinctrl-rp1 at base 571: BCM 4 is GPIO 575 \(chips: /m);
    assert.match(report, /^✓ onoff \(sysfs GPIO\) is installed$/m);
    assert.match(report, /^✓ GPIO character devices: \/dev\/gpiochip0$/m);
    assert.match(report, /^✓ LED: sysfs GPIO through onoff \(pinctrl-rp1, base 571: BCM 4 is GPIO 575\)$/m);
    assert.equal(run.events().filter((e) => e.event === 'export').length, 0, 'doctor exports nothing');
  });

  it('asyncdemo doctor without any GPIO and led.required: ✗ with the fix, exit 1', async () => {
    const run = startWithFakeGpio([], ledConfig({ extra: HOLDER }), { PATH: '/nonexistent' }, [], 'doctor');
    const { code } = await run.finish();
    const report = run.daemon.stray.join('\n');
    assert.equal(code, 1, report);
    assert.match(report, /^✗ sysfs GPIO: \/sys\/class\/gpio is missing/m);
    assert.match(report, /^✗ python3 does not run.*\n {4}fix: sudo apt install python3$/m);
    assert.match(report, /^✗ LED: GPIO is not usable and led\.required is true: /m);
    assert.match(report, /^1 required check failed$/m);
  });
});
