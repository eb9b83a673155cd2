import { createRequire } from 'node:module';
import { childProcess } from '../child-process.js';
import { silentNotifier, type Notifier } from './notifier.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Sends one sd_notify message (newline-separated assignments). */
export type NotifySend = (message: string) => void;

/** The variables systemd hands the service for sd_notify; no child process should inherit them. */
export const NOTIFY_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

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
  /** Sends through `systemd-notify` when there is no binding. */
  readonly fallback?: NotifySend;
}

export interface SdNotifierResult {
  readonly notifier: Notifier;
  /** One line for the log when something is wrong, saying how to fix it. */
  readonly problem?: string;
}

/** The `sd-notify` binding's send, or undefined when it did not build (it is an optional dependency). */
export function loadSdNotify(): NotifySend | undefined {
  // createRequire: the package is CommonJS with a native addon, and stays outside the bundle.
  const load = createRequire(import.meta.url);
  let binding: { sendState(state: string): void } | undefined;
  try {
    // The addon itself: the package's index.js finds it through `bindings`, whose search of
    // a dozen build paths took half of the 3.5 ms this load cost before READY.
    binding = load('sd-notify/build/Release/notify.node') as { sendState(state: string): void };
  } catch {
    try {
      binding = load('sd-notify') as { sendState(state: string): void };
    } catch {
      return undefined;
    }
  }
  const sdNotify = binding;
  return (message) => sdNotify.sendState(message);
}

/**
 * `systemd-notify` as a stand-in for the binding. Its messages come from a
 * child process, which systemd accepts only with `NotifyAccess=all`.
 */
export function systemdNotifyFallback(env: Env): NotifySend {
  return (message) => {
    const child = childProcess().spawn('systemd-notify', message.split('\n'), { env: { ...env } as NodeJS.ProcessEnv, stdio: 'ignore' });
    child.on('error', () => {
      // No systemd-notify either; the problem line already said what to install.
    });
    child.unref();
  };
}

/**
 * The notifier for this process: silent outside systemd (no NOTIFY_SOCKET),
 * else sd_notify through the native binding, else through `systemd-notify`,
 * with a loud line saying how to get the binding back.
 */
export function createSdNotifier({ env, pid, monotonicUsec, loadBinding = loadSdNotify, fallback }: SdNotifierOptions): SdNotifierResult {
  const socket = env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return { notifier: silentNotifier };
  let send = loadBinding();
  let problem: string | undefined;
  if (send === undefined) {
    send = fallback ?? systemdNotifyFallback(env);
    problem =
      'systemd is waiting for READY=1 (NOTIFY_SOCKET is set) but the sd-notify binding is not installed; ' +
      'sending through systemd-notify instead, which systemd only accepts with NotifyAccess=all. ' +
      'Fix: sudo apt install libsystemd-dev build-essential, then npm rebuild sd-notify in the app directory (or run scripts/install.sh again)';
  }
  const deliver = send;
  const line = (text: string): string => text.replaceAll('\n', ' ');
  return {
    problem,
    notifier: {
      active: true,
      ready: (status) => deliver(`READY=1\nSTATUS=${line(status)}`),
      reloading: (status) => deliver(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=${line(status)}`),
      stopping: (status) => deliver(`STOPPING=1\nSTATUS=${line(status)}`),
      status: (text) => deliver(`STATUS=${line(text)}`),
      watchdog: () => deliver('WATCHDOG=1'),
      watchdogIntervalMs: watchdogInterval(env, pid),
    },
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
  return Math.max(1, Math.floor(usec / 2000));
}
