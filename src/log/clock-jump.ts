import type { Time } from '../time.js';

/**
 * A step of the wall clock smaller than this is not called a jump. The wall
 * clock and the monotonic clock are slewed alike (adjtime), so their
 * difference moves only when the wall clock is set: by NTP, fake-hwclock,
 * `date -s`.
 */
const JUMP_THRESHOLD_MS = 1000;

/** Notices steps of the wall clock against the monotonic one. */
export class ClockJumpWatch {
  readonly #time: Time;
  #offset: number;

  constructor(time: Time) {
    this.#time = time;
    this.#offset = time.wallMs() - time.monotonicMs();
  }

  /** How far the wall clock jumped since the last jump seen (negative: back), or 0. */
  check(): number {
    const offset = this.#time.wallMs() - this.#time.monotonicMs();
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
