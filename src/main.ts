/**
 * The entry point and composition root: it reads the command line, creates
 * the config, logger, clock, LED and notifier, passes them in, and is the only
 * place that exits the process.
 */
import { accessSync, constants, existsSync, fstatSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { buildInfo } from './build-info.js';
import { HELP, describeValidConfig, parseCommandLine, printConfig, resolveConfigPath, settingRows, sourceText, writeOut, type Command } from './cli.js';
import { createSystemClock } from './clock.js';
import { inspectCodeCache } from './code-cache.js';
import { fallbackLogSettings, loadConfig, type Config } from './config/load.js';
import { Daemon, type DaemonDeps } from './daemon.js';
import { formatReport, runDoctor } from './doctor.js';
import { ConfigError, GpioUnavailableError, SdNotifyMissingError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { tty } from './lazy-builtins.js';
import { StepLeds, type LedBackend } from './led/led.js';
import { selectLedBackend } from './led/select.js';
import { isJournalStream } from './log/journal.js';
import { logClockOn } from './log/log-clock.js';
import { createLogging, type Logging } from './log/logger.js';
import { createProcessHandlers } from './process-handlers.js';
import { readServiceView, serviceDirectory, type ServiceView } from './service-view.js';
import { listenToProcess } from './signals.js';
import { createStatusPublisher, formatStatusFile, readStatusFile, SERVICE_STATUS_FILE, STATUS_FILE_NAME, StatusUnavailableError, type PublishedSetting, type PublishedStatus } from './status-file.js';
import type { Notifier } from './systemd/notifier.js';
import { childEnv, createSdNotifier, loadSdNotify, sdNotifyFix, sdNotifyPackageFix, type SdNotifierOptions } from './systemd/sd-notify.js';
import { nodeTimers, type Timers } from './timers.js';

type Env = Readonly<Record<string, string | undefined>>;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const shippedConfig = join(packageRoot, 'config', 'default.yaml');
// The Debian package is repaired by apt; a checkout (its dev dependencies installed) or another copy by npm.
const bindingFix =
  buildInfo.debianPackage === undefined ? sdNotifyFix(packageRoot, existsSync(join(packageRoot, 'node_modules', 'typescript'))) : sdNotifyPackageFix(packageRoot, buildInfo.debianPackage);

async function main(argv: readonly string[], env: Env): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeOut(2, `asyncdemo: ${error.message}\n`);
    return ExitCode.usage;
  }
  switch (command.name) {
    case 'help':
      return output(HELP);
    case 'version':
      return output(`asyncdemo ${buildInfo.version} (commit ${buildInfo.commit}, Node.js ${process.version})\n`);
    case 'check-config': {
      const { file } = resolveConfigPath(command.config, env, shippedConfig);
      const config = loadOrReport(file, env);
      if (config === undefined) return ExitCode.config;
      writeOut(1, describeValidConfig(config));
      return ExitCode.ok;
    }
    case 'print-config': {
      const view = chooseView(command, env);
      const config = loadOrReport(view.file, view.env, env);
      if (config === undefined) return ExitCode.config;
      return output(printConfig(config, view.why, command.json, view.service?.origins));
    }
    case 'doctor': {
      const view = chooseView(command, env);
      const silent = pino({ level: 'silent' });
      const report = formatReport(
        runDoctor({
          nodeVersion: process.version,
          codeCache: () => inspectCodeCache(join(packageRoot, 'dist'), env, undefined, buildInfo.codeCacheDir),
          remakeCodeCache: `${writable(buildInfo.codeCacheDir ?? join(packageRoot, 'dist')) ? '' : 'sudo '}${process.execPath} ${join(packageRoot, 'scripts', 'build', 'code-cache.mjs')} ${join(packageRoot, 'dist')}`,
          configFile: view.file,
          loadConfig: () => loadConfig({ file: view.file, env: view.env }),
          loadSdNotify,
          sdNotifyFix: bindingFix,
          chooseLed: (led) => selectLedBackend(led, { logger: silent, childEnv: childEnv(env) }),
          ...(view.service === undefined ? {} : { service: { user: view.service.user ?? 'root', workingDirectory: serviceDirectory(view.service) } }),
        }),
      );
      if (view.service !== undefined) process.stdout.write(`# ${view.why}\n`);
      process.stdout.write(report.text);
      return report.ok ? ExitCode.ok : ExitCode.failure;
    }
    case 'status':
      return showStatus(command.json, env);
    case 'run':
      return run(command.config, env);
  }
}

/**
 * The status file for `asyncdemo status`, in systemd's RuntimeDirectory= (or
 * $ASYNCDEMO_STATUS_DIR); none when neither is set, as in a checkout.
 */
function statusPublisher(env: Env, started: Config, leds: StepLeds, logger: Logging['logger']): { publish: NonNullable<DaemonDeps['publishStatus']>; withdraw: () => void } | undefined {
  // RUNTIME_DIRECTORY lists one path per RuntimeDirectory= entry, colon-separated; the unit has one.
  const dir = env['ASYNCDEMO_STATUS_DIR'] ?? env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (dir === undefined || dir === '') return undefined;
  const publisher = createStatusPublisher({
    dir,
    pid: process.pid,
    version: buildInfo.version,
    commit: buildInfo.commit,
    startedAt: Date.now(),
    startedMonotonicMs: Number(process.hrtime.bigint() / 1_000_000n),
    now: Date.now,
    report: (level, message) => logger[level](message),
  });
  // The log directory is chosen at the start only (a change needs a restart).
  const file = started.settings.log.file;
  const logDir = file.enabled ? resolve(file.dir) : null;
  // The settings change only with the config: worked out once per config, not at every 5 s tick.
  const settingsOf = new WeakMap<Config, PublishedSetting[]>();
  const settings = (config: Config): PublishedSetting[] => {
    let rows = settingsOf.get(config);
    if (rows === undefined) {
      rows = settingRows(config).map((row) => ({ key: row.key, value: row.value, source: sourceText(row.source) }));
      settingsOf.set(config, rows);
    }
    return rows;
  };
  const publish: NonNullable<DaemonDeps['publishStatus']> = (status, config) =>
    publisher.publish({
      ...status,
      configSha256: config.sha256,
      logDir,
      led: config.settings.led.enabled ? { backend: leds.backendName ?? 'none', pin: config.settings.led.pin } : { backend: 'disabled', pin: null },
      settings: settings(config),
    });
  return {
    publish,
    withdraw: () => {
      try {
        publisher.withdraw();
      } catch (error) {
        logger.warn(`could not remove the status file: ${(error as Error).message}`);
      }
    },
  };
}

/** `asyncdemo status`: reads what the service publishes (status-file.ts). */
function showStatus(json: boolean, env: Env): number {
  const dir = env['ASYNCDEMO_STATUS_DIR'];
  const file = dir === undefined || dir === '' ? SERVICE_STATUS_FILE : join(dir, STATUS_FILE_NAME);
  let status: PublishedStatus;
  try {
    status = readStatusFile(file, processAlive);
  } catch (error) {
    if (!(error instanceof StatusUnavailableError)) throw error;
    // "not running" is an answer (stdout, exit 3); anything else is a failure to answer.
    writeOut(error.notRunning ? 1 : 2, error.notRunning ? `${error.message}\n` : `asyncdemo: ${error.message}\n`);
    return error.notRunning ? ExitCode.notRunning : ExitCode.failure;
  }
  return output(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatusFile(status, Number(process.hrtime.bigint() / 1_000_000n)));
}

/** A process of another user (the service's) answers EPERM: it is there all the same. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Loads a config with the settings from `env`, or says on stderr why not (at
 * err priority when this process's stderr, `processEnv`'s JOURNAL_STREAM, is the journal).
 */
function loadOrReport(file: string, env: Env, processEnv: Env = env): Config | undefined {
  try {
    return loadConfig({ file, env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The verdict is the exit code; it stands when stderr cannot take the reasons. Under
    // systemd (ExecReload= runs check-config) the reasons reach the journal at err priority.
    const prefix = isJournalStream(2, processEnv['JOURNAL_STREAM']) ? '<3>' : '';
    writeOut(2, `asyncdemo: ${error.message}\n`.replace(/^(?=.)/gm, prefix));
    return undefined;
  }
}

/**
 * What print-config and doctor describe. Where the package installed
 * the service: the service, as it runs (its config file, its unit's
 * environment, not this shell's), unless --checkout, or --config or
 * $ASYNCDEMO_CONFIG name another file. Elsewhere: this checkout.
 */
function chooseView(command: { config: string | undefined; checkout: boolean }, env: Env): { file: string; why: string; env: Env; service?: ServiceView } {
  const checkout = (): { file: string; why: string; env: Env } => ({ ...resolveConfigPath(command.config, env, shippedConfig), env });
  if (command.checkout) return checkout();
  const service = readServiceView();
  if (service === undefined) return checkout();
  const asked = resolveConfigPath(command.config, env, shippedConfig);
  if (asked.why !== 'the shipped default' && resolve(asked.file) !== resolve(service.configFile)) return checkout();
  const environment = Object.keys(service.env).length === 0 ? 'no Environment=' : `Environment= read from ${service.readFrom}`;
  return {
    file: service.configFile,
    why: `the service's config, as ${service.unitFile} runs it (${environment}); this checkout's view: --checkout`,
    env: service.env,
    service,
  };
}

/** Writes a command's output to stdout; a stdout that cannot take it (a full disk, a closed pipe) is a failure, said on stderr. */
function output(text: string): number {
  const problem = writeOut(1, text);
  if (problem === undefined) return ExitCode.ok;
  writeOut(2, `asyncdemo: cannot write to stdout: ${problem}\n`);
  return ExitCode.failure;
}

async function run(flag: string | undefined, env: Env): Promise<number> {
  const { file } = resolveConfigPath(flag, env, shippedConfig);
  const startup: Startup = {
    file,
    env,
    timers: nodeTimers,
    stdoutIsTTY: stdoutIsTerminal(),
    notifierOptions: { env, pid: process.pid, monotonicUsec: () => process.hrtime.bigint() / 1000n, fix: bindingFix },
  };
  let config: Config;
  try {
    config = loadConfig({ file, env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return refuseConfig(startup, error);
  }
  const opened = await openOutsideWorld(startup, config);
  if (typeof opened === 'number') return opened;
  const { daemon, status } = wireDaemon(startup, config, opened);
  daemon.start();
  // The stop finishes the log files itself, within its deadline.
  const code = await daemon.finished;
  status?.withdraw();
  return code;
}

/** What `run` starts from: the config file, the environment and the timers every part shares. */
interface Startup {
  readonly file: string;
  readonly env: Env;
  readonly timers: Timers;
  readonly stdoutIsTTY: boolean;
  readonly notifierOptions: SdNotifierOptions;
}

/** The config cannot be used: say why through the logger, so the reason is in the log files as well as on the console and in the journal. */
async function refuseConfig({ file, env, timers, stdoutIsTTY, notifierOptions }: Startup, error: ConfigError): Promise<number> {
  const logging = await createLogging({ settings: fallbackLogSettings({ file, env }, error), env, stdoutIsTTY, clock: logClockOn(timers) });
  logging.logger.fatal(`${error.message}\nnot starting; fix the config (asyncdemo check-config ${file}) and start again`);
  try {
    // systemctl status shows why it did not start.
    createSdNotifier(notifierOptions).status(`invalid config ${file}; see the log`);
  } catch (missing) {
    if (!(missing instanceof SdNotifyMissingError)) throw missing;
  }
  await logging.close();
  return ExitCode.config;
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
async function openOutsideWorld({ env, timers, stdoutIsTTY, notifierOptions }: Startup, config: Config): Promise<OutsideWorld | number> {
  const logging = await createLogging({ settings: config.settings.log, env, stdoutIsTTY, clock: logClockOn(timers) });
  const { logger } = logging;
  let notifier: Notifier;
  try {
    notifier = createSdNotifier(notifierOptions);
  } catch (error) {
    if (!(error instanceof SdNotifyMissingError)) throw error;
    // At once: systemd would otherwise wait TimeoutStartSec for a READY=1 that cannot come.
    logger.fatal(error.message);
    await logging.close();
    return ExitCode.unavailable;
  }
  const openLedBackend: OpenLedBackend = async (led) => {
    const choice = selectLedBackend(led, { logger, childEnv: childEnv(env) });
    if (choice.fellBack) logger.warn(choice.line);
    else logger.info(choice.line);
    return choice.backend;
  };
  let ledBackend: LedBackend | undefined;
  try {
    ledBackend = await openLedBackend(config.settings.led);
  } catch (error) {
    if (!(error instanceof GpioUnavailableError)) throw error;
    logger.fatal(error.message);
    await logging.close();
    return ExitCode.failure;
  }
  return { logging, notifier, openLedBackend, ledBackend };
}

/** Creates the daemon from what was opened and hands it the process's signals and error events. */
function wireDaemon({ file, env, timers }: Startup, config: Config, { logging, notifier, openLedBackend, ledBackend }: OutsideWorld): { daemon: Daemon; status: ReturnType<typeof statusPublisher> } {
  const { logger } = logging;
  const leds = new StepLeds(ledBackend, config.settings.led, (error, pin) => logger.error({ err: error }, `LED on BCM ${pin}: ${error.message}`));
  const status = statusPublisher(env, config, leds, logger);
  const daemon = new Daemon({
    config,
    reloadConfig: () => loadConfig({ file, env }),
    logging,
    clock: createSystemClock(timers),
    timers,
    leds,
    openLedBackend,
    notifier,
    // The crash step: an exception outside any task, as an uncaught one would be.
    crash: (error) =>
      timers.setImmediate(() => {
        throw error;
      }),
    ...(status === undefined ? {} : { publishStatus: status.publish }),
  });

  // Node prints warnings to stderr by itself; they go through the logger instead.
  process.removeAllListeners('warning');
  listenToProcess(process, createProcessHandlers({ daemon, logging, leds, timers, exit: (code) => exit(logging, code) }));
  return { daemon, status };
}

/**
 * Whether stdout is a terminal. Not process.stdout.isTTY: touching
 * process.stdout builds a stream (for a pipe or the journal's socket, a
 * net.Socket), and node:tty costs 2.8 ms to load; both before READY, and the
 * logger writes to fd 1 itself. Only a character device can be a terminal.
 */
function stdoutIsTerminal(): boolean {
  try {
    if (!fstatSync(1).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return tty().isatty(1);
}

function exit(logging: Logging | undefined, code: number): never {
  logging?.flushSync();
  process.exit(code);
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`asyncdemo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(ExitCode.failure);
  },
);
