/**
 * Time as every part of asyncdemo sees it: a monotonic clock for schedules
 * and durations, the wall clock for people, timers and immediates. This is
 * the only module that touches Node's clocks and timer functions: the entry
 * point passes {@link systemTime} to every part that reads the time or
 * waits, and tests pass their fake (test/helpers/fake-time.ts). Node's
 * `mock.timers` cannot reach functions imported by destructuring, nor
 * `process.hrtime`, and a patched global would reach every test in the file.
 */
export interface Time {
  /** Monotonic milliseconds (CLOCK_MONOTONIC, as systemd's MONOTONIC_USEC). Only differences mean anything. */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the epoch: for people and log lines, never for schedules. */
  wallMs(): number;
  /** `ref: false`: the timer does not keep the process alive (Node's `unref()`). */
  setTimeout(callback: () => void, ms: number, options?: TimerOptions): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number, options?: TimerOptions): unknown;
  clearInterval(handle: unknown): void;
  /** Runs `callback` on the next turn of the event loop, after I/O. */
  setImmediate(callback: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

export interface TimerOptions {
  readonly ref?: boolean;
}

/**
 * Node keeps timer delays as signed 32-bit milliseconds (about 24.8 days)
 * and fires a longer one after 1 ms, with a TimeoutOverflowWarning.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * A delay Node's timers can hold: a longer one is cut to the longest (a
 * sleep re-arms for what is left; a watchdog pinging early is harmless),
 * never left to become 1 ms. The same cap is what config and environment
 * values are checked against.
 */
function timerDelay(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 1), MAX_TIMER_DELAY_MS) : MAX_TIMER_DELAY_MS;
}

/** Node's clocks and timers. */
export const systemTime: Time = {
  // Not performance.now(): its first call loads perf_hooks, 0.7 ms of every start (measured).
  monotonicMs: () => Number(process.hrtime.bigint()) / 1e6,
  wallMs: () => Date.now(),
  setTimeout(callback, ms, options) {
    const timer = setTimeout(callback, timerDelay(ms));
    if (options?.ref === false) timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval(callback, ms, options) {
    const timer = setInterval(callback, timerDelay(ms));
    if (options?.ref === false) timer.unref();
    return timer;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout | undefined),
  setImmediate: (callback) => setImmediate(callback),
  clearImmediate: (handle) => clearImmediate(handle as NodeJS.Immediate | undefined),
};

/** What {@link Deadline.race} gives instead of the work's value when the deadline passes first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');
type TimedOut = typeof TIMED_OUT;

/**
 * A deadline that is running: armed when it is made, before the work it
 * bounds starts, so it covers all of that work (as close-with-grace does).
 */
interface Deadline {
  /** Whether it has passed. */
  readonly expired: boolean;
  /**
   * This promise or the deadline, whichever comes first: `work`'s value, or
   * {@link TIMED_OUT}. A rejection of `work` before the deadline rejects.
   * Raced one after another, several steps share the one deadline.
   */
  race<T>(work: Promise<T>): Promise<T | TimedOut>;
  /** Stops its timer: the work is done. */
  clear(): void;
}

/** Arms a deadline `ms` from now. `ref: false`: its timer does not keep the process alive. */
export function startDeadline(time: Time, ms: number, options?: TimerOptions): Deadline {
  let expired = false;
  let expire!: () => void;
  const passed = new Promise<TimedOut>((resolve) => {
    expire = () => {
      expired = true;
      resolve(TIMED_OUT);
    };
  });
  const timer = time.setTimeout(expire, ms, options);
  return {
    get expired() {
      return expired;
    },
    race: (work) => (expired ? Promise.resolve(TIMED_OUT) : Promise.race([work, passed])),
    clear: () => time.clearTimeout(timer),
  };
}

/** This promise or a timeout of `ms`: the one helper for a bounded wait. Its timer is cleared either way. */
export async function withTimeout<T>(work: Promise<T>, ms: number, time: Time, options?: TimerOptions): Promise<T | TimedOut> {
  const deadline = startDeadline(time, ms, options);
  try {
    return await deadline.race(work);
  } finally {
    deadline.clear();
  }
}
