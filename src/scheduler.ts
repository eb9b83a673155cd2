import { sameTask, type TaskDef, type TaskTable } from './config/tasks.js';
import { TaskCancelledError } from './errors.js';
import type { TaskLed } from './led/led.js';
import type { Logger } from './log/logger.js';
import { LISTED_STEPS, LISTED_TASKS, type TaskStatus } from './status.js';
import { describeStep, kindOf, type Step } from './steps.js';
import type { Time } from './time.js';
import { runTask, type TaskOutcome, type TaskRun, type TaskCallbacks } from './worker.js';

interface SchedulerOptions {
  readonly time: Time;
  /** The root logger; task lines carry `{task, step}` rather than a child's bindings. */
  readonly logger: Logger;
  /** The LED of a task, if its steps drive one. */
  readonly ledFor?: (task: TaskDef) => TaskLed | undefined;
  /** Asked by a `stop` step once its task has ended; the daemon then cancels the rest and exits. */
  readonly onStop: (by: string) => void;
  /** Raises an uncaught exception for the `crash` step (main.ts throws it on the next turn; tests catch it). */
  readonly crash: (error: Error) => void;
  /** Told when a task moved on: a step done, a task started or ended (for the status file). */
  readonly moved?: () => void;
}

/** A task the scheduler owns: started, or spawned and about to start. */
interface Entry extends TaskRun {
  /** Settles when the worker has finished, however it ended. */
  done: Promise<TaskOutcome>;
}

/** What a reload changed, by task name. */
interface ReloadChanges {
  readonly kept: string[];
  readonly restarted: string[];
  readonly cancelled: string[];
  readonly started: string[];
}

/**
 * Owns the running tasks by name: starts them (`ensure_future`), cancels them
 * (`task.cancel()`), and applies a new task table at reload.
 *
 * A task runs at most once at a time. Spawning a task that is already running
 * (or already spawned and about to start) changes nothing and is logged at
 * debug level, the way `systemctl start` leaves an active unit alone. A task
 * that was cancelled is done, as in asyncio, even while it is still logging
 * its cancellation: spawning it starts it again.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  #tasks: TaskTable;
  readonly #running = new Map<string, Entry>();
  #slowStepMs: number | undefined;
  #stepsDone = 0;
  #lastSlowStep: string | undefined;
  #closed = false;
  /** Shared by every task: per-task closures would cost memory ten thousand times over. */
  readonly #callbacks: TaskCallbacks;

  constructor(tasks: TaskTable, options: SchedulerOptions) {
    this.#tasks = tasks;
    this.#options = options;
    this.#callbacks = {
      time: options.time,
      logger: options.logger,
      slowStepMs: () => this.#slowStepMs,
      spawn: (name, by) => this.spawn(name, by),
      cancel: (name, by) => {
        this.cancel(name, new TaskCancelledError(`cancelled by ${by}`));
      },
      crash: options.crash,
      stepDone: () => {
        this.#stepsDone++;
        options.moved?.();
      },
      slowStep: (where, ms) => {
        this.#lastSlowStep = `${where} ${Math.round(ms)}ms`;
      },
      ended: (run, outcome) => this.#ended(run as Entry, outcome),
    };
  }

  /** Steps completed since start, over all tasks. */
  get stepsDone(): number {
    return this.#stepsDone;
  }

  /** The last step debug mode found slow, as `task[step] 152ms`. */
  get lastSlowStep(): string | undefined {
    return this.#lastSlowStep;
  }

  /** How many tasks are running now. */
  get runningCount(): number {
    return this.#running.size;
  }

  /**
   * The first `limit` tasks running now (or spawned and about to start), each
   * with the step it is at, since when, when it wakes (a sleep), and its
   * steps; and how many more there are.
   */
  running(limit: number = LISTED_TASKS): { tasks: TaskStatus[]; more: number } {
    const tasks: TaskStatus[] = [];
    for (const [name, entry] of this.#running) {
      if (tasks.length >= limit) break;
      const step = entry.def.steps[entry.step];
      const steps = describedSteps(entry.def.steps);
      tasks.push({
        name,
        step: entry.step,
        doing: step === undefined ? 'ending' : (steps[entry.step] ?? describeStep(step)),
        since: entry.stepSince < 0 ? null : entry.stepSince,
        wakeAt: step !== undefined && kindOf(step).waitsMs !== undefined && entry.stepSince >= 0 ? entry.deadline : null,
        steps,
      });
    }
    return { tasks, more: this.#running.size - tasks.length };
  }

  /** Debug mode's threshold, or undefined to stop timing steps. Takes effect at the next step. */
  setSlowStepMs(ms: number | undefined): void {
    this.#slowStepMs = ms;
  }

  /** Starts the tasks marked `autostart`, in the order the config lists them. */
  startAutostart(): void {
    for (const def of this.#tasks.values()) if (def.autostart) this.#start(def, 'autostart', false);
  }

  /** Starts `name` on the next turn of the event loop. */
  spawn(name: string, by: string): void {
    const def = this.#tasks.get(name);
    if (def === undefined || this.#closed) return;
    if (this.#running.get(name)?.controller.signal.aborted === false) {
      this.#options.logger.debug({ task: name }, `already running; spawn by ${by} ignored`);
      return;
    }
    this.#start(def, by, true);
  }

  /** Cancels `name` now. Returns false when it was not running. */
  cancel(name: string, reason: TaskCancelledError): boolean {
    const entry = this.#running.get(name);
    if (entry === undefined) return false;
    entry.controller.abort(reason);
    return true;
  }

  /** Cancels every task and waits until each has finished cancelling. No task starts afterwards. */
  async cancelAll(reason: TaskCancelledError): Promise<void> {
    this.#closed = true;
    const entries = [...this.#running.values()];
    for (const entry of entries) entry.controller.abort(reason);
    await Promise.all(entries.map((e) => e.done));
  }

  /**
   * Applies a new task table: an unchanged task runs on untouched, a changed
   * one is cancelled and started again, a removed one is cancelled, a new or
   * changed `autostart` task is started.
   */
  apply(tasks: TaskTable): ReloadChanges {
    const changes: ReloadChanges = { kept: [], restarted: [], cancelled: [], started: [] };
    const old = this.#tasks;
    this.#tasks = tasks;
    for (const [name, entry] of this.#running) {
      const next = tasks.get(name);
      if (next === undefined) {
        entry.controller.abort(new TaskCancelledError('cancelled: removed from the config by a reload'));
        changes.cancelled.push(name);
      } else if (!sameTask(next, entry.def)) {
        entry.controller.abort(new TaskCancelledError('cancelled: its definition changed; a reload starts it again'));
        // The replacement starts on the next turn, after the old run has logged its cancellation.
        this.#start(next, 'reload', true);
        changes.restarted.push(name);
      } else {
        changes.kept.push(name);
      }
    }
    for (const [name, def] of tasks) {
      if (!def.autostart || this.#running.has(name)) continue;
      const before = old.get(name);
      if (before !== undefined && sameTask(before, def)) continue;
      this.#start(def, 'reload', false);
      changes.started.push(name);
    }
    return changes;
  }

  #start(def: TaskDef, by: string, nextTurn: boolean): void {
    const entry = { def, controller: new AbortController(), led: this.#options.ledFor?.(def), step: 0, stepSince: -1, deadline: 0, sleeper: undefined, stopBy: undefined } as Entry;
    this.#running.set(def.name, entry);
    entry.done = runTask(entry, this.#callbacks, { nextTurn, by });
  }

  #ended(entry: Entry, outcome: TaskOutcome): void {
    const { name } = entry.def;
    this.#options.moved?.();
    if (this.#running.get(name) === entry) this.#running.delete(name);
    if (outcome === 'done') this.#options.logger.debug({ task: name }, 'finished');
    if (outcome === 'stopped' && entry.stopBy !== undefined) this.#options.onStop(entry.stopBy);
  }
}

/** Each task's steps as reports show them, worked out once per definition. */
const described = new WeakMap<readonly Step[], readonly string[]>();
function describedSteps(steps: readonly Step[]): readonly string[] {
  let list = described.get(steps);
  if (list === undefined) {
    list = steps.slice(0, LISTED_STEPS).map(describeStep);
    if (steps.length > LISTED_STEPS) list = [...list, `and ${steps.length - LISTED_STEPS} more steps`];
    described.set(steps, list);
  }
  return list;
}
