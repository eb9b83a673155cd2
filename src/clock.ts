import { performance } from 'node:perf_hooks';
import { AbortError } from './errors.js';

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
}

/** Node's timers store delays as signed 32-bit milliseconds; longer ones fire after 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The timer functions the system clock runs on; tests pass fakes (as sindresorhus/delay's createDelay does). */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate(callback: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

const nodeTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (callback) => setImmediate(callback),
  clearImmediate: (handle) => clearImmediate(handle as NodeJS.Immediate),
};

/** The real clock: `performance.now()` and timers, safe for sleeps of any length. */
export function createSystemClock(timers: Timers = nodeTimers): Clock {
  return {
    now: timers.now,
    sleepUntil(deadline, { signal } = {}) {
      if (signal?.aborted) {
        return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
      }
      return new Promise<void>((resolve, reject) => {
        new Sleep(timers, deadline, signal, resolve, reject).start();
      });
    },
  };
}

/**
 * One pending sleep. A class rather than closures, and the object itself is
 * the abort listener (`handleEvent`): ten thousand sleeping tasks hold ten
 * thousand of these.
 */
class Sleep {
  #timer: unknown;
  #immediate = false;
  readonly #timers: Timers;
  readonly #deadline: number;
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: () => void;
  readonly #reject: (error: AbortError) => void;
  readonly #arm = (): void => this.#schedule();

  constructor(timers: Timers, deadline: number, signal: AbortSignal | undefined, resolve: () => void, reject: (error: AbortError) => void) {
    this.#timers = timers;
    this.#deadline = deadline;
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    this.#signal?.addEventListener('abort', this, { once: true });
    this.#schedule();
  }

  /** The signal aborted. */
  handleEvent(): void {
    if (this.#immediate) this.#timers.clearImmediate(this.#timer);
    else this.#timers.clearTimeout(this.#timer);
    this.#reject(new AbortError(undefined, { cause: this.#signal?.reason }));
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
    // Long sleeps are chained in chunks (a longer delay would fire at once),
    // and a timer that fires a little early is simply re-armed: the deadline,
    // not the timer, decides.
    this.#timer = this.#timers.setTimeout(this.#arm, Math.min(Math.ceil(remaining), MAX_TIMER_DELAY_MS));
  }

  #done(): void {
    this.#signal?.removeEventListener('abort', this);
    this.#resolve();
  }
}
