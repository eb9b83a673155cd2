import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GpioUnavailableError } from '../errors.js';
import { findHeaderChip, readGpioChips, SYSFS_GPIO, sysfsNumber, type GpioChip } from './chips.js';
import type { LedBackend, LedOutput } from './led.js';
import { GPIO_GROUP_FIX, permissionProblem } from './permissions.js';

/** The part of onoff's Gpio that asyncdemo uses. */
export interface OnoffGpio {
  writeSync(value: 0 | 1): void;
  unexport(): void;
}
export type OnoffGpioClass = new (gpio: number, direction: 'high' | 'low', options: { activeLow: boolean }) => OnoffGpio;

/** onoff's Gpio class, or undefined when onoff (an optional dependency with a native part) is not installed. */
export function loadOnoff(): OnoffGpioClass | undefined {
  try {
    return (createRequire(import.meta.url)('onoff') as { Gpio: OnoffGpioClass }).Gpio;
  } catch {
    return undefined;
  }
}

/** How to get onoff's native part back. */
export const ONOFF_FIX = 'sudo apt install build-essential, then npm rebuild epoll onoff in the app directory';

/** Without Raspberry Pi OS's udev rules, sysfs GPIO stays root's: the character device is the way then. */
const SYSFS_UDEV_FIX = 'sysfs GPIO belongs to root alone without Raspberry Pi OS\'s udev rules: use the character device (led.backend: auto or chardev) and give it to the gpio group (README: Wiring an LED)';

interface SysfsOptions {
  readonly activeLow: boolean;
  /** sysfs number of BCM 0, overriding the detection. */
  readonly base: number | null;
  /** Where sysfs GPIO lives; onoff itself always uses /sys/class/gpio. */
  readonly root?: string;
  /** Where onoff's Gpio class comes from; undefined when onoff is not installed. */
  readonly loadGpio?: () => OnoffGpioClass | undefined;
}

/**
 * The LED through sysfs GPIO and onoff. Checks everything it can up front, so
 * a backend that opens is one that works.
 *
 * @throws {GpioUnavailableError} saying why and how to fix it.
 */
export function openSysfsBackend({ activeLow, base, root = SYSFS_GPIO, loadGpio = loadOnoff }: SysfsOptions): LedBackend & { readonly chip: GpioChip } {
  try {
    accessSync(join(root, 'export'), constants.F_OK);
  } catch {
    throw new GpioUnavailableError(`no sysfs GPIO (${root}/export is missing: not a Raspberry Pi, or a kernel without it, like Raspberry Pi OS trixie)`, 'use led.backend: chardev or auto');
  }
  try {
    accessSync(join(root, 'export'), constants.W_OK);
  } catch {
    const { reason, fix } = permissionProblem([join(root, 'export')], 'write', SYSFS_UDEV_FIX);
    throw new GpioUnavailableError(reason, fix);
  }
  let chip: GpioChip | undefined;
  if (base === null) {
    const chips = readGpioChips(root);
    chip = findHeaderChip(chips);
    if (chip === undefined) {
      const found = chips.map((c) => `${c.name} ${c.label}`).join(', ') || 'none';
      throw new GpioUnavailableError(`no Raspberry Pi GPIO controller among the sysfs GPIO chips (found: ${found})`, 'set led.sysfsBase to the sysfs number of BCM 0 for this board');
    }
  } else {
    chip = { name: 'led.sysfsBase', base, ngpio: 54, label: `led.sysfsBase ${base}` };
  }
  const Gpio = loadGpio();
  if (Gpio === undefined) {
    throw new GpioUnavailableError('the onoff module is not installed (its native part did not build)', ONOFF_FIX);
  }
  const header = chip;
  const GpioClass = Gpio;
  return {
    name: 'sysfs',
    chip: header,
    open(bcm: number): LedOutput {
      const number = sysfsNumber(bcm, header);
      let gpio: OnoffGpio;
      try {
        // Created as an output that is already off: "high"/"low" set the physical level, so off is high when active-low.
        gpio = new GpioClass(number, activeLow ? 'high' : 'low', { activeLow });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') throw new GpioUnavailableError(`no permission to use GPIO ${number} (BCM ${bcm})`, GPIO_GROUP_FIX, { cause: error });
        if (code === 'EBUSY') throw new GpioUnavailableError(`GPIO ${number} (BCM ${bcm}) is in use by another driver or program`, 'pick another led.pin, or free that one', { cause: error });
        throw new GpioUnavailableError(`cannot export GPIO ${number} (BCM ${bcm} on ${header.label}): ${(error as Error).message}`, 'check led.pin and led.sysfsBase; asyncdemo doctor shows the chips', { cause: error });
      }
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        try {
          gpio.writeSync(0);
        } finally {
          gpio.unexport();
        }
      };
      return {
        set: (on) => gpio.writeSync(on ? 1 : 0),
        release: async () => release(),
        releaseNow: release,
      };
    },
  };
}
