import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startDaemon, tempDir, type RunningDaemon } from './daemon.js';
import { waitFor } from './wait.js';

/** A sysfs GPIO chip directory: /sys/class/gpio/NAME/{base,ngpio,label}. */
export interface FakeChip {
  readonly name: string;
  readonly base: number;
  readonly ngpio: number;
  readonly label: string;
}

/** What the responder saw, one JSON line each (test/fixtures/gpio-responder.py). */
export interface GpioEvent {
  readonly event: 'ready' | 'export' | 'unexport' | 'direction' | 'active_low' | 'value' | 'exit';
  readonly gpio?: number;
  readonly direction?: string;
  readonly active_low?: number;
  readonly logical?: number;
  readonly physical?: number;
}

// By its path: a test may run the daemon with a PATH that hides things.
const UNSHARE = '/usr/bin/unshare';
const FAKE_GPIO = join(ROOT, 'test', 'fixtures', 'fake-gpio.sh');
/** A stand-in python3 that runs the real GPIO line helper against a fake character device (test/fixtures/gpio-cdev). */
export const FAKE_CDEV_BIN = join(ROOT, 'test', 'fixtures', 'gpio-cdev');

/**
 * Why the fake sysfs tests cannot run here, or undefined when they can: they
 * need Linux, root and a private mount namespace (unshare from util-linux).
 */
export function fakeGpioUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the fake GPIO needs Linux';
  if (process.getuid?.() !== 0) return 'the fake GPIO needs root (tmpfs over /sys/class and /dev in a private mount namespace): sudo npm test';
  const probe = spawnSync(UNSHARE, ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs probe /sys/class'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return `cannot mount a tmpfs over /sys/class in a private mount namespace: ${probe.error?.message ?? probe.stderr.trim()}`;
  if (spawnSync('python3', ['--version']).status !== 0) return 'the GPIO responder needs python3 (sudo apt install python3)';
  return undefined;
}

export interface FakeGpioDaemon {
  readonly daemon: RunningDaemon;
  /** Everything the responder has logged so far. */
  events(): GpioEvent[];
  /** Resolves with the first event (past or future) that matches; rejects after `timeoutMs`. */
  waitForEvent(match: (e: GpioEvent) => boolean, timeoutMs?: number, what?: string): Promise<GpioEvent>;
  /** Waits for the daemon to exit and the responder to log its last event. */
  finish(timeoutMs?: number): Promise<{ code: number | null; events: GpioEvent[] }>;
}

/**
 * Runs the real daemon with `config` against a fake /sys/class/gpio holding
 * `chips` (none: no sysfs GPIO at all) and empty /dev/`devices`. `env` may
 * depend on the run's own temporary directory.
 */
export function startWithFakeGpio(
  chips: readonly FakeChip[],
  config: string,
  env: Record<string, string> | ((dir: string) => Record<string, string>) = {},
  devices: readonly string[] = [],
  command: 'run' | 'doctor' = 'run',
): FakeGpioDaemon & { readonly configFile: string; readonly dir: string } {
  const dir = tempDir('asyncdemo-gpio-');
  const log = join(dir, 'gpio-events.jsonl');
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, config);
  const specs = chips.map((c) => `${c.name}:${c.base}:${c.ngpio}:${c.label}`);
  const daemon = startDaemon([command, '--config', configFile], typeof env === 'function' ? env(dir) : env, {
    prefix: [UNSHARE, '--mount', '--propagation', 'private', FAKE_GPIO, ...devices.flatMap((d) => ['--dev', d]), log, ...specs, '--'],
  });
  const events = (): GpioEvent[] => {
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as GpioEvent);
  };
  const waitForEvent = (match: (e: GpioEvent) => boolean, timeoutMs = 10_000, what = 'a matching GPIO event'): Promise<GpioEvent> =>
    // The log is a file another process appends to; a short poll with a deadline is the plain way to follow it.
    waitFor(() => events().find(match), timeoutMs, what, {
      everyMs: 10,
      seen: () => `GPIO events:\n${events().map((e) => JSON.stringify(e)).join('\n')}\ndaemon:\n${daemon.texts().join('\n')}\nstderr:\n${daemon.stderr()}`,
    });
  return {
    daemon,
    configFile,
    dir,
    events,
    waitForEvent,
    async finish(timeoutMs = 10_000) {
      const { code } = await daemon.waitExit(timeoutMs);
      if (chips.length > 0) await waitForEvent((e) => e.event === 'exit', timeoutMs, 'exit of the GPIO responder');
      return { code, events: events() };
    },
  };
}

/** The values written to `gpio`, as (logical, physical) pairs, in order. */
export function valuesOf(events: readonly GpioEvent[], gpio: number): { logical: number; physical: number }[] {
  return events.filter((e) => e.event === 'value' && e.gpio === gpio).map((e) => ({ logical: e.logical ?? -1, physical: e.physical ?? -1 }));
}

/** The physical level `gpio` was left at: its initial direction, then every value written. */
export function lastPhysical(events: readonly GpioEvent[], gpio: number): number | undefined {
  let level: number | undefined;
  for (const e of events) {
    if (e.gpio !== gpio) continue;
    if (e.event === 'direction' && e.physical !== undefined) level = e.physical;
    if (e.event === 'value') level = e.physical;
  }
  return level;
}

export const PI4_CHIPS: readonly FakeChip[] = [
  { name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
  // The firmware's expander, present on a Pi 4 too: not the header.
  { name: 'gpiochip570', base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio' },
];
export const OLD_KERNEL_CHIPS: readonly FakeChip[] = [{ name: 'gpiochip0', base: 0, ngpio: 54, label: 'pinctrl-bcm2835' }];
export const PI5_CHIPS: readonly FakeChip[] = [
  // The BCM2712's own banks come first and are not the header; the RP1 is.
  { name: 'gpiochip512', base: 512, ngpio: 32, label: 'gpio-brcmstb@107d508500' },
  { name: 'gpiochip544', base: 544, ngpio: 4, label: 'gpio-brcmstb@107d508520' },
  { name: 'gpiochip548', base: 548, ngpio: 17, label: 'gpio-brcmstb@107d517c00' },
  { name: 'gpiochip565', base: 565, ngpio: 6, label: 'gpio-brcmstb@107d517c20' },
  { name: 'gpiochip571', base: 571, ngpio: 54, label: 'pinctrl-rp1' },
];
