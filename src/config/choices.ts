/**
 * The closed sets of words a config uses for log levels and LED modes, in one
 * place: the settings schema, the tasks and the step kinds all read them.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a step does to its task's LED. `hold`: on while the step runs. */
export const LED_MODES = ['toggle', 'hold', 'blink', 'none'] as const;
export type LedMode = (typeof LED_MODES)[number];

export function isLedMode(value: unknown): value is LedMode {
  return (LED_MODES as readonly unknown[]).includes(value);
}
