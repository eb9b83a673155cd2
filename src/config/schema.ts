import convict from 'convict';
import { describe } from './duration.js';
import { BCM_PIN_MAX, LED_MODES, LOG_LEVELS, type LedMode, type LogLevel } from './tasks.js';

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

export const CONSOLE_FORMATS = ['auto', 'journal', 'pretty', 'json'] as const;
export type ConsoleFormat = (typeof CONSOLE_FORMATS)[number];
export const LED_BACKENDS = ['auto', 'sysfs', 'chardev', 'simulated'] as const;
export type LedBackendName = (typeof LED_BACKENDS)[number];

// convict keeps formats in a module-wide registry; registering them here, once,
// at import keeps that detail inside this file.
convict.addFormats({
  'strict-boolean': {
    // convict's own boolean turns any string but "false" into true, so
    // ASYNCDEMO_DEBUG=0 would switch debug mode on.
    coerce: (text: string) => ({ true: true, yes: true, on: true, 1: true, false: false, no: false, off: false, 0: false })[text.toLowerCase()] ?? text,
    validate(value: unknown) {
      if (typeof value !== 'boolean') throw new Error(`must be true or false; got ${describe(value)}`);
    },
  },
  'log-level': oneOf(LOG_LEVELS),
  'log-level-or-null': oneOf([...LOG_LEVELS, null]),
  'console-format': oneOf(CONSOLE_FORMATS),
  'log-frequency': oneOf(['daily', 'hourly', null]),
  'log-size': {
    validate(value: unknown) {
      // pino-roll's own syntax; a bare number means megabytes.
      if (typeof value !== 'string' || !/^\d+(\.\d+)?[kmg]?$/i.test(value)) {
        throw new Error(`must be a size such as 500k, 10m or 1g; got ${describe(value)}`);
      }
    },
  },
  'led-backend': oneOf(LED_BACKENDS),
  'led-mode': oneOf(LED_MODES.filter((m) => m !== 'none')),
  'bcm-pin': {
    coerce: Number,
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > BCM_PIN_MAX) {
        throw new Error(`must be a BCM GPIO number from 0 to ${BCM_PIN_MAX}; got ${describe(value)}`);
      }
    },
  },
  'whole-number': {
    coerce: (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : text),
    validate(value: unknown) {
      if (!Number.isSafeInteger(value) || (value as number) < 0) throw new Error(`must be a whole number (0 or more); got ${describe(value)}`);
    },
  },
  'whole-number-or-null': {
    validate(value: unknown) {
      if (value !== null && (!Number.isSafeInteger(value) || (value as number) < 0)) {
        throw new Error(`must be a whole number (0 or more) or null; got ${describe(value)}`);
      }
    },
  },
  'text-or-null': {
    validate(value: unknown) {
      if (value !== null && (typeof value !== 'string' || value === '')) throw new Error(`must be text or null; got ${describe(value)}`);
    },
  },
  'non-empty-text': {
    validate(value: unknown) {
      if (typeof value !== 'string' || value === '') throw new Error(`must be non-empty text; got ${describe(value)}`);
    },
  },
});

function oneOf(values: readonly unknown[]): convict.Format {
  return {
    validate(value: unknown) {
      if (!values.includes(value)) {
        throw new Error(`must be one of ${values.map((v) => (v === null ? 'null' : String(v))).join(', ')}; got ${describe(value)}`);
      }
    },
  };
}

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
      format: 'whole-number',
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
      keep: { doc: 'Rotated files kept besides the current one, across restarts too.', format: 'whole-number', default: 5 },
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
    blinkMs: { doc: 'Length of a blink (milliseconds).', format: 'whole-number', default: 50 },
    sysfsBase: { doc: 'sysfs number of BCM 0, for boards the chip detection does not know; null detects it.', format: 'whole-number-or-null', default: null },
    chip: { doc: 'GPIO character device for the chardev backend; null finds the Raspberry Pi header chip.', format: 'text-or-null', default: null },
    required: { doc: 'Exit instead of falling back to the simulated LED when GPIO is unavailable.', format: 'strict-boolean', default: false },
  },
  shutdown: {
    timeoutMs: {
      doc: 'How long a stop may take before asyncdemo gives up and exits 1 (milliseconds).',
      format: 'whole-number',
      default: 5000,
      env: 'ASYNCDEMO_SHUTDOWN_TIMEOUT_MS',
    },
  },
} as const;

/** One leaf of the schema, flattened: its dotted key, default and environment variable. */
export interface SchemaKey {
  readonly key: string;
  readonly default: unknown;
  readonly env?: string;
  readonly doc: string;
}

/** The schema's leaves in order, for print-config and the error reports. */
export function schemaKeys(node: object = schema, prefix = ''): SchemaKey[] {
  const keys: SchemaKey[] = [];
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (typeof value === 'object' && value !== null && 'doc' in value) {
      const leaf = value as { default: unknown; env?: string; doc: string };
      keys.push({ key, default: leaf.default, doc: leaf.doc, ...(leaf.env === undefined ? {} : { env: leaf.env }) });
    } else {
      keys.push(...schemaKeys(value as object, key));
    }
  }
  return keys;
}

/** The top-level sections, which must be mappings when present. */
export const SECTIONS = Object.keys(schema);
