import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The numbers of asyncdemo's own log files: `<base>.<n>.log`, n from 1 to
 * {@link MAX_LOG_NUMBER}. Nothing else in the directory counts: a stray
 * `dump.9007199254740993.log` would otherwise set the number (pino-roll's
 * own rule takes the trailing digits of any `*.log`), and a number past 2^53
 * rolls to the same name for ever, or to `1e+21`.
 */
export const MAX_LOG_NUMBER = 999_999_999;

const escape = (text: string): string => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The number in `name` when it is one of ours, else undefined. */
export function logNumber(name: string, base: string): number | undefined {
  const match = new RegExp(`^${escape(base)}\\.([1-9]\\d{0,8})\\.log$`).exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * The number a start appends to: that of the newest file of ours, or the next
 * one when that name is taken by a directory, which cannot be moved out of
 * the way (a link, a FIFO or a device planted there is removed when the file
 * is claimed: log-dir.ts). 1 in a directory without any.
 */
export function startNumber(dir: string, base: string): number {
  let last = 0;
  for (const entry of readdirSync(dir)) {
    const n = logNumber(entry, base);
    if (n !== undefined && n > last) last = n;
  }
  if (last === 0) return 1;
  try {
    return lstatSync(join(dir, `${base}.${last}.log`)).isDirectory() && last < MAX_LOG_NUMBER ? last + 1 : last;
  } catch {
    return last;
  }
}
