import type { Daemon } from './daemon.js';
import { ExitCode } from './exit-codes.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logging } from './log/logger.js';
import type { ProcessHandlers } from './signals.js';
import { formatSnapshotLine } from './status.js';
import { withTimeout, type Time } from './time.js';

export interface HandlerDeps {
  readonly daemon: Pick<Daemon, 'stop' | 'reload' | 'halt' | 'snapshot' | 'config'>;
  readonly lifecycle: Lifecycle;
  readonly logging: Pick<Logging, 'logger' | 'flushSync' | 'close'>;
  /** Turns the LED off synchronously, for an exit that cannot wait. */
  readonly leds: { closeNow(): void };
  readonly time: Time;
  /** Ends the process with this code (main.ts: process.exit). */
  readonly exit: (code: number) => void;
}

/** How long a crash waits for the tasks to be cancelled and the LED to go off before it exits anyway. */
export const HALT_TIMEOUT_MS = 1000;

/**
 * A signal that can be sent in a flood (SIGUSR1, SIGUSR2, SIGALRM) costs at
 * most this many lines per window: enough for anyone asking for the status
 * by hand, and the log cannot be filled with them.
 */
export const SIGNAL_LINES_PER_WINDOW = 10;
export const SIGNAL_WINDOW_MS = 10_000;

/**
 * What the daemon does on each process event (signals.ts listens to them):
 * stop, force the exit, reload, report its status, ignore, crash, warn.
 *
 * Once the stop has finished (the tasks have ended and the LED is off), a
 * signal changes nothing: the exit code stays the stop's, and no line is
 * written that could miss the log files, which are being closed.
 */
export function createProcessHandlers({ daemon, lifecycle, logging, leds, time, exit }: HandlerDeps): ProcessHandlers {
  const { logger } = logging;
  const warned = new Set<string>();
  const quiet = (): boolean => lifecycle.phase === 'stopped' || lifecycle.phase === 'crashing';
  const limited = rateLimited(time);

  return {
    stop(signal) {
      // A crash is under way and ends in exit 1; a stop must not end it with 0.
      if (lifecycle.phase === 'crashing') return;
      void daemon.stop(signal);
    },
    forceExit(signal) {
      if (quiet()) return;
      logger.error(`${signal} while already stopping: exiting now, without finishing the stop`);
      leds.closeNow();
      // This line too reaches the log files.
      logging.flushSync();
      exit(ExitCode.failure);
    },
    reload() {
      if (quiet()) return;
      daemon.reload().catch((error: unknown) => logger.error({ err: error }, `reload failed: ${error instanceof Error ? error.message : String(error)}`));
    },
    status() {
      if (quiet()) return;
      limited('SIGUSR1', (more) => logger.info(`${formatSnapshotLine(daemon.snapshot())}${more}`));
    },
    ignored(signal) {
      if (quiet()) return;
      limited(signal, (more) => logger.warn(`${signal} received and ignored: asyncdemo does nothing on it (SIGHUP reloads the config, SIGUSR1 logs the status)${more}`));
    },
    fatal(error, origin) {
      if (!lifecycle.crashing()) {
        // An error while handling a crash must not start a second one: out now, with what is logged so far.
        logging.flushSync();
        exit(ExitCode.failure);
        return;
      }
      void crash(error, origin);
    },
    warning(warning) {
      const debug = daemon.config.settings.debug.enabled;
      const key = `${warning.name}:${warning.message}`;
      // Debug mode shows every warning with its stack, as asyncio's debug mode shows every ResourceWarning.
      if (!debug && warned.has(key)) return;
      warned.add(key);
      logger.warn(debug ? { err: warning } : {}, `${warning.name}: ${warning.message}`);
    },
  };

  async function crash(error: unknown, origin: string): Promise<void> {
    const what = origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception';
    logger.fatal({ err: error }, `${what}: ${error instanceof Error ? error.message : String(error)}; exiting`);
    // No task runs on after a crash, and the LED must not stay lit; that gets a moment, not forever.
    // The timer keeps the process alive until the exit below: the halt stops the daemon's own timers.
    await withTimeout(
      daemon.halt('the daemon crashed').catch(() => {}),
      HALT_TIMEOUT_MS,
      time,
    );
    await logging.close();
    exit(ExitCode.failure);
  }
}

/**
 * Runs `write` for a signal at most {@link SIGNAL_LINES_PER_WINDOW} times per
 * {@link SIGNAL_WINDOW_MS}; the first line of the next window says how many
 * were passed over.
 */
function rateLimited(time: Time): (signal: string, write: (more: string) => void) => void {
  const windows = new Map<string, { start: number; lines: number; skipped: number }>();
  return (signal, write) => {
    const now = time.monotonicMs();
    let window = windows.get(signal);
    let skipped = 0;
    if (window === undefined || now - window.start >= SIGNAL_WINDOW_MS) {
      skipped = window?.skipped ?? 0;
      windows.set(signal, (window = { start: now, lines: 0, skipped: 0 }));
    }
    if (window.lines >= SIGNAL_LINES_PER_WINDOW) {
      window.skipped++;
      return;
    }
    window.lines++;
    write(skipped === 0 ? '' : ` (and ${skipped} more ${signal} before this one, not logged)`);
  };
}
