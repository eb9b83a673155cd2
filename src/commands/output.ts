import { fstatSync, writeSync } from 'node:fs';
import { tty } from '../lazy-builtins.js';
import { isJournalStream } from '../log/journal.js';
import { ExitCode } from '../exit-codes.js';
import type { Env } from './command.js';

/**
 * Writes all of `text` to a file descriptor, synchronously, and says why it
 * could not (ENOSPC on a full disk, EPIPE when the reader left, EBADF when
 * it is closed) instead of an 'error' event with a stack trace. A stream
 * would also build a net.Socket or tty for fd 1, which costs start-up time.
 */
export function writeOut(fd: number, text: string): string | undefined {
  const bytes = Buffer.from(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') return code ?? String(error);
      // A non-blocking pipe that is full: wait for the reader as a blocking write would.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  return undefined;
}

/** Writes a command's output to stdout; a stdout that cannot take it (a full disk, a closed pipe) is a failure, said on stderr. */
export function output(text: string): number {
  const problem = writeOut(1, text);
  if (problem === undefined) return ExitCode.ok;
  writeOut(2, `asyncdemo: cannot write to stdout: ${problem}\n`);
  return ExitCode.failure;
}

/**
 * Says a problem on stderr, one message, each of its lines at err priority
 * when stderr is the journal (systemd runs the command: ExecReload=), where
 * the line needs no "asyncdemo:" of its own (journald prefixes the unit's
 * identifier); elsewhere prefixed with it, as command-line tools do.
 */
export function complain(text: string, env: Env): void {
  const journal = isJournalStream(2, env['JOURNAL_STREAM']);
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  writeOut(2, journal ? `${body.replace(/^/gm, '<3>')}\n` : `asyncdemo: ${body}\n`);
}

/**
 * Whether stdout is a terminal. Not process.stdout.isTTY: touching
 * process.stdout builds a stream (for a pipe or the journal's socket, a
 * net.Socket), and node:tty costs 2.8 ms to load; both before READY, and the
 * logger writes to fd 1 itself. Only a character device can be a terminal.
 */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return tty().isatty(fd);
}
