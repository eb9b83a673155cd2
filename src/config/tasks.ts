import { parseDuration } from './duration.js';
import { Issues, shorten, type Issue, type Segment } from './issues.js';
import { nearest } from './keys.js';

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
export type TaskIssue = Issue;

const TASK_KEYS = ['autostart', 'repeat', 'steps', 'pin', 'led', 'description'] as const;
/** A task's name is in every line it logs: short enough to read. */
const NAME = /^[A-Za-z][\w.-]{0,63}$/;
/** The 40-pin header's GPIO range; the LED checks the chip's real size when it opens the pin. */
export const BCM_PIN_MAX = 27;

/** The least a repeating task must sleep per round, in all: less and it spins a core (a round of `sleep: 0` is a busy loop). */
export const MIN_SLEEP_PER_ROUND_MS = 1;

/**
 * Checks and normalises the `tasks` mapping. Collects every problem rather
 * than stopping at the first, so one `check-config` run shows them all
 * (`issues` keeps the first few of a file full of them, and counts the rest).
 */
export function readTasks(raw: unknown, issues: Issues = new Issues()): { tasks: TaskTable; issues: readonly TaskIssue[] } {
  const tasks = new Map<string, TaskDef>();
  const at = ['tasks'];
  const before = issues.count;
  const done = (): { tasks: TaskTable; issues: readonly TaskIssue[] } => ({ tasks, issues: issues.kept });
  if (raw === undefined) {
    issues.add({ at, reason: 'missing: a config needs a tasks mapping with at least one task' });
    return done();
  }
  if (!isMapping(raw)) {
    issues.add({ at, reason: 'must be a mapping of task names to tasks', got: { value: raw } });
    return done();
  }
  const names = Object.keys(raw);
  if (names.length === 0) {
    issues.add({ at, reason: 'must define at least one task' });
    return done();
  }
  const known = new Set(names);
  for (const name of names) {
    const task = readTask(name, raw[name], known, issues);
    if (task !== undefined) tasks.set(name, task);
  }
  if (issues.count === before && ![...tasks.values()].some((t) => t.autostart)) {
    issues.add({ at, reason: 'no task has autostart: true, so nothing would ever run' });
  }
  return done();
}

function readTask(name: string, raw: unknown, names: ReadonlySet<string>, issues: Issues): TaskDef | undefined {
  const at = ['tasks', name];
  const before = issues.count;
  if (!NAME.test(name)) {
    issues.add({ at, reason: 'a task name starts with a letter and holds only letters, digits, _, - and ., 64 at most' });
  }
  if (!isMapping(raw)) {
    issues.add({ at, reason: 'must be a mapping with at least "steps"', got: { value: raw } });
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!(TASK_KEYS as readonly string[]).includes(key)) issues.add({ at: [...at, key], reason: unknownKey(key, TASK_KEYS, `a task has ${TASK_KEYS.join(', ')}`) });
  }

  const autostart = raw['autostart'] ?? false;
  if (typeof autostart !== 'boolean') {
    issues.add({ at: [...at, 'autostart'], reason: 'must be true or false', got: { value: autostart } });
  }

  let repeat = 1;
  const rawRepeat = raw['repeat'] ?? 1;
  if (rawRepeat === 'forever') repeat = Infinity;
  else if (typeof rawRepeat === 'number' && Number.isSafeInteger(rawRepeat) && rawRepeat >= 1) repeat = rawRepeat;
  else issues.add({ at: [...at, 'repeat'], reason: 'must be a whole number of times (1 or more) or "forever"', got: { value: rawRepeat } });

  const pin = raw['pin'];
  if (pin !== undefined && !isPin(pin)) {
    issues.add({ at: [...at, 'pin'], reason: `must be a BCM GPIO number from 0 to ${BCM_PIN_MAX}`, got: { value: pin } });
  }
  const led = raw['led'];
  if (led !== undefined && !isLedMode(led)) {
    issues.add({ at: [...at, 'led'], reason: `must be one of ${LED_MODES.join(', ')}`, got: { value: led } });
  }
  if (raw['description'] !== undefined && typeof raw['description'] !== 'string') {
    issues.add({ at: [...at, 'description'], reason: 'must be text', got: { value: raw['description'] } });
  }

  const rawSteps = raw['steps'];
  const steps: Step[] = [];
  if (!Array.isArray(rawSteps) || rawSteps.length === 0) {
    issues.add({ at: [...at, 'steps'], reason: 'must be a non-empty list of steps', got: { value: rawSteps } });
  } else {
    const stepsBefore = issues.count;
    rawSteps.forEach((rawStep: unknown, index) => {
      const step = readStep(rawStep, [...at, 'steps', index], names, issues);
      if (step !== undefined) steps.push(step);
    });
    // Only when every step was read: a sleep with a bad value is reported as that, not as a missing sleep.
    if (issues.count === stepsBefore && repeat > 1) {
      const slept = steps.reduce((ms, s) => (s.kind === 'sleep' ? ms + s.ms : ms), 0);
      if (!steps.some((s) => s.kind === 'sleep')) {
        issues.add({ at: [...at, 'repeat'], reason: 'a task that repeats needs a sleep step, or it would hold the event loop' });
      } else if (slept < MIN_SLEEP_PER_ROUND_MS) {
        issues.add({
          at: [...at, 'repeat'],
          reason: `a task that repeats must sleep at least ${MIN_SLEEP_PER_ROUND_MS}ms per round in all, or it keeps a core busy; its sleeps add up to ${slept}ms`,
        });
      }
    }
  }

  if (issues.count > before) return undefined;
  return {
    name,
    autostart: autostart as boolean,
    repeat,
    steps,
    ...(pin === undefined ? {} : { pin: pin as number }),
    ...(led === undefined ? {} : { led: led as LedMode }),
  };
}

function readStep(raw: unknown, at: readonly Segment[], names: ReadonlySet<string>, issues: Issues): Step | undefined {
  if (!isMapping(raw)) {
    issues.add({ at, reason: `a step is a mapping with one of ${STEP_KINDS.join(', ')}`, got: { value: raw } });
    return undefined;
  }
  const kind = readStepKind(raw, at, issues);
  if (kind === undefined) return undefined;
  // Unknown keys beside a valid kind are reported, but do not make the step itself invalid.
  const before = issues.count;
  const led = readStepLed(raw, at, issues);
  if (raw['level'] !== undefined && kind !== 'log') {
    issues.add({ at: [...at, 'level'], reason: 'only a log step has a level' });
  }
  const step = readStepValue(kind, raw, at, names, issues);
  if (step === undefined || issues.count > before) return undefined;
  return led === undefined ? step : { ...step, led };
}

/** The one kind a step has (`log`, `sleep`, ...); reports unknown keys, and none or more than one kind. */
function readStepKind(raw: Record<string, unknown>, at: readonly Segment[], issues: Issues): StepKind | undefined {
  const keys = Object.keys(raw);
  const kinds = keys.filter((k): k is StepKind => (STEP_KINDS as readonly string[]).includes(k));
  const unknown = keys.filter((k) => !kinds.includes(k as StepKind) && !(STEP_MODIFIERS as readonly string[]).includes(k));
  for (const key of unknown) {
    issues.add({ at: [...at, key], reason: unknownKey(key, [...STEP_KINDS, ...STEP_MODIFIERS], `a step has one of ${STEP_KINDS.join(', ')} (plus level on log, and led)`) });
  }
  const [kind] = kinds;
  if (kind === undefined || kinds.length > 1) {
    const got = kinds.length === 0 ? 'none' : kinds.join(' and ');
    issues.add({ at, reason: `a step has exactly one of ${STEP_KINDS.join(', ')}; this one has ${got}` });
    return undefined;
  }
  return kind;
}

function readStepLed(raw: Record<string, unknown>, at: readonly Segment[], issues: Issues): LedMode | undefined {
  const led = raw['led'];
  if (led === undefined) return undefined;
  if (isLedMode(led)) return led;
  issues.add({ at: [...at, 'led'], reason: `must be one of ${LED_MODES.join(', ')}`, got: { value: led } });
  return undefined;
}

/** The step its kind's value makes: a message, a duration, a task's name or `true`. */
function readStepValue(kind: StepKind, raw: Record<string, unknown>, at: readonly Segment[], names: ReadonlySet<string>, issues: Issues): Step | undefined {
  const value = raw[kind];
  const here = [...at, kind];
  switch (kind) {
    case 'log': {
      const level = raw['level'] ?? 'info';
      if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
        issues.add({ at: [...at, 'level'], reason: `must be one of ${LOG_LEVELS.join(', ')}`, got: { value: level } });
      }
      const message = readText(value, here, issues);
      return message === undefined ? undefined : { kind, message, level: level as LogLevel };
    }
    case 'fail':
    case 'crash': {
      const message = readText(value, here, issues);
      return message === undefined ? undefined : { kind, message };
    }
    case 'sleep':
    case 'busy': {
      const ms = parseDuration(value);
      if (typeof ms === 'number') return { kind, ms };
      issues.add({ at: here, reason: ms.reason, got: { value } });
      return undefined;
    }
    case 'spawn':
    case 'cancel': {
      const task = readTaskName(value, here, names, issues);
      return task === undefined ? undefined : { kind, task };
    }
    case 'stop':
      if (value === true) return { kind };
      issues.add({ at: here, reason: 'must be true', got: { value } });
      return undefined;
  }
}

/** The task a `spawn` or `cancel` step names, which must be one of the config's. */
function readTaskName(value: unknown, at: readonly Segment[], names: ReadonlySet<string>, issues: Issues): string | undefined {
  if (typeof value !== 'string' || value === '') {
    issues.add({ at, reason: 'must name a task', got: { value } });
    return undefined;
  }
  if (!names.has(value)) {
    const near = nearest(value, [...names]);
    const hint = near === undefined ? `the tasks are ${listNames([...names])}` : `did you mean ${near}?`;
    issues.add({ at, reason: `no task named ${JSON.stringify(shorten(value))}; ${hint}` });
    return undefined;
  }
  return value;
}

/** `a, b, c`, or the first ten and how many more: a config may hold thousands of tasks. */
export function listNames(names: readonly string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

function readText(value: unknown, at: readonly Segment[], issues: Issues): string | undefined {
  // YAML turns `log: 42` or `log: yes` into a number or boolean; a log line means the text.
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  issues.add({ at, reason: 'must be text', got: { value } });
  return undefined;
}

/** `unknown key; did you mean repeat?`, or what is allowed there. */
function unknownKey(key: string, known: readonly string[], allowed: string): string {
  const near = nearest(key, known);
  return near === undefined ? `unknown key; ${allowed}` : `unknown key; did you mean ${near}?`;
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

