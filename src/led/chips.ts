import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A GPIO controller as sysfs shows it in /sys/class/gpio/gpiochipN. */
export interface GpioChip {
  readonly name: string;
  readonly base: number;
  readonly ngpio: number;
  readonly label: string;
}

/**
 * Labels of the controller that drives the 40-pin header, by board: the RP1
 * of the Raspberry Pi 5 (and CM5, Pi 500), the BCM2711 of the Pi 4 (400, CM4),
 * the BCM2835 family of the Pi 1, 2, 3 and Zero. Other chips on a Pi (the
 * firmware's raspberrypi-exp-gpio, the BCM2712's own gpio-brcmstb banks) are
 * not the header.
 */
export const PI_HEADER_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export const SYSFS_GPIO = '/sys/class/gpio';

/** The chips under a sysfs GPIO directory; empty when there is none. */
export function readGpioChips(root = SYSFS_GPIO): GpioChip[] {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^gpiochip\d+$/.test(n));
  } catch {
    return [];
  }
  const read = (name: string, file: string): string => readFileSync(join(root, name, file), 'utf8').trim();
  return names.flatMap((name) => {
    try {
      return [{ name, base: Number(read(name, 'base')), ngpio: Number(read(name, 'ngpio')), label: read(name, 'label') }];
    } catch {
      return [];
    }
  });
}

/** The header's controller among `chips`, by label, in the order of {@link PI_HEADER_LABELS}. */
export function findHeaderChip(chips: readonly GpioChip[]): GpioChip | undefined {
  for (const label of PI_HEADER_LABELS) {
    const chip = chips.find((c) => c.label === label);
    if (chip !== undefined) return chip;
  }
  return undefined;
}

/**
 * The sysfs number of a BCM pin: the header chip's base plus the pin. Since
 * kernel 6.6 that base is no longer 0 (512 on most Pis, 571 on a Pi 5), which
 * is what broke `new Gpio(17, 'out')` with EINVAL (onoff issues #199, #200).
 */
export function sysfsNumber(bcm: number, chip: Pick<GpioChip, 'base' | 'ngpio' | 'label'>): number {
  if (bcm >= chip.ngpio) throw new RangeError(`BCM ${bcm} is out of range for ${chip.label} (0 to ${chip.ngpio - 1})`);
  return chip.base + bcm;
}
