import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SdNotifyMissingError } from '../errors.js';
import { MAX_TIMER_DELAY_MS } from '../time.js';
import { silentNotifier, type Notifier } from './notifier.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Sends one sd_notify message (newline-separated assignments). */
export type NotifySend = (message: string) => void;

/** The variables systemd hands the service for sd_notify; no child process should inherit them. */
const NOTIFY_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** `env` without the sd_notify variables, for child processes (a child that notified would confuse systemd). */
export function childEnv(env: Env): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !(NOTIFY_VARIABLES as readonly string[]).includes(key)) copy[key] = value;
  }
  return copy;
}

export interface SdNotifierOptions {
  readonly env: Env;
  readonly pid: number;
  /** Monotonic microseconds, for RELOADING=1's MONOTONIC_USEC. */
  readonly monotonicUsec: () => bigint;
  /** Loads the native binding's send, or gives undefined when it is not installed. Defaults to loading `sd-notify`. */
  readonly loadBinding?: () => NotifySend | undefined;
  /** What to do when the binding is missing: {@link sdNotifyFix}. */
  readonly fix: string;
}

/** The `sd-notify` binding's send, or undefined when it did not build (it is an optional dependency). */
export function loadSdNotify(): NotifySend | undefined {
  // createRequire: the package is CommonJS with a native addon, and stays outside the bundle.
  const load = createRequire(import.meta.url);
  let binding: { sendState(state: string): void } | undefined;
  // The addon itself: the package's index.js finds it through `bindings`, whose search of
  // a dozen build paths took half of the 3.5 ms this load cost before READY. Where npm built
  // it (a checkout); where the Debian package ships it, one build per Node.js module ABI.
  for (const path of ['sd-notify/build/Release/notify.node', `sd-notify/${abiBindingPath('notify')}`, 'sd-notify']) {
    try {
      binding = load(path) as { sendState(state: string): void };
      break;
    } catch {
      // The next place, if any.
    }
  }
  if (binding === undefined) return undefined;
  const sdNotify = binding;
  return (message) => sdNotify.sendState(message);
}

/**
 * How to get the binding back, as a command that works: after `npm ci`
 * dropped the optional package (its build failed), `npm rebuild sd-notify`
 * finds nothing to rebuild, so it is installed again, from the lockfile; after
 * an install with `--ignore-scripts`, the package is there but not built, and
 * `npm install` leaves it so: the rebuild builds it. `--omit=dev` where the
 * dev dependencies are not installed (a copy made with `npm ci --omit=dev`),
 * and only there: in a checkout it would remove them. (The Debian package's
 * fix is apt's: {@link sdNotifyPackageFix}.)
 */
export function sdNotifyFix(appDir: string, devDependenciesInstalled: boolean): string {
  const sudo = devDependenciesInstalled ? '' : 'sudo ';
  const omit = devDependenciesInstalled ? '' : ' --omit=dev';
  return (
    `sudo apt install libsystemd-dev build-essential python3, then ` +
    `cd ${appDir} && ${sudo}npm install --no-save${omit} sd-notify && ${sudo}npm rebuild sd-notify`
  );
}

/** Where a package built for several Node.js versions keeps a native module's build for this one (node-pre-gyp's layout, which `bindings` searches too). */
export function abiBindingPath(name: string, abi: string = process.versions.modules, arch: string = process.arch): string {
  return `lib/binding/node-v${abi}-linux-${arch}/${name}.node`;
}

/**
 * How to get the binding back on an install from the Debian package, which
 * ships it built for each Node.js it supports (scripts/package/): reinstall
 * the package, or, when this Node.js is not one it was built for, say so.
 */
export function sdNotifyPackageFix(appDir: string, packageName: string, abi: string = process.versions.modules): string {
  let built: string[] = [];
  try {
    built = readdirSync(join(appDir, 'node_modules', 'sd-notify', 'lib', 'binding')).flatMap((name) => /^node-v(\d+)-/.exec(name)?.[1] ?? []);
  } catch {
    // None at all: the package's files are damaged; reinstalling brings them back.
  }
  if (built.length > 0 && !built.includes(abi)) {
    return `the ${packageName} package has the binding for Node.js module ABIs ${built.sort().join(', ')}, not for this Node.js ${process.version} (ABI ${abi}): install a Node.js it was built for, or a build of the package for this one`;
  }
  return `sudo apt install --reinstall ${packageName}`;
}

/**
 * The notifier for this process: silent outside systemd (no NOTIFY_SOCKET),
 * else sd_notify through the native binding.
 *
 * @throws {SdNotifyMissingError} when systemd waits for READY=1 and the
 *   binding is not installed: the service cannot start without it. (Sending
 *   through `systemd-notify` instead does not work: under `NotifyAccess=main`
 *   systemd refuses messages from a child process, and the children's
 *   messages can arrive out of order.)
 */
export function createSdNotifier({ env, pid, monotonicUsec, loadBinding = loadSdNotify, fix }: SdNotifierOptions): Notifier {
  const socket = env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return silentNotifier;
  const send = loadBinding();
  if (send === undefined) {
    throw new SdNotifyMissingError('systemd is waiting for READY=1 (NOTIFY_SOCKET is set) but the sd-notify binding is not installed (its native build failed or was skipped), so the service cannot start', fix);
  }
  const line = (text: string): string => text.replaceAll('\n', ' ');
  return {
    active: true,
    ready: (status) => send(`READY=1\nSTATUS=${line(status)}`),
    reloading: (status) => send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=${line(status)}`),
    stopping: (status) => send(`STOPPING=1\nSTATUS=${line(status)}`),
    status: (text) => send(`STATUS=${line(text)}`),
    watchdog: () => send('WATCHDOG=1'),
    watchdogIntervalMs: watchdogInterval(env, pid),
  };
}

/**
 * Half the watchdog period systemd asked for (sd_watchdog_enabled(3)), or
 * undefined when it asked for none, or asked another process (WATCHDOG_PID).
 */
export function watchdogInterval(env: Env, pid: number): number | undefined {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  // From the environment, so capped like a value from the config: past Node's longest timer it would fire every millisecond.
  return Math.min(Math.max(1, Math.floor(usec / 2000)), MAX_TIMER_DELAY_MS);
}
