/**
 * Where the daemon is in its life, in one place that the signal listener
 * (signals.ts), the process handlers and the daemon all read and move on, so
 * that a signal means the same whatever began a stop (a signal, a `stop`
 * step) or a crash.
 *
 *   starting ─▶ running ─▶ stopping ─▶ stopped
 *       └──────────┴───────────┴──────▶ crashing
 *
 * `stopping` is a stop under way: a second stop signal forces the exit.
 * `stopped`: the tasks have ended and the LED is off; only the log files are
 * being finished, and a signal changes nothing. `crashing`: an uncaught
 * error; the exit is 1 whatever comes.
 */
type Phase = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashing';

export class Lifecycle {
  #phase: Phase = 'starting';

  get phase(): Phase {
    return this.#phase;
  }

  /** A stop or a crash has begun. */
  get ending(): boolean {
    return this.#phase === 'stopping' || this.#phase === 'stopped' || this.#phase === 'crashing';
  }

  /** The daemon told systemd it is ready. */
  running(): void {
    if (this.#phase === 'starting') this.#phase = 'running';
  }

  /** A stop begins. False when one had begun already (or a crash): this is then the second. */
  stopping(): boolean {
    if (this.ending) return false;
    this.#phase = 'stopping';
    return true;
  }

  /** The stop's work is done (or its deadline passed). */
  stopped(): void {
    if (this.#phase === 'stopping') this.#phase = 'stopped';
  }

  /** A crash begins. False when one had begun already. */
  crashing(): boolean {
    if (this.#phase === 'crashing') return false;
    this.#phase = 'crashing';
    return true;
  }
}
