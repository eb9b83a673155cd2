/** The configs the guest checks install, shared by the phases that span boots. */

/** An LED on `pin` toggled every 250 ms, with the given backend. */
export function ledConfig(backend: 'sysfs' | 'chardev' | 'auto' | 'simulated', pin = 17, stepMs = 250): string {
  return `log: {level: info}
led: {enabled: true, backend: ${backend}, pin: ${pin}, mode: toggle}
tasks:
  blinker:
    autostart: true
    repeat: forever
    steps: [{sleep: ${stepMs}ms}]
`;
}

/** Rotated files kept besides the current one, in the configs below. */
export const KEEP = 3;

/**
 * Small files that rotate every second or so: a directory of rotated files
 * at once, for the clock and power-cut faults.
 */
export function rotatingConfig(stepMs: number, size = '16k'): string {
  return `log: {level: info, file: {size: ${size}, keep: ${KEEP}, frequency: daily}}
tasks:
  ticker:
    autostart: true
    repeat: forever
    steps: [{log: tick}, {sleep: ${stepMs}ms}]
`;
}

/**
 * The config in place when the power is cut (the after-cut boot checks it is
 * intact). Files of 1 MiB: the file being written at the cut is still there
 * when the boot after it looks, though the daemon is back and writing.
 */
export const CUT_CONFIG = rotatingConfig(5, '1m');

/** The file asyncdemo writes its logs to, by name: asyncdemo.2026-11-24.1.log. */
export const LOG_FILE = /^asyncdemo\.\d{4}-\d{2}-\d{2}\.\d+\.log$/;
