import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Settings } from '../config/schema.js';
import { FixableError } from '../errors.js';
import { describeError, LogFileWriter } from './file-writer.js';
import type { Time } from '../time.js';
import { claimLogFile, pointCurrentLink, sameFile, StrayCurrentLogError, writableByOthers, type Claim, type Report } from './log-dir.js';
import { startFileName, type RollingStream } from './pino-roll-internals.js';
import { pinoRoll } from './pino-roll.js';
import { cutTornTail } from './torn-tail.js';

type FileSettings = Settings['log']['file'];

/** The log files' base name: `asyncdemo.1.log`, `asyncdemo.2.log`…, and `current.log` pointing at the newest. */
const LOG_BASENAME = 'asyncdemo';

const DEFAULT_FIX = 'create the directory and let the service user write to it (or set log.file.dir / ASYNCDEMO_LOG_DIR)';

/** Why file logging could not start, worded for the console line that says how to fix it. */
export class LogDirectoryError extends FixableError {
  override name = 'LogDirectoryError';
  readonly code = 'LOG_DIR_UNUSABLE';

  constructor(
    readonly dir: string,
    reason: string,
    options?: ErrorOptions & { fix?: string },
  ) {
    super(`cannot write log files to ${dir}: ${reason}; logging to the console only`, options?.fix ?? DEFAULT_FIX, options);
  }
}

interface OpenOptions {
  /** Says what was found and done in the directory (a link removed, a stray current.log moved), and when writing fails or recovers. */
  readonly report?: Report;
  readonly time: Time;
}

/**
 * Opens the rotating JSON-lines files through pino-roll. Files are numbered
 * in the order they are written (`asyncdemo.7.log`), never named by the wall
 * clock: pruning, by number, removes the files written first whatever the
 * clock says (behind older files, 1970, jumping). pino-roll prunes files of
 * earlier processes too (`removeOtherLogFiles`): by default it forgets them,
 * and a daemon restarted daily would fill the SD card.
 *
 * @throws {LogDirectoryError} when the directory cannot be created or written.
 */
export async function openLogFiles(settings: FileSettings, { report = () => {}, time }: OpenOptions): Promise<LogFileWriter> {
  const dir = resolve(settings.dir);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    throw new LogDirectoryError(dir, err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : (err.code ?? err.message), { cause: error });
  }
  const mode = writableByOthers(dir);
  if (mode !== undefined) {
    report('warn', `the log directory ${dir} can be written by every user (mode ${mode.toString(8)}): anyone can plant links or delete log files there. Fix: chmod o-w ${dir}`);
  }

  let start: string;
  let claim: Claim | undefined;
  try {
    start = startFileName(dir, LOG_BASENAME);
    cutTornTail(start, report);
    claim = claimLogFile(start, report);
    pointCurrentLink(dir, start, report);
  } catch (error) {
    claim?.close();
    if (error instanceof StrayCurrentLogError) throw new LogDirectoryError(dir, error.message, { cause: error, fix: error.fix });
    throw new LogDirectoryError(dir, describeError(error), { cause: error });
  }
  let stream: RollingStream;
  try {
    stream = await pinoRoll({
      file: join(dir, LOG_BASENAME),
      extension: '.log',
      size: settings.size,
      symlink: true,
      // pino-roll keeps `count` files in all when it prunes files of earlier processes too.
      limit: { count: settings.keep + 1, removeOtherLogFiles: true },
      // Synchronous writes: asyncdemo batches the lines itself (file-writer.ts); with no
      // minLength, sonic-boom writes each batch at once and pino-roll rolls synchronously.
      sync: true,
    });
  } catch (error) {
    throw new LogDirectoryError(dir, describeError(error), { cause: error });
  } finally {
    claim.close();
  }
  const writer = new LogFileWriter({ stream, dir, frequency: settings.frequency, report, time });
  if (stream.file !== start || !sameFile(stream.fd, start)) {
    // Only when pino-roll chose another file than the one checked (pino-roll-contract.test.ts guards against it).
    report('warn', `pino-roll opened ${stream.file}, not ${start} as expected; rolling to a file checked first`);
    writer.rollNow();
  }
  return writer;
}
