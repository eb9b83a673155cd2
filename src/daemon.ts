import type { Clock } from './clock.js';
import type { Config } from './config/load.js';
import { settingsNeedingRestart } from './config/restart.js';
import type { Settings } from './config/schema.js';
import { listNames } from './config/tasks.js';
import { watchEventLoop } from './debug.js';
import { ConfigError, GpioUnavailableError, TaskCancelledError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { LedBackend, StepLeds } from './led/led.js';
import type { Logging } from './log/logger.js';
import { Scheduler } from './scheduler.js';
import type { Notifier } from './systemd/notifier.js';

export interface DaemonDeps {
  readonly config: Config;
  /** Reads the config file again (SIGHUP). Throws {@link ConfigError} when it is invalid. */
  readonly reloadConfig: () => Config;
  readonly logging: Logging;
  readonly clock: Clock;
  readonly leds: StepLeds;
  /** Opens the LED backend for new LED settings at reload; undefined when the LED is disabled. */
  readonly openLedBackend: (led: Settings['led']) => Promise<LedBackend | undefined>;
  readonly notifier: Notifier;
  /** Raises an uncaught exception (the `crash` step); injected so tests can catch it. */
  readonly crash?: (error: Error) => void;
}

/**
 * The running daemon: starts the tasks, reloads the config, stops. It never
 * exits the process itself; {@link Daemon.finished} resolves with the exit
 * code and the entry point does the rest.
 */
export class Daemon {
  readonly #deps: DaemonDeps;
  readonly #scheduler: Scheduler;
  #config: Config;
  #stopWatch: (() => void) | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #stopping: Promise<number> | undefined;
  /** Settings changed by reloads that only a restart applies; STATUS keeps saying so. */
  #restartNeeded: readonly string[] = [];
  #finish!: (code: number) => void;
  /** Resolves with the exit code once the daemon has stopped. */
  readonly finished: Promise<number>;

  constructor(deps: DaemonDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.finished = new Promise((resolve) => (this.#finish = resolve));
    this.#scheduler = new Scheduler(deps.config.tasks, {
      clock: deps.clock,
      logger: deps.logging.logger,
      ledFor: (task) => deps.leds.forTask(task),
      onStop: (by) => void this.stop(`requested by ${by}`),
      ...(deps.crash === undefined ? {} : { crash: deps.crash }),
    });
  }

  get scheduler(): Scheduler {
    return this.#scheduler;
  }

  /** The config in force: the one it started with, or the last reload that was accepted. */
  get config(): Config {
    return this.#config;
  }

  /** Starts the autostart tasks, then tells systemd it is ready. */
  start(): void {
    const { logger } = this.#deps.logging;
    // A daemon with every task finished still runs, like asyncio's run_forever(), until it is stopped.
    this.#keepAlive = setInterval(() => {}, 2 ** 31 - 1);
    this.#applyDebug(this.#config.settings.debug);
    this.#startWatchdog();
    const names = [...this.#config.tasks.values()].filter((t) => t.autostart).map((t) => t.name);
    logger.info(`starting with ${this.#config.file}: ${names.length} task${names.length === 1 ? '' : 's'} at boot (${listNames(names)})`);
    this.#scheduler.startAutostart();
    this.#deps.notifier.ready(this.#status());
  }

  /**
   * Reads the config again and applies it. An invalid config changes nothing:
   * the reasons are logged and the old config keeps running.
   */
  async reload(): Promise<boolean> {
    const { logging, notifier } = this.#deps;
    const { logger } = logging;
    if (this.#stopping !== undefined) return false;
    notifier.reloading('reloading the config');
    let next: Config;
    try {
      next = this.#deps.reloadConfig();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error(`reload refused, the running config stays: ${error.message}`);
      notifier.ready(`${this.#status()}; last reload refused: invalid config`);
      return false;
    }
    const previous = this.#config;
    this.#config = next;
    logging.setLevels(next.settings.log);
    this.#applyDebug(next.settings.debug);
    if (JSON.stringify(previous.settings.led) !== JSON.stringify(next.settings.led)) {
      try {
        await this.#deps.leds.reconfigure(await this.#deps.openLedBackend(next.settings.led), next.settings.led);
      } catch (error) {
        if (!(error instanceof GpioUnavailableError)) throw error;
        logger.error(`reload: ${error.message}; the LED stays as it was`);
      }
    }
    const changes = this.#scheduler.apply(next.tasks);
    // Not applied, so not claimed: said at warn level, in the reload line and in STATUS until a restart.
    this.#restartNeeded = settingsNeedingRestart(this.#deps.config.settings, next.settings);
    const pending = this.#restartNeeded.join(', ');
    const need = this.#restartNeeded.length === 1 ? 'needs' : 'need';
    if (pending !== '') {
      logger.warn({ restartNeeded: this.#restartNeeded }, `reload: ${pending} changed but ${need} a restart to take effect (systemctl restart asyncdemo); the running values stay until then`);
    }
    const counts = { kept: changes.kept.length, restarted: changes.restarted.length, cancelled: changes.cancelled.length, started: changes.started.length };
    const short = (names: readonly string[]): readonly string[] => names.slice(0, 10);
    logger.info(
      // Names are shortened as in the start line: a config may hold 100,000 tasks.
      { changes: { kept: short(changes.kept), restarted: short(changes.restarted), cancelled: short(changes.cancelled), started: short(changes.started) }, counts },
      `reloaded ${next.file}${pending === '' ? '' : ` except ${pending} (${need} a restart)`}: kept ${list(changes.kept)}; restarted ${list(changes.restarted)}; ` +
        `cancelled ${list(changes.cancelled)}; started ${list(changes.started)}`,
    );
    notifier.ready(this.#status());
    return true;
  }

  /**
   * Cancels every task, waits for each to log its cancellation, turns the LED
   * off and resolves {@link finished}. Calling it again returns the same stop.
   */
  stop(reason: string): Promise<number> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /**
   * After a crash: cancels every task and turns the LED off, without the
   * ceremony of a stop. The process is about to exit non-zero.
   */
  async halt(reason: string): Promise<void> {
    this.#stopWatch?.();
    clearInterval(this.#watchdog);
    await this.#scheduler.cancelAll(new TaskCancelledError(`cancelled: ${reason}`));
    await this.#deps.leds.close();
  }

  async #stop(reason: string): Promise<number> {
    const { logging, notifier, leds } = this.#deps;
    const { logger } = logging;
    notifier.stopping(`stopping: ${reason}`);
    const count = this.#scheduler.runningCount;
    logger.info(`stopping (${reason}): cancelling ${count} running task${count === 1 ? '' : 's'}`);
    if (this.#config.settings.debug.enabled && count > 0) {
      const pending = this.#scheduler.running();
      // asyncio's "Task was destroyed but it is pending", said before it happens.
      logger.warn({ pending: pending.length }, `pending at shutdown: ${listNames(pending.map((p) => `${p.name}[${p.step}]`))}`);
    }
    const { timeoutMs } = this.#config.settings.shutdown;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.#scheduler.cancelAll(new TaskCancelledError(`cancelled: stopping (${reason})`)).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      const left = this.#scheduler.running().map((p) => p.name);
      logger.error(`stop took longer than ${timeoutMs}ms; still running: ${left.join(', ')}; exiting with a failure`);
    }
    this.#stopWatch?.();
    clearInterval(this.#watchdog);
    clearInterval(this.#keepAlive);
    try {
      await leds.close();
    } catch (error) {
      logger.error({ err: error }, 'could not turn the LED off');
    }
    logger.info(`stopped after ${this.#scheduler.stepsDone} steps`);
    const code = inTime ? ExitCode.ok : ExitCode.failure;
    this.#finish(code);
    return code;
  }

  #applyDebug(debug: Settings['debug']): void {
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    this.#scheduler.setSlowStepMs(debug.enabled ? debug.slowStepMs : undefined);
    if (debug.enabled) {
      this.#stopWatch = watchEventLoop({ clock: this.#deps.clock, logger: this.#deps.logging.logger, thresholdMs: debug.slowStepMs });
    }
  }

  /**
   * Pings from the event loop itself: a blocked loop stops the pings, and
   * systemd restarts the service. The status line is refreshed on the same
   * tick, or every few seconds when there is no watchdog.
   */
  #startWatchdog(): void {
    const { notifier } = this.#deps;
    if (!notifier.active) return;
    const interval = notifier.watchdogIntervalMs;
    if (interval === undefined) {
      this.#watchdog = setInterval(() => notifier.status(this.#status()), STATUS_INTERVAL_MS).unref();
      return;
    }
    this.#watchdog = setInterval(() => {
      notifier.watchdog();
      notifier.status(this.#status());
    }, interval);
  }

  #status(): string {
    const running = this.#scheduler.runningCount;
    const slow = this.#config.settings.debug.enabled ? this.#scheduler.lastSlowStep : undefined;
    const restart = this.#restartNeeded.length === 0 ? '' : `; restart needed for ${this.#restartNeeded.join(', ')}`;
    return `${running} task${running === 1 ? '' : 's'} running, ${this.#scheduler.stepsDone} steps done${slow === undefined ? '' : `; last slow step ${slow}`}${restart}`;
  }
}

/** How often `systemctl status` learns the counts, without a watchdog. */
const STATUS_INTERVAL_MS = 5000;

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : listNames(names);
}
