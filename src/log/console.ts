import pino from 'pino';
import { escapeControl } from '../text.js';

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

interface ConsoleOptions {
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
 * A console line is cut at this many characters, with a mark that says so:
 * far below journald's LineMax (48 KiB, where it would split the line and
 * read what follows as a new entry with a priority of its own), and more than
 * anyone reads on a terminal. The log files keep the whole line.
 */
export const CONSOLE_LINE_MAX_CHARS = 4096;

/**
 * The console destination. For `journal` and `pretty` it formats from the
 * record pino hands over, never parsing the JSON line back: logging is the
 * hottest path of the daemon.
 *
 * Every line is one line at its own priority, whatever the text: control
 * characters (line breaks, NUL, escape sequences) in a message, which may
 * come from a config, are written as escapes, and a long line is cut. Fields
 * besides the task and step are for the JSON files (an error's stack too):
 * a console line reads as a sentence.
 */
export function createConsoleDestination({ style, fd = 1, colors = false, sink }: ConsoleOptions): MetadataDestination {
  const out = sink ?? pino.destination({ fd, sync: true });
  // Task lines carry `{task, step}` in the record (the daemon makes no child loggers), so the prefix needs no bindings().
  function prefixOf(obj: Record<string, unknown> | undefined): string {
    const task = obj?.['task'];
    if (typeof task !== 'string') return '';
    const step = obj?.['step'];
    return typeof step === 'number' ? `${escapeControl(task)}[${step}] ` : `${escapeControl(task)}: `;
  }

  const destination: MetadataDestination = {
    [Symbol.for('pino.metadata')]: true,
    write(line) {
      if (style === 'json') {
        out.write(jsonLine(line, this));
        return;
      }
      const level = this.lastLevel ?? 30;
      const text = cut(prefixOf(this.lastObj) + escapeControl(this.lastMsg ?? ''));
      if (style === 'journal') {
        out.write(`${syslogPrefix(level)}${text}\n`);
      } else {
        const label = levelLabel(level).toUpperCase().padEnd(5);
        const time = clockTime(Number(this.lastTime ?? 0));
        out.write(colors ? `${DIM}${time}${RESET} ${COLOR[levelLabel(level)] ?? ''}${label}${RESET} ${text}\n` : `${time} ${label} ${text}\n`);
      }
    },
    flushSync() {
      out.flushSync?.();
    },
  };
  return destination;
}

/** `text`, or its start and a mark when it is longer than {@link CONSOLE_LINE_MAX_CHARS}. */
function cut(text: string): string {
  if (text.length <= CONSOLE_LINE_MAX_CHARS) return text;
  return `${text.slice(0, CONSOLE_LINE_MAX_CHARS)}… [cut: ${text.length} characters in all; the log files have the whole line]`;
}

/**
 * A JSON console line keeps its fields up to this many characters (at most
 * 36 KiB of UTF-8, below journald's 48 KiB); a longer one keeps its message only, cut.
 */
const JSON_LINE_MAX_CHARS = 12 * 1024;

/** JSON.stringify leaves the C1 controls and U+2028/2029 as they are: written as \\u escapes, the line means the same and is inert on a terminal. */
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;

/** A JSON console line: pino's, with the characters above escaped; a long one is rebuilt with its message cut (the files have it whole). */
function jsonLine(line: string, record: MetadataDestination): string {
  if (line.length > JSON_LINE_MAX_CHARS) {
    const obj = record.lastObj ?? {};
    const short = { level: record.lastLevel, time: Number(record.lastTime), pid: obj['pid'], task: obj['task'], step: obj['step'], msg: cut(record.lastMsg ?? '') };
    line = `${JSON.stringify(short)}\n`;
  }
  return line.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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

function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
