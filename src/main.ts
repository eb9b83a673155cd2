/**
 * The entry point and composition root: it reads the command line, creates
 * the config, logger, clock, LED and notifier, passes them in, and is the only
 * place that exits the process.
 */
import { accessSync, constants, fstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { HELP, describeValidConfig, parseCommandLine, printConfig, resolveConfigPath, writeOut, type Command } from './cli.js';
import { createSystemClock } from './clock.js';
import { inspectCodeCache } from './code-cache.js';
import { fallbackLogSettings, loadConfig, type Config } from './config/load.js';
import { Daemon } from './daemon.js';
import { formatReport, runDoctor } from './doctor.js';
import { ConfigError, GpioUnavailableError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { StepLeds, type LedBackend } from './led/led.js';
import { selectLedBackend } from './led/select.js';
import { isJournalStream } from './log/journal.js';
import { createLogging, type Logging } from './log/logger.js';
import { readServiceView, serviceDirectory, type ServiceView } from './service-view.js';
import { listenToProcess } from './signals.js';
import { formatStatusFile, readStatusFile, SERVICE_STATUS_FILE, StatusUnavailableError, type PublishedStatus } from './status-file.js';
import { childEnv, createSdNotifier, loadSdNotify } from './systemd/sd-notify.js';

type Env = Readonly<Record<string, string | undefined>>;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const shippedConfig = join(packageRoot, 'config', 'default.yaml');

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
      return output(`asyncdemo ${version()} (Node.js ${process.version})\n`);
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
          codeCache: () => inspectCodeCache(join(packageRoot, 'dist'), env),
          remakeCodeCache: `${writable(join(packageRoot, 'dist')) ? '' : 'sudo '}${process.execPath} ${join(packageRoot, 'scripts', 'build', 'code-cache.mjs')} ${join(packageRoot, 'dist')}`,
          configFile: view.file,
          loadConfig: () => loadConfig({ file: view.file, env: view.env }),
          loadSdNotify,
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

/** `asyncdemo status`: reads what the service publishes (status-file.ts). */
function showStatus(json: boolean, env: Env): number {
  const file = env['ASYNCDEMO_STATUS_FILE'] ?? SERVICE_STATUS_FILE;
  let status: PublishedStatus;
  try {
    status = readStatusFile(file, processAlive);
  } catch (error) {
    if (!(error instanceof StatusUnavailableError)) throw error;
    writeOut(error.notRunning ? 1 : 2, `asyncdemo: ${error.message}\n`);
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
 * What print-config and doctor describe. Where scripts/install.sh installed
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
  const clock = createSystemClock();
  const stdoutIsTTY = stdoutIsTerminal();
  let config: Config;
  try {
    config = loadConfig({ file, env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Through the logger, so the reason is in the log files as well as on the console and in the journal.
    const logging = await createLogging({ settings: fallbackLogSettings({ file, env }, error), env, stdoutIsTTY });
    logging.logger.fatal(`${error.message}\nnot starting; fix the config (asyncdemo check-config ${file}) and start again`);
    // systemctl status shows why it did not start.
    createSdNotifier({ env, pid: process.pid, monotonicUsec: () => 0n }).notifier.status(`invalid config ${file}; see the log`);
    await logging.close();
    return ExitCode.config;
  }

  const logging = await createLogging({ settings: config.settings.log, env, stdoutIsTTY });
  const { logger } = logging;
  const { notifier, problem } = createSdNotifier({ env, pid: process.pid, monotonicUsec: () => process.hrtime.bigint() / 1000n });
  if (problem !== undefined) logger.error(problem);
  const openLedBackend = async (led: Config['settings']['led']): Promise<LedBackend | undefined> => {
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
  const leds = new StepLeds(ledBackend, config.settings.led, (error, pin) => logger.error({ err: error }, `LED on BCM ${pin}: ${error.message}`));
  const daemon = new Daemon({
    config,
    reloadConfig: () => loadConfig({ file, env }),
    logging,
    clock,
    leds,
    openLedBackend,
    notifier,
  });

  // Node prints warnings to stderr by itself; they go through the logger instead.
  process.removeAllListeners('warning');
  const warned = new Set<string>();
  let crashing = false;
  listenToProcess(process, {
    stop: (signal) => void daemon.stop(signal),
    forceExit: (signal) => {
      logger.error(`${signal} while already stopping: exiting now, without finishing the stop`);
      leds.closeNow();
      exit(logging, ExitCode.failure);
    },
    reload: () => {
      daemon.reload().catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
    },
    fatal: (error, origin) => {
      // An error while handling a crash must not start a second one.
      if (crashing) exit(logging, ExitCode.failure);
      crashing = true;
      void crash(logging, daemon, error, origin);
    },
    warning: (warning) => {
      const debug = daemon.config.settings.debug.enabled;
      const key = `${warning.name}:${warning.message}`;
      // Debug mode shows every warning with its stack, as asyncio's debug mode shows every ResourceWarning.
      if (!debug && warned.has(key)) return;
      warned.add(key);
      logger.warn(debug ? { err: warning } : {}, `${warning.name}: ${warning.message}`);
    },
  });

  daemon.start();
  const code = await daemon.finished;
  await logging.close();
  return code;
}

async function crash(logging: Logging, daemon: Daemon, error: unknown, origin: string): Promise<never> {
  const { logger } = logging;
  logger.fatal({ err: error }, `${origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception'}: ${error instanceof Error ? error.message : String(error)}; exiting`);
  // No task runs on after a crash, and the LED must not stay lit; give that a moment, not forever.
  await Promise.race([daemon.halt('the daemon crashed').catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  await logging.close();
  return exit(logging, ExitCode.failure);
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
  const { isatty } = createRequire(import.meta.url)('node:tty') as typeof import('node:tty');
  return isatty(1);
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

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`asyncdemo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(ExitCode.failure);
  },
);
