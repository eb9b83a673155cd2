/**
 * Which config a command means, and where a daemon's status file is: the
 * defaults that fit an installed Pi (the service's config, /run/asyncdemo)
 * and a checkout (the shipped default, a foreground run's own directory).
 */
import { join, resolve } from 'node:path';
import { readServiceView, type ServiceView } from '../service-view.js';
import { SERVICE_STATUS_DIR, STATUS_FILE_NAME } from '../status.js';
import type { App, Env } from './command.js';

/** A config file, why that one, and the environment its settings are read with. */
interface ConfigChoice {
  readonly file: string;
  /** `from --config`, `from ASYNCDEMO_CONFIG`, `the service's config, as …`, `the shipped default`. */
  readonly why: string;
  readonly env: Env;
  /** The installed service, when the choice describes it. */
  readonly service?: ServiceView;
}

interface ChoiceOptions {
  /** `--config FILE` (or check-config's operand). */
  readonly flag: string | undefined;
  readonly env: Env;
  readonly app: App;
  /** Describe this checkout with this shell's environment even where a service is installed. */
  readonly checkout?: boolean;
  /** The installed service; tests pass their own. */
  readonly serviceView?: () => ServiceView | undefined;
}

/**
 * The config a command that reads one (check-config, print-config, doctor,
 * edit) means: `--config FILE`, else `$ASYNCDEMO_CONFIG`, else the installed
 * service's (read with its unit's environment, as the service reads it),
 * else the shipped default. A flag naming the service's own file describes
 * the service too.
 */
export function chooseConfig({ flag, env, app, checkout = false, serviceView = readServiceView }: ChoiceOptions): ConfigChoice {
  const asked = askedConfig(flag, env);
  const service = checkout ? undefined : serviceView();
  if (service !== undefined && (asked === undefined || resolve(asked.file) === resolve(service.configFile))) {
    const environment = Object.keys(service.env).length === 0 ? 'no Environment=' : `Environment= read from ${service.readFrom}`;
    return { file: service.configFile, why: `the service's config, as ${service.unitFile} runs it (${environment}); this checkout's view: --checkout`, env: service.env, service };
  }
  return { ...(asked ?? { file: app.shippedConfig, why: 'the shipped default' }), env };
}

/**
 * The config `asyncdemo run` starts with: `--config FILE`, else
 * `$ASYNCDEMO_CONFIG`, else the shipped default; never the service's on its
 * own (a second daemon on it would drive the same LED).
 */
export function runConfig(flag: string | undefined, env: Env, app: App): { file: string; why: string } {
  return askedConfig(flag, env) ?? { file: app.shippedConfig, why: 'the shipped default' };
}

function askedConfig(flag: string | undefined, env: Env): { file: string; why: string } | undefined {
  if (flag !== undefined) return { file: flag, why: 'from --config' };
  const fromEnv = env['ASYNCDEMO_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { file: fromEnv, why: 'from ASYNCDEMO_CONFIG' };
  return undefined;
}

/** A place a daemon publishes its status, and whose it is. */
export interface StatusPlace {
  readonly file: string;
  readonly whose: 'service' | 'foreground' | 'chosen';
}

/**
 * The directory a daemon started by `asyncdemo run` outside systemd publishes
 * in: `$XDG_RUNTIME_DIR/asyncdemo`, the user's own tmpfs (a login session on a
 * Pi has one), so a status written every second wears no SD card. Without
 * it, none (`asyncdemo status` says how to get one).
 */
function foregroundStatusDir(env: Env): string | undefined {
  const runtime = env['XDG_RUNTIME_DIR'];
  return runtime !== undefined && runtime.startsWith('/') ? join(runtime, 'asyncdemo') : undefined;
}

/** Where the daemon of this process publishes: `$ASYNCDEMO_STATUS_DIR`, else systemd's RuntimeDirectory=, else the foreground directory (if any). */
export function ownStatusDir(env: Env): { dir: string; whose: StatusPlace['whose'] } | undefined {
  const chosen = env['ASYNCDEMO_STATUS_DIR'];
  if (chosen !== undefined && chosen !== '') return { dir: chosen, whose: 'chosen' };
  // RUNTIME_DIRECTORY lists one path per RuntimeDirectory= entry, colon-separated; the unit has one.
  const runtime = env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (runtime !== undefined && runtime !== '') return { dir: runtime, whose: 'service' };
  const foreground = foregroundStatusDir(env);
  return foreground === undefined ? undefined : { dir: foreground, whose: 'foreground' };
}

/** Where `asyncdemo status` and `reload` look, in order: `$ASYNCDEMO_STATUS_DIR` alone when set, else the service's, then this user's foreground run's. */
export function statusPlaces(env: Env): StatusPlace[] {
  const chosen = env['ASYNCDEMO_STATUS_DIR'];
  if (chosen !== undefined && chosen !== '') return [{ file: join(chosen, STATUS_FILE_NAME), whose: 'chosen' }];
  const foreground = foregroundStatusDir(env);
  return [{ file: join(SERVICE_STATUS_DIR, STATUS_FILE_NAME), whose: 'service' }, ...(foreground === undefined ? [] : [{ file: join(foreground, STATUS_FILE_NAME), whose: 'foreground' as const }])];
}
