import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { childProcess } from '../lazy-builtins.js';
import { GpioUnavailableError } from '../errors.js';
import type { Time } from '../time.js';
import { PI_HEADER_LABELS } from './chips.js';
import type { LedBackend, LedOutput } from './led.js';
import { lineHelperArgs } from './line-helper.js';
import { GPIO_UDEV_RULE, permissionProblem } from './permissions.js';

type Env = Readonly<Record<string, string>>;

/** How long the helper may take to drive the line off and let go of it before it is killed. */
const RELEASE_TIMEOUT_MS = 1000;
/** How long detecting the chips may take (a python3 start, one ioctl per chip). */
const DETECT_TIMEOUT_MS = 10_000;

const CHARDEV_UDEV_FIX = `give the GPIO devices to the gpio group with the udev rule Raspberry Pi OS has: echo '${GPIO_UDEV_RULE}' | sudo tee /etc/udev/rules.d/60-gpio.rules && sudo udevadm trigger --subsystem-match=gpio (the service user is in the gpio group)`;

interface ChardevOptions {
  readonly activeLow: boolean;
  /** The chip (gpiochip0, /dev/gpiochip4…); null finds the header's. */
  readonly chip: string | null;
  /** The environment of the helper: without NOTIFY_SOCKET and WATCHDOG_* (see childEnv). */
  readonly env: Env;
  /** Where a failure that happens later, in the helper, is reported. */
  readonly onError: (error: Error) => void;
  /** The release's bound. */
  readonly time: Time;
  /** Where the GPIO character devices are. */
  readonly devDir?: string;
  /** How the chips are found; tests pass their own. */
  readonly detect?: (devDir: string, env: Env) => ChardevChip[] | undefined;
}

/** The GPIO character devices in `devDir` (gpiochip0…), by name; none when it cannot be read. */
export function listGpioDevices(devDir = '/dev'): string[] {
  try {
    return readdirSync(devDir).filter((n) => /^gpiochip\d+$/.test(n));
  } catch {
    return [];
  }
}

/** A GPIO chip as the kernel describes it, or why it could not be opened. */
export interface ChardevChip {
  readonly device: string;
  readonly name?: string;
  readonly label?: string;
  readonly lines?: number;
  /** EACCES, EPERM, ENOENT…: the chip could not be opened. */
  readonly error?: string;
}

/** The chips in `devDir`, from the kernel (the helper's `detect`); undefined when python3 does not run. */
function detectChips(devDir: string, env?: Env): ChardevChip[] | undefined {
  const result = childProcess().spawnSync('python3', lineHelperArgs(['detect', devDir]), { ...(env === undefined ? {} : { env }), encoding: 'utf8', timeout: DETECT_TIMEOUT_MS });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stdout.split('\n').flatMap((line) => {
    try {
      return line === '' ? [] : [JSON.parse(line) as ChardevChip];
    } catch {
      return [];
    }
  });
}

/** python3's version line, or undefined when it does not run (`asyncdemo doctor`). */
export function pythonVersion(env?: Env): string | undefined {
  const result = childProcess().spawnSync('python3', ['--version'], { ...(env === undefined ? {} : { env }), encoding: 'utf8' });
  return result.error === undefined && result.status === 0 ? result.stdout.trim() : undefined;
}

function noPermission(devices: readonly string[]): GpioUnavailableError {
  const { reason, fix } = permissionProblem(devices, 'open', CHARDEV_UDEV_FIX);
  return new GpioUnavailableError(reason, fix);
}

/**
 * The LED through the GPIO character device, for kernels without sysfs GPIO
 * (Raspberry Pi OS trixie) or where it is not usable: a python3 helper holds
 * the line (see line-helper.ts for why, and how). No native build, and no
 * libgpiod: the same on bookworm (libgpiod 1.6) and trixie (2.2).
 *
 * @throws {GpioUnavailableError} saying why and how to fix it.
 */
export function openChardevBackend({ activeLow, chip, env, onError, time, devDir = '/dev', detect = detectChips }: ChardevOptions): LedBackend & { readonly chip: string; readonly label: string } {
  if (listGpioDevices(devDir).length === 0) throw new GpioUnavailableError(`no GPIO character devices (${devDir}/gpiochip*): not a Raspberry Pi`, 'run asyncdemo on a Raspberry Pi, or use led.backend: simulated');
  const chips = detect(devDir, env);
  if (chips === undefined) throw new GpioUnavailableError('python3 does not run (asyncdemo drives the GPIO character device through a small python3 helper)', 'sudo apt install python3');

  let found: ChardevChip | undefined;
  if (chip !== null) {
    const device = chip.startsWith('/') ? chip : `${devDir}/${chip}`;
    found = chips.find((c) => c.device === device);
    if (found === undefined) throw new GpioUnavailableError(`no GPIO character device ${device}`, `check led.chip; the chips are ${chips.map((c) => c.device).join(', ')}`);
  } else {
    found = PI_HEADER_LABELS.map((label) => chips.find((c) => c.label === label)).find((c) => c !== undefined);
    if (found === undefined) {
      // A chip that cannot be opened cannot tell its label: that is the problem to report, not a missing chip.
      const denied = chips.filter((c) => c.error === 'EACCES' || c.error === 'EPERM').map((c) => c.device);
      if (denied.length > 0) throw noPermission(denied);
      const list = chips.map((c) => (c.error === undefined ? `${c.name ?? c.device} [${c.label ?? ''}]` : `${c.device} (${c.error})`)).join(', ') || 'none';
      throw new GpioUnavailableError(`no Raspberry Pi GPIO controller among the GPIO chips (found: ${list})`, 'set led.chip to the chip of the header');
    }
  }
  if (found.error === 'EACCES' || found.error === 'EPERM') throw noPermission([found.device]);
  if (found.error !== undefined) throw new GpioUnavailableError(`cannot open ${found.device}: ${found.error}`, 'check led.chip; asyncdemo doctor lists the chips');

  const header = found;
  const name = header.name ?? header.device;
  return {
    name: 'chardev',
    chip: name,
    label: header.label ?? '',
    open(bcm: number): LedOutput {
      // On every Pi header chip, line N is BCM N (pinctrl-bcm2835/2711, and the RP1's 0–27).
      if (header.lines !== undefined && bcm >= header.lines) throw new GpioUnavailableError(`BCM ${bcm} is out of range for ${name} [${header.label ?? ''}] (0 to ${header.lines - 1})`, 'check led.pin');
      const spawn = (): ChildProcess => childProcess().spawn('python3', lineHelperArgs(['hold', header.device, String(bcm), activeLow ? '1' : '0', 'asyncdemo']), { env, stdio: ['pipe', 'ignore', 'pipe'] });
      return new HelperLine(spawn, `the GPIO helper for BCM ${bcm}`, onError, time);
    },
  };
}

/**
 * One line held by the helper. Every change is one byte on its stdin, in
 * order. If the helper falls behind by more than a pipe's worth, changes
 * collapse to the latest until it drains: memory stays bounded and the light
 * still ends where the steps left it.
 */
class HelperLine implements LedOutput {
  readonly #child: ChildProcess;
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  readonly #onError: (error: Error) => void;
  /** "the GPIO helper for BCM 17", for messages. */
  readonly #what: string;
  readonly #time: Time;
  #written = false;
  #pending: boolean | undefined;
  #draining = false;
  #released = false;
  #failed = false;

  constructor(spawn: () => ChildProcess, what: string, onError: (error: Error) => void, time: Time) {
    this.#onError = onError;
    this.#what = what;
    this.#time = time;
    const child = spawn();
    this.#child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    // A write after the helper died fails with EPIPE; its exit says why.
    child.stdin?.on('error', () => {});
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.#report(new Error(`${this.#what} (python3) did not start: ${error.message}`));
        resolve({ code: null, signal: null, stderr });
      });
      child.once('close', (code, signal) => {
        if (!this.#released) this.#report(new Error(`${this.#what} exited (${code ?? signal ?? '?'}) and let go of the line: ${stderr.trim() || 'no message'}`));
        resolve({ code, signal, stderr });
      });
    });
  }

  set(on: boolean): void {
    if (this.#released || this.#failed) return;
    if (this.#draining) {
      this.#pending = on;
      return;
    }
    this.#written = on;
    if (this.#child.stdin?.write(on ? '1' : '0') === false) {
      this.#draining = true;
      this.#child.stdin.once('drain', () => {
        this.#draining = false;
        const pending = this.#pending;
        this.#pending = undefined;
        if (pending !== undefined && pending !== this.#written) this.set(pending);
      });
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    // The helper drives the line off at the end of its input, then lets it go and exits 0.
    this.#child.stdin?.end(this.#written ? '0' : undefined);
    const timer = this.#time.setTimeout(() => this.#child.kill('SIGKILL'), RELEASE_TIMEOUT_MS);
    const { code, signal, stderr } = await this.#exited;
    this.#time.clearTimeout(timer);
    if (code !== 0) this.#report(new Error(`${this.#what} could not turn the LED off (${code ?? signal ?? '?'}): ${stderr.trim() || 'no message'}`));
  }

  /** Also in the middle of release(): the helper, whose input is then closed already, drives the line off by itself. */
  releaseNow(): void {
    if (this.#released) return;
    this.#released = true;
    // Closing its stdin is enough: the helper drives the line off and exits on its own, after us.
    this.#child.stdin?.destroy();
  }

  #report(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onError(error);
  }
}
