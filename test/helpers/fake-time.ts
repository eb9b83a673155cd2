import assert from 'node:assert/strict';
import type { Time } from '../../src/time.js';

interface Timer {
  readonly id: number;
  at: number;
  readonly every: number | undefined;
  readonly callback: () => void;
}

/** Real turns of the event loop, so promise continuations and real I/O run. */
export async function realTurns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The one fake of the daemon's time (src/time.ts) that every test uses: the
 * monotonic and wall clocks, setTimeout, setInterval and setImmediate, moving
 * only when the test says so. `advance` fires what falls due in order,
 * letting the real event loop turn after each, so the work a timer wakes
 * (a task's next steps, its next sleep) runs before time moves on.
 */
export class FakeTime implements Time {
  #now = 0;
  #nextId = 0;
  readonly #timers = new Map<number, Timer>();
  readonly #immediates = new Map<number, () => void>();
  /** Wall-clock time at fake time 0. */
  readonly wallStart: number;

  constructor({ wallStart = Date.UTC(2026, 10, 26, 9, 0, 0) }: { wallStart?: number } = {}) {
    this.wallStart = wallStart;
  }

  /** Added to the wall clock only: what setting the clock (NTP, date -s) does. */
  #wallOffset = 0;

  monotonicMs = (): number => this.#now;
  wallMs = (): number => this.wallStart + this.#now + this.#wallOffset;

  /** Every delay setTimeout was asked for, in order. */
  readonly armed: number[] = [];
  /** How many immediates were asked for. */
  immediatesArmed = 0;

  setTimeout = (callback: () => void, ms: number): number => {
    this.armed.push(ms);
    return this.#add(callback, ms, undefined);
  };
  setInterval = (callback: () => void, ms: number): number => this.#add(callback, ms, ms);
  clearTimeout = (handle: unknown): void => void this.#timers.delete(handle as number);
  clearInterval = (handle: unknown): void => void this.#timers.delete(handle as number);
  setImmediate = (callback: () => void): number => {
    this.immediatesArmed++;
    const id = ++this.#nextId;
    this.#immediates.set(id, callback);
    return id;
  };
  clearImmediate = (handle: unknown): void => void this.#immediates.delete(handle as number);

  /** The delays of the timers armed now, in ms from now, soonest first. */
  pendingDelays(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** Runs the immediates that are due, and turns the real event loop, a few times over. */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const due = [...this.#immediates];
      this.#immediates.clear();
      for (const [, callback] of due) callback();
      await realTurns(2);
    }
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    await this.settle();
    const target = this.#now + ms;
    for (;;) {
      const next = [...this.#timers.values()].filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      if (next.every === undefined) this.#timers.delete(next.id);
      // Node fires a late interval once, then keeps its period from then on.
      else next.at = this.#now + next.every;
      next.callback();
      await this.settle();
    }
    this.#now = Math.max(this.#now, target);
    await this.settle();
  }

  /**
   * Fires the soonest timer with the monotonic clock set to `at`, which may
   * be before the timer is due: what Node does when it armed the timer from a
   * loop clock that was behind.
   */
  async fireNextAt(at: number): Promise<void> {
    const next = [...this.#timers.values()].sort((a, b) => a.at - b.at || a.id - b.id)[0];
    assert.ok(next !== undefined, 'no timer armed');
    this.#timers.delete(next.id);
    this.#now = at;
    next.callback();
    await this.settle();
  }

  /** Moves time by `ms` without firing anything: what a blocked event loop looks like. */
  jump(ms: number): void {
    this.#now += ms;
  }

  /** Sets the wall clock to `epochMs`, the monotonic clock untouched: what NTP or `date -s` does. */
  setWallClock(epochMs: number): void {
    this.#wallOffset += epochMs - this.wallMs();
  }

  /** How many timers and immediates are armed. */
  get pending(): number {
    return this.#timers.size + this.#immediates.size;
  }

  #add(callback: () => void, ms: number, every: number | undefined): number {
    const id = ++this.#nextId;
    this.#timers.set(id, { id, at: this.#now + Math.max(1, ms), every, callback });
    return id;
  }
}

/** A promise with its resolve and reject outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
