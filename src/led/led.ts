import type { LedMode } from '../config/choices.js';
import type { TaskDef } from '../config/tasks.js';
import type { Step } from '../steps.js';
import type { Time } from '../time.js';

/** One GPIO output line, already configured as an output and initially off. */
export interface LedOutput {
  /** Sets the light on or off; active-low wiring is the backend's business. */
  set(on: boolean): void;
  /** Turns the light off and gives the line back (unexport, close the chip). */
  release(): Promise<void>;
  /** The same, synchronously and best effort, for an exit that cannot wait. */
  releaseNow(): void;
}

/** A way to reach GPIO: sysfs through onoff, the character device, or a simulation. */
export interface LedBackend {
  readonly name: 'sysfs' | 'chardev' | 'simulated';
  /** Opens the output for a BCM pin. Throws a typed error that says how to fix it. */
  open(bcmPin: number): LedOutput;
}

/** What the worker tells a task's LED. Every method is cheap and never throws. */
export interface TaskLed {
  stepStarted(step: Step): void;
  stepEnded(step: Step): void;
  /** The task ended for whatever reason: the light goes off, whatever its mode. */
  taskEnded(): void;
}

interface StepLedsSettings {
  /** BCM pin of tasks that name none. */
  readonly pin: number;
  readonly mode: Exclude<LedMode, 'none'>;
  readonly blinkMs: number;
}

/**
 * Turns task steps into LED changes: `toggle` flips the light at each step,
 * `hold` lights it while the step runs, `blink` flashes it for `blinkMs`.
 * Tasks that share a pin share its state. Pins are opened on first use and
 * released by {@link StepLeds.reconfigure} and {@link StepLeds.close}.
 *
 * A task's LED looks up the backend and pin at each step, so a reload that
 * changes the LED settings reaches tasks that keep running.
 */
export class StepLeds {
  #backend: LedBackend | undefined;
  #settings: StepLedsSettings;
  readonly #onError: (error: Error, pin: number) => void;
  readonly #time: Time;
  readonly #pins = new Map<number, PinState | undefined>();
  /** Pins whose release is under way (close), for closeNow. */
  readonly #closing = new Set<PinState>();
  /** Those releases, which every close waits for. */
  readonly #releasing = new Set<Promise<void>>();

  /**
   * @param backend undefined when the LED is disabled: every task LED then does nothing.
   * @param onError where failures to drive a pin are reported, once per pin.
   * @param time the blinks' timers.
   */
  constructor(backend: LedBackend | undefined, settings: StepLedsSettings, onError: (error: Error, pin: number) => void, time: Time) {
    this.#backend = backend;
    this.#settings = settings;
    this.#onError = onError;
    this.#time = time;
  }

  get backendName(): LedBackend['name'] | undefined {
    return this.#backend?.name;
  }

  /** The LED of a task: a small handle, since a daemon may run ten thousand tasks. */
  forTask(task: TaskDef): TaskLed {
    return new TaskLedHandle(this, task);
  }

  stepStarted(task: TaskDef, step: Step): void {
    // The usual case, no LED, costs a step one comparison: this runs at every step of every task.
    if (this.#backend === undefined) return;
    const mode = this.#modeOf(task, step);
    if (mode === 'none') return;
    const pin = this.#pinOf(task);
    if (pin === undefined) return;
    if (mode === 'toggle') pin.set(!pin.on);
    else if (mode === 'hold') pin.set(true);
    else pin.blink(this.#settings.blinkMs);
  }

  stepEnded(task: TaskDef, step: Step): void {
    if (this.#backend !== undefined && this.#modeOf(task, step) === 'hold') this.#pinOf(task)?.set(false);
  }

  taskEnded(task: TaskDef): void {
    // Only a pin this task could have lit: opening one now just to turn it off would be waste.
    if (this.#backend !== undefined && this.#pins.has(task.pin ?? this.#settings.pin)) this.#pinOf(task)?.set(false);
  }

  /**
   * Sets off the pin of each task (its own, or `led.pin`) by opening it: an
   * output opens off. For the start, because a run ended by SIGKILL or a
   * power cut may have left the light on, and a pin is otherwise opened only
   * at its first step.
   */
  turnOff(tasks: Iterable<TaskDef>): void {
    if (this.#backend === undefined) return;
    const pins = new Set<number>();
    for (const task of tasks) pins.add(task.pin ?? this.#settings.pin);
    for (const pin of pins) this.#pin(pin)?.set(false);
  }

  /**
   * Releases every pin and carries on with a new backend and settings (a
   * reload). While the old pins are let go (a helper process may take a
   * moment), steps drive no LED: one that ran then would open an old pin
   * again on the old backend, and it would stay lit for good (seen in the
   * VM suite with the character device). The old pins are released before
   * any new one is taken.
   */
  async reconfigure(backend: LedBackend | undefined, settings: StepLedsSettings): Promise<void> {
    this.#backend = undefined;
    await this.close();
    this.#backend = backend;
    this.#settings = settings;
  }

  /**
   * Turns every pin off and releases it, and waits until every release begun
   * before (an earlier reload's, of pins no longer used) has ended too: no
   * helper process outlives the daemon. Safe to call more than once.
   */
  async close(): Promise<void> {
    const pins = [...this.#pins.values()].filter((p) => p !== undefined);
    this.#pins.clear();
    for (const pin of pins) {
      this.#closing.add(pin);
      const release = pin.release().finally(() => {
        this.#closing.delete(pin);
        this.#releasing.delete(release);
      });
      this.#releasing.add(release);
    }
    await Promise.all(this.#releasing);
  }

  /**
   * The same, synchronously and best effort: for an exit that cannot wait (a
   * second stop signal, a stop past its deadline). Pins still being released
   * by {@link close} are released at once too.
   */
  closeNow(): void {
    for (const pin of [...this.#pins.values(), ...this.#closing]) pin?.releaseNow();
    this.#pins.clear();
    this.#closing.clear();
  }

  #modeOf(task: TaskDef, step: Step): LedMode {
    return step.led ?? task.led ?? this.#settings.mode;
  }

  #pinOf(task: TaskDef): PinState | undefined {
    return this.#backend === undefined ? undefined : this.#pin(task.pin ?? this.#settings.pin);
  }

  #pin(bcm: number): PinState | undefined {
    if (this.#pins.has(bcm)) return this.#pins.get(bcm);
    let state: PinState | undefined;
    try {
      state = new PinState((this.#backend as LedBackend).open(bcm), (error) => this.#onError(error, bcm), this.#time);
    } catch (error) {
      // Remembered as undefined: a pin that cannot be opened is reported once, not at every step.
      this.#onError(error as Error, bcm);
    }
    this.#pins.set(bcm, state);
    return state;
  }
}

class TaskLedHandle implements TaskLed {
  readonly #leds: StepLeds;
  readonly #task: TaskDef;

  constructor(leds: StepLeds, task: TaskDef) {
    this.#leds = leds;
    this.#task = task;
  }

  stepStarted(step: Step): void {
    this.#leds.stepStarted(this.#task, step);
  }

  stepEnded(step: Step): void {
    this.#leds.stepEnded(this.#task, step);
  }

  taskEnded(): void {
    this.#leds.taskEnded(this.#task);
  }
}

class PinState {
  on = false;
  #blink: unknown;
  #failed = false;
  readonly #output: LedOutput;
  readonly #onError: (error: Error) => void;
  readonly #time: Time;

  constructor(output: LedOutput, onError: (error: Error) => void, time: Time) {
    this.#output = output;
    this.#onError = onError;
    this.#time = time;
  }

  set(on: boolean): void {
    this.#clearBlink();
    if (on === this.on) return;
    this.on = on;
    try {
      this.#output.set(on);
    } catch (error) {
      // Report once: a pin that fails keeps failing, and the log must not fill with it.
      if (!this.#failed) this.#onError(error as Error);
      this.#failed = true;
    }
  }

  blink(ms: number): void {
    this.set(true);
    // ref: false: a blink in flight must not keep a stopping daemon alive; release() turns it off anyway.
    this.#blink = this.#time.setTimeout(() => this.set(false), ms, { ref: false });
  }

  async release(): Promise<void> {
    this.#clearBlink();
    this.on = false;
    await this.#output.release();
  }

  releaseNow(): void {
    this.#clearBlink();
    this.on = false;
    try {
      this.#output.releaseNow();
    } catch {
      // Exiting anyway; nothing more can be done for this pin.
    }
  }

  #clearBlink(): void {
    if (this.#blink !== undefined) this.#time.clearTimeout(this.#blink);
    this.#blink = undefined;
  }
}
