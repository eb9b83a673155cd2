import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pinoRoll from 'pino-roll';
import type { Settings } from '../config/schema.js';

export type FileSettings = Settings['log']['file'];

/** The log files' base name: `asyncdemo.1.log`, `asyncdemo.2.log`…, and `current.log` pointing at the newest. */
export const LOG_BASENAME = 'asyncdemo';

/** What the file destination needs from pino-roll's SonicBoom stream. */
export interface FileStream {
  write(line: string): boolean;
  flush(): void;
  flushSync(): void;
  end(): void;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
  on(event: 'drop', listener: (data: unknown) => void): unknown;
  on(event: 'write', listener: (bytes: number) => void): unknown;
  once(event: 'close' | 'finish' | 'ready', listener: () => void): unknown;
  readonly file?: string;
}

/** Why file logging could not start, worded for the console line that says how to fix it. */
export class LogDirectoryError extends Error {
  override name = 'LogDirectoryError';
  readonly code = 'LOG_DIR_UNUSABLE';

  constructor(
    readonly dir: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `cannot write log files to ${dir}: ${reason}; logging to the console only. ` +
        `Fix: create the directory and let the service user write to it (or set log.file.dir / ASYNCDEMO_LOG_DIR)`,
      options,
    );
  }
}

const DATE_FORMAT = { daily: 'yyyy-MM-dd', hourly: 'yyyy-MM-dd-HH' } as const;

const BATCH_BYTES = 4096;

/** A line handed over this long after the one before is written at once (see flushedEachTurn). */
const ALONE_MS = 1;

/** Bytes kept in memory while the disk refuses writes (full, read-only); beyond this, lines are dropped, not the daemon. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * Opens the rotating JSON-lines files through pino-roll. Old files are pruned
 * by count across restarts too (`removeOtherLogFiles`): by default pino-roll
 * forgets files an earlier process wrote, and a daemon restarted daily would
 * fill the SD card.
 *
 * @throws {LogDirectoryError} when the directory cannot be created or written.
 */
export async function openLogFiles(settings: FileSettings): Promise<FileStream> {
  const dir = resolve(settings.dir);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    throw new LogDirectoryError(dir, err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : (err.code ?? err.message), { cause: error });
  }
  let stream: FileStream;
  try {
    stream = (await pinoRoll({
      file: join(dir, LOG_BASENAME),
      extension: '.log',
      size: settings.size,
      // With a frequency, the date goes into the name (asyncdemo.2026-11-24.1.log). Without it,
      // pino-roll numbers files by birth time within the period, and a restart on a new day
      // would start again at 1 and append to an old file.
      ...(settings.frequency === null ? {} : { frequency: settings.frequency, dateFormat: DATE_FORMAT[settings.frequency] }),
      symlink: true,
      // pino-roll keeps `count` files in all when it prunes files of earlier processes too.
      limit: { count: settings.keep + 1, removeOtherLogFiles: true },
      // Synchronous writes in batches of up to 4 KiB, flushed at the end of each event-loop turn:
      // measured (test/bench/log-destinations.mjs) about twice the lines per second of async
      // writes with a fraction of their memory under load, and nothing is held back for long.
      sync: true,
      minLength: BATCH_BYTES,
      maxLength: MAX_BUFFERED_BYTES,
    })) as FileStream;
  } catch (error) {
    throw new LogDirectoryError(dir, (error as Error).message, { cause: error });
  }
  return flushedEachTurn(stream);
}

/**
 * Writes a batch that is still below `minLength` at the end of the event-loop
 * turn, so a quiet daemon's lines reach the file at once, not 4 KiB later.
 *
 * A line that comes alone (nothing else handed over in the last millisecond)
 * is written at once instead: the end-of-turn flush costs the event loop a
 * turn of its own, a third of the CPU a task that logs every 10 ms spends on
 * its line (see the README's Benchmarks). Lines that come in a burst are
 * still batched.
 */
function flushedEachTurn(stream: FileStream): FileStream {
  let scheduled = false;
  let lastWrite = -Infinity;
  const flush = (): void => {
    scheduled = false;
    try {
      stream.flush();
    } catch {
      // A destroyed stream has nothing left to write; errors are reported through 'error'.
    }
  };
  return {
    get file() {
      return stream.file;
    },
    write(line) {
      const ok = stream.write(line);
      const now = performance.now();
      const alone = now - lastWrite > ALONE_MS;
      lastWrite = now;
      if (alone && !scheduled) {
        flush();
        return ok;
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return ok;
    },
    flush: () => stream.flush(),
    flushSync: () => stream.flushSync(),
    end: () => stream.end(),
    on: stream.on.bind(stream) as FileStream['on'],
    once: stream.once.bind(stream) as FileStream['once'],
  };
}
