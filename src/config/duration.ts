const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?\s*$/;

const DURATION_HINT = 'a number of seconds (decimals allowed) or a string like 200ms, 3s, 2m, 1h';

/**
 * Reads a duration as milliseconds: a number is seconds (as in
 * `asyncio.sleep`), a string may carry a unit. Returns what it must be
 * instead of throwing, so the validator can collect every problem at once
 * (and add the value as the file spells it).
 */
export function parseDuration(value: unknown): number | { reason: string } {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { reason: `must be ${DURATION_HINT}` };
    if (!Number.isFinite(value)) return { reason: 'must be finite' };
    if (value < 0) return { reason: 'must not be negative' };
    return checkRange(value * 1000);
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value);
    if (match === null) return { reason: `must be ${DURATION_HINT}` };
    const amount = Number(match[1]);
    const unit = match[2] ?? 's';
    return checkRange(amount * (UNIT_MS[unit] ?? 1000));
  }
  return { reason: `must be ${DURATION_HINT}` };
}

function checkRange(ms: number): number | { reason: string } {
  // Longer sleeps are waited out in timer-sized chunks; this is where the arithmetic stops being exact.
  if (ms > Number.MAX_SAFE_INTEGER) return { reason: `is too long (at most ${Number.MAX_SAFE_INTEGER}ms)` };
  return ms;
}

/** `1500` → `1.5s`, `200` → `200ms`: how durations read in log lines. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${round(ms)}ms`;
  if (ms < 60_000) return `${round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${round(ms / 3_600_000)}h`;
  return `${round(ms / 86_400_000)}d`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
