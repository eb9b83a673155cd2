import type { LogLevel } from '../config/tasks.js';

/** pino's numeric levels. */
export const LEVEL_VALUE: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** The label of a numeric level; pino's custom levels are not used, so these are all. */
export function levelLabel(value: number): LogLevel {
  if (value >= 60) return 'fatal';
  if (value >= 50) return 'error';
  if (value >= 40) return 'warn';
  if (value >= 30) return 'info';
  if (value >= 20) return 'debug';
  return 'trace';
}

/**
 * sd-daemon(3) priority prefixes, so `journalctl -p warning` filters lines
 * written to stdout: fatal is crit, info is info, debug and trace are debug.
 */
export function syslogPrefix(value: number): string {
  if (value >= 60) return '<2>';
  if (value >= 50) return '<3>';
  if (value >= 40) return '<4>';
  if (value >= 30) return '<6>';
  return '<7>';
}

export function lowerLevel(a: LogLevel, b: LogLevel): LogLevel {
  return LEVEL_VALUE[a] <= LEVEL_VALUE[b] ? a : b;
}
