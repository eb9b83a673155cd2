import type { Config } from './config/load.js';
import { settingsNeedingRestart } from './config/restart.js';
import type { Settings } from './config/schema.js';
import { ConfigError, GpioUnavailableError, TaskCancelledError } from './errors.js';
import { watchEventLoop } from './event-loop-watch.js';
import { ExitCode } from './exit-codes.js';
import type { LedBackend, StepLeds } from './led/led.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logging } from './log/logger.js';
import { Scheduler } from './scheduler.js';
import type { DaemonSnapshot, ReloadOutcome } from './status.js';
import type { Notifier } from './systemd/notifier.js';
import { count, listNames, oneLine } from './text.js';
import { MAX_TIMER_DELAY_MS, startDeadline, TIMED_OUT, type Time } from './time.js';

interface DaemonDeps {
  readonly config: Config;
  /** Reads the config file again (SIGHUP). Throws {@link ConfigError} when it is invalid. */
  readonly reloadConfig: () => Config;
  readonly logging: Logging;
  /** The clocks, and every timer the daemon arms: the stop's deadline, the watchdog, debug mode's watch. */
  readonly time: Time;
  readonly lifecycle: Lifecycle;
  readonly leds: StepLeds;
  /** Opens the LED backend for new LED settings at reload; undefined when the LED is disabled. */
  readonly openLedBackend: (led: Settings['led']) => Promise<LedBackend | undefined>;
  readonly notifier: Notifier;
  /** Raises an uncaught exception (the `crash` step); injected so tests can catch it. */
  readonly crash: (error: Error) => void;
  /**
   * Told what the daemon is doing (with the config in force) when it is
   * ready, after each reload, soon after its tasks move on, at each status
   * tick and when it stops: the status file. Must not throw.
   */
  readonly publishStatus?: (snapshot: DaemonSnapshot, config: Config) => void;
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
  /** Wall-clock time the config in force was loaded, for the status. */
  #configLoadedAt: number;
  #lastReload: ReloadOutcome | null = null;
  /** The reloads under way (one at a time), and whether another was asked for meanwhile. */
  #reloading: Promise<boolean> | undefined;
  #reloadAgain = false;
  #reloadAfterStart = false;
  #stopWatch: (() => void) | undefined;
  #watchdog: unknown;
  #keepAlive: unknown;
  /** A publication of the status armed by the tasks' progress (at most one a second). */
  #publishSoon: unknown;
  #stopping: Promise<number> | undefined;
  /** Settings changed by reloads that only a restart applies; STATUS keeps saying so. */
  #restartNeeded: readonly string[] = [];
  #finish!: (code: number) => void;
  /** Resolves with the exit code once the daemon has stopped. */
  readonly finished: Promise<number>;

  constructor(deps: DaemonDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#configLoadedAt = deps.time.wallMs();
    this.finished = new Promise((resolve) => (this.#finish = resolve));
    this.#scheduler = new Scheduler(deps.config.tasks, {
      time: deps.time,
      logger: deps.logging.logger,
      ledFor: (task) => deps.leds.forTask(task),
      onStop: (by) => void this.stop(`requested by ${by}`),
      crash: deps.crash,
      ...(deps.publishStatus === undefined ? {} : { moved: () => this.#moved() }),
    });
  }

  /** The config in force: the one it started with, or the last reload that was accepted. */
  get config(): Config {
    return this.#config;
  }

  /** Starts the autostart tasks, then tells systemd it is ready. */
  start(): void {
    const { logger } = this.#deps.logging;
    // A daemon with every task finished still runs, like asyncio's run_forever(), until it is stopped.
    this.#keepAlive = this.#deps.time.setInterval(() => {}, MAX_TIMER_DELAY_MS);
    // A run ended by SIGKILL or a power cut leaves its LED as it was, perhaps lit: this one starts from off.
    this.#deps.leds.turnOff(this.#config.tasks.values());
    this.#applyDebug(this.#config.settings.debug);
    this.#startWatchdog();
    const names = [...this.#config.tasks.values()].filter((t) => t.autostart).map((t) => t.name);
    logger.info(`starting with ${this.#config.file}: ${count(names.length, 'task')} at boot (${listNames(names)})`);
    this.#scheduler.startAutostart();
    this.#deps.lifecycle.running();
    this.#deps.notifier.ready(this.#systemdStatus());
    this.#publish();
    if (this.#reloadAfterStart) {
      logger.info('SIGHUP came while starting: reloading now that the daemon is ready');
      this.reload().catch((error: unknown) => logger.error({ err: error }, `reload failed: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  /**
   * Reads the config again and applies it. An invalid config changes nothing:
   * the reasons are logged and the old config keeps running.
   *
   * Reloads never overlap: one asked for while another runs (a second SIGHUP
   * while the LED is reopened) is remembered, and once the running one is
   * done, one more runs, however many were asked for meanwhile. Resolves
   * with whether the last of them applied a config. One asked for before the
   * daemon is ready runs once it is.
   */
  reload(): Promise<boolean> {
    if (this.#deps.lifecycle.phase === 'starting') {
      // Asked for before READY (a SIGHUP while starting): done once the daemon is ready.
      this.#reloadAfterStart = true;
      return Promise.resolve(false);
    }
    if (this.#reloading !== undefined) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = this.#reloadWhileAsked();
    return this.#reloading;
  }

  async #reloadWhileAsked(): Promise<boolean> {
    try {
      let applied: boolean;
      do {
        this.#reloadAgain = false;
        const began = this.#deps.time.monotonicMs();
        try {
          applied = await this.#reloadOnce(began);
        } catch (error) {
          this.#lastReload = { at: this.#deps.time.wallMs(), began, result: 'failed', reason: error instanceof Error ? error.message : String(error) };
          // systemd is waiting for the end of RELOADING=1.
          this.#deps.notifier.ready(`${this.#systemdStatus()}; last reload failed`);
          this.#publish();
          throw error;
        }
      } while (this.#reloadAgain && this.#stopping === undefined);
      return applied;
    } finally {
      // Here, not in a .finally(): a reload asked for from now on starts a new run.
      this.#reloading = undefined;
    }
  }

  async #reloadOnce(began: number): Promise<boolean> {
    const { logging, notifier, time } = this.#deps;
    const { logger } = logging;
    if (this.#stopping !== undefined) return false;
    notifier.reloading('reloading the config');
    let next: Config;
    try {
      next = this.#deps.reloadConfig();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error({ problems: error.issues, more: error.more }, `reload refused, the running config stays: ${oneLine(error.message)}`);
      this.#lastReload = { at: time.wallMs(), began, result: 'refused', reason: error.message };
      notifier.ready(`${this.#systemdStatus()}; last reload refused: invalid config`);
      this.#publish();
      return false;
    }
    const previous = this.#config;
    this.#config = next;
    this.#configLoadedAt = time.wallMs();
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
    // A stop that began while the LED was reopened has cancelled every task: start none.
    if (this.#stopping !== undefined) return false;
    const changes = this.#scheduler.apply(next.tasks);
    // Not applied, so not claimed: said at warn level, in the reload line and in STATUS until a restart.
    this.#restartNeeded = settingsNeedingRestart(this.#deps.config.settings, next.settings);
    const pending = this.#restartNeeded.join(', ');
    const need = this.#restartNeeded.length === 1 ? 'needs' : 'need';
    if (pending !== '') {
      logger.warn({ restartNeeded: this.#restartNeeded }, `reload: ${pending} changed but ${need} a restart to take effect (systemctl restart asyncdemo); the running values stay until then`);
    }
    const what = `kept ${list(changes.kept)}; restarted ${list(changes.restarted)}; cancelled ${list(changes.cancelled)}; started ${list(changes.started)}`;
    // The fields are for the JSON files; names are shortened as in the start line (a config may hold 100,000 tasks).
    const short = (names: readonly string[]): readonly string[] => names.slice(0, 10);
    const counts = { kept: changes.kept.length, restarted: changes.restarted.length, cancelled: changes.cancelled.length, started: changes.started.length };
    logger.info(
      { changes: { kept: short(changes.kept), restarted: short(changes.restarted), cancelled: short(changes.cancelled), started: short(changes.started) }, counts },
      `reloaded ${next.file}${pending === '' ? '' : ` except ${pending} (${need} a restart)`}: ${what}`,
    );
    this.#lastReload = { at: time.wallMs(), began, result: 'applied', reason: `${pending === '' ? '' : `all but ${pending} (${need} a restart); `}${what}` };
    notifier.ready(this.#systemdStatus());
    this.#publish();
    return true;
  }

  /**
   * Stops: cancels every task and waits for each to log its cancellation,
   * turns the LED off, finishes the log files, and resolves {@link finished}
   * with the exit code. One deadline, `shutdown.timeoutMs`, is armed before
   * anything else and bounds all of it; a stop that overruns it exits 1.
   * Calling it again returns the same stop.
   */
  stop(reason: string): Promise<number> {
    if (this.#stopping === undefined) {
      this.#deps.lifecycle.stopping();
      this.#stopping = this.#stop(reason);
    }
    return this.#stopping;
  }

  /**
   * After a crash: cancels every task and turns the LED off, without the
   * ceremony of a stop. The process is about to exit non-zero.
   */
  async halt(reason: string): Promise<void> {
    this.#stopTimers();
    await this.#scheduler.cancelAll(new TaskCancelledError(`cancelled: ${reason}`));
    await this.#deps.leds.close();
  }

  /** What the daemon is doing now: the SIGUSR1 line and the status file. */
  snapshot(): DaemonSnapshot {
    const { tasks, more } = this.#scheduler.running();
    return {
      state: this.#deps.lifecycle.ending ? 'stopping' : this.#reloading !== undefined ? 'reloading' : 'running',
      configFile: this.#config.file,
      configLoadedAt: this.#configLoadedAt,
      tasks,
      moreTasks: more,
      stepsDone: this.#scheduler.stepsDone,
      lastReload: this.#lastReload,
    };
  }

  async #stop(reason: string): Promise<number> {
    const { logging, notifier, leds, time, lifecycle } = this.#deps;
    const { logger } = logging;
    const { timeoutMs } = this.#config.settings.shutdown;
    // First of all: the deadline covers everything below (close-with-grace's way).
    const deadline = startDeadline(time, timeoutMs);
    notifier.stopping(`stopping: ${reason}`);
    this.#publish();
    const running = this.#scheduler.runningCount;
    logger.info(`stopping (${reason}): cancelling ${count(running, 'running task')}`);
    if (this.#config.settings.debug.enabled && running > 0) {
      // asyncio's "Task was destroyed but it is pending", said before it happens.
      const shown = this.#scheduler.running(10).tasks.map((p) => `${p.name}[${p.step}]`);
      logger.warn({ pending: running }, `pending at shutdown: ${shown.join(', ')}${running > shown.length ? ` and ${running - shown.length} more` : ''}`);
    }
    const cancelled = await deadline.race(this.#scheduler.cancelAll(new TaskCancelledError(`cancelled: stopping (${reason})`)));
    this.#stopTimers();
    if (cancelled === TIMED_OUT) {
      const { tasks, more } = this.#scheduler.running(10);
      return this.#overran(timeoutMs, `still running: ${tasks.map((p) => p.name).join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
    }
    const off = await deadline.race(
      leds.close().then(
        () => true,
        (error: unknown) => {
          logger.error({ err: error }, `could not turn the LED off: ${error instanceof Error ? error.message : String(error)}`);
          return false;
        },
      ),
    );
    if (off === TIMED_OUT) return this.#overran(timeoutMs, 'the LED was still being turned off');
    lifecycle.stopped();
    logger.info(`stopped after ${this.#scheduler.stepsDone} steps`);
    const closed = await deadline.race(logging.close());
    deadline.clear();
    let code: number = ExitCode.ok;
    if (closed === TIMED_OUT) {
      // The log files are what hangs: this line reaches the console (the journal) only.
      logger.error(`stop took longer than ${timeoutMs}ms (shutdown.timeoutMs): the log files were still being written; exiting with a failure`);
      code = ExitCode.failure;
    }
    this.#finish(code);
    return code;
  }

  /** The stop's deadline passed: say what was still going on, leave the LED off, and end with a failure. */
  #overran(timeoutMs: number, what: string): number {
    const { logging, leds, lifecycle } = this.#deps;
    logging.logger.error(`stop took longer than ${timeoutMs}ms (shutdown.timeoutMs): ${what}; exiting with a failure`);
    leds.closeNow();
    lifecycle.stopped();
    // Every line so far, this one included, reaches the log files before the exit.
    logging.flushSync();
    this.#finish(ExitCode.failure);
    return ExitCode.failure;
  }

  #stopTimers(): void {
    const { time } = this.#deps;
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    time.clearInterval(this.#watchdog);
    time.clearInterval(this.#keepAlive);
    time.clearTimeout(this.#publishSoon);
  }

  #applyDebug(debug: Settings['debug']): void {
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    this.#scheduler.setSlowStepMs(debug.enabled ? debug.slowStepMs : undefined);
    if (debug.enabled) {
      this.#stopWatch = watchEventLoop({ time: this.#deps.time, logger: this.#deps.logging.logger, thresholdMs: debug.slowStepMs });
    }
  }

  /**
   * Pings from the event loop itself: a blocked loop stops the pings, and
   * systemd restarts the service. The status is refreshed on the same tick,
   * or every few seconds when there is no watchdog.
   */
  #startWatchdog(): void {
    const { notifier, time } = this.#deps;
    const tick = (): void => {
      if (notifier.active) notifier.status(this.#systemdStatus());
      this.#publish();
    };
    const interval = notifier.active ? notifier.watchdogIntervalMs : undefined;
    if (interval === undefined) {
      if (notifier.active || this.#deps.publishStatus !== undefined) this.#watchdog = time.setInterval(tick, STATUS_INTERVAL_MS, { ref: false });
      return;
    }
    this.#watchdog = time.setInterval(() => {
      notifier.watchdog();
      tick();
    }, interval);
  }

  /** A task moved on: the status file follows within a second, not at every step. */
  #moved(): void {
    if (this.#publishSoon !== undefined || this.#stopping !== undefined) return;
    this.#publishSoon = this.#deps.time.setTimeout(
      () => {
        this.#publishSoon = undefined;
        this.#publish();
      },
      PROGRESS_PUBLISH_MS,
      { ref: false },
    );
  }

  #publish(): void {
    const publish = this.#deps.publishStatus;
    if (publish === undefined) return;
    this.#deps.time.clearTimeout(this.#publishSoon);
    this.#publishSoon = undefined;
    publish(this.snapshot(), this.#config);
  }

  /** STATUS=, for `systemctl status`: counts, the last slow step, a pending restart. */
  #systemdStatus(): string {
    const slow = this.#config.settings.debug.enabled ? this.#scheduler.lastSlowStep : undefined;
    const restart = this.#restartNeeded.length === 0 ? '' : `; restart needed for ${this.#restartNeeded.join(', ')}`;
    return `${count(this.#scheduler.runningCount, 'task')} running, ${this.#scheduler.stepsDone} steps done${slow === undefined ? '' : `; last slow step ${slow}`}${restart}`;
  }
}

/** How often `systemctl status` learns the counts, without a watchdog. */
const STATUS_INTERVAL_MS = 5000;
/** How soon the status file follows the tasks' progress. */
const PROGRESS_PUBLISH_MS = 1000;

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : listNames(names);
}
