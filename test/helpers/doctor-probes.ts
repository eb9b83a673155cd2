import { loadConfig } from '../../src/config/load.js';
import type { DoctorProbes } from '../../src/doctor.js';
import { sdNotifyFix } from '../../src/systemd/sd-notify.js';
import { configFile } from './config-file.js';

/** The sd-notify fix the probes below carry, for assertions. */
export const SD_NOTIFY_FIX = sdNotifyFix('/opt/asyncdemo', false);

/**
 * What `asyncdemo doctor` probes, on a plain machine that is not a Pi: Node 20,
 * no GPIO, the sd-notify binding present, no systemd, python3, a user in
 * `gpio`; the config is `yaml` in a file of its own. `overrides` replace any probe.
 */
export function doctorProbes(yaml: string, overrides: Partial<DoctorProbes> = {}): DoctorProbes {
  const file = configFile(yaml);
  return {
    nodeVersion: 'v20.20.2',
    configFile: file,
    loadConfig: () => loadConfig({ file, env: {} }),
    sysfsRoot: '/nonexistent/gpio',
    devDir: '/nonexistent',
    loadOnoff: () => undefined,
    loadSdNotify: () => () => {},
    sdNotifyFix: SD_NOTIFY_FIX,
    systemdRunning: () => false,
    pythonVersion: () => 'Python 3.11.2',
    chooseLed: () => ({ backend: undefined, line: 'LED: GPIO is not usable, using a simulated LED instead: no sysfs GPIO', fellBack: true }),
    user: () => ({ uid: 1000, groups: ['pi', 'gpio'] }),
    gpioGroupExists: () => true,
    ...overrides,
  };
}
