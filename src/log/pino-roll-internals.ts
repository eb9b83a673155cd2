import { startNumber } from './log-numbers.js';
import { basename, dirname, join } from 'node:path';
import type { PinoRollStream } from 'pino-roll';

/**
 * Everything asyncdemo relies on in pino-roll 4.0.0 and sonic-boom 4.2.1
 * beyond their documented options, in one place. Both are pinned to these
 * exact versions in package.json, and test/unit/pino-roll-contract.test.ts
 * fails when an upgrade changes any of it.
 *
 * Why at all: pino-roll rolls a file asynchronously, a turn of the event loop
 * after the write that filled it, so a synchronous burst all lands in the
 * full file (11 × its size was seen). asyncdemo decides when to roll and
 * makes pino-roll do it at once, between two 4 KiB batches:
 *
 * - Without `frequency` and `dateFormat`, files are `<base>.<n>.log`; at start
 *   pino-roll appends to the number its `detectLastNumber` (in lib/utils.js)
 *   gives, which asyncdemo replaces with its own (pino-roll.ts); each roll adds
 *   one to it.
 * - pino-roll counts the bytes of sonic-boom's 'write' events; when they reach
 *   `size` it names the next file and waits for sonic-boom's 'drain' to roll.
 *   A 'write' event of {@link ROLL_NOW_BYTES} therefore asks for a roll.
 * - With `minLength: 0` and `sync: true` that roll is synchronous: 'drain'
 *   runs it, `flush` calls back at once, `reopen` opens the next file before
 *   returning, then current.log is replaced and pruning starts (asynchronously).
 * - A synchronous sonic-boom write that fails emits 'error' before `write`
 *   returns and keeps the unwritten rest; the next `write` (even of '') writes
 *   that rest first. A failed reopen keeps the old descriptor, and leaves
 *   behind the 'ready' listener that was to close it: after a few failed
 *   rolls, the next good one would close that descriptor number several
 *   times (the later closes could hit a file opened since). They are removed.
 * - pino-roll keeps a current.log link that already names the new file.
 */
export type RollingStream = PinoRollStream;

/** Big enough for any `size`: pino-roll adds it to its count, compares, then resets the count to 0. */
const ROLL_NOW_BYTES = Number.MAX_SAFE_INTEGER;

/** pino-roll has decided to roll and waits for 'drain'. It is the only 'drain' listener asyncdemo's stream has. */
export function rollPending(stream: RollingStream): boolean {
  return stream.listenerCount('drain') > 0;
}

/** Makes pino-roll decide to roll (a no-op when it already has). {@link rollPendingNow} then runs the roll. */
export function requestRoll(stream: RollingStream): void {
  stream.emit('write', ROLL_NOW_BYTES);
}

/** Runs the roll pino-roll is waiting for, synchronously (see above). */
export function rollPendingNow(stream: RollingStream): void {
  stream.emit('drain');
}

/** After a failed roll: drops sonic-boom's 'ready' listener that was to close the old descriptor (see above). */
export function forgetFailedReopen(stream: RollingStream): void {
  stream.removeAllListeners('ready');
}

const NUMBERED = /^(.*\.)(\d+)\.log$/;

/** The file the next roll opens: the number of the current one plus one. */
export function nextFileName(file: string): string {
  const match = NUMBERED.exec(basename(file));
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`not a numbered log file: ${file}`);
  return join(dirname(file), `${match[1]}${Number(match[2]) + 1}.log`);
}

/** The file pino-roll appends to at start, by asyncdemo's numbering (log-numbers.ts; pino-roll.ts gives pino-roll the same rule). */
export function startFileName(dir: string, base: string): string {
  return join(dir, `${base}.${startNumber(dir, base)}.log`);
}
