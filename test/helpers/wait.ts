import { setTimeout as sleep } from 'node:timers/promises';

/**
 * "Wait for what we expect, with a bound": the one way the tests do it.
 * `waitFor` and `waitForSync` poll what only shows in files or another
 * process's state; `Arrivals` is for what is pushed to the test (lines,
 * datagrams), so those waits end at the arrival itself.
 */

export interface PollOptions {
  /** The pause between two looks. */
  readonly everyMs?: number;
  /** What was seen instead, for the error when the bound passes. */
  readonly seen?: () => string;
}

function timedOut(what: string, timeoutMs: number, seen: (() => string) | undefined): Error {
  return new Error(`no ${what} within ${timeoutMs} ms${seen === undefined ? '' : `; ${seen()}`}`);
}

/** Polls `probe` until it returns something other than undefined; rejects once `timeoutMs` has passed. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string, { everyMs = 20, seen }: PollOptions = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw timedOut(what, timeoutMs, seen);
    await sleep(everyMs);
  }
}

/**
 * `waitFor` for tests written as synchronous steps (the systemd sandbox
 * suites): the pause blocks the thread, which has nothing else to do then.
 */
export function waitForSync<T>(probe: () => T | undefined, timeoutMs: number, what: string, { everyMs = 100, seen }: PollOptions = {}): T {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw timedOut(what, timeoutMs, seen);
    Atomics.wait(pause, 0, 0, everyMs);
  }
}

interface Waiter<T> {
  readonly match: (item: T) => boolean;
  readonly resolve: (item: T) => void;
  readonly reject: (error: Error) => void;
  readonly what: string;
  readonly timer: NodeJS.Timeout;
}

/** Items that arrive over time, in order, and bounded waits for the first (past or future) that matches. */
export class Arrivals<T> {
  readonly items: T[] = [];
  readonly #waiters: Waiter<T>[] = [];
  readonly #seen: (items: readonly T[]) => string;
  #ended: string | undefined;

  /** `seen`: what has arrived, as the errors say it. */
  constructor(seen: (items: readonly T[]) => string) {
    this.#seen = seen;
  }

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(item)) this.#settle(waiter).resolve(item);
    }
  }

  waitFor(match: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const found = this.items.find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#ended !== undefined) return Promise.reject(new Error(`${this.#ended} without ${what}; ${this.#seen(this.items)}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(waiter).reject(timedOut(what, timeoutMs, () => this.#seen(this.items))), timeoutMs);
      const waiter: Waiter<T> = { match, resolve, reject, what, timer };
      this.#waiters.push(waiter);
    });
  }

  /** Nothing more will arrive (the sender has exited): every wait still waiting fails now, saying `why`. */
  end(why: string): void {
    this.#ended = why;
    for (const waiter of [...this.#waiters]) this.#settle(waiter).reject(new Error(`${why} without ${waiter.what}; ${this.#seen(this.items)}`));
  }

  #settle(waiter: Waiter<T>): Waiter<T> {
    this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    clearTimeout(waiter.timer);
    return waiter;
  }
}
