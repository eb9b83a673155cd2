import { existsSync, fstatSync, mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import type { Time } from '../time.js';
import { claimLogFile, pointCurrentLink, sameFile, StrayCurrentLogError, type Claim, type Report } from './log-dir.js';
import { forgetFailedReopen, nextFileName, requestRoll, rollPending, rollPendingNow, type RollingStream } from './pino-roll-internals.js';

/** Lines are written in batches of about this many bytes (a batch ends with the line that reaches it). */
const BATCH_BYTES = 4096;

/** Bytes kept in memory while the files cannot be written (full, read-only); beyond this, lines are dropped, not the daemon. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

/** A line handed over this long after the one before is written at once, not at the end of the turn. */
const ALONE_MS = 1;

/** How often files that cannot be written are tried again. */
const RETRY_MS = 1000;

/** How long close() waits for the disk to take the last batch and close the file. */
const CLOSE_TIMEOUT_MS = 2000;

interface Batch {
  readonly text: string;
  readonly lines: number;
  readonly bytes: number;
}

/** What close() could not write. */
export interface CloseResult {
  /** Lines of this run that never reached the files and were not already counted in a line. */
  readonly unwritten: number;
  /** Why, when some could not be written. */
  readonly reason: string | undefined;
}

interface FileWriterOptions {
  /** What pino-roll returned. */
  readonly stream: RollingStream;
  readonly dir: string;
  readonly frequency: 'daily' | 'hourly' | null;
  readonly report: Report;
  readonly time: Time;
}

/**
 * The pino destination for the log files: pino-roll underneath, asyncdemo
 * deciding when it rolls (see pino-roll-internals.ts). Lines go out in
 * synchronous batches of about 4 KiB, and a batch still short at the end of an
 * event-loop turn is written then (a line that comes alone, at once). After each batch, a file that reached its
 * size is rolled at once, so no file grows past `size` by more than one batch.
 *
 * When the files cannot be written (a full disk, a read-only directory, a
 * directory that vanished and cannot be made again), batches wait in memory,
 * up to {@link MAX_BACKLOG_BYTES}, and are tried again every second; one line
 * says so when it starts, one when it ends with the number of lines dropped.
 * A file deleted while being written (or its whole directory) is noticed at
 * the end of the turn; its directory is made again and that turn's lines are
 * written again into a new file. Never throws, never waits for the disk.
 */
export class LogFileWriter {
  readonly #stream: RollingStream;
  readonly #dir: string;
  readonly #frequency: 'daily' | 'hourly' | null;
  readonly #report: Report;
  readonly #time: Time;

  #batch = '';
  #batchLines = 0;
  #batchBytes = 0;
  #turnScheduled = false;
  #lastWrite = -Infinity;
  readonly #endTurn = (): void => this.#onEndOfTurn();

  /** Batches waiting while the files cannot be written. */
  #backlog: Batch[] = [];
  #backlogBytes = 0;
  /** Lines dropped since the files could no longer be written. */
  #dropped = 0;
  /** Why the files cannot be written; undefined while they can. */
  #failure: string | undefined;
  /** The batch a failed write cut short; sonic-boom keeps its unwritten rest and writes it first. */
  #remainder: (Batch & { written: number }) | undefined;
  /** A roll failed (or fell due while failing) and must happen before anything else is written. */
  #rollDue = false;
  /** Batches written to the current file in this turn: written again if the file turns out to have been deleted. */
  #inFile: Batch[] = [];
  #inFileBytes = 0;

  #retryTimer: unknown;
  #periodTimer: unknown;
  #closed = false;

  // Set by the stream's listeners during one synchronous call into it.
  #inCall = false;
  #callError: NodeJS.ErrnoException | undefined;
  #callBytes = 0;
  #lastCallError: unknown;

  constructor({ stream, dir, frequency, report, time }: FileWriterOptions) {
    this.#stream = stream;
    this.#dir = dir;
    this.#frequency = frequency;
    this.#report = report;
    this.#time = time;
    // sonic-boom adds a 'ready' listener per reopen and emits 'ready' a tick later: writing
    // a backlog rolls many times in one turn.
    stream.setMaxListeners(0);
    stream.on('error', (error: NodeJS.ErrnoException) => this.#onError(error));
    stream.on('write', (bytes: number) => {
      if (this.#inCall) this.#callBytes += bytes;
    });
    this.#schedulePeriod();
  }

  /** The file being written. */
  get file(): string {
    return this.#stream.file;
  }

  write(line: string): void {
    if (this.#closed) return;
    this.#batch += line;
    this.#batchLines++;
    this.#batchBytes += Buffer.byteLength(line);
    // A line that comes alone (nothing else in the last millisecond) ends its turn's writing
    // at once: the end-of-turn callback would cost the event loop a turn of its own per line,
    // a third of the CPU of a task that logs every 10 ms. Lines in a burst are still batched.
    const now = this.#time.monotonicMs();
    const alone = now - this.#lastWrite > ALONE_MS;
    this.#lastWrite = now;
    if (alone && !this.#turnScheduled) {
      this.#onEndOfTurn();
      return;
    }
    if (this.#batchBytes >= BATCH_BYTES) this.#flushBatch();
    if (!this.#turnScheduled) {
      this.#turnScheduled = true;
      this.#time.setImmediate(this.#endTurn);
    }
  }

  /** Writes what it can now, once: for an exit that cannot wait. Never waits for the disk. */
  flushSync(): void {
    if (this.#closed) return;
    if (this.#batchLines > 0) this.#flushBatch();
    if (this.#failure !== undefined) this.#recover();
  }

  /** Rolls to a new file now (also used when the wall clock jumped: the period is counted again). */
  rollNow(): boolean {
    if (this.#closed) return false;
    if (this.#batchLines > 0) this.#flushBatch();
    if (this.#failure !== undefined) {
      this.#rollDue = true;
      return false;
    }
    return this.#roll(false);
  }

  /** The wall clock jumped: the daily or hourly roll is counted from the new time. */
  clockJumped(): void {
    this.#schedulePeriod();
  }

  /** The lines not written yet (dropped, waiting, cut short), and why: what an exit now would lose. */
  unwritten(): CloseResult {
    return { unwritten: this.#dropped + this.#backlog.reduce((n, b) => n + b.lines, 0) + this.#remainderLines() + this.#batchLines, reason: this.#failure };
  }

  /**
   * Writes what is left and closes the file, waiting for the disk at most a
   * moment. Returns what could not be written.
   */
  async close(): Promise<CloseResult> {
    if (this.#closed) return { unwritten: 0, reason: undefined };
    this.#time.clearTimeout(this.#retryTimer);
    this.#time.clearTimeout(this.#periodTimer);
    if (this.#batchLines > 0) this.#flushBatch();
    if (this.#failure === undefined && this.#orphaned()) this.#roll(false);
    if (this.#failure !== undefined) this.#recover();
    const { unwritten, reason } = this.unwritten();
    this.#closed = true;
    const stream = this.#stream;
    if (reason !== undefined) {
      // sonic-boom's end() would try the unwritten rest again and wait for it.
      try {
        stream.destroy();
      } catch {
        // Already closed.
      }
      return { unwritten, reason };
    }
    let timer: unknown;
    await new Promise<void>((resolve) => {
      stream.once('close', resolve);
      timer = this.#time.setTimeout(resolve, CLOSE_TIMEOUT_MS, { ref: false });
      try {
        stream.end();
      } catch {
        resolve();
      }
    });
    this.#time.clearTimeout(timer);
    return { unwritten, reason };
  }

  #flushBatch(): void {
    const batch: Batch = { text: this.#batch, lines: this.#batchLines, bytes: this.#batchBytes };
    this.#batch = '';
    this.#batchLines = 0;
    this.#batchBytes = 0;
    if (this.#failure !== undefined || this.#backlog.length > 0) this.#hold(batch);
    else this.#writeNow(batch);
  }

  #hold(batch: Batch): void {
    if (this.#backlogBytes + batch.bytes > MAX_BACKLOG_BYTES) {
      this.#dropped += batch.lines;
      return;
    }
    this.#backlog.push(batch);
    this.#backlogBytes += batch.bytes;
  }

  /** Writes one batch; rolls right after it when the file reached its size. False when the files cannot be written. */
  #writeNow(batch: Batch): boolean {
    this.#begin();
    try {
      this.#stream.write(batch.text);
    } catch (error) {
      this.#callError ??= error as NodeJS.ErrnoException;
    }
    const written = this.#callBytes;
    const error = this.#end();
    if (error !== undefined) {
      this.#remainder = { ...batch, written };
      this.#fail(error);
      return false;
    }
    this.#remember(batch);
    return rollPending(this.#stream) ? this.#roll(true) : true;
  }

  #remember(batch: Batch): void {
    this.#inFile.push(batch);
    this.#inFileBytes += batch.bytes;
    // A burst of more than this in one turn is not kept for a rewrite in full.
    while (this.#inFileBytes > MAX_BACKLOG_BYTES && this.#inFile.length > 1) this.#inFileBytes -= this.#inFile.shift()?.bytes ?? 0;
  }

  /**
   * Makes pino-roll roll now: to the next number, current.log pointing at it,
   * older files pruned. `pending`: pino-roll already decided to (the file
   * reached its size); otherwise it is asked to. The next file is claimed
   * first (O_NOFOLLOW) and current.log pointed at it, a vanished directory
   * made again, a stray current.log moved aside.
   */
  #roll(pending: boolean, attempt = 0): boolean {
    const stream = this.#stream;
    const next = nextFileName(stream.file);
    const orphaned = this.#orphaned();
    const redo = orphaned ? this.#inFile : [];
    const dirGone = !existsSync(this.#dir);
    let claim: Claim | undefined;
    let prepError: unknown;
    try {
      if (dirGone) mkdirSync(this.#dir, { recursive: true });
      claim = claimLogFile(next, this.#report);
      this.#pointLink(next);
    } catch (error) {
      prepError = error;
    }
    // The directory vanished between the check and the claim (renamed or removed in that instant): look again.
    if (prepError !== undefined && (prepError as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(this.#dir) && attempt < 3) {
      claim?.close();
      return this.#roll(pending, attempt + 1);
    }
    // A roll pino-roll decided on happens at the next tick anyway; run it now, so nothing is written to the full file meanwhile.
    if (!pending) {
      if (prepError !== undefined) return this.#rollFailed(prepError, redo);
      requestRoll(stream);
    }
    const fd = stream.fd;
    this.#begin();
    rollPendingNow(stream);
    const error = this.#end();
    claim?.close();
    if (stream.fd === fd) {
      forgetFailedReopen(stream);
      // As above, but between the claim and pino-roll's open.
      if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' && !existsSync(this.#dir) && attempt < 3) return this.#roll(false, attempt + 1);
      return this.#rollFailed(error ?? prepError ?? new Error('pino-roll did not roll'), redo);
    }
    this.#inFile = [];
    this.#inFileBytes = 0;
    if (!sameFile(stream.fd, stream.file)) {
      // Replaced between the claim and pino-roll's open (a link planted in that instant): nothing was written to it.
      this.#report('warn', `${stream.file} was replaced while being opened: nothing written to it; going on in the next file`);
      if (attempt < 3) return this.#roll(false, attempt + 1);
      return this.#rollFailed(new Error(`${stream.file} keeps being replaced`), redo);
    }
    if (error !== undefined) this.#report('warn', `could not point ${this.#dir}/current.log at ${basename(stream.file)}: ${describeError(error)}`);
    if (dirGone || orphaned) {
      this.#report(
        'warn',
        dirGone
          ? `the log directory ${this.#dir} was removed while asyncdemo wrote to it: made it again; logging goes on in ${basename(stream.file)}`
          : `the log file was deleted while asyncdemo wrote to it; logging goes on in ${basename(stream.file)}`,
      );
    }
    if (orphaned) {
      for (const batch of redo) {
        if (this.#failure !== undefined || this.#backlog.length > 0) this.#hold(batch);
        else this.#writeNow(batch);
      }
    }
    return true;
  }

  #rollFailed(error: unknown, redo: readonly Batch[]): false {
    this.#rollDue = true;
    // The lines of a deleted file wait for the next one, before anything newer.
    if (redo.length > 0) {
      this.#inFile = [];
      this.#inFileBytes = 0;
      const held = this.#backlog;
      this.#backlog = [];
      this.#backlogBytes = 0;
      for (const batch of [...redo, ...held]) this.#hold(batch);
    }
    this.#fail(error as NodeJS.ErrnoException);
    return false;
  }

  #pointLink(next: string): void {
    try {
      pointCurrentLink(this.#dir, next, this.#report);
    } catch (error) {
      if (!(error instanceof StrayCurrentLogError)) throw error;
      this.#report('warn', `${error.message}; fix: ${error.fix}`);
    }
  }

  /** The file being written no longer has a name: deleted, or its directory removed. */
  #orphaned(): boolean {
    try {
      return fstatSync(this.#stream.fd).nlink === 0;
    } catch {
      return false;
    }
  }

  #fail(error: NodeJS.ErrnoException): void {
    if (this.#failure === undefined) {
      this.#failure = describeError(error);
      this.#dropped = 0;
      this.#report(
        'error',
        `cannot write the log files in ${this.#dir}: ${this.#failure}; lines wait in memory (up to ${MAX_BACKLOG_BYTES / 1024 / 1024} MiB, then they are dropped) until the files can be written again; the console has every line`,
      );
    }
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = this.#time.setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed && !this.#recover()) this.#scheduleRetry();
    }, RETRY_MS, { ref: false });
  }

  /** Tries to write everything that waits. True when the files are writable again. */
  #recover(): boolean {
    if (this.#remainder !== undefined) {
      const remainder = this.#remainder;
      this.#begin();
      try {
        // sonic-boom writes the unwritten rest of the batch first (pino-roll-internals.ts).
        this.#stream.write('');
      } catch (error) {
        this.#callError ??= error as NodeJS.ErrnoException;
      }
      const written = this.#callBytes;
      const error = this.#end();
      if (error !== undefined) {
        this.#remainder = { ...remainder, written: remainder.written + written };
        this.#fail(error);
        return false;
      }
      this.#remainder = undefined;
      this.#remember(remainder);
      if (rollPending(this.#stream) && !this.#roll(true)) return false;
    }
    if (this.#rollDue) {
      this.#rollDue = false;
      if (!this.#roll(false)) return false;
    }
    while (this.#backlog.length > 0) {
      const batch = this.#backlog.shift() as Batch;
      this.#backlogBytes -= batch.bytes;
      if (!this.#writeNow(batch)) return false;
    }
    if (this.#failure !== undefined) {
      const dropped = this.#dropped;
      this.#failure = undefined;
      this.#dropped = 0;
      this.#report('warn', `the log files in ${this.#dir} can be written again; ${dropped === 0 ? 'no line was lost' : `${dropped} lines were dropped meanwhile (the console has them)`}`);
    }
    return true;
  }

  #remainderLines(): number {
    const remainder = this.#remainder;
    if (remainder === undefined) return 0;
    const rest = Buffer.from(remainder.text).subarray(remainder.written);
    let lines = 0;
    for (let i = rest.indexOf(10); i >= 0; i = rest.indexOf(10, i + 1)) lines++;
    return lines;
  }

  #onEndOfTurn(): void {
    this.#turnScheduled = false;
    if (this.#closed) return;
    if (this.#batchLines > 0) this.#flushBatch();
    // A deleted file takes the lines written to it since; this turn's are written again.
    if (this.#failure === undefined && this.#orphaned()) this.#roll(false);
    this.#inFile = [];
    this.#inFileBytes = 0;
  }

  #onError(error: NodeJS.ErrnoException): void {
    if (this.#inCall) {
      this.#callError ??= error;
      return;
    }
    // sonic-boom reports a failed open again on the next tick; pino-roll reports a failed prune.
    if (error === this.#lastCallError || this.#closed) return;
    this.#report('warn', `log files: ${describeError(error)}`);
  }

  #begin(): void {
    this.#inCall = true;
    this.#callError = undefined;
    this.#callBytes = 0;
  }

  #end(): NodeJS.ErrnoException | undefined {
    this.#inCall = false;
    this.#lastCallError = this.#callError;
    return this.#callError;
  }

  #schedulePeriod(): void {
    this.#time.clearTimeout(this.#periodTimer);
    this.#periodTimer = undefined;
    if (this.#frequency === null || this.#closed) return;
    const now = this.#time.wallMs();
    const next = new Date(now);
    if (this.#frequency === 'daily') next.setHours(24, 0, 0, 0);
    else next.setMinutes(60, 0, 0);
    this.#periodTimer = this.#time.setTimeout(
      () => {
        this.#periodTimer = undefined;
        this.#periodEnded();
        this.#schedulePeriod();
      },
      Math.max(1, next.getTime() - now),
      { ref: false },
    );
  }

  /** Daily or hourly: a new file, unless nothing was written to this one. */
  #periodEnded(): void {
    if (this.#closed) return;
    if (this.#batchLines > 0) this.#flushBatch();
    try {
      if (fstatSync(this.#stream.fd).size === 0) return;
    } catch {
      // Let the roll say what is wrong.
    }
    this.rollNow();
  }
}

/** `ENOSPC (no space left on device)`: the code a user can search for, and what it means. */
export function describeError(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  if (typeof err?.code === 'string') {
    const meaning = /^[A-Z]+: (.*?),/.exec(err.message)?.[1];
    return meaning === undefined ? err.code : `${err.code} (${meaning})`;
  }
  return err instanceof Error ? err.message : String(error);
}
