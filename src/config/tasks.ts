import { kindOf, readStep, type Step } from '../steps.js';
import { isLedMode, LED_MODES, type LedMode } from './choices.js';
import { isMapping, Issues, type Issue } from './issues.js';
import { nearest } from './keys.js';

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

const TASK_KEYS = ['autostart', 'repeat', 'steps', 'pin', 'led', 'description'] as const;
/** A task's name is in every line it logs: short enough to read. */
const NAME = /^[A-Za-z][\w.-]{0,63}$/;
/** The 40-pin header's GPIO range; the LED checks the chip's real size when it opens the pin. */
export const BCM_PIN_MAX = 27;

/** The least a repeating task (or a cycle of spawns) must wait per round, in all: less and it spins a core (a round of `sleep: 0` is a busy loop). */
const MIN_SLEEP_PER_ROUND_MS = 1;

/**
 * Checks and normalises the `tasks` mapping. Collects every problem rather
 * than stopping at the first, so one `check-config` run shows them all
 * (`issues` keeps the first few of a file full of them, and counts the rest).
 */
export function readTasks(raw: unknown, issues: Issues = new Issues()): { tasks: TaskTable; issues: readonly Issue[] } {
  const tasks = new Map<string, TaskDef>();
  const at = ['tasks'];
  const before = issues.count;
  const done = (): { tasks: TaskTable; issues: readonly Issue[] } => ({ tasks, issues: issues.kept });
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
  if (issues.count === before) checkSpawnCycles(tasks, issues);
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
    if (!(TASK_KEYS as readonly string[]).includes(key)) {
      const near = nearest(key, TASK_KEYS);
      issues.add({ at: [...at, key], reason: near === undefined ? `unknown key; a task has ${TASK_KEYS.join(', ')}` : `unknown key; did you mean ${near}?` });
    }
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
      const step = readStep(rawStep, { at: [...at, 'steps', index], issues, names });
      if (step !== undefined) steps.push(step);
    });
    // Only when every step was read: a sleep with a bad value is reported as that, not as a missing sleep.
    if (issues.count === stepsBefore && repeat > 1) {
      const waited = waitsMs(steps);
      if (waited === undefined) {
        issues.add({ at: [...at, 'repeat'], reason: 'a task that repeats needs a sleep step, or it would hold the event loop' });
      } else if (waited < MIN_SLEEP_PER_ROUND_MS) {
        issues.add({
          at: [...at, 'repeat'],
          reason: `a task that repeats must sleep at least ${MIN_SLEEP_PER_ROUND_MS}ms per round in all, or it keeps a core busy; its sleeps add up to ${waited}ms`,
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

/** How long a round of these steps waits without holding the loop; undefined when none of them waits at all. */
function waitsMs(steps: readonly Step[]): number | undefined {
  let total: number | undefined;
  for (const step of steps) {
    const waits = kindOf(step).waitsMs;
    if (waits !== undefined) total = (total ?? 0) + waits(step);
  }
  return total;
}

/**
 * Refuses a cycle of spawns (a spawns b, b spawns a; or longer) on which no
 * task waits: each would start the next as it ends, for ever, and keep a
 * core busy with nothing but starts, as a repeating task without a sleep
 * would. A task already running is not started again, so a cycle in which
 * one task sleeps ends, or runs at that task's pace.
 */
function checkSpawnCycles(tasks: TaskTable, issues: Issues): void {
  // Asked once per edge that reaches a task: worked out once per task.
  const restlessness = new Map<string, boolean>();
  const restless = (task: TaskDef): boolean => {
    let is = restlessness.get(task.name);
    if (is === undefined) restlessness.set(task.name, (is = (waitsMs(task.steps) ?? 0) < MIN_SLEEP_PER_ROUND_MS));
    return is;
  };
  const spawned = (task: TaskDef): { to: string; index: number }[] =>
    task.steps.flatMap((step, index) => {
      const to = kindOf(step).starts?.(step);
      return to === undefined ? [] : [{ to, index }];
    });
  const state = new Map<string, 'open' | 'done'>();
  const path: { name: string; index: number }[] = [];
  const reported = new Set<string>();
  // Depth-first; iterative, so that a generated config with thousands of tasks cannot overflow the stack.
  for (const start of tasks.values()) {
    if (state.has(start.name) || !restless(start)) continue;
    const stack: { task: TaskDef; edges: { to: string; index: number }[]; next: number }[] = [{ task: start, edges: spawned(start), next: 0 }];
    state.set(start.name, 'open');
    path.push({ name: start.name, index: -1 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as (typeof stack)[number];
      const edge = top.edges[top.next++];
      if (edge === undefined) {
        state.set(top.task.name, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const target = tasks.get(edge.to);
      if (target === undefined || !restless(target)) continue;
      (path[path.length - 1] as { index: number }).index = edge.index;
      const seen = state.get(target.name);
      if (seen === 'open') {
        const cycle = path.slice(path.findIndex((p) => p.name === target.name));
        const key = cycle.map((p) => p.name).sort().join('\0');
        if (reported.has(key)) continue;
        reported.add(key);
        const first = cycle[0] as { name: string; index: number };
        const names = [...cycle.map((p) => p.name), target.name];
        issues.add({
          at: ['tasks', first.name, 'steps', first.index, 'spawn'],
          reason: `${names.join(' spawns ')}, and none of them sleeps: they would start each other for ever and keep a core busy; add a sleep to one of them (at least ${MIN_SLEEP_PER_ROUND_MS}ms)`,
        });
      } else if (seen === undefined) {
        state.set(target.name, 'open');
        path.push({ name: target.name, index: -1 });
        stack.push({ task: target, edges: spawned(target), next: 0 });
      }
    }
  }
}

function isPin(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= BCM_PIN_MAX;
}
