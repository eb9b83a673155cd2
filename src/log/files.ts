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
  flushSync(): void;
  end(): void;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
  on(event: 'drop', listener: (data: unknown) => void): unknown;
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
  try {
    return (await pinoRoll({
      file: join(dir, LOG_BASENAME),
      extension: '.log',
      size: settings.size,
      ...(settings.frequency === null ? {} : { frequency: settings.frequency }),
      symlink: true,
      ...(settings.keep > 0 ? { limit: { count: settings.keep, removeOtherLogFiles: true } } : {}),
      maxLength: MAX_BUFFERED_BYTES,
    })) as FileStream;
  } catch (error) {
    throw new LogDirectoryError(dir, (error as Error).message, { cause: error });
  }
}
