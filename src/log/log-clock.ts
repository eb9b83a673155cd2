import type { Timers } from '../timers.js';

/**
 * The time the logging needs: the wall clock (for the daily or hourly roll,
 * and to notice when it jumps), a monotonic clock to compare it with, and
 * timers. Injected, so tests can move the wall clock and fire the timers.
 */
export interface LogClock {
  /** Wall-clock milliseconds since the epoch, as pino stamps lines. */
  wallMs(): number;
  /** Monotonic milliseconds; only differences mean anything. */
  monotonicMs(): number;
  /** A timer that does not keep the process alive. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The log clock on the daemon's timers, so the composition root injects one set of timers everywhere. */
export function logClockOn(timers: Timers): LogClock {
  return {
    wallMs: () => timers.wallNow(),
    monotonicMs: () => timers.now(),
    setTimeout: (callback, ms) => timers.setTimeout(callback, ms, { ref: false }),
    clearTimeout: (handle) => timers.clearTimeout(handle),
  };
}

export const systemLogClock: LogClock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * A step of the wall clock smaller than this is not called a jump. The wall
 * clock and the monotonic clock are slewed alike (adjtime), so their
 * difference moves only when the wall clock is set: by NTP, fake-hwclock,
 * `date -s`.
 */
export const JUMP_THRESHOLD_MS = 1000;

/** Notices steps of the wall clock against the monotonic one. */
export class ClockJumpWatch {
  readonly #clock: LogClock;
  #offset: number;

  constructor(clock: LogClock) {
    this.#clock = clock;
    this.#offset = clock.wallMs() - clock.monotonicMs();
  }

  /** How far the wall clock jumped since the last jump seen (negative: back), or 0. */
  check(): number {
    const offset = this.#clock.wallMs() - this.#clock.monotonicMs();
    const jump = offset - this.#offset;
    if (Math.abs(jump) < JUMP_THRESHOLD_MS) return 0;
    this.#offset = offset;
    return jump;
  }
}

/** `3 days 4 h`, `5 min 2 s`, `1.5 s`: a jump's size for a log line (two units at most). */
export function describeDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 60_000) return `${(abs / 1000).toFixed(1)} s`;
  const units: [size: number, one: string, many: string][] = [
    [365.25 * 86_400_000, 'year', 'years'],
    [86_400_000, 'day', 'days'],
    [3_600_000, 'h', 'h'],
    [60_000, 'min', 'min'],
    [1000, 's', 's'],
  ];
  const parts: string[] = [];
  let rest = abs;
  for (const [size, one, many] of units) {
    if (parts.length === 2 || (parts.length === 1 && rest < size)) break;
    if (rest < size) continue;
    const n = Math.floor(rest / size);
    parts.push(`${n} ${n === 1 ? one : many}`);
    rest -= n * size;
  }
  return parts.join(' ');
}
