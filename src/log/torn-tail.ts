import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import type { Report } from './log-dir.js';

/** How much of the file's end is looked at: a torn line is shorter than this, and a start must stay cheap on an SD card. */
const TAIL_BYTES = 64 * 1024;
/** Zeros looked through at most: what a few seconds of lines, unwritten at the cut, can leave. */
const MAX_ZERO_BYTES = 16 * 1024 * 1024;

/**
 * After a power cut, the file that was being written can end in a torn line:
 * a part of a line, or (ext4 with delayed allocation) a run of zero bytes where
 * the size reached the disk before the data did. Every reader of JSON lines
 * then stumbles on it, and `less` shows a screen of ^@; and the next run
 * appends to that file. This cuts `path` (the file the next run appends to)
 * back to its last whole line, and says so.
 * Reads 64 KiB at a time from the end (over at most 16 MiB of zeros), opens
 * without following links, and never
 * throws: a file it cannot repair is left as it is.
 */
export function cutTornTail(path: string, report: Report): void {
  const name = basename(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size === 0) return;
    const window = Buffer.alloc(TAIL_BYTES);
    let keep: number | undefined;
    let zeros = 0;
    // Backwards, a window at a time, over the zeros (bounded), to the last byte written; then back to its line's end.
    for (let end = stat.size; end > 0 && stat.size - end <= MAX_ZERO_BYTES; ) {
      const start = Math.max(0, end - TAIL_BYTES);
      const length = readAt(fd, window, end - start, start);
      let last = length;
      while (last > 0 && window[last - 1] === 0) last--;
      zeros += length - last;
      if (last === 0) {
        end = start;
        continue;
      }
      if (end === stat.size && last === length && window[last - 1] === 0x0a) return;
      const newline = window.lastIndexOf(0x0a, last - 1);
      // No line end in this window: a line longer than 64 KiB is not ours to judge; drop only the zeros.
      keep = start + (newline >= 0 ? newline + 1 : last);
      break;
    }
    // All zeros (as far as looked): the file's lines never reached the disk.
    keep ??= stat.size - zeros;
    if (keep === stat.size) return;
    ftruncateSync(fd, keep);
    report(
      'warn',
      `${name} ended in a torn line (${stat.size - keep} bytes${zeros > 0 ? `, ${zeros} of them zeros` : ''}; the power was cut while it was written): cut back to its last whole line`,
    );
  } catch (error) {
    report('warn', `could not check ${path} for a torn last line: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): number {
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return read;
}
