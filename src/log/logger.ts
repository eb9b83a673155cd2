import { resolve } from 'node:path';
import pino from 'pino';
import type { Settings } from '../config/schema.js';
import type { LogLevel } from '../config/choices.js';
import { createConsoleDestination, type ConsoleStyle, type MetadataDestination } from './console.js';
import { createConsoleSink } from './console-sink.js';
import { describeError, type CloseResult, type LogFileWriter } from './file-writer.js';
import { LogDirectoryError, openLogFiles } from './files.js';
import { isJournalStream } from './journal.js';
import type { Time } from '../time.js';
import { ClockJumpWatch, describeDuration } from './clock-jump.js';

export type Logger = pino.Logger;
export type LogSettings = Settings['log'];

export interface Logging {
  readonly logger: Logger;
  /** The directory of the log files, when file logging runs. */
  readonly fileDir: string | undefined;
  /** Applies new levels (at reload) to the root logger and both destinations. Returns the logger's new level. */
  setLevels(settings: LogSettings): LogLevel;
  /**
   * Writes out every buffered line at once, for an exit that cannot wait;
   * never waits for a full or failing disk. Lines that could not be written
   * are counted in a last line, on the console.
   */
  flushSync(): void;
  /**
   * Finishes the log files: writes every line handed to them, then closes
   * them. Lines logged afterwards go to the console only; lines that could not
   * be written are counted in a last line, on the console. Bounded, so a full
   * or hung disk cannot hold up the exit.
   */
  close(): Promise<void>;
}

interface LoggingOptions {
  readonly settings: LogSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTTY: boolean;
  /** Replaces stdout, for tests. */
  readonly consoleSink?: { write(text: string): unknown; flushSync?(): void };
  /** The clocks and timers (the files' daily roll, retries, the wall clock's jumps). */
  readonly time: Time;
}

/** `auto` means: journal lines when stdout is the journal, colored lines on a terminal, else JSON. */
function resolveConsoleStyle(format: LogSettings['console']['format'], env: LoggingOptions['env'], stdoutIsTTY: boolean): ConsoleStyle {
  if (format !== 'auto') return format;
  if (isJournalStream(1, env['JOURNAL_STREAM'])) return 'journal';
  return stdoutIsTTY ? 'pretty' : 'json';
}

type Say = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * One pino logger writing, in-process, to the console (synchronously, so the
 * journal gets each line at once and nothing is lost at exit) and to rotating
 * files (synchronous 4 KiB batches, see file-writer.ts). A log directory that
 * cannot be used costs one console line, never the daemon; a console that
 * cannot be written costs one line in the files, never the daemon either.
 */
export async function createLogging({ settings, env, stdoutIsTTY, consoleSink, time }: LoggingOptions): Promise<Logging> {
  const { say, attach, flush: logReports } = deferredReports();
  const consoleStyle = resolveConsoleStyle(settings.console.format, env, stdoutIsTTY);
  const consoleDest = createConsole(consoleStyle, env, consoleSink, say, time);
  const { file, fileProblem } = await openFilesIfEnabled(settings.file, say, time);

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
  watchWallClock(streams, time, (jump) => {
    say(
      'warn',
      `the wall clock jumped ${jump > 0 ? 'forward' : 'back'} by ${describeDuration(jump)}, to ${new Date(time.wallMs()).toISOString()}: ` +
        'the times of the lines jump with it; log files are numbered in the order they are written, so none is pruned for it',
    );
    file?.clockJumped();
  });
  let current = settings;
  const rootLevel = applyLevels(current);
  const log = pino({ level: rootLevel, base: { pid: process.pid } }, streams);
  attach(log);

  // `code` tells a reader of the JSON lines which failure this is; the journal and pretty lines show no fields.
  if (fileProblem !== undefined) log.warn({ code: fileProblem.code }, fileProblem.message);
  logReports();

  /** Takes the files out of the logger: what is logged from now on goes to the console only. */
  const detachFile = (): void => {
    logReports();
    fileOpen = false;
    applyLevels(current);
  };
  /** Says on the console how many lines the files did not get. */
  const countUnwritten = ({ unwritten, reason }: CloseResult): void => {
    logReports();
    if (unwritten > 0) log.error(`${unwritten} lines could not be written to the log files (${reason ?? 'unknown reason'}); the console has them`);
  };

  return {
    logger: log,
    fileDir: file === undefined ? undefined : resolve(settings.file.dir),
    setLevels(next) {
      current = next;
      const level = applyLevels(next);
      log.level = level;
      return level;
    },
    flushSync() {
      logReports();
      consoleDest.flushSync();
      if (file === undefined || !fileOpen) return;
      file.flushSync();
      const left = file.unwritten();
      if (left.unwritten === 0) return;
      detachFile();
      countUnwritten(left);
    },
    async close() {
      if (file === undefined || !fileOpen) return;
      detachFile();
      countUnwritten(await file.close());
    },
  };
}

/**
 * What the destinations report (a console that cannot be written, a log file
 * that could not be renamed), logged a tick later: they report from inside a
 * write. Reports made before the logger exists wait for it.
 */
function deferredReports(): { say: Say; attach(logger: Logger): void; flush(): void } {
  let logger: Logger | undefined;
  const reports: [level: 'info' | 'warn' | 'error', message: string][] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (logger === undefined) return;
    for (const [level, message] of reports.splice(0)) logger[level](message);
  };
  return {
    say(level, message) {
      reports.push([level, message]);
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    },
    attach(root) {
      logger = root;
    },
    flush,
  };
}

/** The console destination, writing to stdout (or the tests' sink) and reporting when stdout cannot be written. */
function createConsole(style: ConsoleStyle, env: LoggingOptions['env'], consoleSink: LoggingOptions['consoleSink'], say: Say, time: Time): MetadataDestination {
  return createConsoleDestination({
    style,
    colors: style === 'pretty' && env['NO_COLOR'] === undefined,
    sink:
      consoleSink ??
      createConsoleSink(1, {
        failed: (error) => say('error', `the console (stdout) cannot be written: ${describeError(error)}; its lines go to the log files only until it can be written again`),
        recovered: (notShown) => say('warn', `the console (stdout) can be written again; ${notShown} lines were not shown on it (the log files have them)`),
      }, time),
  });
}

/** The log files when file logging is on; a directory that cannot be used is returned as the problem to log, not thrown. */
async function openFilesIfEnabled(
  settings: LogSettings['file'],
  say: Say,
  time: Time,
): Promise<{ file: LogFileWriter | undefined; fileProblem: LogDirectoryError | undefined }> {
  if (!settings.enabled) return { file: undefined, fileProblem: undefined };
  try {
    return { file: await openLogFiles(settings, { report: say, time }), fileProblem: undefined };
  } catch (error) {
    if (!(error instanceof LogDirectoryError)) throw error;
    return { file: undefined, fileProblem: error };
  }
}

/**
 * Checks the wall clock against the monotonic clock when a line is logged in
 * a millisecond of the wall clock other than the last line's (pino stamps
 * lines with the wall clock, so a jump always shows as a new millisecond),
 * and calls `jumped` once for each step. A burst of lines in one millisecond
 * costs one check; a line logged alone costs no event-loop turn of its own
 * (a check once per turn, by setImmediate, cost a periodic task a wake-up per line).
 */
function watchWallClock(streams: pino.MultiStreamRes, time: Time, jumped: (jumpMs: number) => void): void {
  const watch = new ClockJumpWatch(time);
  let lastWallMs = Number.NaN;
  const write = streams.write;
  streams.write = function (this: pino.MultiStreamRes, data: string) {
    const wallMs = time.wallMs();
    if (wallMs !== lastWallMs) {
      lastWallMs = wallMs;
      // check() takes the jump in before `jumped` logs about it: that line finds nothing new.
      const jump = watch.check();
      if (jump !== 0) jumped(jump);
    }
    write.call(this, data);
  };
}

/** The more verbose of two levels: the root logger must let through what either destination wants. */
function lowerLevel(a: LogLevel, b: LogLevel): LogLevel {
  const { values } = pino.levels;
  return (values[a] ?? 0) <= (values[b] ?? 0) ? a : b;
}
