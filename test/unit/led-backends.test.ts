import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemTime } from '../../src/time.js';
import type { Settings } from '../../src/config/schema.js';
import { findHeaderChip, readGpioChips, sysfsNumber } from '../../src/led/chips.js';
import { selectLedBackend } from '../../src/led/select.js';
import { openSysfsBackend, type OnoffGpioClass } from '../../src/led/sysfs.js';
import { tempDir } from '../helpers/daemon.js';
import { createSinkLogger } from '../helpers/log-sink.js';

/** A sysfs GPIO directory with `export` and the given chips. */
function sysfsTree(chips: { name: string; base: number; ngpio: number; label: string }[]): string {
  const root = tempDir('asyncdemo-sysfs-');
  writeFileSync(join(root, 'export'), '');
  writeFileSync(join(root, 'unexport'), '');
  for (const chip of chips) {
    mkdirSync(join(root, chip.name));
    for (const key of ['base', 'ngpio', 'label'] as const) writeFileSync(join(root, chip.name, key), `${chip[key]}\n`);
  }
  return root;
}

const LED: Settings['led'] = {
  enabled: true,
  backend: 'auto',
  pin: 17,
  activeLow: false,
  mode: 'toggle',
  blinkMs: 50,
  sysfsBase: null,
  chip: null,
  required: false,
};

/** An onoff Gpio that records, or throws the error given. */
function fakeGpio(calls: string[], error?: NodeJS.ErrnoException): OnoffGpioClass {
  return class {
    constructor(gpio: number, direction: string, options: { activeLow: boolean }) {
      if (error !== undefined) throw error;
      calls.push(`new ${gpio} ${direction} activeLow=${options.activeLow}`);
    }
    writeSync(value: 0 | 1): void {
      calls.push(`write ${value}`);
    }
    unexport(): void {
      calls.push('unexport');
    }
  };
}

describe('GPIO chips', () => {
  it('reads base, ngpio and label of each chip, and finds the header by label whatever its base', () => {
    const root = sysfsTree([
      { name: 'gpiochip512', base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
      { name: 'gpiochip571', base: 571, ngpio: 54, label: 'pinctrl-rp1' },
    ]);
    const chips = readGpioChips(root);
    assert.equal(chips.length, 2);
    assert.deepEqual(findHeaderChip(chips), { name: 'gpiochip571', base: 571, ngpio: 54, label: 'pinctrl-rp1' });
    assert.equal(findHeaderChip([{ name: 'gpiochip0', base: 0, ngpio: 8, label: 'raspberrypi-exp-gpio' }]), undefined);
    assert.deepEqual(readGpioChips(join(root, 'missing')), []);
  });

  it('the sysfs number is base + BCM, and a pin beyond the chip is refused with the valid range', () => {
    const chip = { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' };
    assert.equal(sysfsNumber(17, chip), 529);
    assert.equal(sysfsNumber(0, { ...chip, base: 0 }), 0);
    assert.throws(() => sysfsNumber(58, chip), { name: 'RangeError', message: 'BCM 58 is out of range for pinctrl-bcm2711 (0 to 57)' });
  });
});

describe('sysfs backend (onoff injected)', () => {
  const root = sysfsTree([{ name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }]);

  it('exports base + BCM as an output that starts off (high when active-low), and releases off then unexported', async () => {
    for (const activeLow of [false, true]) {
      const calls: string[] = [];
      const backend = openSysfsBackend({ activeLow, base: null, root, loadGpio: () => fakeGpio(calls) });
      const output = backend.open(17);
      output.set(true);
      await output.release();
      output.releaseNow(); // a second release does nothing
      assert.deepEqual(calls, [`new 529 ${activeLow ? 'high' : 'low'} activeLow=${activeLow}`, 'write 1', 'write 0', 'unexport']);
    }
  });

  it('maps what goes wrong to a reason and a fix', () => {
    const error = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    const open = (e: NodeJS.ErrnoException) => () => openSysfsBackend({ activeLow: false, base: null, root, loadGpio: () => fakeGpio([], e) }).open(17);
    assert.throws(open(error('EACCES')), { code: 'GPIO_UNAVAILABLE', reason: 'no permission to use GPIO 529 (BCM 17)', fix: /^add the service user to the gpio group/ });
    assert.throws(open(error('EBUSY')), { code: 'GPIO_UNAVAILABLE', reason: 'GPIO 529 (BCM 17) is in use by another driver or program', fix: /^pick another led\.pin/ });
    assert.throws(open(error('EINVAL')), { code: 'GPIO_UNAVAILABLE', reason: 'cannot export GPIO 529 (BCM 17 on pinctrl-bcm2711): EINVAL', fix: /^check led\.pin and led\.sysfsBase/ });
    assert.throws(() => openSysfsBackend({ activeLow: false, base: null, root: join(root, 'none'), loadGpio: () => fakeGpio([]) }), { code: 'GPIO_UNAVAILABLE', reason: /^no sysfs GPIO /, fix: 'use led.backend: chardev or auto' });
    assert.throws(() => openSysfsBackend({ activeLow: false, base: null, root, loadGpio: () => undefined }), { code: 'GPIO_UNAVAILABLE', reason: /^the onoff module is not installed /, fix: /^sudo apt install build-essential, then npm rebuild epoll onoff/ });
  });

  it('led.sysfsBase replaces the detection', () => {
    const calls: string[] = [];
    const bare = sysfsTree([]);
    openSysfsBackend({ activeLow: false, base: 100, root: bare, loadGpio: () => fakeGpio(calls) }).open(4);
    assert.deepEqual(calls, ['new 104 low activeLow=false']);
  });
});

describe('choosing the LED backend', () => {
  const { logger } = createSinkLogger();
  const nowhere = { logger, childEnv: { PATH: '/nonexistent' }, sysfsRoot: '/nonexistent/gpio', devDir: '/nonexistent', time: systemTime };

  it('disabled, or simulated by choice: says so, no warning', () => {
    assert.deepEqual(selectLedBackend({ ...LED, enabled: false }, nowhere), { backend: undefined, line: 'LED: disabled (led.enabled: false)', fellBack: false });
    const simulated = selectLedBackend({ ...LED, backend: 'simulated' }, nowhere);
    assert.equal(simulated.backend?.name, 'simulated');
    assert.equal(simulated.fellBack, false);
  });

  it('auto without any GPIO: a simulated LED and one line with every reason', () => {
    const choice = selectLedBackend(LED, nowhere);
    assert.equal(choice.backend?.name, 'simulated');
    assert.equal(choice.fellBack, true);
    assert.equal(
      choice.line,
      'LED: GPIO is not usable, using a simulated LED instead: no sysfs GPIO (/nonexistent/gpio/export is missing: not a Raspberry Pi, or a kernel without it, like Raspberry Pi OS trixie). Fix: use led.backend: chardev or auto; no GPIO character devices (/nonexistent/gpiochip*): not a Raspberry Pi. Fix: run asyncdemo on a Raspberry Pi, or use led.backend: simulated',
    );
  });

  it('led.required makes it an error with the same reasons', () => {
    assert.throws(() => selectLedBackend({ ...LED, required: true }, nowhere), { code: 'GPIO_UNAVAILABLE', reason: /led\.required is true: no sysfs GPIO/ });
  });

  it('auto picks sysfs where it works, and says which chip and number', () => {
    const root = sysfsTree([{ name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }]);
    const choice = selectLedBackend(LED, { ...nowhere, sysfsRoot: root, loadGpio: () => fakeGpio([]) });
    assert.equal(choice.backend?.name, 'sysfs');
    assert.equal(choice.line, 'LED: sysfs GPIO through onoff (pinctrl-bcm2711, base 512: BCM 17 is GPIO 529), picked by led.backend: auto');
  });
});
