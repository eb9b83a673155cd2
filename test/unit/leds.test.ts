import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Step } from '../../src/steps.js';
import { StepLeds, type LedBackend } from '../../src/led/led.js';
import { SimulatedLedBackend } from '../../src/led/simulated.js';
import { systemTime } from '../../src/time.js';
import { FakeTime } from '../helpers/fake-time.js';
import { taskFrom, tasksFrom } from '../helpers/tasks.js';

const settings = { pin: 17, mode: 'toggle', blinkMs: 20 } as const;
const noErrors = (error: Error): void => assert.fail(error);

/** Runs a task's steps through its LED the way the worker does, without the worker. */
function walk(leds: StepLeds, yaml: string, name = 't'): void {
  const task = taskFrom(yaml, name);
  const led = leds.forTask(task);
  for (const step of task.steps as Step[]) {
    led.stepStarted(step);
    led.stepEnded(step);
  }
}

describe('step LEDs (simulated)', () => {
  it('toggle: each step flips the light; the task ending turns it off', () => {
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, settings, noErrors, systemTime);
    walk(leds, 't: {autostart: true, steps: [{log: a}, {log: b}, {log: c}]}');
    leds.forTask(taskFrom('t: {autostart: true, steps: [{log: a}]}', 't')).taskEnded();
    assert.deepEqual(backend.changes, [
      { pin: 17, on: true },
      { pin: 17, on: false },
      { pin: 17, on: true },
      { pin: 17, on: false },
    ]);
  });

  it('hold: on while each step runs', () => {
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, { ...settings, mode: 'hold' }, noErrors, systemTime);
    walk(leds, 't: {autostart: true, steps: [{log: a}, {sleep: 1}]}');
    assert.deepEqual(backend.changes.map((c) => c.on), [true, false, true, false]);
  });

  it('blink: on, then off after blinkMs', async () => {
    const time = new FakeTime();
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, { ...settings, mode: 'blink' }, noErrors, time);
    walk(leds, 't: {autostart: true, steps: [{log: a}]}');
    assert.deepEqual(backend.changes.map((c) => c.on), [true]);
    await time.advance(19);
    assert.deepEqual(backend.changes.map((c) => c.on), [true]);
    await time.advance(1);
    assert.deepEqual(backend.changes.map((c) => c.on), [true, false]);
  });

  it('per-task pin, per-task and per-step modes, and none', () => {
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, settings, noErrors, systemTime);
    walk(leds, 't: {autostart: true, pin: 27, led: hold, steps: [{log: a}, {log: b, led: none}, {log: c, led: toggle}]}');
    assert.deepEqual(backend.changes, [
      { pin: 27, on: true },
      { pin: 27, on: false },
      { pin: 27, on: true },
    ]);
  });

  it('close turns every pin off and releases it', async () => {
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, settings, noErrors, systemTime);
    walk(leds, 't: {autostart: true, steps: [{log: a}]}');
    walk(leds, 'u: {autostart: true, pin: 22, steps: [{log: a}]}', 'u');
    assert.deepEqual([...backend.openPins].sort(), [17, 22]);
    await leds.close();
    assert.deepEqual(backend.openPins.size, 0);
    assert.deepEqual(backend.changes.slice(-2).map((c) => c.on), [false, false]);
  });

  it('a reload that disables the LED releases its pins, and later steps drive nothing', async () => {
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, settings, noErrors, systemTime);
    walk(leds, 't: {autostart: true, steps: [{log: a}]}');
    assert.deepEqual([...backend.openPins], [17]);
    await leds.reconfigure(undefined, settings);
    assert.deepEqual([...backend.openPins], [], 'released');
    const before = backend.changes.length;
    walk(leds, 't: {autostart: true, steps: [{log: a}, {log: b}]}');
    leds.turnOff([taskFrom('t: {autostart: true, steps: [{log: a}]}', 't')]);
    assert.equal(backend.changes.length, before, 'no change after the LED was disabled');
    assert.deepEqual([...backend.openPins], []);
  });

  it('turnOff opens the pin of every task once, which sets it off, before any step', () => {
    const backend = new SimulatedLedBackend();
    const opened: number[] = [];
    const counting: LedBackend = {
      name: 'simulated',
      open(pin) {
        opened.push(pin);
        return backend.open(pin);
      },
    };
    const leds = new StepLeds(counting, settings, noErrors, systemTime);
    const tasks = tasksFrom('a: {autostart: true, steps: [{log: a}]}\nb: {pin: 27, steps: [{log: b}]}\nc: {steps: [{log: c}]}');
    leds.turnOff(tasks.values());
    assert.deepEqual(opened, [17, 27], 'the default pin for a and c, and b\'s own');
    assert.deepEqual(backend.changes, [], 'opened off: nothing was lit');
    walk(leds, 'a: {autostart: true, steps: [{log: a}]}', 'a');
    assert.deepEqual(backend.changes, [{ pin: 17, on: true }], 'the first step lights it from off');
    assert.deepEqual(opened, [17, 27], 'not opened again');
  });

  it('reports a pin that cannot be opened once, and the task runs on', () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const errors: [number, Error][] = [];
    const failing: LedBackend = {
      name: 'sysfs',
      open() {
        throw denied;
      },
    };
    const leds = new StepLeds(failing, settings, (error, pin) => errors.push([pin, error]), systemTime);
    walk(leds, 't: {autostart: true, steps: [{log: a}, {log: b}, {log: c}]}');
    assert.deepEqual(errors.map(([pin, error]) => [pin, error === denied]), [[17, true]], 'once, for its pin, with the error the open threw');
  });

  it('a reload that changes the pin releases the old one; running tasks use the new one', async () => {
    const backend = new SimulatedLedBackend();
    const leds = new StepLeds(backend, settings, noErrors, systemTime);
    const task = taskFrom('t: {autostart: true, steps: [{log: a}]}', 't');
    const led = leds.forTask(task);
    led.stepStarted(task.steps[0] as Step);
    await leds.reconfigure(backend, { ...settings, pin: 5 });
    assert.deepEqual([...backend.openPins], []);
    led.stepStarted(task.steps[0] as Step);
    assert.deepEqual(backend.changes, [
      { pin: 17, on: true },
      { pin: 17, on: false },
      { pin: 5, on: true },
    ]);
  });

  it('a step while a reload lets go of the old pins opens none: the old pin ends released and off, then the new one is used', async () => {
    const opened: number[] = [];
    const released: number[] = [];
    let letGo: () => void = () => {};
    // A backend whose release takes a while, as the character device's helper does.
    const slow: LedBackend = {
      name: 'chardev',
      open(pin) {
        opened.push(pin);
        return { set: () => {}, release: () => new Promise<void>((resolve) => (letGo = () => (released.push(pin), resolve()))), releaseNow: () => {} };
      },
    };
    const leds = new StepLeds(slow, settings, noErrors, systemTime);
    const task = taskFrom('t: {autostart: true, steps: [{log: a}]}', 't');
    const led = leds.forTask(task);
    led.stepStarted(task.steps[0] as Step);
    const reloading = leds.reconfigure(slow, { ...settings, pin: 5 });
    led.stepStarted(task.steps[0] as Step);
    assert.deepEqual(opened, [17], 'nothing opened while the old pin is let go');
    letGo();
    await reloading;
    led.stepStarted(task.steps[0] as Step);
    assert.deepEqual({ opened, released }, { opened: [17, 5], released: [17] });
  });
});
