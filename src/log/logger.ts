import pino from 'pino';
import type { Settings } from '../config/schema.js';
import type { LogLevel } from '../config/tasks.js';
import { nodeTimers, withTimeout, type Timers } from '../timers.js';
import { createConsoleDestination, type ConsoleStyle } from './console.js';
import { LogDirectoryError, openLogFiles, type FileStream } from './files.js';
import { isJournalStream } from './journal.js';
import { lowerLevel } from './levels.js';

export type Logger = pino.Logger;
export type LogSettings = Settings['log'];

export interface Logging {
  readonly logger: Logger;
  readonly consoleStyle: ConsoleStyle;
  /** The current log file, when file logging runs. */
  readonly file: FileStream | undefined;
  /** Applies new levels (at reload) to the root logger and both destinations. Returns the logger's new level. */
  setLevels(settings: LogSettings): LogLevel;
  /** Writes out every buffered line at once, for an exit that cannot wait. */
  flushSync(): void;
  /**
   * Finishes the log file: waits until every line handed to it is written,
   * then closes it. Lines logged afterwards go to the console only. Bounded,
   * so a full or hung disk cannot hold up the exit.
   */
  close(): Promise<void>;
}

/** How long close() waits for the disk. */
const CLOSE_TIMEOUT_MS = 2000;

export interface LoggingOptions {
  readonly settings: LogSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTTY: boolean;
  /** For close()'s bound; main.ts passes the daemon's, tests may leave Node's. */
  readonly timers?: Timers;
  /** Replaces stdout, for tests. */
  readonly consoleSink?: { write(text: string): unknown; flushSync?(): void };
}

/** `auto` means: journal lines when stdout is the journal, colored lines on a terminal, else JSON. */
export function resolveConsoleStyle(format: LogSettings['console']['format'], env: LoggingOptions['env'], stdoutIsTTY: boolean): ConsoleStyle {
  if (format !== 'auto') return format;
  if (isJournalStream(1, env['JOURNAL_STREAM'])) return 'journal';
  return stdoutIsTTY ? 'pretty' : 'json';
}

/**
 * One pino logger writing, in-process, to the console (synchronously, so the
 * journal gets each line at once and nothing is lost at exit) and to rotating
 * files (asynchronously, flushed at exit). A log directory that cannot be used
 * costs one console line, never the daemon.
 */
export async function createLogging({ settings, env, stdoutIsTTY, timers = nodeTimers, consoleSink }: LoggingOptions): Promise<Logging> {
  const consoleStyle = resolveConsoleStyle(settings.console.format, env, stdoutIsTTY);
  const consoleDest = createConsoleDestination({
    style: consoleStyle,
    colors: consoleStyle === 'pretty' && env['NO_COLOR'] === undefined,
    ...(consoleSink === undefined ? {} : { sink: consoleSink }),
  });

  let file: FileStream | undefined;
  let fileProblem: LogDirectoryError | undefined;
  if (settings.file.enabled) {
    try {
      file = await openLogFiles(settings.file);
    } catch (error) {
      if (!(error instanceof LogDirectoryError)) throw error;
      fileProblem = error;
    }
  }

  const streams = pino.multistream([]);
  let ids: number[] = [];
  let fileOpen = file !== undefined;
  const applyLevels = (s: LogSettings): LogLevel => {
    for (const id of ids) streams.remove(id);
    const consoleLevel = s.console.level ?? s.level;
    const fileLevel = s.file.level ?? s.level;
    streams.add({ level: consoleLevel, stream: consoleDest });
    if (file !== undefined && fileOpen) streams.add({ level: fileLevel, stream: file });
    // multistream numbers its entries; remove() takes that number.
    ids = (streams.streams as unknown as { id: number }[]).map((entry) => entry.id);
    return file === undefined ? consoleLevel : lowerLevel(consoleLevel, fileLevel);
  };
  let current = settings;
  const rootLevel = applyLevels(current);
  const logger = pino({ level: rootLevel, base: { pid: process.pid } }, streams);

  if (fileProblem !== undefined) logger.warn(fileProblem.message);
  if (file !== undefined) watchFile(file, logger);

  return {
    logger,
    consoleStyle,
    file,
    setLevels(next) {
      current = next;
      const level = applyLevels(next);
      logger.level = level;
      return level;
    },
    flushSync() {
      consoleDest.flushSync();
      try {
        if (fileOpen) file?.flushSync();
      } catch {
        // A full or vanished disk must not stop the exit; the console has every line.
      }
    },
    async close() {
      if (file === undefined || !fileOpen) return;
      fileOpen = false;
      applyLevels(current);
      const stream = file;
      const closed = new Promise<void>((resolve) => stream.once('close', resolve));
      stream.end();
      await withTimeout(closed, CLOSE_TIMEOUT_MS, timers);
    },
  };
}

/** Reports write failures (a full disk, a removed directory) once, and recovery once. */
function watchFile(file: FileStream, logger: Logger): void {
  let failing = false;
  let dropped = 0;
  file.on('error', (error) => {
    if (failing) return;
    failing = true;
    logger.error(`cannot write the log file ${file.file ?? ''}: ${error.code ?? error.message}; lines go to the console only until it can be written again`);
  });
  file.on('drop', () => {
    dropped++;
  });
  file.on('write', () => {
    if (!failing) return;
    failing = false;
    logger.warn(`the log file can be written again; ${dropped} lines were dropped meanwhile`);
    dropped = 0;
  });
}
