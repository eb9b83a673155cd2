import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { ExitCode } from '../../src/exit-codes.js';
import { StepLeds, type LedBackend, type LedOutput } from '../../src/led/led.js';
import { SimulatedLedBackend } from '../../src/led/simulated.js';
import type { Logging } from '../../src/log/logger.js';
import type { Notifier } from '../../src/systemd/notifier.js';
import { tempDir } from '../helpers/daemon.js';
import { deferred, FakeTime } from '../helpers/fake-time.js';
import { createSinkLogger } from '../helpers/log-sink.js';

function configAt(file: string, yaml: string): Config {
  writeFileSync(file, yaml);
  return loadConfig({ file, env: {} });
}

/** A logging whose close() and flushSync() are watched, and whose close can be held. */
function fakeLogging(events: string[]) {
  const sink = createSinkLogger('debug');
  let closing: () => Promise<void> = () => Promise.resolve();
  const logging: Logging = {
    logger: sink.logger,
    fileDir: undefined,
    setLevels: () => 'info',
    flushSync: () => void events.push('flushSync'),
    close: () => {
      events.push('log close');
      return closing();
    },
  };
  return { logging, sink, closeWith: (close: () => Promise<void>) => (closing = close) };
}

function recordingNotifier(events: string[], onStopping?: () => void): Notifier {
  return {
    active: true,
    ready: (status) => void events.push(`READY ${status}`),
    reloading: () => void events.push('RELOADING'),
    stopping: () => {
      events.push('STOPPING');
      onStopping?.();
    },
    status: () => {},
    watchdog: () => {},
    watchdogIntervalMs: undefined,
  };
}

/** An LED whose release never ends, like a helper process that hangs. */
function hangingBackend(events: string[]): LedBackend {
  return {
    name: 'chardev',
    open(pin): LedOutput {
      return {
        set: (on) => void events.push(`led ${pin} ${on ? 'on' : 'off'}`),
        release: () => new Promise<void>(() => {}),
        releaseNow: () => void events.push(`led ${pin} released at once`),
      };
    },
  };
}

const TASKS = `
shutdown: {timeoutMs: 500}
tasks:
  ticker:
    autostart: true
    repeat: forever
    steps: [{log: tick}, {sleep: 100ms}]
  sleeper:
    autostart: true
    steps: [{log: asleep}, {sleep: 1h}]
`;

function setup({ yaml = TASKS, backend, onStopping }: { yaml?: string; backend?: (events: string[], time: FakeTime) => LedBackend; onStopping?: (time: FakeTime) => void } = {}) {
  const events: string[] = [];
  const time = new FakeTime();
  const file = join(tempDir('asyncdemo-daemon-'), 'config.yaml');
  const config = configAt(file, yaml);
  const { logging, sink, closeWith } = fakeLogging(events);
  const simulated = new SimulatedLedBackend();
  const leds = new StepLeds(backend?.(events, time) ?? simulated, { pin: 17, mode: 'toggle', blinkMs: 50 }, () => {}, time);
  let loads = 0;
  const lifecycle = new Lifecycle();
  const ledBackendOpened = { count: 0, hold: undefined as Promise<void> | undefined };
  const daemon = new Daemon({
    config,
    reloadConfig: () => {
      loads++;
      return loadConfig({ file, env: {} });
    },
    logging,
    time,
    lifecycle,
    leds,
    openLedBackend: async () => {
      ledBackendOpened.count++;
      events.push('LED backend opened');
      await ledBackendOpened.hold;
      return simulated;
    },
    notifier: recordingNotifier(events, () => onStopping?.(time)),
    crash: (error) => assert.fail(error),
  });
  return { daemon, lifecycle, time, events, sink, file, simulated, closeWith, loads: () => loads, ledBackendOpened };
}

describe('daemon: the stop and its deadline', () => {
  it('arms shutdown.timeoutMs before anything is aborted, and a clean stop clears it: exit 0', async () => {
    let armedAtStopping: number[] = [];
    const { daemon, time, events, sink } = setup({ onStopping: (t) => (armedAtStopping = t.pendingDelays()) });
    daemon.start();
    await time.advance(250);
    const stop = daemon.stop('SIGTERM');
    assert.ok(armedAtStopping.includes(500), `the deadline runs when STOPPING=1 is sent, before the tasks are cancelled: ${armedAtStopping.join(', ')}`);
    await time.settle();
    assert.equal(await stop, ExitCode.ok);
    assert.equal(await daemon.finished, ExitCode.ok);
    assert.deepEqual(time.pendingDelays(), [], 'no timer left: the deadline, the keep-alive and the watchdog are cleared');
    const lines = sink.lines();
    assert.ok(lines.indexOf('stopping (SIGTERM): cancelling 2 running tasks') < lines.indexOf('sleeper[1] cancelled: stopping (SIGTERM)'));
    assert.equal(lines.at(-1), 'stopped after 6 steps');
    assert.deepEqual(events.slice(events.indexOf('STOPPING')), ['STOPPING', 'log close']);
  });

  it('covers the LED: a release that never ends makes the stop end at the deadline, exit 1, the LED set off at once, every line flushed', async () => {
    const { daemon, lifecycle, time, events, sink } = setup({ backend: hangingBackend });
    daemon.start();
    await time.advance(250);
    void daemon.stop('SIGTERM');
    let code: number | undefined;
    void daemon.finished.then((c) => (code = c));
    await time.advance(499);
    assert.equal(code, undefined, 'still within the deadline');
    assert.equal(lifecycle.phase === 'stopped', false);
    await time.advance(1);
    assert.equal(code, ExitCode.failure);
    assert.equal(sink.lines().at(-1), 'stop took longer than 500ms (shutdown.timeoutMs): the LED was still being turned off; exiting with a failure');
    assert.deepEqual(events.slice(-2), ['led 17 released at once', 'flushSync'], 'the LED is let go synchronously, then the lines reach the files');
    assert.ok(!events.includes('log close'));
    assert.equal(lifecycle.phase === 'stopped', true);
  });

  it('covers the log files: a close that never ends makes the stop end at the deadline, exit 1', async () => {
    const { daemon, lifecycle, time, sink, closeWith } = setup();
    closeWith(() => new Promise<void>(() => {}));
    daemon.start();
    await time.advance(10);
    let code: number | undefined;
    void daemon.stop('SIGTERM').then((c) => (code = c));
    await time.advance(499);
    assert.equal(code, undefined);
    assert.equal(lifecycle.phase === 'stopped', true, 'tasks and LED are done; only the log files are left');
    await time.advance(1);
    assert.equal(code, ExitCode.failure);
    assert.match(sink.lines().at(-1) ?? '', /^stop took longer than 500ms \(shutdown\.timeoutMs\): the log files were still being written; exiting with a failure$/);
  });

  it('one deadline for the whole stop: the LED and the log files share it, they do not get one each', async () => {
    // The LED takes 300 ms of the 500 to turn off, then the log files would take 300 more.
    const { daemon, lifecycle, time, closeWith } = setup({
      backend: (events, t) => ({
        name: 'chardev',
        open: (pin) => ({
          set: () => {},
          release: () => new Promise<void>((resolve) => t.setTimeout(resolve, 300)),
          releaseNow: () => void events.push(`led ${pin} released at once`),
        }),
      }),
    });
    daemon.start();
    await time.advance(10);
    let code: number | undefined;
    closeWith(() => new Promise<void>((resolve) => time.setTimeout(resolve, 300)));
    void daemon.stop('SIGTERM').then((c) => (code = c));
    await time.advance(499);
    assert.equal(code, undefined);
    assert.equal(lifecycle.phase === 'stopped', true, 'the LED is off after 300 ms');
    await time.advance(1);
    assert.equal(code, ExitCode.failure, 'the deadline armed at the stop passed while the log files were closing');
  });
});

describe('daemon: reloads', () => {
  const LED_ON = TASKS.replace('shutdown:', 'led: {enabled: true, backend: simulated, pin: 22}\nshutdown:');

  it('overlapping reloads coalesce: one runs at a time, and one more follows however many were asked for meanwhile', async () => {
    const { daemon, time, file, loads, ledBackendOpened, events } = setup();
    daemon.start();
    await time.settle();
    // The first reload changes the LED settings, so it waits for the LED backend.
    writeFileSync(file, LED_ON);
    const held = deferred();
    ledBackendOpened.hold = held.promise;
    const first = daemon.reload();
    await time.settle();
    assert.equal(loads(), 1);
    assert.equal(ledBackendOpened.count, 1);
    const second = daemon.reload();
    const third = daemon.reload();
    await time.settle();
    assert.equal(loads(), 1, 'no second reload while the first awaits the LED');
    assert.equal(daemon.snapshot().state, 'reloading');
    held.resolve();
    assert.equal(await first, true);
    assert.equal(await second, true);
    assert.equal(await third, true);
    assert.equal(loads(), 2, 'exactly one more reload ran for the two asked for meanwhile');
    assert.equal(ledBackendOpened.count, 1, 'the follow-up found the LED settings unchanged');
    assert.deepEqual(
      events.filter((e) => e === 'RELOADING' || e.startsWith('READY')).map((e) => e.split(' ')[0]),
      ['READY', 'RELOADING', 'READY', 'RELOADING', 'READY'],
      'RELOADING=1 and READY=1 pair up, never interleaved',
    );
    await daemon.reload();
    assert.equal(loads(), 3, 'a reload asked for afterwards runs again');
    await daemon.stop('SIGTERM');
  });

  it('a refused reload keeps the old config, and the status says so with the reason', async () => {
    const { daemon, time, file } = setup();
    daemon.start();
    await time.advance(1000);
    writeFileSync(file, TASKS.replace('{sleep: 1h}', '{sleep: -3}'));
    assert.equal(await daemon.reload(), false);
    const status = daemon.snapshot();
    assert.equal(status.lastReload?.result, 'refused');
    assert.equal(status.lastReload?.at, time.wallStart + 1000);
    assert.match(status.lastReload?.reason ?? '', /tasks\.sleeper\.steps\[1\]\.sleep: must not be negative; got -3/);
    assert.equal(status.configLoadedAt, time.wallStart, 'still the config loaded at the start');
    await daemon.stop('SIGTERM');
  });
});

describe('daemon: status and start', () => {
  it('builds one status snapshot: the tasks and the step each is at, steps done, config file and when it was loaded, the last reload', async () => {
    const { daemon, time, file } = setup();
    daemon.start();
    await time.advance(250);
    writeFileSync(file, TASKS.replace('{sleep: 100ms}', '{sleep: 200ms}'));
    await time.advance(50);
    assert.equal(await daemon.reload(), true);
    assert.deepEqual(daemon.snapshot(), {
      state: 'running',
      configFile: file,
      configLoadedAt: time.wallStart + 300,
      tasks: [
        // Restarted by the reload, on the next turn: not started yet.
        { name: 'ticker', step: 0, doing: 'log "tick"', since: null, wakeAt: null, steps: ['log "tick"', 'sleep 200ms'] },
        { name: 'sleeper', step: 1, doing: 'sleep 1h', since: 0, wakeAt: 3_600_000, steps: ['log "asleep"', 'sleep 1h'] },
      ],
      moreTasks: 0,
      stepsDone: 8,
      lastReload: { at: time.wallStart + 300, began: 300, result: 'applied', reason: 'kept sleeper; restarted ticker; cancelled none; started none' },
    });
    void daemon.stop('SIGTERM');
    assert.equal(daemon.snapshot().state, 'stopping');
    // The restarted ticker starts on the next turn, and the stop waits for it to end.
    await time.settle();
    await daemon.finished;
  });

  it('sets the LED off when it starts, before any step: a run ended by SIGKILL may have left it lit', async () => {
    const yaml = 'led: {enabled: true, backend: simulated}\ntasks:\n  late:\n    autostart: true\n    pin: 27\n    steps: [{sleep: 1s, led: none}, {log: now}]\n  other:\n    steps: [{log: other}]\n';
    const { daemon, time, simulated } = setup({ yaml });
    daemon.start();
    assert.deepEqual([...simulated.openPins].sort(), [17, 27], "every task's pin is open, and so set off, at the start");
    assert.deepEqual(simulated.changes, [], 'no step has lit anything yet');
    await time.advance(1000);
    assert.deepEqual(simulated.changes.slice(0, 1), [{ pin: 27, on: true }]);
    const stopped = daemon.stop('SIGTERM');
    await time.settle();
    await stopped;
  });
});
