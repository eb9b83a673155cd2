import { AbortError } from './errors.js';
import type { Timers } from './timers.js';

/**
 * Time as the scheduler sees it. Injected, so tests can drive time by hand
 * (Node's `mock.timers` cannot reach functions that were imported by
 * destructuring) and so the daemon never mixes wall-clock time into schedules.
 */
export interface Clock {
  /** Monotonic milliseconds. Only differences mean anything. */
  now(): number;
  /**
   * Resolves once `now() >= deadline`, always on a later turn of the event
   * loop (a deadline in the past still yields, like `asyncio.sleep(0)`).
   * Rejects with an {@link AbortError} whose `cause` is `signal.reason` when
   * the signal aborts first.
   */
  sleepUntil(deadline: number, options?: { signal?: AbortSignal | undefined }): Promise<void>;
  /** Resolves on the next turn of the event loop, after I/O: `asyncio.sleep(0)`, or `ensure_future`'s start. */
  nextTurn(): Promise<void>;
  /**
   * Sleeps for one run of a task, all cancelled by `signal`: the same as
   * `sleepUntil(deadline, { signal })` each time, but listening to the signal
   * once for the whole run rather than once per sleep.
   */
  sleeper(signal: AbortSignal): Sleeper;
}

/** See {@link Clock.sleeper}. */
export interface Sleeper {
  /** As {@link Clock.sleepUntil} with the sleeper's signal. One sleep at a time. */
  until(deadline: number): Promise<void>;
  /** Stops listening to the signal: the run is over. */
  close(): void;
}

/** Node's timers store delays as signed 32-bit milliseconds; longer ones fire after 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The real clock on `timers` (Node's monotonic `process.hrtime`, or a test's), safe for sleeps of any length. */
export function createSystemClock(timers: Timers): Clock {
  return {
    now: () => timers.now(),
    sleepUntil(deadline, { signal } = {}) {
      if (signal?.aborted) {
        return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
      }
      return new SystemSleeper(timers, signal, true).until(deadline);
    },
    nextTurn: () => new Promise<void>((resolve) => timers.setImmediate(resolve)),
    sleeper: (signal) => new SystemSleeper(timers, signal, false),
  };
}

/**
 * One AbortError per abort reason: a stop aborts ten thousand signals with
 * the same reason, and ten thousand identical errors cost 17 ms and their
 * garbage (measured with 10,000 sleeping tasks). The error has no stack; its
 * cause is the reason.
 */
const abortErrors = new WeakMap<object, AbortError>();
function abortErrorFor(reason: unknown): AbortError {
  if (typeof reason !== 'object' || reason === null) return new AbortError(undefined, { cause: reason });
  let error = abortErrors.get(reason);
  if (error === undefined) abortErrors.set(reason, (error = new AbortError(undefined, { cause: reason })));
  return error;
}

/**
 * Sleeps on Node's timers. A class rather than closures, and the object
 * itself is the abort listener (`handleEvent`): ten thousand sleeping tasks
 * hold ten thousand of these. A task's sleeper listens to its signal for the
 * whole run: adding and removing a listener at every sleep was a fifth of a
 * step's cost with ten thousand tasks (see the README's Benchmarks).
 */
class SystemSleeper implements Sleeper {
  #timer: unknown;
  /** Whether #timer is an immediate (a sleep whose deadline had passed when it began), not a timeout. */
  #immediate = false;
  #deadline = 0;
  #resolve: (() => void) | undefined;
  #reject: ((error: AbortError) => void) | undefined;
  readonly #timers: Timers;
  readonly #signal: AbortSignal | undefined;
  /** A one-shot sleeper (sleepUntil) closes itself when its sleep ends. */
  readonly #once: boolean;
  /** The timer's callback: made once, not at every sleep. */
  readonly #arm = (): void => this.#schedule();

  constructor(timers: Timers, signal: AbortSignal | undefined, once: boolean) {
    this.#timers = timers;
    this.#signal = signal;
    this.#once = once;
    signal?.addEventListener('abort', this, { once: true });
  }

  until(deadline: number): Promise<void> {
    if (this.#signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: this.#signal.reason }));
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#deadline = deadline;
      this.#timer = undefined;
      this.#schedule();
    });
  }

  close(): void {
    this.#cancelTimer();
    // An aborted signal has already dropped its `once` listener; at a stop, ten thousand removals would find nothing.
    if (this.#signal?.aborted === false) this.#signal.removeEventListener('abort', this);
  }

  /** The signal aborted: a sleep under way rejects. */
  handleEvent(): void {
    const reject = this.#reject;
    this.#cancelTimer();
    if (reject !== undefined) reject(abortErrorFor(this.#signal?.reason));
  }

  #schedule(): void {
    const remaining = this.#deadline - this.#timers.now();
    if (remaining <= 0) {
      if (this.#timer === undefined) {
        // Past the deadline at the start: still yield one turn.
        this.#immediate = true;
        this.#timer = this.#timers.setImmediate(() => this.#done());
      } else {
        this.#done();
      }
      return;
    }
    this.#immediate = false;
    // Rounded up: Node's timers count whole milliseconds of the loop's clock and never fire
    // before the delay they were given, so a timer armed for the milliseconds left, rounded
    // up, wakes at or just after the deadline, once. Long sleeps are chained in chunks (a
    // longer delay would fire at once), and a timer that fires early all the same (its
    // start was read from a clock a millisecond behind) is re-armed: the deadline, not the
    // timer, decides.
    this.#timer = this.#timers.setTimeout(this.#arm, Math.min(Math.ceil(remaining), MAX_TIMER_DELAY_MS));
  }

  #done(): void {
    const resolve = this.#resolve;
    this.#timer = undefined;
    this.#resolve = this.#reject = undefined;
    if (this.#once) this.close();
    resolve?.();
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      if (this.#immediate) this.#timers.clearImmediate(this.#timer);
      else this.#timers.clearTimeout(this.#timer);
    }
    this.#timer = undefined;
    this.#resolve = this.#reject = undefined;
  }
}
