import { AbortError } from '../../src/errors.js';
import type { Clock, Sleeper as RunSleeper } from '../../src/clock.js';

interface Sleeper {
  deadline: number;
  resolve: () => void;
}

/** Turns of the event loop, so promise continuations and setImmediate callbacks run. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when a test says so. `advance` wakes sleepers in
 * deadline order and lets the event loop turn after each, so a woken task
 * runs its next steps (and arms its next sleep) before time moves on.
 */
export class FakeClock implements Clock {
  #now = 0;
  #sleepers: Sleeper[] = [];

  now(): number {
    return this.#now;
  }

  get pending(): number {
    return this.#sleepers.length;
  }

  sleepUntil(deadline: number, { signal }: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        deadline,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(new AbortError(undefined, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline <= this.#now) setImmediate(sleeper.resolve);
      else this.#sleepers.push(sleeper);
    });
  }

  nextTurn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  sleeper(signal: AbortSignal): RunSleeper {
    return { until: (deadline) => this.sleepUntil(deadline, { signal }), close: () => {} };
  }

  /** Moves time forward by `ms`, waking every sleeper whose deadline falls inside. */
  async advance(ms: number): Promise<void> {
    // Work that is due now (spawned tasks, continuations) runs before time moves, as on a real loop.
    await turns();
    const target = this.#now + ms;
    for (;;) {
      this.#sleepers.sort((a, b) => a.deadline - b.deadline);
      const next = this.#sleepers[0];
      if (next === undefined || next.deadline > target) break;
      this.#sleepers.shift();
      this.#now = Math.max(this.#now, next.deadline);
      next.resolve();
      await turns();
    }
    this.#now = Math.max(this.#now, target);
    await turns();
  }

  /** Moves time by `ms` without waking anyone: what a blocked event loop looks like. */
  jump(ms: number): void {
    this.#now += ms;
  }
}
