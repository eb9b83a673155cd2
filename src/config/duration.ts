const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?\s*$/;

export const DURATION_HINT = 'a number of seconds (decimals allowed) or a string like 200ms, 3s, 2m, 1h';

/**
 * Reads a duration as milliseconds: a number is seconds (as in
 * `asyncio.sleep`), a string may carry a unit. Returns a reason string
 * instead of throwing, so the validator can collect every problem at once.
 */
export function parseDuration(value: unknown): number | { reason: string } {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { reason: `must be ${DURATION_HINT}; got NaN` };
    if (!Number.isFinite(value)) return { reason: `must be finite; got ${value}` };
    if (value < 0) return { reason: `must not be negative; got ${value}` };
    return checkRange(value * 1000, value);
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value);
    if (match === null) return { reason: `must be ${DURATION_HINT}; got ${JSON.stringify(value)}` };
    const amount = Number(match[1]);
    const unit = match[2] ?? 's';
    return checkRange(amount * (UNIT_MS[unit] ?? 1000), value);
  }
  return { reason: `must be ${DURATION_HINT}; got ${describe(value)}` };
}

function checkRange(ms: number, original: unknown): number | { reason: string } {
  if (ms > Number.MAX_SAFE_INTEGER) return { reason: `is too long; got ${JSON.stringify(original)}` };
  return ms;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
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
