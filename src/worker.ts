import type { Clock } from './clock.js';
import { formatDuration } from './config/duration.js';
import type { Step, TaskDef } from './config/tasks.js';
import { TaskFailedError } from './errors.js';
import type { TaskLed } from './led/led.js';
import type { Logger } from './log/logger.js';

/** How a task's run ended. */
export type TaskOutcome = 'done' | 'cancelled' | 'failed' | 'stopped';

/** What a worker may ask of the scheduler, and what it is given to run with. */
export interface WorkerEnv {
  readonly clock: Clock;
  /** The task's own logger (`logger.child({task})`). */
  readonly log: Logger;
  readonly led: TaskLed | undefined;
  /** Debug mode: steps whose synchronous part runs longer than this (ms) are reported. */
  readonly slowStepMs: () => number | undefined;
  /** Starts a task on the next turn of the event loop (`ensure_future`). */
  spawn(name: string, by: string): void;
  /** Cancels a task now (`task.cancel()`). */
  cancel(name: string, by: string): void;
  /** Stops the daemon gracefully (`loop.stop()`), once this task has ended. */
  stop(by: string): void;
  /** Throws outside any task, as an uncaught exception (the `crash` demonstration step). */
  crash(error: Error): void;
  /** Called after each step with its index, for status and pending-task reports. */
  stepDone(index: number): void;
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
 */
export async function runTask(task: TaskDef, env: WorkerEnv, signal: AbortSignal): Promise<TaskOutcome> {
  const { clock, log, led } = env;
  const { steps } = task;
  let deadline = clock.now();
  let index = 0;
  try {
    for (let round = 0; round < task.repeat; round++) {
      for (index = 0; index < steps.length; index++) {
        if (signal.aborted) return cancelled(log, index, signal);
        const step = steps[index] as Step;
        led?.stepStarted(step);
        const slowMs = env.slowStepMs();
        const started = slowMs === undefined ? 0 : clock.now();
        let wait: Promise<void> | undefined;
        switch (step.kind) {
          case 'log':
            log[step.level]({ step: index }, step.message);
            break;
          case 'sleep': {
            deadline += step.ms;
            const now = clock.now();
            if (now - deadline > step.ms) deadline = now + step.ms;
            wait = clock.sleepUntil(deadline, { signal });
            break;
          }
          case 'spawn':
            env.spawn(step.task, `${task.name}[${index}]`);
            break;
          case 'cancel':
            env.cancel(step.task, `${task.name}[${index}]`);
            break;
          case 'stop':
            log.info({ step: index }, 'stop: stopping the daemon');
            env.stop(`${task.name}[${index}]`);
            led?.stepEnded(step);
            env.stepDone(index);
            return 'stopped';
          case 'busy': {
            const until = clock.now() + step.ms;
            while (clock.now() < until) {
              // Holding the event loop on purpose: this step demonstrates debug mode.
            }
            break;
          }
          case 'fail':
            throw new TaskFailedError(step.message);
          case 'crash':
            env.crash(new Error(`${step.message} (crash step ${task.name}[${index}])`));
            break;
        }
        if (slowMs !== undefined) {
          const took = clock.now() - started;
          if (took > slowMs) {
            log.warn(
              { step: index, durationMs: Math.round(took * 10) / 10 },
              `slow step: ${describeStep(step)} held the event loop for ${formatDuration(took)} (threshold ${slowMs}ms)`,
            );
          }
        }
        if (wait !== undefined) await wait;
        led?.stepEnded(step);
        env.stepDone(index);
      }
    }
    return 'done';
  } catch (error) {
    // Ask the signal, not the error's type: a step may throw anything while a cancellation is under way.
    if (signal.aborted) return cancelled(log, index, signal);
    const reason = error instanceof Error ? error.message : String(error);
    log.error({ step: index, err: error }, `failed: ${reason}`);
    return 'failed';
  } finally {
    led?.taskEnded();
  }
}

function cancelled(log: Logger, index: number, signal: AbortSignal): 'cancelled' {
  const reason: unknown = signal.reason;
  log.info({ step: index }, reason instanceof Error ? reason.message : 'cancelled');
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
