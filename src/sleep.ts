import { AbortError } from './errors.js';
import { MAX_TIMER_DELAY_MS, type Time } from './time.js';

/** Resolves on the next turn of the event loop, after I/O: `asyncio.sleep(0)`, or `ensure_future`'s start. */
export function nextTurn(time: Time): Promise<void> {
  return new Promise<void>((resolve) => time.setImmediate(resolve));
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
 * The sleeps of one task run, all cancelled by its signal, each to an
 * absolute deadline on the monotonic clock (`time.monotonicMs()`). One sleep
 * at a time. A sleep whose deadline has passed still yields one turn, like
 * `asyncio.sleep(0)`; an aborted signal rejects a sleep under way with an
 * {@link AbortError} whose `cause` is the signal's reason, as Node's
 * `timers/promises` does.
 *
 * A class rather than closures, and the object itself is the abort listener
 * (`handleEvent`): ten thousand sleeping tasks hold ten thousand of these. It
 * listens to the signal for the whole run, not once per sleep: adding and
 * removing a listener at every sleep was a fifth of a step's cost with ten
 * thousand tasks (see test/README.md, Benchmarks).
 */
export class Sleeper {
  #timer: unknown;
  /** Whether #timer is an immediate (a sleep whose deadline had passed when it began), not a timeout. */
  #immediate = false;
  #deadline = 0;
  #resolve: (() => void) | undefined;
  #reject: ((error: AbortError) => void) | undefined;
  readonly #time: Time;
  readonly #signal: AbortSignal;
  /** The timer's callback: made once, not at every sleep. */
  readonly #arm = (): void => this.#schedule();

  constructor(time: Time, signal: AbortSignal) {
    this.#time = time;
    this.#signal = signal;
    signal.addEventListener('abort', this, { once: true });
  }

  /** Resolves once `time.monotonicMs() >= deadline`, always on a later turn of the event loop. */
  until(deadline: number): Promise<void> {
    if (this.#signal.aborted) return Promise.reject(abortErrorFor(this.#signal.reason));
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#deadline = deadline;
      this.#timer = undefined;
      this.#schedule();
    });
  }

  /** Stops listening to the signal: the run is over. */
  close(): void {
    this.#cancelTimer();
    // An aborted signal has already dropped its `once` listener; at a stop, ten thousand removals would find nothing.
    if (!this.#signal.aborted) this.#signal.removeEventListener('abort', this);
  }

  /** The signal aborted: a sleep under way rejects. */
  handleEvent(): void {
    const reject = this.#reject;
    this.#cancelTimer();
    if (reject !== undefined) reject(abortErrorFor(this.#signal.reason));
  }

  #schedule(): void {
    const remaining = this.#deadline - this.#time.monotonicMs();
    if (remaining <= 0) {
      if (this.#timer === undefined) {
        // Past the deadline at the start: still yield one turn.
        this.#immediate = true;
        this.#timer = this.#time.setImmediate(() => this.#done());
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
    this.#timer = this.#time.setTimeout(this.#arm, Math.min(Math.ceil(remaining), MAX_TIMER_DELAY_MS));
  }

  #done(): void {
    const resolve = this.#resolve;
    this.#timer = undefined;
    this.#resolve = this.#reject = undefined;
    resolve?.();
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      if (this.#immediate) this.#time.clearImmediate(this.#timer);
      else this.#time.clearTimeout(this.#timer);
    }
    this.#timer = undefined;
    this.#resolve = this.#reject = undefined;
  }
}
