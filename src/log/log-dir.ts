import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeEntry, othersMayWrite } from '../safe-files.js';

/** The link pino-roll keeps to the file being written. */
const CURRENT_LINK = 'current.log';

/** Says what asyncdemo did about something it found in the log directory. */
export type Report = (level: 'info' | 'warn' | 'error', message: string) => void;

// O_NONBLOCK: a FIFO planted under a log file's name must not hang the open (libuv adds O_CLOEXEC itself).
const CLAIM_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A log file opened (created if need be) without following a symbolic link. */
export interface Claim {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  close(): void;
}

/**
 * Opens `path` with O_NOFOLLOW before pino-roll (sonic-boom) opens it by
 * name, which follows links: a symbolic link, FIFO, socket or device planted
 * under the name of the next log file is removed, not followed. Whatever then
 * opens the name opens the regular file made here; {@link sameFile} checks
 * that it did before a byte is written.
 *
 * @throws the open's error when the file cannot be made (full, read-only, gone).
 */
export function claimLogFile(path: string, report: Report): Claim {
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, CLAIM_FLAGS, 0o666);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ELOOP: a symbolic link; ENXIO: a FIFO nobody reads.
      if ((code === 'ELOOP' || code === 'ENXIO') && attempt < 3) {
        removePlanted(path, report);
        continue;
      }
      throw error;
    }
    const stat = fstatSync(fd);
    if (stat.isFile()) {
      return { path, dev: stat.dev, ino: stat.ino, close: () => closeSync(fd) };
    }
    closeSync(fd);
    if (attempt >= 3) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EEXIST' });
    removePlanted(path, report);
  }
}

function removePlanted(path: string, report: Report): void {
  const what = describeEntry(path);
  unlinkSync(path);
  report('warn', `${path} was ${what}, where asyncdemo writes a log file: removed it rather than follow it`);
}

/** Whether descriptor `fd` is the file named `path` itself, not something a link led to. */
export function sameFile(fd: number, path: string): boolean {
  try {
    const named = lstatSync(path);
    const open = fstatSync(fd);
    return named.isFile() && named.dev === open.dev && named.ino === open.ino;
  } catch {
    return false;
  }
}

/**
 * Points current.log at `target` before pino-roll does: atomically (a new
 * link renamed over the old), so current.log never goes missing for a
 * reader, and pino-roll, finding it right, leaves it. Anything but a link
 * there (a file, a directory) is moved aside first, to `current.log.old` (or
 * `.old.2`…), so nothing in it is lost.
 *
 * @throws {StrayCurrentLogError} when that cannot be moved.
 */
export function pointCurrentLink(dir: string, target: string, report: Report): void {
  const link = join(dir, CURRENT_LINK);
  let stat;
  try {
    stat = lstatSync(link);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink() === false) moveAside(link, report);
  else if (stat !== undefined && readlinkSync(link) === basename(target)) return;
  const fresh = `${link}.${process.pid}.new`;
  try {
    rmSync(fresh, { force: true });
    symlinkSync(basename(target), fresh);
    renameSync(fresh, link);
  } catch {
    // pino-roll makes the link itself, or says why it could not.
    rmSync(fresh, { force: true });
  }
}

function moveAside(link: string, report: Report): void {
  const what = describeEntry(link);
  for (let n = 1; n <= 9; n++) {
    const aside = `${link}.old${n === 1 ? '' : `.${n}`}`;
    if (exists(aside)) continue;
    try {
      renameSync(link, aside);
    } catch (error) {
      throw new StrayCurrentLogError(link, what, error);
    }
    report('warn', `${link} was ${what}, where asyncdemo keeps the link to the file being written: moved it to ${basename(aside)}`);
    return;
  }
  throw new StrayCurrentLogError(link, what, undefined);
}

/** current.log is something asyncdemo cannot move out of the way. */
export class StrayCurrentLogError extends Error {
  override name = 'StrayCurrentLogError';
  constructor(
    readonly link: string,
    what: string,
    cause: unknown,
  ) {
    super(`${link} is ${what}, where asyncdemo keeps the link to the file being written, and it could not be moved aside${cause instanceof Error ? ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : ''}`, { cause });
  }
  /** The fix, for the line that reports it. */
  get fix(): string {
    return `move it away (mv ${this.link} ${this.link}.saved) and restart`;
  }
}

/** The mode bits, when others than the owner and group may write `dir`. */
export function writableByOthers(dir: string): number | undefined {
  try {
    const mode = statSync(dir).mode;
    return othersMayWrite(mode) ? mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

