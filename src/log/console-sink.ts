import { writeSync } from 'node:fs';
import type { Time } from '../time.js';

/** Told when the console stops taking lines and when it takes them again. */
interface ConsoleSinkEvents {
  failed(error: NodeJS.ErrnoException): void;
  recovered(notShown: number): void;
}

/** How often a console that failed is tried again. */
const RETRY_MS = 1000;

/**
 * Writes console lines to `fd` at once (the journal wants them in order, and
 * none may wait in memory at exit), and never throws nor waits: a console
 * that cannot be written (stdout on a full disk, /dev/full, a closed pipe, a
 * reader that stopped reading a non-blocking pipe) loses its lines, counted,
 * and is tried again once a second. sonic-boom, which pino.destination uses,
 * throws an unhandled 'error' here, or retries forever in flushSync.
 */
export function createConsoleSink(fd: number, events: ConsoleSinkEvents, time: Pick<Time, 'monotonicMs'>): { write(text: string): void } {
  const now = (): number => time.monotonicMs();
  let failing = false;
  let notShown = 0;
  let lastTry = 0;
  /** The end of a line a failed write cut short: written first next time, so the console gets whole lines. */
  let rest: Buffer | undefined;

  function writeAll(data: string | Buffer): void {
    let buffer = data;
    let written = 0;
    // writeSync may write less than asked (a pipe, a disk filling up); go on from there.
    for (;;) {
      written = typeof buffer === 'string' ? writeSync(fd, buffer) : writeSync(fd, buffer);
      const length = typeof buffer === 'string' ? Buffer.byteLength(buffer) : buffer.length;
      if (written >= length) return;
      if (written === 0) throw Object.assign(new Error('the console took no bytes'), { code: 'EAGAIN' });
      buffer = (typeof buffer === 'string' ? Buffer.from(buffer) : buffer).subarray(written);
      rest = buffer;
    }
  }

  return {
    write(text) {
      if (failing) {
        const t = now();
        if (t - lastTry < RETRY_MS) {
          notShown++;
          return;
        }
        lastTry = t;
      }
      try {
        if (rest !== undefined) writeAll(rest);
        rest = undefined;
        writeAll(text);
        rest = undefined;
      } catch (error) {
        notShown++;
        if (!failing) {
          failing = true;
          lastTry = now();
          events.failed(error as NodeJS.ErrnoException);
        }
        return;
      }
      if (failing) {
        failing = false;
        const count = notShown;
        notShown = 0;
        events.recovered(count);
      }
    },
  };
}
