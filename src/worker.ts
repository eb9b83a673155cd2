import type { Clock, Sleeper } from './clock.js';
import { formatDuration } from './config/duration.js';
import type { Step, TaskDef } from './config/tasks.js';
import { TaskFailedError } from './errors.js';
import type { TaskLed } from './led/led.js';
import type { Logger } from './log/logger.js';

/** How a task's run ended. */
export type TaskOutcome = 'done' | 'cancelled' | 'failed' | 'stopped';

/**
 * One run of a task: what the scheduler keeps about it and the worker updates.
 * Deliberately small: a daemon may hold ten thousand of them.
 */
export interface TaskRun {
  readonly def: TaskDef;
  /** Aborting its signal cancels the run, with the abort reason saying who and why. */
  readonly controller: AbortController;
  readonly led: TaskLed | undefined;
  /** Index of the step it is at, for pending-task reports. */
  step: number;
  /** Set by a `stop` step: who asked the daemon to stop. */
  stopBy: string | undefined;
}

/** The scheduler's callbacks a worker calls, and the clock and logger it runs with: one, shared by every task. */
export interface TaskCallbacks {
  readonly clock: Clock;
  /** Step lines carry `{task, step}`, which the console renders as `task[step]`. */
  readonly logger: Logger;
  /** Debug mode: steps whose synchronous part runs longer than this (ms) are reported. */
  slowStepMs(): number | undefined;
  /** Starts a task on the next turn of the event loop (`ensure_future`). */
  spawn(name: string, by: string): void;
  /** Cancels a task now (`task.cancel()`). */
  cancel(name: string, by: string): void;
  /** Throws outside any task, as an uncaught exception (the `crash` demonstration step). */
  crash(error: Error): void;
  /** Counts a finished step, for the status line. */
  stepDone(): void;
  /** Debug mode saw a slow step (after logging it), for the status line. */
  slowStep(where: string, ms: number): void;
  /** Called once the run has ended, however it ended, before its promise settles. */
  ended(run: TaskRun, outcome: TaskOutcome): void;
}

export interface RunOptions {
  /** Start on the next turn of the event loop, as a spawned task does. */
  readonly nextTurn: boolean;
  /** Who started it, for the debug line. */
  readonly by: string;
}

/**
 * Runs one task's steps, `repeat` times. Never rejects: a cancellation or a
 * failure is logged here, with the task and step, and becomes the outcome.
 *
 * Steps up to the next sleep run synchronously in one turn of the event loop,
 * as a coroutine runs up to its next `await`; that is why a task that spawns
 * another logs its next line before the spawned task's first.
 *
 * Sleeps wait for absolute deadlines on a monotonic clock, so a periodic task
 * keeps its schedule instead of drifting by the time its steps take. A task
 * that wakes more than a whole sleep late (the loop was blocked) starts a new
 * schedule from now rather than firing a burst of missed steps.
 *
 * A `stop` step ends the run; the scheduler asks the daemon to stop once the
 * run has ended, so the stopping task is not among those cancelled.
 *
 * A run that was cancelled before its first turn runs no step at all.
 */
export async function runTask(run: TaskRun, callbacks: TaskCallbacks, { nextTurn, by }: RunOptions): Promise<TaskOutcome> {
  // One async function per run and no wrapper around it: each suspended one costs memory.
  const { clock, logger } = callbacks;
  const { def, led } = run;
  const { signal } = run.controller;
  // Made at the first sleep: a task that never sleeps need not listen to its signal.
  let sleeper: Sleeper | undefined;
  const { name, steps } = def;
  let outcome: TaskOutcome = 'cancelled';
  let index = 0;
  try {
    if (nextTurn) await clock.nextTurn();
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      logger.info({ task: name }, `${reason instanceof Error ? reason.message : 'cancelled'} before it started`);
      return outcome;
    }
    logger.debug({ task: name }, `started by ${by}`);
    let deadline = clock.now();
    for (let round = 0; round < def.repeat; round++) {
      for (index = 0; index < steps.length; index++) {
        if (signal.aborted) return (outcome = cancelled(logger, name, index, signal));
        run.step = index;
        const step = steps[index] as Step;
        led?.stepStarted(step);
        const slowMs = callbacks.slowStepMs();
        const started = slowMs === undefined ? 0 : clock.now();
        let wait: Promise<void> | undefined;
        if (step.kind === 'sleep') {
          deadline = nextDeadline(deadline, step.ms, clock.now());
          wait = (sleeper ??= clock.sleeper(signal)).until(deadline);
        } else if (takeStep(run, callbacks, step, index) === 'stop') {
          led?.stepEnded(step);
          callbacks.stepDone();
          return (outcome = 'stopped');
        }
        if (slowMs !== undefined) reportIfSlow(callbacks, name, index, step, clock.now() - started, slowMs);
        if (wait !== undefined) await wait;
        led?.stepEnded(step);
        callbacks.stepDone();
      }
    }
    return (outcome = 'done');
  } catch (error) {
    // Ask the signal, not the error's type: a step may throw anything while a cancellation is under way.
    if (signal.aborted) return (outcome = cancelled(logger, name, index, signal));
    const reason = error instanceof Error ? error.message : String(error);
    logger.error({ task: name, step: index, err: error }, `failed: ${reason}`);
    return (outcome = 'failed');
  } finally {
    sleeper?.close();
    run.step = index;
    led?.taskEnded();
    callbacks.ended(run, outcome);
  }
}

/**
 * The deadline of a sleep: `ms` after the last one, so a periodic task keeps
 * its schedule; from now if it woke more than a whole sleep late.
 */
function nextDeadline(last: number, ms: number, now: number): number {
  const deadline = last + ms;
  return now - deadline > ms ? now + ms : deadline;
}

/**
 * Does what a step other than `sleep` does, synchronously (the task's sleeps
 * and deadlines stay in {@link runTask}). Returns `'stop'` for a `stop` step,
 * which ends the run.
 */
function takeStep(run: TaskRun, callbacks: TaskCallbacks, step: Exclude<Step, { kind: 'sleep' }>, index: number): 'stop' | undefined {
  const { clock, logger } = callbacks;
  const { name } = run.def;
  switch (step.kind) {
    case 'log':
      logger[step.level]({ task: name, step: index }, step.message);
      return undefined;
    case 'spawn':
      callbacks.spawn(step.task, `${name}[${index}]`);
      return undefined;
    case 'cancel':
      callbacks.cancel(step.task, `${name}[${index}]`);
      return undefined;
    case 'stop':
      logger.info({ task: name, step: index }, 'stop: stopping the daemon');
      run.stopBy = `${name}[${index}]`;
      return 'stop';
    case 'busy': {
      const until = clock.now() + step.ms;
      while (clock.now() < until) {
        // Holding the event loop on purpose: this step demonstrates debug mode.
      }
      return undefined;
    }
    case 'fail':
      throw new TaskFailedError(step.message);
    case 'crash':
      callbacks.crash(new Error(`${step.message} (crash step ${name}[${index}])`));
      return undefined;
  }
}

/** Debug mode: a step whose synchronous part held the event loop longer than `slowMs` is logged and counted. */
function reportIfSlow(callbacks: TaskCallbacks, task: string, index: number, step: Step, took: number, slowMs: number): void {
  if (took <= slowMs) return;
  callbacks.slowStep(`${task}[${index}]`, took);
  callbacks.logger.warn(
    { task, step: index, durationMs: Math.round(took * 10) / 10 },
    `slow step: ${describeStep(step)} held the event loop for ${formatDuration(took)} (threshold ${slowMs}ms)`,
  );
}

function cancelled(logger: Logger, task: string, index: number, signal: AbortSignal): 'cancelled' {
  const reason: unknown = signal.reason;
  logger.info({ task, step: index }, reason instanceof Error ? reason.message : 'cancelled');
  return 'cancelled';
}

/** How a step reads in reports: `sleep 200ms`, `log "operation1"`. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'log':
    case 'fail':
    case 'crash':
      return `${step.kind} ${JSON.stringify(step.message)}`;
    case 'sleep':
    case 'busy':
      return `${step.kind} ${formatDuration(step.ms)}`;
    case 'spawn':
    case 'cancel':
      return `${step.kind} ${step.task}`;
    case 'stop':
      return 'stop';
  }
}
