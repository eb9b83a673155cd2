/**
 * The timer functions and clocks the daemon runs on. The composition root
 * (main.ts) creates the real ones and passes them to every module that waits
 * or reads the time, so tests can drive time by hand (Node's `mock.timers`
 * cannot reach functions imported by destructuring, nor `process.hrtime`).
 */
export interface Timers {
  /** Monotonic milliseconds. Only differences mean anything. */
  now(): number;
  /** Wall-clock milliseconds since the epoch: for people (status reports), never for schedules. */
  wallNow(): number;
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

/** Node's timers. */
export const nodeTimers: Timers = {
  // Not performance.now(): its first call loads perf_hooks, 0.7 ms of every start (measured).
  now: () => Number(process.hrtime.bigint()) / 1e6,
  wallNow: () => Date.now(),
  setTimeout(callback, ms, options) {
    const timer = setTimeout(callback, ms);
    if (options?.ref === false) timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval(callback, ms, options) {
    const timer = setInterval(callback, ms);
    if (options?.ref === false) timer.unref();
    return timer;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  setImmediate: (callback) => setImmediate(callback),
  clearImmediate: (handle) => clearImmediate(handle as NodeJS.Immediate),
};

/** What {@link Deadline.race} gives instead of the work's value when the deadline passes first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');
export type TimedOut = typeof TIMED_OUT;

/**
 * A deadline that is running: armed when it is made, before the work it
 * bounds starts, so it covers all of that work (as close-with-grace does).
 */
export interface Deadline {
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
export function startDeadline(timers: Timers, ms: number, options?: TimerOptions): Deadline {
  let expired = false;
  let expire!: () => void;
  const passed = new Promise<TimedOut>((resolve) => {
    expire = () => {
      expired = true;
      resolve(TIMED_OUT);
    };
  });
  const timer = timers.setTimeout(expire, ms, options);
  return {
    get expired() {
      return expired;
    },
    race: (work) => (expired ? Promise.resolve(TIMED_OUT) : Promise.race([work, passed])),
    clear: () => timers.clearTimeout(timer),
  };
}

/** This promise or a timeout of `ms`: the one helper for a bounded wait. Its timer is cleared either way. */
export async function withTimeout<T>(work: Promise<T>, ms: number, timers: Timers, options?: TimerOptions): Promise<T | TimedOut> {
  const deadline = startDeadline(timers, ms, options);
  try {
    return await deadline.race(work);
  } finally {
    deadline.clear();
  }
}
