import pino from 'pino';

/** How console lines look. `journal`: one line per event with a syslog priority prefix and no time. */
export type ConsoleStyle = 'journal' | 'pretty' | 'json';

/** A pino destination that also receives the record as an object (pino's "metadata" protocol). */
export interface MetadataDestination {
  readonly [key: symbol]: unknown;
  write(line: string): void;
  flushSync(): void;
  lastLevel?: number;
  lastMsg?: string;
  lastObj?: Record<string, unknown>;
  lastTime?: string;
}

export interface ConsoleOptions {
  readonly style: ConsoleStyle;
  readonly fd?: number;
  /** Colors on `pretty` lines. */
  readonly colors?: boolean;
  /** Where the bytes go; defaults to a synchronous writer on `fd` (the journal wants lines in order, at once). */
  readonly sink?: { write(text: string): unknown; flushSync?(): void };
}

const COLOR: Readonly<Record<string, string>> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[41m\x1b[97m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/**
 * The console destination. For `journal` and `pretty` it formats from the
 * record pino hands over, never parsing the JSON line back: logging is the
 * hottest path of the daemon.
 */
export function createConsoleDestination({ style, fd = 1, colors = false, sink }: ConsoleOptions): MetadataDestination {
  const out = sink ?? pino.destination({ fd, sync: true });
  // Task lines carry `{task, step}` in the record (the daemon makes no child loggers), so the prefix needs no bindings().
  function prefixOf(obj: Record<string, unknown> | undefined): string {
    const task = obj?.['task'];
    if (typeof task !== 'string') return '';
    const step = obj?.['step'];
    return typeof step === 'number' ? `${task}[${step}] ` : `${task}: `;
  }

  const destination: MetadataDestination = {
    [Symbol.for('pino.metadata')]: true,
    write(line) {
      if (style === 'json') {
        out.write(line);
        return;
      }
      const level = this.lastLevel ?? 30;
      const obj = this.lastObj;
      const text = prefixOf(obj) + (this.lastMsg ?? '') + details(obj);
      if (style === 'journal') {
        const prefix = syslogPrefix(level);
        // journald splits on newlines; give every line of a stack trace its priority.
        out.write(prefix + text.replaceAll('\n', `\n${prefix}`) + '\n');
      } else {
        const label = levelLabel(level).toUpperCase().padEnd(5);
        const time = clockTime(Number(this.lastTime ?? Date.now()));
        out.write(colors ? `${DIM}${time}${RESET} ${COLOR[levelLabel(level)] ?? ''}${label}${RESET} ${text}\n` : `${time} ${label} ${text}\n`);
      }
    },
    flushSync() {
      out.flushSync?.();
    },
  };
  return destination;
}

/** pino's label of a level; pino's custom levels are not used, so every level has one. */
function levelLabel(value: number): string {
  return pino.levels.labels[value] ?? 'info';
}

/**
 * sd-daemon(3) priority prefixes, so `journalctl -p warning` filters lines
 * written to stdout: fatal is crit, info is info, debug and trace are debug.
 */
function syslogPrefix(value: number): string {
  if (value >= 60) return '<2>';
  if (value >= 50) return '<3>';
  if (value >= 40) return '<4>';
  if (value >= 30) return '<6>';
  return '<7>';
}

/** Fields other than the task and step, as ` key=value`, and an error's stack on the lines below. */
function details(obj: Record<string, unknown> | undefined): string {
  if (obj === undefined) return '';
  let text = '';
  let stack = '';
  for (const key in obj) {
    if (key === 'task' || key === 'step' || key === 'msg') continue;
    const value = obj[key];
    if (value instanceof Error) {
      stack = '\n' + indent(value.stack ?? String(value));
      continue;
    }
    text += ` ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
  }
  return text + stack;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line.trim()}`)
    .join('\n');
}

function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
