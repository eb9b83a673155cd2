import convict from 'convict';
import { MAX_TIMER_DELAY_MS } from '../time.js';
import { LED_MODES, LOG_LEVELS, type LedMode, type LogLevel } from './choices.js';
import { BCM_PIN_MAX } from './tasks.js';

/** Everything but `tasks` (see tasks.ts), as convict hands it back after validation. */
export interface Settings {
  debug: { enabled: boolean; slowStepMs: number };
  log: {
    level: LogLevel;
    console: { level: LogLevel | null; format: ConsoleFormat };
    file: { enabled: boolean; dir: string; level: LogLevel | null; size: string; frequency: 'daily' | 'hourly' | null; keep: number };
  };
  led: {
    enabled: boolean;
    backend: LedBackendName;
    pin: number;
    activeLow: boolean;
    mode: Exclude<LedMode, 'none'>;
    blinkMs: number;
    sysfsBase: number | null;
    chip: string | null;
    required: boolean;
  };
  shutdown: { timeoutMs: number };
}

const CONSOLE_FORMATS = ['auto', 'journal', 'pretty', 'json'] as const;
export type ConsoleFormat = (typeof CONSOLE_FORMATS)[number];
const LED_BACKENDS = ['auto', 'sysfs', 'chardev', 'simulated'] as const;
export type LedBackendName = (typeof LED_BACKENDS)[number];

/**
 * A value format: what it must be (for messages: `must be …`), how text from
 * the environment (or a string in the file, as convict does) becomes a value,
 * and the check. The ranges are what the code can honour: a timer takes at
 * most 2^31-1 ms, a pino-roll size of 0 would never rotate.
 */
export interface Format {
  readonly expect: string;
  readonly coerce?: (text: string) => unknown;
  readonly check: (value: unknown) => boolean;
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, yes: true, on: true, 1: true, false: false, no: false, off: false, 0: false };

/** A size in pino-roll's syntax (a bare number is MiB), in bytes; undefined if it is not one. */
function sizeInBytes(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(value);
  if (match === null) return undefined;
  const unit = (match[2] ?? '').toLowerCase();
  return Number(match[1]) * (unit === 'k' ? 1024 : unit === 'g' ? 1024 ** 3 : 1024 ** 2);
}
const SIZE_MIN = 1024;
const SIZE_MAX = 1024 ** 4;

function wholeNumber(min: number, max: number, orNull = false): Format {
  return {
    expect: `a whole number from ${min} to ${max}${orNull ? ', or null' : ''}`,
    // Only digits: Number('') is 0 and Number('0x1f') is 31, neither of which the user meant.
    coerce: (text) => (/^\s*\d+\s*$/.test(text) ? Number(text) : text),
    check: (value) => (orNull && value === null) || (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max),
  };
}

function oneOf(values: readonly unknown[]): Format {
  return {
    expect: `one of ${values.map((v) => (v === null ? 'null' : String(v))).join(', ')}`,
    check: (value) => values.includes(value),
  };
}

export const FORMATS = {
  'strict-boolean': {
    expect: 'true or false',
    // convict's own boolean turns any string but "false" into true, so ASYNCDEMO_DEBUG=0 would switch debug mode on.
    coerce: (text: string) => BOOLEAN_WORDS[text.toLowerCase()] ?? text,
    check: (value: unknown) => typeof value === 'boolean',
  },
  'log-level': oneOf(LOG_LEVELS),
  'log-level-or-null': oneOf([...LOG_LEVELS, null]),
  'console-format': oneOf(CONSOLE_FORMATS),
  'log-frequency': oneOf(['daily', 'hourly', null]),
  'log-size': {
    expect: 'a size such as 500k, 10m or 1g, from 1k to 1024g',
    check: (value: unknown) => {
      const bytes = sizeInBytes(value);
      return bytes !== undefined && bytes >= SIZE_MIN && bytes <= SIZE_MAX;
    },
  },
  'led-backend': oneOf(LED_BACKENDS),
  'led-mode': oneOf(LED_MODES.filter((m) => m !== 'none')),
  'bcm-pin': { ...wholeNumber(0, BCM_PIN_MAX), expect: `a BCM GPIO number from 0 to ${BCM_PIN_MAX}` },
  'slow-step-ms': wholeNumber(1, MAX_TIMER_DELAY_MS),
  'timer-ms': wholeNumber(1, MAX_TIMER_DELAY_MS),
  // Rotated files kept: more than this is no log rotation any more.
  'file-count': wholeNumber(0, 1000),
  // The kernel's GPIO numbers; a Pi 5's header starts at 571.
  'sysfs-base-or-null': wholeNumber(0, 65535, true),
  'text-or-null': {
    expect: 'text or null',
    check: (value: unknown) => value === null || (typeof value === 'string' && value !== ''),
  },
  'non-empty-text': {
    expect: 'non-empty text',
    check: (value: unknown) => typeof value === 'string' && value !== '',
  },
} satisfies Record<string, Format>;

export type FormatName = keyof typeof FORMATS;

// convict keeps formats in a module-wide registry; registering them here, once,
// at import keeps that detail inside this file. The loader checks every value
// against the same formats first (settings.ts), so convict never meets a bad one.
convict.addFormats(
  Object.fromEntries(
    Object.entries(FORMATS).map(([name, format]: [string, Format]) => [
      name,
      {
        ...(format.coerce === undefined ? {} : { coerce: format.coerce }),
        validate(value: unknown) {
          if (!format.check(value)) throw new Error(`must be ${format.expect}`);
        },
      },
    ]),
  ),
);

/**
 * The settings schema: every key with its default, the environment variable
 * that overrides it (documented in the README), and what it is for. The
 * `tasks` mapping has a shape convict cannot describe; tasks.ts reads it.
 */
export const schema = {
  debug: {
    enabled: {
      doc: "Debug mode, like asyncio's loop.set_debug(True): report slow steps, event-loop blocks, pending tasks at shutdown.",
      format: 'strict-boolean',
      default: false,
      env: 'ASYNCDEMO_DEBUG',
    },
    slowStepMs: {
      doc: "A step that holds the event loop longer than this (milliseconds) is reported; asyncio's slow_callback_duration.",
      format: 'slow-step-ms',
      default: 100,
      env: 'ASYNCDEMO_SLOW_STEP_MS',
    },
  },
  log: {
    level: {
      doc: 'The lowest level logged anywhere.',
      format: 'log-level',
      default: 'info',
      env: 'ASYNCDEMO_LOG_LEVEL',
    },
    console: {
      level: { doc: 'Lowest level on the console; null follows log.level.', format: 'log-level-or-null', default: null },
      format: {
        doc: 'auto: journal lines under systemd, colored lines on a terminal, else JSON.',
        format: 'console-format',
        default: 'auto',
        env: 'ASYNCDEMO_LOG_FORMAT',
      },
    },
    file: {
      enabled: { doc: 'Write JSON lines to rotating files.', format: 'strict-boolean', default: true, env: 'ASYNCDEMO_LOG_FILE' },
      dir: { doc: 'Directory of the log files.', format: 'non-empty-text', default: 'logs', env: 'ASYNCDEMO_LOG_DIR' },
      level: { doc: 'Lowest level in the files; null follows log.level.', format: 'log-level-or-null', default: null },
      size: { doc: 'Rotate when a file reaches this size (pino-roll units: 500k, 10m, 1g).', format: 'log-size', default: '10m' },
      frequency: { doc: 'Also rotate daily, hourly, or null for size only.', format: 'log-frequency', default: 'daily' },
      keep: { doc: 'Rotated files kept besides the current one, across restarts too.', format: 'file-count', default: 5 },
    },
  },
  led: {
    enabled: { doc: 'Drive an LED from the task steps.', format: 'strict-boolean', default: false, env: 'ASYNCDEMO_LED_ENABLED' },
    backend: {
      doc: 'auto picks sysfs GPIO (onoff), then the GPIO character device, then a simulated LED.',
      format: 'led-backend',
      default: 'auto',
      env: 'ASYNCDEMO_LED_BACKEND',
    },
    pin: { doc: 'BCM GPIO number of the LED (the number on pinout diagrams).', format: 'bcm-pin', default: 17, env: 'ASYNCDEMO_LED_PIN' },
    activeLow: { doc: 'The LED lights when the pin is low.', format: 'strict-boolean', default: false },
    mode: { doc: 'What a step does to the LED: toggle, hold (on while the step runs), blink.', format: 'led-mode', default: 'toggle' },
    blinkMs: { doc: 'Length of a blink (milliseconds).', format: 'timer-ms', default: 50 },
    sysfsBase: { doc: 'sysfs number of BCM 0, for boards the chip detection does not know; null detects it.', format: 'sysfs-base-or-null', default: null },
    chip: { doc: 'GPIO character device for the chardev backend; null finds the Raspberry Pi header chip.', format: 'text-or-null', default: null },
    required: { doc: 'Exit instead of falling back to the simulated LED when GPIO is unavailable.', format: 'strict-boolean', default: false },
  },
  shutdown: {
    timeoutMs: {
      doc: 'How long a stop may take before asyncdemo gives up and exits 1 (milliseconds).',
      format: 'timer-ms',
      default: 5000,
      env: 'ASYNCDEMO_SHUTDOWN_TIMEOUT_MS',
    },
  },
} as const;

/** One leaf of the schema, flattened: its dotted key, default, format and environment variable. */
interface SchemaKey {
  readonly key: string;
  readonly default: unknown;
  readonly format: FormatName;
  readonly env?: string;
  readonly doc: string;
}

/** The schema's leaves in order, for print-config and the error reports. */
export function schemaKeys(node: object = schema, prefix = ''): SchemaKey[] {
  const keys: SchemaKey[] = [];
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (typeof value === 'object' && value !== null && 'doc' in value) {
      const leaf = value as { default: unknown; format: FormatName; env?: string; doc: string };
      keys.push({ key, default: leaf.default, format: leaf.format, doc: leaf.doc, ...(leaf.env === undefined ? {} : { env: leaf.env }) });
    } else {
      keys.push(...schemaKeys(value as object, key));
    }
  }
  return keys;
}

