import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { childProcess } from '../child-process.js';
import { GpioUnavailableError } from '../errors.js';
import { PI_HEADER_LABELS } from './chips.js';
import { GPIO_GROUP_FIX } from './sysfs.js';
import type { LedBackend, LedOutput } from './led.js';

type Env = Readonly<Record<string, string>>;

/** How long a gpioset may take to let go of its line before it is killed. */
const RELEASE_TIMEOUT_MS = 1000;

export interface ChardevOptions {
  readonly activeLow: boolean;
  /** The chip (gpiochip0, /dev/gpiochip4…); null finds the header's. */
  readonly chip: string | null;
  /** The environment of the gpioset children: without NOTIFY_SOCKET and WATCHDOG_* (see childEnv). */
  readonly env: Env;
  /** Where a failure that happens later, in a child, is reported. */
  readonly onError: (error: Error) => void;
  /** Where the GPIO character devices are. */
  readonly devDir?: string;
}

/** The GPIO character devices in `devDir` (gpiochip0…), by name; none when it cannot be read. */
export function listGpioDevices(devDir = '/dev'): string[] {
  try {
    return readdirSync(devDir).filter((n) => /^gpiochip\d+$/.test(n));
  } catch {
    return [];
  }
}

/** The libgpiod version `gpioset --version` reports, with its first line; undefined when gpioset does not run. */
export function gpiosetVersion(env?: Env): { major: number; minor: number; line: string } | undefined {
  const result = childProcess().spawnSync('gpioset', ['--version'], { ...(env === undefined ? {} : { env }), encoding: 'utf8' });
  const version = /v(\d+)\.(\d+)/.exec(result.stdout ?? '');
  if (result.error !== undefined || version === null) return undefined;
  return { major: Number(version[1]), minor: Number(version[2]), line: result.stdout.split('\n')[0]?.trim() ?? '' };
}

/**
 * The LED through the GPIO character device, with libgpiod's `gpioset`
 * (Debian package gpiod): no native build, and it works where sysfs GPIO is
 * gone (Raspberry Pi OS trixie, onoff issue #206). One `gpioset` holds the
 * line at a time; a change replaces it. libgpiod 1.6 (bookworm) needs
 * `--mode=signal` to hold the line; 2.x (trixie) holds it by default and
 * takes the chip as `--chip`.
 *
 * @throws {GpioUnavailableError} saying why and how to fix it.
 */
export function openChardevBackend({ activeLow, chip, env, onError, devDir = '/dev' }: ChardevOptions): LedBackend & { readonly chip: string; readonly libgpiod: string } {
  if (listGpioDevices(devDir).length === 0) throw new GpioUnavailableError(`no GPIO character devices (${devDir}/gpiochip*): not a Raspberry Pi`, 'run asyncdemo on a Raspberry Pi, or use led.backend: simulated');

  const libgpiod = gpiosetVersion(env);
  if (libgpiod === undefined) throw new GpioUnavailableError('gpioset (libgpiod) is not installed', 'sudo apt install gpiod');
  const v2 = libgpiod.major >= 2;

  let name = chip;
  if (name === null) {
    const detect = childProcess().spawnSync('gpiodetect', [], { env, encoding: 'utf8' });
    const chips = (detect.stdout ?? '').split('\n').flatMap((line) => {
      const match = /^(\S+) \[([^\]]*)\]/.exec(line);
      return match?.[1] === undefined || match[2] === undefined ? [] : [{ name: match[1], label: match[2] }];
    });
    name = PI_HEADER_LABELS.map((label) => chips.find((c) => c.label === label)?.name).find((n) => n !== undefined) ?? null;
    if (name === null) {
      const found = chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none';
      throw new GpioUnavailableError(`no Raspberry Pi GPIO controller among the GPIO chips (found: ${found})`, 'set led.chip to the chip of the header');
    }
  }
  const device = name.startsWith('/') ? name : `${devDir}/${name}`;
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new GpioUnavailableError(`no permission to use ${device}`, GPIO_GROUP_FIX, { cause: error });
    throw new GpioUnavailableError(`cannot use ${device}: ${code ?? (error as Error).message}`, 'check led.chip; asyncdemo doctor lists the chips', { cause: error });
  }

  const chipName = name;
  /** A holder keeps the line until SIGTERM; without `hold`, gpioset sets the value and exits. */
  const args = (offset: number, on: boolean, hold: boolean): string[] => {
    const value = `${offset}=${on ? 1 : 0}`;
    const low = activeLow ? ['--active-low'] : [];
    if (v2) return [...(hold ? [] : ['-t0']), '--chip', chipName, ...low, value];
    return [...(hold ? ['--mode=signal'] : []), ...low, chipName, value];
  };
  const options: SpawnOptions = { env, stdio: ['ignore', 'ignore', 'pipe'] };
  return {
    name: 'chardev',
    chip: chipName,
    libgpiod: `${libgpiod.major}.${libgpiod.minor}`,
    open: (bcm) =>
      new GpiosetLine({
        hold: (on) => childProcess().spawn('gpioset', args(bcm, on, true), options),
        setOff: () => childProcess().spawn('gpioset', args(bcm, false, false), options),
        setOffSync: () => void childProcess().spawnSync('gpioset', args(bcm, false, false), { env, stdio: 'ignore', timeout: RELEASE_TIMEOUT_MS }),
        onError,
      }),
  };
}

interface GpiosetRunner {
  /** Starts a gpioset that drives the line and holds it until SIGTERM. */
  readonly hold: (on: boolean) => ChildProcess;
  /** Starts a gpioset that drives the line off and exits: off and released. */
  readonly setOff: () => ChildProcess;
  readonly setOffSync: () => void;
  readonly onError: (error: Error) => void;
}

/**
 * One line held by a gpioset child. Changes are applied one at a time, in
 * order, and a burst of them collapses to the last: only the final state of
 * the light matters, and every change costs a process.
 *
 * A line whose holder exits reverts to its default state (libgpiod: "undefined
 * behavior"), and a holder killed early may not have set anything. So the
 * release stops the holder and then runs a gpioset that sets the line off and
 * exits, and waits for it: its exit is the proof that the line is off.
 */
class GpiosetLine implements LedOutput {
  #wanted = false;
  #applied: boolean | undefined;
  #child: ChildProcess | undefined;
  #working: Promise<void> | undefined;
  #released = false;
  #releasedNow = false;
  /** A holder asked to exit (SIGTERM) that has not yet. */
  #stopping: ChildProcess | undefined;
  #failed = false;
  readonly #run: GpiosetRunner;

  constructor(run: GpiosetRunner) {
    this.#run = run;
    this.set(false);
  }

  set(on: boolean): void {
    if (this.#released) return;
    this.#wanted = on;
    this.#working ??= this.#apply().finally(() => (this.#working = undefined));
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#working;
    await this.#stop();
    const child = this.#run.setOff();
    await this.#watch(child, (code, stderr) => (code === 0 ? undefined : new Error(`gpioset could not turn the LED off (${code ?? 'killed'}): ${stderr || 'no message'}`)), RELEASE_TIMEOUT_MS);
  }

  /** Also in the middle of release(): a holder that ignores SIGTERM is killed, and the line is set off. */
  releaseNow(): void {
    if (this.#releasedNow) return;
    this.#released = this.#releasedNow = true;
    this.#child?.kill('SIGKILL');
    this.#stopping?.kill('SIGKILL');
    this.#child = this.#stopping = undefined;
    this.#run.setOffSync();
  }

  async #apply(): Promise<void> {
    while (this.#applied !== this.#wanted && !this.#released) {
      const on = this.#wanted;
      await this.#stop();
      if (this.#released) return;
      const child = this.#run.hold(on);
      // A holder that exits on its own (the line is busy, no permission) did not hold anything.
      void this.#watch(child, (code, stderr) => (this.#child === child ? new Error(`gpioset exited (${code ?? 'killed'}): ${stderr || 'no message'}`) : undefined));
      this.#child = child;
      this.#applied = on;
    }
  }

  /** Waits for `child` to exit, reporting what `problem` makes of its exit; kills it after `timeoutMs`. */
  #watch(child: ChildProcess, problem: (code: number | null, stderr: string) => Error | undefined, timeoutMs?: number): Promise<void> {
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        this.#report(new Error(`gpioset: ${error.message}`));
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const error = signal === null || timeoutMs !== undefined ? problem(code, stderr.trim()) : undefined;
        if (error !== undefined) this.#report(error);
        resolve();
      });
    });
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.#stopping = child;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), RELEASE_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        if (this.#stopping === child) this.#stopping = undefined;
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  #report(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#run.onError(error);
  }
}
