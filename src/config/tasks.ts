import { describe, parseDuration } from './duration.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a step does to its task's LED. `hold`: on while the step runs. */
export const LED_MODES = ['toggle', 'hold', 'blink', 'none'] as const;
export type LedMode = (typeof LED_MODES)[number];

/**
 * One step of a task, as the worker runs it. The config spells each as a
 * one-key mapping (`{sleep: 0.2}`); this is its checked, normalised form.
 */
export type Step =
  | { readonly kind: 'log'; readonly message: string; readonly level: LogLevel; readonly led?: LedMode }
  | { readonly kind: 'sleep'; readonly ms: number; readonly led?: LedMode }
  | { readonly kind: 'spawn'; readonly task: string; readonly led?: LedMode }
  | { readonly kind: 'cancel'; readonly task: string; readonly led?: LedMode }
  | { readonly kind: 'stop'; readonly led?: LedMode }
  /** Demonstration aid for debug mode: holds the event loop for `ms`. */
  | { readonly kind: 'busy'; readonly ms: number; readonly led?: LedMode }
  /** Demonstration aid: the task fails with this message; the others run on. */
  | { readonly kind: 'fail'; readonly message: string; readonly led?: LedMode }
  /** Demonstration aid: an uncaught exception outside any task; the daemon exits 1. */
  | { readonly kind: 'crash'; readonly message: string; readonly led?: LedMode };

export type StepKind = Step['kind'];
export const STEP_KINDS: readonly StepKind[] = ['log', 'sleep', 'spawn', 'cancel', 'stop', 'busy', 'fail', 'crash'];
const STEP_MODIFIERS = ['level', 'led'] as const;

export interface TaskDef {
  readonly name: string;
  readonly autostart: boolean;
  /** How many times the steps run; `Infinity` for `forever`. */
  readonly repeat: number;
  readonly steps: readonly Step[];
  /** BCM pin of this task's LED, overriding `led.pin`. */
  readonly pin?: number;
  /** Default LED mode of this task's steps, overriding `led.mode`. */
  readonly led?: LedMode;
}

/**
 * Whether two definitions run alike (the reload diff). Computed when asked,
 * not kept: a config may hold thousands of tasks.
 */
export function sameTask(a: TaskDef, b: TaskDef): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export type TaskTable = ReadonlyMap<string, TaskDef>;

/** A problem found while reading tasks, located by key path segments. */
export interface TaskIssue {
  readonly at: readonly (string | number)[];
  readonly reason: string;
}

const TASK_KEYS = ['autostart', 'repeat', 'steps', 'pin', 'led', 'description'] as const;
const NAME = /^[A-Za-z][\w.-]*$/;
/** The 40-pin header's GPIO range; the LED checks the chip's real size when it opens the pin. */
export const BCM_PIN_MAX = 27;

/**
 * Checks and normalises the `tasks` mapping. Collects every problem rather
 * than stopping at the first, so one `check-config` run shows them all.
 */
export function readTasks(raw: unknown): { tasks: TaskTable; issues: TaskIssue[] } {
  const issues: TaskIssue[] = [];
  const tasks = new Map<string, TaskDef>();
  const at = ['tasks'];
  if (raw === undefined) {
    issues.push({ at, reason: 'missing: a config needs a tasks mapping with at least one task' });
    return { tasks, issues };
  }
  if (!isMapping(raw)) {
    issues.push({ at, reason: `must be a mapping of task names to tasks; got ${describe(raw)}` });
    return { tasks, issues };
  }
  const names = Object.keys(raw);
  if (names.length === 0) {
    issues.push({ at, reason: 'must define at least one task' });
    return { tasks, issues };
  }
  const known = new Set(names);
  for (const name of names) {
    const task = readTask(name, raw[name], known, issues);
    if (task !== undefined) tasks.set(name, task);
  }
  if (issues.length === 0 && ![...tasks.values()].some((t) => t.autostart)) {
    issues.push({ at, reason: 'no task has autostart: true, so nothing would ever run' });
  }
  return { tasks, issues };
}

function readTask(name: string, raw: unknown, names: ReadonlySet<string>, issues: TaskIssue[]): TaskDef | undefined {
  const at = ['tasks', name];
  const before = issues.length;
  if (!NAME.test(name)) {
    issues.push({ at, reason: 'a task name starts with a letter and holds only letters, digits, _, - and .' });
  }
  if (!isMapping(raw)) {
    issues.push({ at, reason: `must be a mapping with at least "steps"; got ${describe(raw)}` });
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!(TASK_KEYS as readonly string[]).includes(key)) {
      issues.push({ at: [...at, key], reason: `unknown key; a task has ${TASK_KEYS.join(', ')}` });
    }
  }

  const autostart = raw['autostart'] ?? false;
  if (typeof autostart !== 'boolean') {
    issues.push({ at: [...at, 'autostart'], reason: `must be true or false; got ${describe(autostart)}` });
  }

  let repeat = 1;
  const rawRepeat = raw['repeat'] ?? 1;
  if (rawRepeat === 'forever') repeat = Infinity;
  else if (typeof rawRepeat === 'number' && Number.isSafeInteger(rawRepeat) && rawRepeat >= 1) repeat = rawRepeat;
  else issues.push({ at: [...at, 'repeat'], reason: `must be a whole number of times (1 or more) or "forever"; got ${describe(rawRepeat)}` });

  const pin = raw['pin'];
  if (pin !== undefined && !isPin(pin)) {
    issues.push({ at: [...at, 'pin'], reason: `must be a BCM GPIO number from 0 to ${BCM_PIN_MAX}; got ${describe(pin)}` });
  }
  const led = raw['led'];
  if (led !== undefined && !isLedMode(led)) {
    issues.push({ at: [...at, 'led'], reason: `must be one of ${LED_MODES.join(', ')}; got ${describe(led)}` });
  }
  if (raw['description'] !== undefined && typeof raw['description'] !== 'string') {
    issues.push({ at: [...at, 'description'], reason: `must be text; got ${describe(raw['description'])}` });
  }

  const rawSteps = raw['steps'];
  const steps: Step[] = [];
  if (!Array.isArray(rawSteps) || rawSteps.length === 0) {
    issues.push({ at: [...at, 'steps'], reason: `must be a non-empty list of steps; got ${describe(rawSteps)}` });
  } else {
    const stepsBefore = issues.length;
    rawSteps.forEach((rawStep: unknown, index) => {
      const step = readStep(rawStep, [...at, 'steps', index], names, issues);
      if (step !== undefined) steps.push(step);
    });
    // Only when every step was read: a sleep with a bad value is reported as that, not as a missing sleep.
    if (issues.length === stepsBefore && repeat > 1 && !steps.some((s) => s.kind === 'sleep')) {
      issues.push({ at: [...at, 'repeat'], reason: 'a task that repeats needs a sleep step, or it would hold the event loop' });
    }
  }

  if (issues.length > before) return undefined;
  return {
    name,
    autostart: autostart as boolean,
    repeat,
    steps,
    ...(pin === undefined ? {} : { pin: pin as number }),
    ...(led === undefined ? {} : { led: led as LedMode }),
  };
}

function readStep(
  raw: unknown,
  at: readonly (string | number)[],
  names: ReadonlySet<string>,
  issues: TaskIssue[],
): Step | undefined {
  if (!isMapping(raw)) {
    issues.push({ at, reason: `a step is a mapping with one of ${STEP_KINDS.join(', ')}; got ${describe(raw)}` });
    return undefined;
  }
  const keys = Object.keys(raw);
  const kinds = keys.filter((k): k is StepKind => (STEP_KINDS as readonly string[]).includes(k));
  const unknown = keys.filter((k) => !kinds.includes(k as StepKind) && !(STEP_MODIFIERS as readonly string[]).includes(k));
  for (const key of unknown) {
    issues.push({ at: [...at, key], reason: `unknown key; a step has one of ${STEP_KINDS.join(', ')} (plus level on log, and led)` });
  }
  const [kind] = kinds;
  if (kind === undefined || kinds.length > 1) {
    const got = kinds.length === 0 ? 'none' : kinds.join(' and ');
    issues.push({ at, reason: `a step has exactly one of ${STEP_KINDS.join(', ')}; this one has ${got}` });
    return undefined;
  }
  const before = issues.length;
  const value = raw[kind];
  const here = [...at, kind];

  let led: LedMode | undefined;
  if (raw['led'] !== undefined) {
    if (isLedMode(raw['led'])) led = raw['led'];
    else issues.push({ at: [...at, 'led'], reason: `must be one of ${LED_MODES.join(', ')}; got ${describe(raw['led'])}` });
  }
  if (raw['level'] !== undefined && kind !== 'log') {
    issues.push({ at: [...at, 'level'], reason: 'only a log step has a level' });
  }

  let step: Step | undefined;
  switch (kind) {
    case 'log': {
      const level = raw['level'] ?? 'info';
      if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
        issues.push({ at: [...at, 'level'], reason: `must be one of ${LOG_LEVELS.join(', ')}; got ${describe(level)}` });
      }
      const message = readText(value, here, issues);
      if (message !== undefined) step = { kind, message, level: level as LogLevel };
      break;
    }
    case 'fail':
    case 'crash': {
      const message = readText(value, here, issues);
      if (message !== undefined) step = { kind, message };
      break;
    }
    case 'sleep':
    case 'busy': {
      const ms = parseDuration(value);
      if (typeof ms === 'number') step = { kind, ms };
      else issues.push({ at: here, reason: ms.reason });
      break;
    }
    case 'spawn':
    case 'cancel': {
      if (typeof value !== 'string' || value === '') {
        issues.push({ at: here, reason: `must name a task; got ${describe(value)}` });
      } else if (!names.has(value)) {
        issues.push({ at: here, reason: `no task named ${JSON.stringify(value)}; the tasks are ${listNames([...names])}` });
      } else {
        step = { kind, task: value };
      }
      break;
    }
    case 'stop': {
      if (value !== true) issues.push({ at: here, reason: `must be true; got ${describe(value)}` });
      else step = { kind };
      break;
    }
  }
  if (step === undefined || issues.length > before) return undefined;
  return led === undefined ? step : { ...step, led };
}

/** `a, b, c`, or the first ten and how many more: a config may hold thousands of tasks. */
export function listNames(names: readonly string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

function readText(value: unknown, at: readonly (string | number)[], issues: TaskIssue[]): string | undefined {
  // YAML turns `log: 42` or `log: yes` into a number or boolean; a log line means the text.
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  issues.push({ at, reason: `must be text; got ${describe(value)}` });
  return undefined;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLedMode(value: unknown): value is LedMode {
  return (LED_MODES as readonly unknown[]).includes(value);
}

export function isPin(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= BCM_PIN_MAX;
}

/** `['tasks', 'op', 'steps', 3, 'sleep']` → `tasks.op.steps[3].sleep`. */
export function formatKeyPath(at: readonly (string | number)[]): string {
  return at.reduce<string>((path, seg) => (typeof seg === 'number' ? `${path}[${seg}]` : path === '' ? seg : `${path}.${seg}`), '');
}
