import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/load.js';
import { ExitCode } from '../../src/exit-codes.js';
import { createProcessHandlers, HALT_TIMEOUT_MS, SIGNAL_LINES_PER_WINDOW, SIGNAL_WINDOW_MS, type HandlerDeps } from '../../src/process-handlers.js';
import { Lifecycle } from '../../src/lifecycle.js';
import type { DaemonSnapshot } from '../../src/status.js';
import { deferred, FakeTime } from '../helpers/fake-time.js';
import { createSinkLogger } from '../helpers/log-sink.js';

const STATUS: DaemonSnapshot = {
  state: 'running',
  configFile: '/etc/asyncdemo/config.yaml',
  configLoadedAt: Date.UTC(2026, 10, 26, 9, 0, 0),
  tasks: [{ name: 'operation', step: 4, doing: 'sleep 3s', since: 0, wakeAt: 3000, steps: [] }],
  moreTasks: 0,
  stepsDone: 42,
  lastReload: null,
};

function setup({ debug = false, halt = () => Promise.resolve() }: { debug?: boolean; halt?: () => Promise<void> } = {}) {
  const time = new FakeTime();
  const sink = createSinkLogger('debug');
  const calls: string[] = [];
  const exited = deferred<number>();
  const lifecycle = new Lifecycle();
  lifecycle.running();
  const daemon: HandlerDeps['daemon'] = {
    stop: (reason) => {
      calls.push(`stop ${reason}`);
      return Promise.resolve(0);
    },
    reload: () => {
      calls.push('reload');
      return Promise.resolve(true);
    },
    halt: (reason) => {
      calls.push(`halt ${reason}`);
      return halt();
    },
    snapshot: () => STATUS,
    config: { settings: { debug: { enabled: debug } } } as unknown as Config,
  };
  const handlers = createProcessHandlers({
    daemon,
    lifecycle,
    logging: {
      logger: sink.logger,
      flushSync: () => void calls.push('flushSync'),
      close: () => {
        calls.push('log close');
        return Promise.resolve();
      },
    },
    leds: { closeNow: () => void calls.push('LED off at once') },
    time,
    exit: (code) => {
      calls.push(`exit ${code}`);
      exited.resolve(code);
    },
  });
  const finishStop = (): void => {
    lifecycle.stopping();
    lifecycle.stopped();
  };
  return { handlers, time, sink, calls, exited: exited.promise, finishStop, lifecycle };
}

describe('process handlers: crashes', () => {
  it('a crash logs the error as fatal, cancels the tasks, closes the logs and exits 1', async () => {
    const { handlers, calls, sink, exited } = setup();
    handlers.fatal(new Error('wires crossed'), 'uncaughtException');
    assert.equal(await exited, ExitCode.failure);
    assert.deepEqual(calls, ['halt the daemon crashed', 'log close', 'exit 1']);
    assert.deepEqual(sink.lines(), ['uncaught exception: wires crossed; exiting']);
    assert.equal(sink.records[0]?.level, 60);
  });

  it('a halt that hangs gets HALT_TIMEOUT_MS, then the exit happens anyway', async () => {
    const { handlers, calls, time } = setup({ halt: () => new Promise<void>(() => {}) });
    handlers.fatal('a string, not an Error', 'unhandledRejection');
    await time.advance(HALT_TIMEOUT_MS - 1);
    assert.deepEqual(calls, ['halt the daemon crashed']);
    await time.advance(1);
    assert.deepEqual(calls, ['halt the daemon crashed', 'log close', 'exit 1']);
  });

  it('a crash during a crash exits 1 at once, with what is logged so far flushed, and starts no second crash', async () => {
    const { handlers, calls, time, sink } = setup({ halt: () => new Promise<void>(() => {}) });
    handlers.fatal(new Error('first'), 'uncaughtException');
    await time.settle();
    handlers.fatal(new Error('second, while handling the first'), 'uncaughtException');
    assert.deepEqual(calls, ['halt the daemon crashed', 'flushSync', 'exit 1']);
    assert.deepEqual(sink.lines(), ['uncaught exception: first; exiting'], 'one fatal line: no second crash handling');
  });

  it('a stop signal during a crash changes nothing: the crash ends in exit 1', async () => {
    const { handlers, calls, time } = setup({ halt: () => new Promise<void>(() => {}) });
    handlers.fatal(new Error('first'), 'uncaughtException');
    handlers.stop('SIGTERM');
    handlers.reload();
    await time.advance(HALT_TIMEOUT_MS);
    assert.deepEqual(calls, ['halt the daemon crashed', 'log close', 'exit 1']);
  });
});

describe('process handlers: stop signals', () => {
  it('a second stop signal while stopping forces the exit: the line, the LED off at once, the lines flushed to the files, exit 1', () => {
    const { handlers, calls, sink } = setup();
    handlers.stop('SIGTERM');
    handlers.forceExit('SIGINT');
    assert.deepEqual(calls, ['stop SIGTERM', 'LED off at once', 'flushSync', 'exit 1']);
    assert.deepEqual(sink.lines(), ['SIGINT while already stopping: exiting now, without finishing the stop']);
  });

  it('once the stop has finished, a signal changes nothing and writes nothing', () => {
    const { handlers, calls, sink, finishStop } = setup();
    handlers.stop('SIGTERM');
    finishStop();
    handlers.forceExit('SIGTERM');
    handlers.status();
    handlers.ignored('SIGUSR2');
    handlers.reload();
    assert.deepEqual(calls, ['stop SIGTERM']);
    assert.deepEqual(sink.lines(), []);
  });
});

describe('process handlers: SIGUSR1, SIGUSR2, SIGALRM', () => {
  it('SIGUSR1 logs the status report built from the daemon snapshot', () => {
    const { handlers, sink } = setup();
    handlers.status();
    assert.deepEqual(sink.lines(), [
      'status: running; 1 task: operation[4] sleep 3s; 42 steps done; config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; no reload yet',
    ]);
    assert.equal(sink.records[0]?.level, 30);
  });

  it('SIGUSR2 and SIGALRM are logged as ignored and do nothing else', () => {
    const { handlers, sink, calls } = setup();
    handlers.ignored('SIGUSR2');
    handlers.ignored('SIGALRM');
    assert.deepEqual(sink.lines(), [
      'SIGUSR2 received and ignored: asyncdemo does nothing on it (SIGHUP reloads the config, SIGUSR1 logs the status)',
      'SIGALRM received and ignored: asyncdemo does nothing on it (SIGHUP reloads the config, SIGUSR1 logs the status)',
    ]);
    assert.deepEqual(sink.records.map((r) => r.level), [40, 40]);
    assert.deepEqual(calls, []);
  });

  it('a flood of them is bounded: ten lines per signal per ten seconds, and the next line counts the rest', async () => {
    const { handlers, sink, time } = setup();
    for (let i = 0; i < 1000; i++) {
      handlers.ignored('SIGUSR2');
      handlers.status();
    }
    assert.equal(SIGNAL_LINES_PER_WINDOW, 10);
    assert.equal(sink.records.length, 20, 'the first ten of each: a status asked for by hand is never lost');
    await time.advance(SIGNAL_WINDOW_MS);
    handlers.ignored('SIGUSR2');
    assert.equal(sink.records.length, 21);
    assert.match(sink.lines()[20] ?? '', /^SIGUSR2 received and ignored: .* \(and 990 more SIGUSR2 before this one, not logged\)$/);
  });
});

describe('process handlers: warnings', () => {
  it('outside debug mode, each distinct warning is logged once, without its stack', () => {
    const { handlers, sink } = setup();
    const leak = Object.assign(new Error('Possible EventEmitter memory leak detected'), { name: 'MaxListenersExceededWarning' });
    handlers.warning(leak);
    handlers.warning(leak);
    handlers.warning(Object.assign(new Error('Possible EventEmitter memory leak detected'), { name: 'MaxListenersExceededWarning' }));
    handlers.warning(Object.assign(new Error('Buffer() is deprecated'), { name: 'DeprecationWarning' }));
    assert.deepEqual(sink.lines(), ['MaxListenersExceededWarning: Possible EventEmitter memory leak detected', 'DeprecationWarning: Buffer() is deprecated']);
    assert.ok(sink.records.every((r) => r.level === 40 && r['err'] === undefined));
  });

  it('in debug mode, every warning is logged, with its stack', () => {
    const { handlers, sink } = setup({ debug: true });
    const warning = Object.assign(new Error('Buffer() is deprecated'), { name: 'DeprecationWarning' });
    handlers.warning(warning);
    handlers.warning(warning);
    assert.equal(sink.records.length, 2);
    assert.match(String((sink.records[0]?.['err'] as { stack?: string } | undefined)?.stack), /DeprecationWarning: Buffer\(\) is deprecated\n\s+at /);
  });
});
