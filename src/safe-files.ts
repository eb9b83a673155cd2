import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, openSync, readlinkSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/**
 * Files asyncdemo writes or reads besides its config (the status file and
 * its temporary name, the log files, the unit files it describes) sit in
 * directories other users may be able to write. Each is opened without
 * following a symbolic link and without blocking (a FIFO planted under its
 * name would hang an open), then checked to be a regular file, so a planted
 * link, FIFO or device is refused, never followed nor waited on.
 */

/** A file that is not what asyncdemo expects there: a link, a FIFO, a directory… */
export class UnsafeFileError extends Error {
  override name = 'UnsafeFileError';
  readonly code = 'UNSAFE_FILE';
  constructor(
    readonly path: string,
    /** What was found: "a symbolic link", "a FIFO (named pipe)". */
    readonly found: string,
  ) {
    super(`${path} is ${found}, not a regular file: refused rather than followed`);
  }
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What a file system entry is, in words. */
export function describeKind(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return stats.isFile() ? 'a regular file' : 'not a regular file';
}

/**
 * Opens `path` for reading: no link followed, no wait on a FIFO, a regular
 * file only. Returns the descriptor and its stats.
 *
 * @throws {UnsafeFileError} for anything but a regular file; the open's own error otherwise (ENOENT, EACCES).
 */
function openRegularForReading(path: string): { fd: number; stats: Stats } {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    // ELOOP: the last component is a symbolic link (O_NOFOLLOW).
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeFileError(path, 'a symbolic link');
    throw error;
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new UnsafeFileError(path, describeKind(stats));
  }
  return { fd, stats };
}

/** The file is bigger than a reader of it allows. */
export class FileTooBigError extends Error {
  override name = 'FileTooBigError';
  readonly code = 'FILE_TOO_BIG';
  constructor(
    readonly path: string,
    readonly limit: number,
  ) {
    super(`${path} is bigger than ${limit} bytes`);
  }
}

/**
 * Reads a small regular file whole: at most `maxBytes`, or it is refused
 * before more is read (a file that grows while read is cut at the bound and
 * refused too).
 *
 * @throws {UnsafeFileError}, {@link FileTooBigError}, or the open's own error.
 */
export function readSmallFile(path: string, maxBytes: number): string {
  const { fd, stats } = openRegularForReading(path);
  try {
    if (stats.size > maxBytes) throw new FileTooBigError(path, maxBytes);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) throw new FileTooBigError(path, maxBytes);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** How {@link replaceFile} makes the new file. */
interface ReplaceOptions {
  /** Its mode, whatever the umask. */
  readonly mode: number;
  /** Makes the temporary name `name.<tempSuffix>.tmp` this writer's own. */
  readonly tempSuffix: string;
  /** Its owner (root only may give one): the config keeps the owner it had. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Flushed to the disk, the rename too: a power cut leaves the old file or the new, never half of one. Not for tmpfs. */
  readonly durable?: boolean;
}

/**
 * Replaces `dir/name` with `content`, atomically: written to a temporary name
 * in the same directory, created with O_EXCL and O_NOFOLLOW (so nothing
 * planted there is followed or reused: it is removed, and the file made
 * afresh), given its mode (and owner), then renamed over the old file
 * (rename replaces a link; it never follows one).
 *
 * @returns a note on anything found in the way (for one warning line), or undefined.
 * @throws the error of a write that could not be made (a full disk, a read-only directory).
 */
export function replaceFile(dir: string, name: string, content: string | Buffer, options: ReplaceOptions): string | undefined {
  const { mode, owner, durable = false } = options;
  const target = join(dir, name);
  const temp = join(dir, `${name}.${options.tempSuffix}.tmp`);
  let note: string | undefined;
  let fd: number;
  try {
    fd = openSync(temp, CREATE_FLAGS, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Left by a run killed mid-write, or planted: either way not ours to follow. Unlinking a link removes the link.
    note = `${temp} was ${describeEntry(temp)}; removed it and wrote the file afresh`;
    unlinkSync(temp);
    fd = openSync(temp, CREATE_FLAGS, mode);
  }
  try {
    // Explicitly: a umask (the unit's 0027) would narrow the mode given to open.
    fchmodSync(fd, mode);
    if (owner !== undefined) fchownSync(fd, owner.uid, owner.gid);
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
    if (durable) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  renameSync(temp, target);
  if (durable) {
    // The rename itself reaches the disk with the directory.
    const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
  return note;
}

/** What is at `path`, in words, without following a link: `a symbolic link to /etc/shadow`, `a regular file (12 bytes)`. */
export function describeEntry(path: string): string {
  try {
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) return `a symbolic link to ${readlinkSync(path)}`;
    if (stats.isFile()) return `a regular file (${stats.size} bytes)`;
    return describeKind(stats);
  } catch {
    return 'something that vanished';
  }
}

/** Whether users other than the owner and group may write (create, replace, remove names in) a directory of this mode. */
export function othersMayWrite(mode: number): boolean {
  return (mode & 0o002) !== 0;
}

/** What is wrong with a directory asyncdemo keeps files in. */
type DirectoryProblem =
  /** Not there (yet). */
  | { readonly kind: 'missing' }
  /** Not to be used: a link or other file, or another user's directory. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** Usable, with a warning: others can write it. */
  | { readonly kind: 'open'; readonly reason: string };

/**
 * Why a directory asyncdemo keeps files in cannot be trusted, or undefined
 * when it can: it must be a directory (not a link to one), owned by this user
 * or root, and not writable by others unless sticky (as /tmp is: there others
 * can create names but not replace ours).
 */
export function checkDirectory(dir: string, uid: number | undefined = process.getuid?.()): DirectoryProblem | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'refused', reason: `it cannot be looked at (${code ?? String(error)})` };
  }
  if (!stats.isDirectory()) return { kind: 'refused', reason: `it is ${describeKind(stats)}, not a directory` };
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) return { kind: 'refused', reason: `it belongs to another user (uid ${stats.uid})` };
  if (othersMayWrite(stats.mode) && (stats.mode & 0o1000) === 0) return { kind: 'open', reason: `every user can write it (mode ${(stats.mode & 0o7777).toString(8)})` };
  return undefined;
}
