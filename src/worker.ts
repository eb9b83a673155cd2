import type { TaskDef } from './config/tasks.js';
import { formatDuration } from './config/duration.js';
import type { TaskLed } from './led/led.js';
import type { Logger } from './log/logger.js';
import { nextTurn } from './sleep.js';
import { describeStep, kindOf, type Step, type StepRun, type StepServices } from './steps.js';

/** How a task's run ended. */
export type TaskOutcome = 'done' | 'cancelled' | 'failed' | 'stopped';

/**
 * One run of a task: what the scheduler keeps about it and the worker updates.
 * Deliberately small: a daemon may hold ten thousand of them.
 */
export interface TaskRun extends StepRun {
  readonly def: TaskDef;
  readonly led: TaskLed | undefined;
  /** Index of the step it is at, for reports. */
  step: number;
}

/** What the worker needs besides what steps use: one set, shared by every task (the scheduler's). */
export interface TaskCallbacks extends StepServices {
  /** Debug mode: steps whose synchronous part runs longer than this (ms) are reported. */
  slowStepMs(): number | undefined;
  /** Counts a finished step, for the status line. */
  stepDone(): void;
  /** Debug mode saw a slow step (after logging it), for the status line. */
  slowStep(where: string, ms: number): void;
  /** Called once the run has ended, however it ended, before its promise settles. */
  ended(run: TaskRun, outcome: TaskOutcome): void;
}

interface RunOptions {
  /** Start on the next turn of the event loop, as a spawned task does. */
  readonly nextTurn: boolean;
  /** Who started it, for the debug line. */
  readonly by: string;
}

/**
 * Runs one task's steps, `repeat` times. Never rejects: a cancellation or a
 * failure is logged here, with the task and step, and becomes the outcome.
 *
 * Steps up to the next wait (a sleep) run synchronously in one turn of the
 * event loop, as a coroutine runs up to its next `await`; that is why a task
 * that spawns another logs its next line before the spawned task's first.
 * What each step does is its kind's business (steps.ts).
 *
 * A `stop` step ends the run; the scheduler asks the daemon to stop once the
 * run has ended, so the stopping task is not among those cancelled.
 *
 * A run that was cancelled before its first turn runs no step at all.
 */
export async function runTask(run: TaskRun, callbacks: TaskCallbacks, { nextTurn: later, by }: RunOptions): Promise<TaskOutcome> {
  // One async function per run and no wrapper around it: each suspended one costs memory.
  const { time, logger } = callbacks;
  const { def, led } = run;
  const { signal } = run.controller;
  const { name, steps } = def;
  let outcome: TaskOutcome = 'cancelled';
  let index = 0;
  try {
    if (later) await nextTurn(time);
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      logger.info({ task: name }, `${reason instanceof Error ? reason.message : 'cancelled'} before it started`);
      return outcome;
    }
    logger.debug({ task: name }, `started by ${by}`);
    run.deadline = time.monotonicMs();
    for (let round = 0; round < def.repeat; round++) {
      for (index = 0; index < steps.length; index++) {
        if (signal.aborted) return (outcome = cancelled(logger, name, index, signal));
        const step = steps[index] as Step;
        const slowMs = callbacks.slowStepMs();
        const started = time.monotonicMs();
        run.step = index;
        run.stepSince = started;
        led?.stepStarted(step);
        const result = kindOf(step).run(step, run, index, callbacks);
        if (result === 'stop') {
          led?.stepEnded(step);
          callbacks.stepDone();
          return (outcome = 'stopped');
        }
        if (slowMs !== undefined) reportIfSlow(callbacks, name, index, step, time.monotonicMs() - started, slowMs);
        if (result !== undefined) await result;
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
    run.sleeper?.close();
    run.step = index;
    led?.taskEnded();
    callbacks.ended(run, outcome);
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
