import type { Logger } from '../log/logger.js';
import type { LedBackend, LedOutput } from './led.js';

interface LedChange {
  readonly pin: number;
  readonly on: boolean;
}

/**
 * An LED that exists only in memory, for machines without GPIO and for tests:
 * it records every change and reports it at debug level.
 */
export class SimulatedLedBackend implements LedBackend {
  readonly name = 'simulated';
  readonly changes: LedChange[] = [];
  readonly #log: Logger | undefined;
  /** Pins currently open, so tests can check that everything was released. */
  readonly openPins = new Set<number>();

  constructor(log?: Logger) {
    this.#log = log;
  }

  open(pin: number): LedOutput {
    this.openPins.add(pin);
    const record = (on: boolean): void => {
      // Keep the record bounded on a long-running daemon; tests look at the start.
      if (this.changes.length < 10_000) this.changes.push({ pin, on });
      this.#log?.debug(`led ${pin} ${on ? 'on' : 'off'} (simulated)`);
    };
    const release = (): void => {
      if (!this.openPins.delete(pin)) return;
      record(false);
    };
    return { set: record, release: async () => release(), releaseNow: release };
  }
}
