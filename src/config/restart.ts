import { valueAt } from './issues.js';
import type { Settings } from './schema.js';

/**
 * Settings a reload applies to the running daemon: the log levels
 * (`Logging.setLevels`), debug mode (`Daemon#applyDebug`), the LED (reopened
 * when any `led.*` changes) and the stop timeout (read at each stop).
 */
export const APPLIED_AT_RELOAD: readonly string[] = [
  'debug.enabled',
  'debug.slowStepMs',
  'log.level',
  'log.console.level',
  'log.file.level',
  'led.enabled',
  'led.backend',
  'led.pin',
  'led.activeLow',
  'led.mode',
  'led.blinkMs',
  'led.sysfsBase',
  'led.chip',
  'led.required',
  'shutdown.timeoutMs',
];

/**
 * Settings that only take effect at a start: the console format and the log
 * files are set up once, before anything else, and a reload does not reopen them.
 */
export const NEED_RESTART: readonly string[] = ['log.console.format', 'log.file.enabled', 'log.file.dir', 'log.file.size', 'log.file.frequency', 'log.file.keep'];

/**
 * The settings in `next` that differ from those the daemon started with and
 * that a reload cannot apply, so the daemon can say so instead of claiming
 * them reloaded. Compared with the start's settings, not the last reload's:
 * a change that needs a restart stays pending until there is one (or until
 * it is undone).
 */
export function settingsNeedingRestart(running: Settings, next: Settings): string[] {
  return NEED_RESTART.filter((key) => JSON.stringify(valueAt(running, key.split('.')).value) !== JSON.stringify(valueAt(next, key.split('.')).value));
}
