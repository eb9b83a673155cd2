import type { Settings } from '../config/schema.js';
import { GpioUnavailableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Time } from '../time.js';
import { openChardevBackend } from './chardev.js';
import type { LedBackend } from './led.js';
import { SimulatedLedBackend } from './simulated.js';
import { openSysfsBackend, type OnoffGpioClass } from './sysfs.js';

export interface LedChoice {
  /** Undefined when the LED is disabled. */
  readonly backend: LedBackend | undefined;
  /** The one line that says which backend runs and why. */
  readonly line: string;
  /** Whether that line is a warning: the wanted GPIO was not available. */
  readonly fellBack: boolean;
}

interface SelectOptions {
  readonly logger: Logger;
  /** The environment of child processes (the character device's helper): without the sd_notify variables. */
  readonly childEnv: Readonly<Record<string, string>>;
  readonly time: Time;
  readonly sysfsRoot?: string;
  readonly devDir?: string;
  readonly loadGpio?: () => OnoffGpioClass | undefined;
}

/**
 * Picks the LED backend. `auto` takes sysfs GPIO where it exists and works,
 * else the character device, else the simulated LED; a named backend that
 * does not work falls back to the simulated LED too. Either way the daemon
 * runs on and one line says why, unless `led.required` is set.
 *
 * @throws {GpioUnavailableError} when `led.required` is set and GPIO cannot be used.
 */
export function selectLedBackend(led: Settings['led'], options: SelectOptions): LedChoice {
  if (!led.enabled) return { backend: undefined, line: 'LED: disabled (led.enabled: false)', fellBack: false };
  const simulated = (): SimulatedLedBackend => new SimulatedLedBackend(options.logger);
  if (led.backend === 'simulated') return { backend: simulated(), line: 'LED: simulated (led.backend: simulated)', fellBack: false };

  const sysfs = (): LedBackend & { chip: { label: string; base: number } } =>
    openSysfsBackend({ activeLow: led.activeLow, base: led.sysfsBase, ...(options.sysfsRoot === undefined ? {} : { root: options.sysfsRoot }), ...(options.loadGpio === undefined ? {} : { loadGpio: options.loadGpio }) });
  const chardev = (): LedBackend & { chip: string; label: string } =>
    openChardevBackend({
      activeLow: led.activeLow,
      chip: led.chip,
      env: options.childEnv,
      onError: (error) => options.logger.error(`LED: ${error.message}`),
      time: options.time,
      ...(options.devDir === undefined ? {} : { devDir: options.devDir }),
    });
  const describeSysfs = (b: ReturnType<typeof sysfs>): string => `sysfs GPIO through onoff (${b.chip.label}, base ${b.chip.base}: BCM ${led.pin} is GPIO ${b.chip.base + led.pin})`;
  const describeChardev = (b: ReturnType<typeof chardev>): string => `GPIO character device ${b.chip} [${b.label}] through a python3 helper (BCM ${led.pin} is line ${led.pin})`;

  const problems: string[] = [];
  const attempt = <T>(open: () => T): T | undefined => {
    try {
      return open();
    } catch (error) {
      if (!(error instanceof GpioUnavailableError)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  if (led.backend === 'sysfs' || led.backend === 'auto') {
    const backend = attempt(sysfs);
    if (backend !== undefined) return { backend, line: `LED: ${describeSysfs(backend)}${led.backend === 'auto' ? ', picked by led.backend: auto' : ''}`, fellBack: false };
  }
  if (led.backend === 'chardev' || led.backend === 'auto') {
    const backend = attempt(chardev);
    if (backend !== undefined) {
      const why = led.backend === 'auto' ? `, picked by led.backend: auto because sysfs GPIO is not usable (${problems[0] ?? ''})` : '';
      return { backend, line: `LED: ${describeChardev(backend)}${why}`, fellBack: false };
    }
  }
  const reason = problems.join('; ');
  if (led.required) throw new GpioUnavailableError(`LED: GPIO is not usable and led.required is true: ${reason}`, 'fix the GPIO access above, or set led.required: false to run with a simulated LED');
  return { backend: simulated(), line: `LED: GPIO is not usable, using a simulated LED instead: ${reason}`, fellBack: true };
}
