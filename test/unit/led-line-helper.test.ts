import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemTime } from '../../src/time.js';
import { GpioUnavailableError } from '../../src/errors.js';
import { openChardevBackend, type ChardevChip } from '../../src/led/chardev.js';
import { lineHelperArgs } from '../../src/led/line-helper.js';
import { tempDir } from '../helpers/daemon.js';
import { WITHOUT_CAPABILITIES } from '../helpers/log-files.js';
import { skipIfMissing } from '../helpers/requirements.js';

// What <linux/gpio.h> says, from the C compiler: sizes, offsets and ioctl numbers.
const C_ABI = String.raw`
#include <linux/gpio.h>
#include <stddef.h>
#include <stdio.h>
int main(void) {
  printf("{\"GET_CHIPINFO\": %lu, \"GET_LINE\": %lu, \"SET_VALUES\": %lu, \"REQUEST_SIZE\": %zu,"
         " \"OFF_CONSUMER\": %zu, \"OFF_CONFIG_FLAGS\": %zu, \"OFF_CONFIG_ATTRS\": %zu, \"OFF_NUM_LINES\": %zu, \"OFF_FD\": %zu,"
         " \"FLAG_ACTIVE_LOW\": %llu, \"FLAG_OUTPUT\": %llu, \"ATTR_OUTPUT_VALUES\": %d, \"CHIPINFO_SIZE\": %zu, \"VALUES_SIZE\": %zu}\n",
         (unsigned long)GPIO_GET_CHIPINFO_IOCTL, (unsigned long)GPIO_V2_GET_LINE_IOCTL, (unsigned long)GPIO_V2_LINE_SET_VALUES_IOCTL,
         sizeof(struct gpio_v2_line_request), offsetof(struct gpio_v2_line_request, consumer),
         offsetof(struct gpio_v2_line_request, config) + offsetof(struct gpio_v2_line_config, flags),
         offsetof(struct gpio_v2_line_request, config) + offsetof(struct gpio_v2_line_config, attrs),
         offsetof(struct gpio_v2_line_request, num_lines), offsetof(struct gpio_v2_line_request, fd),
         (unsigned long long)GPIO_V2_LINE_FLAG_ACTIVE_LOW, (unsigned long long)GPIO_V2_LINE_FLAG_OUTPUT, GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES,
         sizeof(struct gpiochip_info), sizeof(struct gpio_v2_line_values));
  return 0;
}
`;

function cAbi(): Record<string, number> | string {
  if (!existsSync('/usr/include/linux/gpio.h')) return 'no /usr/include/linux/gpio.h (apt install linux-libc-dev)';
  const dir = tempDir('asyncdemo-abi-');
  const source = join(dir, 'abi.c');
  writeFileSync(source, C_ABI);
  const compiled = spawnSync('cc', ['-o', join(dir, 'abi'), source], { encoding: 'utf8' });
  if (compiled.error !== undefined) return 'no C compiler (apt install build-essential)';
  assert.equal(compiled.status, 0, compiled.stderr);
  return JSON.parse(spawnSync(join(dir, 'abi'), { encoding: 'utf8' }).stdout) as Record<string, number>;
}

describe('the GPIO line helper', () => {
  const noPython = spawnSync('python3', ['--version']).status === 0 ? undefined : 'needs python3 (sudo apt install python3)';

  it("speaks the kernel's GPIO uAPI v2 as <linux/gpio.h> defines it: ioctl numbers, structure sizes and offsets", (t) => {
    const expected = cAbi();
    if (skipIfMissing(t, typeof expected === 'string' ? expected : noPython)) return;
    const helper = spawnSync('python3', lineHelperArgs(['abi']), { encoding: 'utf8' });
    assert.equal(helper.status, 0, helper.stderr);
    assert.deepEqual(JSON.parse(helper.stdout), expected);
  });

  it('refuses a command it does not know, with its usage, exit 64', (t) => {
    if (skipIfMissing(t, noPython)) return;
    const helper = spawnSync('python3', lineHelperArgs(['blink']), { encoding: 'utf8' });
    assert.equal(helper.status, 64);
    assert.match(helper.stderr, /usage: detect DEVDIR \| hold DEVICE OFFSET ACTIVE_LOW CONSUMER \| abi/);
  });

  it('detect reports a chip it may not open by its errno, not as missing', (t) => {
    if (skipIfMissing(t, noPython)) return;
    const dev = tempDir('asyncdemo-dev-');
    writeFileSync(join(dev, 'gpiochip0'), '');
    chmodSync(join(dev, 'gpiochip0'), 0o000);
    // Root opens any file: as root the helper runs without capabilities, so the mode bits hold.
    const command = [...(process.getuid?.() === 0 ? WITHOUT_CAPABILITIES : []), 'python3', ...lineHelperArgs(['detect', dev])];
    const helper = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8' });
    assert.equal(helper.status, 0, helper.stderr);
    assert.deepEqual(JSON.parse(helper.stdout), { device: join(dev, 'gpiochip0'), error: 'EACCES', message: 'Permission denied' });
  });
});

describe('choosing the character device', () => {
  /** A /dev with gpiochip0, a root-only file as on plain Debian. */
  function devDir(): string {
    const dev = tempDir('asyncdemo-dev-');
    writeFileSync(join(dev, 'gpiochip0'), '');
    chmodSync(join(dev, 'gpiochip0'), 0o600);
    return dev;
  }
  const open = (dev: string, chips: ChardevChip[] | undefined, chip: string | null = null) =>
    openChardevBackend({ activeLow: false, chip, env: {}, onError: () => {}, time: systemTime, devDir: dev, detect: () => chips });

  it('finds the header chip by its label, whatever its number', () => {
    const dev = devDir();
    const backend = open(dev, [
      { device: join(dev, 'gpiochip0'), name: 'gpiochip0', label: 'raspberrypi-exp-gpio', lines: 8 },
      { device: join(dev, 'gpiochip4'), name: 'gpiochip4', label: 'pinctrl-rp1', lines: 54 },
    ]);
    assert.deepEqual({ chip: backend.chip, label: backend.label }, { chip: 'gpiochip4', label: 'pinctrl-rp1' });
    assert.throws(() => backend.open(54), { code: 'GPIO_UNAVAILABLE', reason: 'BCM 54 is out of range for gpiochip4 [pinctrl-rp1] (0 to 53)', fix: 'check led.pin' });
  });

  it('chips it may not open: the reason is the permission, with the owner and mode, and the fix is the udev rule (not "set led.chip")', () => {
    const dev = devDir();
    const error = (() => {
      try {
        open(dev, [{ device: join(dev, 'gpiochip0'), error: 'EACCES' }]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof GpioUnavailableError && error.code === 'GPIO_UNAVAILABLE');
    assert.match(error.message, new RegExp(`^no permission to open ${join(dev, 'gpiochip0')} \\(owner [^:]+:[^,]+, mode 0600\\)\\. Fix: give the GPIO devices to the gpio group with the udev rule Raspberry Pi OS has: echo 'SUBSYSTEM=="gpio", KERNEL=="gpiochip\\*", GROUP="gpio", MODE="0660"' \\| sudo tee /etc/udev/rules\\.d/60-gpio\\.rules`));
    assert.doesNotMatch(error.message, /found: none|led\.chip/);
  });

  it('no python3: says so, with the fix', () => {
    assert.throws(() => open(devDir(), undefined), { code: 'GPIO_UNAVAILABLE', reason: /^python3 does not run /, fix: 'sudo apt install python3' });
  });

  it('led.chip names a chip that is not there: the chips that are', () => {
    const dev = devDir();
    assert.throws(() => open(dev, [{ device: join(dev, 'gpiochip0'), name: 'gpiochip0', label: 'x', lines: 8 }], 'gpiochip9'), {
      code: 'GPIO_UNAVAILABLE',
      reason: `no GPIO character device ${join(dev, 'gpiochip9')}`,
      fix: `check led.chip; the chips are ${join(dev, 'gpiochip0')}`,
    });
  });
});
