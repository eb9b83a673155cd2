/**
 * The step kinds, one entry each: how a config writes the step, how it reads
 * in reports, how print-config writes it back, and what it does when it runs.
 * The `Step` type is made from this table, so a kind added here is a kind
 * everywhere: the reader (config/tasks.ts), the worker, print-config, the
 * status and the man page all go through it.
 *
 * These are the tutorial's verbs: `log` (print), `sleep` (`asyncio.sleep`),
 * `spawn` (`ensure_future`), `cancel` (`task.cancel()`), `stop`
 * (`loop.stop()`); `busy`, `fail` and `crash` demonstrate debug mode and the
 * failure paths.
 */
import { isLedMode, LED_MODES, LOG_LEVELS, type LedMode, type LogLevel } from './config/choices.js';
import { formatDuration, parseDuration } from './config/duration.js';
import { isMapping, shorten, type Issues, type Segment } from './config/issues.js';
import { nearest } from './config/keys.js';
import { TaskFailedError } from './errors.js';
import type { Logger } from './log/logger.js';
import { Sleeper } from './sleep.js';
import { listNames } from './text.js';
import type { Time } from './time.js';

/** Where a step is read: its key path, where problems go, and the config's task names. */
interface StepReading {
  readonly at: readonly Segment[];
  readonly issues: Issues;
  readonly names: ReadonlySet<string>;
}

/** What a running step may use: one set, shared by every task (the scheduler's). */
export interface StepServices {
  readonly time: Time;
  /** Step lines carry `{task, step}`, which the console writes as `task[step]`. */
  readonly logger: Logger;
  /** Starts a task on the next turn of the event loop (`ensure_future`). */
  spawn(name: string, by: string): void;
  /** Cancels a task now (`task.cancel()`). */
  cancel(name: string, by: string): void;
  /** Throws outside any task, as an uncaught exception. */
  crash(error: Error): void;
}

/** A task's run, as its steps see it. */
export interface StepRun {
  readonly def: { readonly name: string };
  readonly controller: AbortController;
  /** The deadline of the last sleep (the run's start before the first): sleeps keep a schedule. */
  deadline: number;
  /** Monotonic ms when the step now running began. */
  stepSince: number;
  /** Made at the first sleep: a task that never sleeps need not listen to its signal. */
  sleeper: Sleeper | undefined;
  /** Set by a `stop` step: who asked the daemon to stop. */
  stopBy: string | undefined;
}

/**
 * What running a step gives: nothing when it is done (it ran in this turn of
 * the event loop), a promise when the task waits (the coroutine's `await`),
 * or `'stop'`, which ends the run and then the daemon.
 */
type StepResult = undefined | Promise<void> | 'stop';

/** One step kind. `F`: the step's own fields, as read. */
interface StepKind<F> {
  /** What it does, for help and the man page. */
  readonly summary: string;
  /** A step of this kind as a config writes it (tasks named in it: operationsub). */
  readonly example: Readonly<Record<string, unknown>>;
  /** Keys a step of this kind may have besides its kind and `led`. */
  readonly modifiers?: readonly string[];
  /** Reads the step from its mapping (`value` is the kind's own value); reports what is wrong and gives undefined. */
  read(value: unknown, raw: Readonly<Record<string, unknown>>, reading: StepReading): F | undefined;
  /** How the step reads in reports: `sleep 200ms`, `log "operation1"`. */
  describe(step: F): string;
  /** The step as a config writes it (print-config); reading it back gives the same step. */
  write(step: F): Record<string, unknown>;
  /** How long the step waits without holding the event loop (validation: a repeating task must). */
  readonly waitsMs?: (step: F) => number;
  /** The task the step starts (validation: a cycle of spawns must wait somewhere). */
  readonly starts?: (step: F) => string;
  run(step: F, run: StepRun, index: number, services: StepServices): StepResult;
}

/** Checks an entry against {@link StepKind} with its own field type. */
function kind<F>(def: StepKind<F>): StepKind<F> {
  return def;
}

export const STEPS = {
  log: kind<{ readonly message: string; readonly level: LogLevel }>({
    summary: 'writes a line, at info (or at the level given with level: warn)',
    example: { log: 'start operation' },
    modifiers: ['level'],
    read(value, raw, { at, issues }) {
      const level = raw['level'] ?? 'info';
      if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
        issues.add({ at: [...at, 'level'], reason: `must be one of ${LOG_LEVELS.join(', ')}`, got: { value: level } });
      }
      const message = readText(value, [...at, 'log'], issues);
      return message === undefined ? undefined : { message, level: level as LogLevel };
    },
    describe: (step) => `log ${JSON.stringify(step.message)}`,
    write: (step) => ({ log: step.message, ...(step.level === 'info' ? {} : { level: step.level }) }),
    run(step, run, index, { logger }) {
      logger[step.level]({ task: run.def.name, step: index }, step.message);
      return undefined;
    },
  }),

  sleep: kind<{ readonly ms: number }>({
    summary: 'waits, without holding the event loop: seconds (0.2), or 200ms, 3s, 2m, 1h, 1d (asyncio.sleep)',
    example: { sleep: 0.2 },
    read: (value, _raw, { at, issues }) => readDuration(value, [...at, 'sleep'], issues),
    describe: (step) => `sleep ${formatDuration(step.ms)}`,
    write: (step) => ({ sleep: writeDuration(step.ms) }),
    waitsMs: (step) => step.ms,
    run(step, run, _index, { time }) {
      // To an absolute deadline, so a periodic task keeps its schedule instead of drifting by the
      // time its steps take; a task that wakes more than a whole sleep late (the loop was blocked)
      // starts a new schedule from now rather than firing a burst of missed steps.
      const now = run.stepSince;
      const deadline = run.deadline + step.ms;
      run.deadline = now - deadline > step.ms ? now + step.ms : deadline;
      return (run.sleeper ??= new Sleeper(time, run.controller.signal)).until(run.deadline);
    },
  }),

  spawn: kind<{ readonly task: string }>({
    summary: 'starts a task on the next turn of the event loop (asyncio.ensure_future); one already running is left alone',
    example: { spawn: 'operationsub' },
    read: (value, _raw, { at, issues, names }) => readTaskName(value, [...at, 'spawn'], names, issues),
    describe: (step) => `spawn ${step.task}`,
    write: (step) => ({ spawn: step.task }),
    starts: (step) => step.task,
    run(step, run, index, services) {
      services.spawn(step.task, `${run.def.name}[${index}]`);
      return undefined;
    },
  }),

  cancel: kind<{ readonly task: string }>({
    summary: 'cancels a task now, even in the middle of a sleep (task.cancel())',
    example: { cancel: 'operationsub' },
    read: (value, _raw, { at, issues, names }) => readTaskName(value, [...at, 'cancel'], names, issues),
    describe: (step) => `cancel ${step.task}`,
    write: (step) => ({ cancel: step.task }),
    run(step, run, index, services) {
      services.cancel(step.task, `${run.def.name}[${index}]`);
      return undefined;
    },
  }),

  stop: kind<Record<string, never>>({
    summary: 'stops the daemon gracefully, exit 0 (loop.stop()); the value is true',
    example: { stop: true },
    read(value, _raw, { at, issues }) {
      if (value === true) return {};
      issues.add({ at: [...at, 'stop'], reason: 'must be true', got: { value } });
      return undefined;
    },
    describe: () => 'stop',
    write: () => ({ stop: true }),
    run(_step, run, index, { logger }) {
      logger.info({ task: run.def.name, step: index }, 'stop: stopping the daemon');
      run.stopBy = `${run.def.name}[${index}]`;
      return 'stop';
    },
  }),

  busy: kind<{ readonly ms: number }>({
    summary: 'holds the event loop for this long, as a blocking call would (for debug mode)',
    example: { busy: '150ms' },
    read: (value, _raw, { at, issues }) => readDuration(value, [...at, 'busy'], issues),
    describe: (step) => `busy ${formatDuration(step.ms)}`,
    write: (step) => ({ busy: writeDuration(step.ms) }),
    run(step, _run, _index, { time }) {
      const until = time.monotonicMs() + step.ms;
      while (time.monotonicMs() < until) {
        // Holding the event loop on purpose: this step demonstrates debug mode.
      }
      return undefined;
    },
  }),

  fail: kind<{ readonly message: string }>({
    summary: 'makes its task fail with this message; the other tasks run on',
    example: { fail: 'out of paper' },
    read: (value, _raw, { at, issues }) => readMessage(value, [...at, 'fail'], issues),
    describe: (step) => `fail ${JSON.stringify(step.message)}`,
    write: (step) => ({ fail: step.message }),
    run(step) {
      throw new TaskFailedError(step.message);
    },
  }),

  crash: kind<{ readonly message: string }>({
    summary: 'throws outside any task: logged as fatal, exit 1 (systemd restarts the service)',
    example: { crash: 'on purpose' },
    read: (value, _raw, { at, issues }) => readMessage(value, [...at, 'crash'], issues),
    describe: (step) => `crash ${JSON.stringify(step.message)}`,
    write: (step) => ({ crash: step.message }),
    run(step, run, index, services) {
      services.crash(new Error(`${step.message} (crash step ${run.def.name}[${index}])`));
      return undefined;
    },
  }),
};

type Fields<D> = D extends StepKind<infer F> ? F : never;

export type StepName = keyof typeof STEPS;

/** One step of a task, checked and normalised: the kind's fields, and what it does to the LED. */
export type Step = { [K in StepName]: Fields<(typeof STEPS)[K]> & { readonly kind: K; readonly led?: LedMode } }[StepName];

export const STEP_KINDS = Object.keys(STEPS) as readonly StepName[];

/** The entry of a step's kind. (The one place a step meets its entry: TypeScript cannot pair them by itself.) */
export function kindOf(step: Step): StepKind<Step> {
  return STEPS[step.kind] as unknown as StepKind<Step>;
}

/** How a step reads in reports: `sleep 200ms`, `log "operation1"`. */
export function describeStep(step: Step): string {
  return kindOf(step).describe(step);
}

/** The step as a config writes it, with its LED mode. */
export function writeStep(step: Step): Record<string, unknown> {
  return { ...kindOf(step).write(step), ...(step.led === undefined ? {} : { led: step.led }) };
}

/** Keys any step may have besides its kind. */
const COMMON_MODIFIERS = ['led'] as const;

/**
 * Reads one step: a mapping with exactly one kind, its modifiers and `led`.
 * Reports every problem to `reading.issues`; gives undefined when there was one.
 */
export function readStep(raw: unknown, reading: StepReading): Step | undefined {
  const { at, issues } = reading;
  if (!isMapping(raw)) {
    issues.add({ at, reason: `a step is a mapping with one of ${STEP_KINDS.join(', ')}`, got: { value: raw } });
    return undefined;
  }
  const name = readKind(raw, reading);
  if (name === undefined) return undefined;
  const entry = STEPS[name] as unknown as StepKind<Record<string, unknown>>;
  const before = issues.count;
  let led: LedMode | undefined;
  if (raw['led'] !== undefined) {
    if (isLedMode(raw['led'])) led = raw['led'];
    else issues.add({ at: [...at, 'led'], reason: `must be one of ${LED_MODES.join(', ')}`, got: { value: raw['led'] } });
  }
  for (const key of Object.keys(raw)) {
    if (key !== name && !(COMMON_MODIFIERS as readonly string[]).includes(key) && allModifiers().includes(key) && !(entry.modifiers ?? []).includes(key)) {
      issues.add({ at: [...at, key], reason: `only a ${kindsWith(key).join(' or ')} step has a ${key}` });
    }
  }
  const fields = entry.read(raw[name], raw, reading);
  if (fields === undefined || issues.count > before) return undefined;
  return { ...fields, kind: name, ...(led === undefined ? {} : { led }) } as Step;
}

/**
 * The one kind a step has. A key that is no kind nor modifier is reported
 * once, as the kind it is closest to when it is one's typo (`slep`: did you
 * mean sleep?), and not again as a step without a kind.
 */
function readKind(raw: Readonly<Record<string, unknown>>, { at, issues }: StepReading): StepName | undefined {
  const keys = Object.keys(raw);
  const kinds = keys.filter((k): k is StepName => Object.hasOwn(STEPS, k));
  const allowed = stepKeys();
  const unknown = keys.filter((k) => !allowed.includes(k));
  for (const key of unknown) {
    const near = nearest(key, allowed);
    issues.add({ at: [...at, key], reason: near === undefined ? `unknown key; a step has one of ${STEP_KINDS.join(', ')} (plus ${modifierList()})` : `unknown key; did you mean ${near}?` });
  }
  const [name] = kinds;
  if (name !== undefined && kinds.length === 1) return name;
  // A typo of the kind was reported above: that is the one problem.
  if (kinds.length === 0 && unknown.length > 0) return undefined;
  issues.add({ at, reason: `a step has exactly one of ${STEP_KINDS.join(', ')}; this one has ${kinds.length === 0 ? 'none' : kinds.join(' and ')}` });
  return undefined;
}

// Read for every key of every step, at each load and reload: made once.
let modifiersOnce: readonly string[] | undefined;
let keysOnce: readonly string[] | undefined;

function allModifiers(): readonly string[] {
  return (modifiersOnce ??= [...new Set(STEP_KINDS.flatMap((name) => modifiersOf(name)))]);
}

/** Every key a step may have: the kinds, their modifiers and the common ones. */
function stepKeys(): readonly string[] {
  return (keysOnce ??= [...STEP_KINDS, ...allModifiers(), ...COMMON_MODIFIERS]);
}

function kindsWith(modifier: string): string[] {
  return STEP_KINDS.filter((name) => modifiersOf(name).includes(modifier));
}

function modifiersOf(name: StepName): readonly string[] {
  return (STEPS[name] as { readonly modifiers?: readonly string[] }).modifiers ?? [];
}

/** `level on log, and led`. */
function modifierList(): string {
  return [...allModifiers().map((m) => `${m} on ${kindsWith(m).join(', ')}`), ...COMMON_MODIFIERS].join(', and ');
}

function readText(value: unknown, at: readonly Segment[], issues: Issues): string | undefined {
  // YAML turns `log: 42` or `log: yes` into a number or boolean; a log line means the text.
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  issues.add({ at, reason: 'must be text', got: { value } });
  return undefined;
}

function readMessage(value: unknown, at: readonly Segment[], issues: Issues): { message: string } | undefined {
  const message = readText(value, at, issues);
  return message === undefined ? undefined : { message };
}

function readDuration(value: unknown, at: readonly Segment[], issues: Issues): { ms: number } | undefined {
  const ms = parseDuration(value);
  if (typeof ms === 'number') return { ms };
  issues.add({ at, reason: ms.reason, got: { value } });
  return undefined;
}

/** A duration as a config writes it: `200ms`, `3s`, and exactly, so that reading it back gives the same. */
function writeDuration(ms: number): string {
  const short = formatDuration(ms);
  return parseDuration(short) === ms ? short : `${ms}ms`;
}

/** The task a `spawn` or `cancel` step names, which must be one of the config's. */
function readTaskName(value: unknown, at: readonly Segment[], names: ReadonlySet<string>, issues: Issues): { task: string } | undefined {
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
  return { task: value };
}
