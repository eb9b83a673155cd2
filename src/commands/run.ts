/**
 * `asyncdemo run`: the daemon's composition root. It creates the config, the
 * logger, the notifier, the LED and the status file, passes them (and the
 * time every part shares) to the daemon, and hands it the process's signals.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fallbackLogSettings, loadConfig, type Config } from '../config/load.js';
import { settingRows, sourceText } from '../config/sources.js';
import { Daemon } from '../daemon.js';
import { ConfigError, GpioUnavailableError, SdNotifyMissingError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { StepLeds, type LedBackend } from '../led/led.js';
import { selectLedBackend } from '../led/select.js';
import { Lifecycle } from '../lifecycle.js';
import { createLogging, type Logging } from '../log/logger.js';
import { createProcessHandlers } from '../process-handlers.js';
import { listenToProcess } from '../signals.js';
import { nextTurn } from '../sleep.js';
import { createStatusPublisher, ownIdentity, type SettingStatus, type StatusPublisher } from '../status.js';
import type { Notifier } from '../systemd/notifier.js';
import { childEnv, createSdNotifier, type SdNotifierOptions } from '../systemd/sd-notify.js';
import { oneLine } from '../text.js';
import type { Time } from '../time.js';
import { CONFIG_OPTION, stringValue, type Command, type Context, type Env } from './command.js';
import { complain, isTerminal } from './output.js';
import { findDaemon } from './status.js';
import { ownStatusDir, runConfig } from './where.js';

export const run: Command = {
  name: 'run',
  summary: 'run the daemon in the foreground (systemd runs it so, too)',
  options: [{ ...CONFIG_OPTION, description: 'the config file (default: $ASYNCDEMO_CONFIG, else the shipped default)' }],
  description: [
    'Starts the tasks marked autostart and runs until a stop step, SIGTERM or SIGINT: every task is cancelled, the LED goes off, the log files are finished, exit 0. SIGHUP reloads the config (asyncdemo reload says what it did); SIGUSR1 logs a status line; SIGUSR2 and SIGALRM are ignored. A second SIGTERM or SIGINT during a stop exits 1 at once.',
    'Lines go to the console (journal lines under systemd, colored on a terminal, JSON otherwise) and to rotating JSON files. Outside systemd the status for `asyncdemo status` goes to $ASYNCDEMO_STATUS_DIR, else $XDG_RUNTIME_DIR/asyncdemo (the tmpfs of a login session), else nowhere.',
    'It refuses to start beside the installed service when both would drive the same GPIO pin.',
  ],
  exitCodes: [
    [69, 'under systemd without the sd-notify binding (EX_UNAVAILABLE)'],
    [75, 'the service runs and drives the same LED pin (EX_TEMPFAIL)'],
    [78, 'the config is invalid (EX_CONFIG)'],
  ],
  async run(invocation, context) {
    // Until the daemon's own listeners take over (signals.ts), a failure of the start is a fatal line, never a silent exit.
    const guard = guardStart(context);
    try {
      return await start(invocation, context, guard);
    } catch (error) {
      return guard.fatal(error);
    } finally {
      guard.release();
    }
  },
};

/** The start's own net for the unexpected: an error thrown or a promise rejected before the daemon listens to the process. */
interface StartGuard {
  /** The logging, once there is one: the fatal line goes through it. */
  logging: Logging | undefined;
  /** Logs the error as fatal and exits 1. */
  fatal(error: unknown): never;
  /** Stops listening: the daemon's listeners take over. */
  release(): void;
}

function guardStart(context: Context): StartGuard {
  const guard: StartGuard = {
    logging: undefined,
    fatal(error) {
      // One line: where it was thrown, for the bug report; the log files have the whole stack.
      const where = error instanceof Error ? /\n\s+(at .*)/.exec(error.stack ?? '')?.[1] : undefined;
      const text = `asyncdemo could not start: ${error instanceof Error ? error.message : String(error)}${where === undefined ? '' : ` (${where})`}; exiting`;
      if (guard.logging === undefined) complain(oneLine(text), context.env);
      else guard.logging.logger.fatal({ err: error }, oneLine(text));
      guard.logging?.flushSync();
      return context.exit(ExitCode.failure);
    },
    release() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
  const onError = (error: unknown): void => void guard.fatal(error);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return guard;
}

async function start(invocation: Parameters<Command['run']>[0], context: Context, guard: StartGuard): Promise<number> {
  const { env, time, app } = context;
  const { file } = runConfig(stringValue(invocation, 'config'), env, app);
  const startup: Startup = {
    file,
    env,
    time,
    stdoutIsTTY: isTerminal(1),
    notifierOptions: { env, pid: process.pid, monotonicUsec: () => BigInt(Math.round(time.monotonicMs() * 1000)), fix: app.bindingFix },
  };
  let config: Config;
  try {
    config = loadConfig({ file, env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return refuseConfig(startup, error);
  }
  const clash = ledClash(env, config);
  if (clash !== undefined) return refuseBeside(startup, config, clash);
  const opened = await openOutsideWorld(startup, config, guard);
  if (typeof opened === 'number') return opened;
  return runDaemon(startup, config, opened, context, guard);
}

/** What `run` starts from: the config file, the environment and the time every part shares. */
interface Startup {
  readonly file: string;
  readonly env: Env;
  readonly time: Time;
  readonly stdoutIsTTY: boolean;
  readonly notifierOptions: SdNotifierOptions;
}

/** The config cannot be used: say why through the logger, so the reason is in the log files as well as on the console and in the journal. */
async function refuseConfig({ file, env, time, stdoutIsTTY, notifierOptions }: Startup, error: ConfigError): Promise<number> {
  const logging = await createLogging({ settings: fallbackLogSettings({ file, env }, error), env, stdoutIsTTY, time });
  logging.logger.fatal({ problems: error.issues, more: error.more }, `${oneLine(error.message)}; not starting: fix the config (asyncdemo check-config ${file}) and start again`);
  try {
    // systemctl status shows why it did not start.
    createSdNotifier(notifierOptions).status(`invalid config ${file}; see the log`);
  } catch (missing) {
    if (!(missing instanceof SdNotifyMissingError)) throw missing;
  }
  await logging.close();
  return ExitCode.config;
}

/**
 * The service's LED pins, when the service runs and this config would drive
 * one of them too (two daemons on one line fight over it); undefined
 * otherwise, and always under systemd (the service does not refuse itself).
 */
function ledClash(env: Env, config: Config): { pid: number; pins: number[] } | undefined {
  if (env['INVOCATION_ID'] !== undefined || env['ASYNCDEMO_STATUS_DIR'] !== undefined) return undefined;
  const led = config.settings.led;
  if (!led.enabled || led.backend === 'simulated') return undefined;
  let found;
  try {
    found = findDaemon(env);
  } catch {
    return undefined;
  }
  if (found === undefined || found.place.whose !== 'service' || found.reading.liveness !== 'running') return undefined;
  const theirs = found.reading.status.led;
  if (theirs.pin === null || theirs.backend === 'simulated' || theirs.backend === 'disabled') return undefined;
  const mine = new Set([led.pin, ...[...config.tasks.values()].flatMap((t) => (t.pin === undefined ? [] : [t.pin]))]);
  return mine.has(theirs.pin) ? { pid: found.reading.status.pid, pins: [theirs.pin] } : undefined;
}

async function refuseBeside({ env, time, stdoutIsTTY }: Startup, config: Config, clash: { pid: number; pins: number[] }): Promise<number> {
  const logging = await createLogging({ settings: { ...config.settings.log, file: { ...config.settings.log.file, enabled: false } }, env, stdoutIsTTY, time });
  logging.logger.fatal(
    `not starting: the asyncdemo service (pid ${clash.pid}) drives BCM ${clash.pins.join(', ')}, which ${config.file} would drive too. ` +
      'Fix: run with another pin (led.pin, or ASYNCDEMO_LED_PIN=27), without the LED (ASYNCDEMO_LED_ENABLED=false), or stop the service first (sudo systemctl stop asyncdemo)',
  );
  await logging.close();
  return ExitCode.tempFail;
}

type OpenLedBackend = (led: Config['settings']['led']) => Promise<LedBackend | undefined>;

/** The logger, the notifier and the LED, opened in that order so the first can report on the others. */
interface OutsideWorld {
  readonly logging: Logging;
  readonly notifier: Notifier;
  readonly openLedBackend: OpenLedBackend;
  readonly ledBackend: LedBackend | undefined;
}

/** Opens what the daemon talks to, or returns the exit code of the first that cannot be opened (after logging why). */
async function openOutsideWorld({ env, time, stdoutIsTTY, notifierOptions }: Startup, config: Config, guard: StartGuard): Promise<OutsideWorld | number> {
  const logging = await createLogging({ settings: config.settings.log, env, stdoutIsTTY, time });
  guard.logging = logging;
  const { logger } = logging;
  let notifier: Notifier;
  try {
    notifier = createSdNotifier(notifierOptions);
  } catch (error) {
    if (!(error instanceof SdNotifyMissingError)) throw error;
    // At once: systemd would otherwise wait TimeoutStartSec for a READY=1 that cannot come.
    logger.fatal({ code: error.code }, error.message);
    await logging.close();
    return ExitCode.unavailable;
  }
  const openLedBackend: OpenLedBackend = async (led) => {
    const choice = selectLedBackend(led, { logger, childEnv: childEnv(env), time });
    if (choice.fellBack) logger.warn(choice.line);
    else logger.info(choice.line);
    return choice.backend;
  };
  let ledBackend: LedBackend | undefined;
  try {
    ledBackend = await openLedBackend(config.settings.led);
  } catch (error) {
    if (!(error instanceof GpioUnavailableError)) throw error;
    logger.fatal({ code: error.code }, error.message);
    await logging.close();
    return ExitCode.failure;
  }
  return { logging, notifier, openLedBackend, ledBackend };
}

/**
 * Creates the daemon from what was opened, hands it the process's signals
 * and error events, and runs it to its exit code. Signals that came before
 * (held since the entry script's first line) are answered now: a stop signal
 * stops it before any task starts; a SIGHUP reloads once it is ready.
 */
async function runDaemon({ file, env, time }: Startup, config: Config, { logging, notifier, openLedBackend, ledBackend }: OutsideWorld, context: Context, guard: StartGuard): Promise<number> {
  const { logger } = logging;
  const lifecycle = new Lifecycle();
  const leds = new StepLeds(ledBackend, config.settings.led, (error, pin) => logger.error({ err: error }, `LED on BCM ${pin}: ${error.message}`), time);
  const status = statusPublisher(env, time, logging, leds, context.app);
  const daemon = new Daemon({
    config,
    reloadConfig: () => loadConfig({ file, env }),
    logging,
    time,
    lifecycle,
    leds,
    openLedBackend,
    notifier,
    // The crash step: an exception outside any task, as an uncaught one would be.
    crash: (error) =>
      time.setImmediate(() => {
        throw error;
      }),
    ...(status === undefined ? {} : { publishStatus: status.publish }),
  });

  const exit = (code: number): never => {
    status?.finish(code);
    logging.flushSync();
    return context.exit(code);
  };
  // Node prints warnings to stderr by itself; they go through the logger instead.
  process.removeAllListeners('warning');
  const handlers = createProcessHandlers({ daemon, lifecycle, logging, leds, time, exit });
  listenToProcess(process, handlers, lifecycle);
  guard.release();
  // Signals that came while starting, held since the entry script's first line, are answered now;
  // then two immediates, so that a poll phase of the event loop (where a signal that came during
  // a blocking call waits) has passed and any still on their way reach the listeners above too.
  // (One immediate set from an I/O callback runs in the same turn, before the next poll.)
  for (const signal of context.early.take()) {
    if (signal === 'SIGTERM' || signal === 'SIGINT') handlers.stop(signal);
    else if (signal === 'SIGHUP') handlers.reload();
    else if (signal === 'SIGUSR1') handlers.status();
    else handlers.ignored(signal);
  }
  context.early.release();
  await nextTurn(time);
  await nextTurn(time);
  // A stop asked for while starting: no task starts.
  if (!lifecycle.ending) daemon.start();
  // The stop finishes the log files itself, within its deadline.
  const code = await daemon.finished;
  status?.finish(code);
  return code;
}

/** The status file for `asyncdemo status` and `asyncdemo reload`; none when its directory cannot be made. */
function statusPublisher(env: Env, time: Time, logging: Logging, leds: StepLeds, build: { version: string; commit: string }): { publish: (snapshot: Parameters<StatusPublisher['publish']>[0], config: Config) => void; finish: (code: number) => void } | undefined {
  const { logger } = logging;
  const place = ownStatusDir(env);
  if (place === undefined) return undefined;
  const { dir, whose } = place;
  if (whose === 'foreground') {
    try {
      // Private: other users have no business with a foreground run's status, and cannot plant anything in it.
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        logger.warn(`cannot make the status directory ${dir} (asyncdemo status will not see this run): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
        return undefined;
      }
    }
  }
  const publisher = createStatusPublisher({ dir, build, identity: () => ownIdentity(), time, report: (message) => logger.warn(message) });
  // The log directory is chosen at the start only (a change needs a restart).
  const logDir = logging.fileDir === undefined ? null : resolve(logging.fileDir);
  // What changes only with the config: worked out once per config, not at every publication.
  const extras = new WeakMap<Config, { configSha256: string; settings: SettingStatus[] }>();
  const extrasOf = (config: Config): { configSha256: string; settings: SettingStatus[] } => {
    let found = extras.get(config);
    if (found === undefined) {
      found = { configSha256: config.sha256, settings: settingRows(config).map((row) => ({ key: row.key, value: row.value, source: sourceText(row.source) })) };
      extras.set(config, found);
    }
    return found;
  };
  return {
    publish: (snapshot, config) =>
      publisher.publish(snapshot, {
        ...extrasOf(config),
        logDir,
        led: config.settings.led.enabled ? { backend: leds.backendName ?? 'none', pin: config.settings.led.pin } : { backend: 'disabled', pin: null },
      }),
    finish: (code) => publisher.finish(code),
  };
}
