import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Line } from '../helpers/daemon.js';
import { FAKE_CDEV_BIN, fakeGpioUnavailable, startWithFakeGpio } from '../helpers/fake-gpio.js';
import { waitFor } from '../helpers/wait.js';
import { unlessMissing } from '../helpers/requirements.js';

// The stop's deadline and the forced exit, end to end: the real daemon, its
// real log files, and the real character-device helper against a fake kernel
// whose value ioctls take 1.5 s each (test/fixtures/gpio-cdev/), so turning
// the LED off takes longer than the stop's deadline, or long enough for a
// second signal to land in it. The helper drives the line off by itself once
// its input closes, so the line ends off even after the daemon has gone.
const skip = unlessMissing(fakeGpioUnavailable());

/** Longer than the stop's deadline below, and than the helper's 1 s kill: a daemon that waited would have killed it first. */
const STALL_MS = 1500;

const CONFIG = (timeoutMs: number): string => `
shutdown: {timeoutMs: ${timeoutMs}}
led: {enabled: true, backend: chardev, pin: 17, mode: hold}
tasks:
  holder:
    autostart: true
    steps: [{log: lit, led: none}, {sleep: 1h}]
`;

function env(dir: string, stallMs = STALL_MS): Record<string, string> {
  return {
    PATH: `${FAKE_CDEV_BIN}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    FAKE_GPIO_LOG: join(dir, 'gpio-cdev.log'),
    FAKE_GPIO_CHIPS: 'gpiochip0=pinctrl-bcm2711=58',
    FAKE_GPIO_STALL_MS: String(stallMs),
    ASYNCDEMO_LOG_DIR: join(dir, 'logs'),
  };
}

function fileLines(dir: string): Line[] {
  return readdirSync(dir)
    .filter((f) => /^asyncdemo\..*\d+\.log$/.test(f))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Line);
}

/** What the fake kernel was asked to do for BCM 17, in order: "request 0", "set 1", …, "release". */
function lineHistory(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'gpio-cdev.log'), 'utf8');
  } catch {
    return []; // no helper has requested the line yet
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; offset: number; value?: number })
    .filter((e) => e.offset === 17)
    .map((e) => (e.event === 'release' ? 'release' : `${e.event} ${e.value}`));
}

/** Waits, with a bound, until the fake kernel's log (a file the helper appends to) ends with `last`. */
function lineEndsWith(dir: string, last: string, timeoutMs = 10_000): Promise<string[]> {
  return waitFor(
    () => {
      const history = lineHistory(dir);
      return history.at(-1) === last ? history : undefined;
    },
    timeoutMs,
    `line history ending with "${last}"`,
    { everyMs: 10, seen: () => `the line's history: ${lineHistory(dir).join(', ')}` },
  );
}

describe('the stop, end to end', { skip }, () => {
  it('a stop that overruns shutdown.timeoutMs (a slow LED) exits 1, says so in the log files, and the LED still ends off', async () => {
    const run = startWithFakeGpio([], CONFIG(600), env, ['gpiochip0']);
    after(() => run.daemon.child.kill('SIGKILL'));
    await run.daemon.waitFor((l) => l.msg === 'lit');
    await lineEndsWith(run.dir, 'set 1');
    run.daemon.child.kill('SIGTERM');
    const { code } = await run.finish(10_000);
    assert.equal(code, 1, run.daemon.stderr());
    const expected = 'stop took longer than 600ms (shutdown.timeoutMs): the LED was still being turned off; exiting with a failure';
    assert.equal(run.daemon.lines.at(-1)?.msg, expected, run.daemon.texts().join('\n'));
    assert.equal(fileLines(join(run.dir, 'logs')).at(-1)?.msg, expected, 'the line is in the log files too');
    assert.deepEqual(await lineEndsWith(run.dir, 'release'), ['request 0', 'set 1', 'set 0', 'release'], 'driven off, then released, by the helper after the exit');
  });

  it('a second stop signal during the stop exits 1 at once; its line reaches the log files, and the LED still ends off', async () => {
    const run = startWithFakeGpio([], CONFIG(5000), env, ['gpiochip0']);
    after(() => run.daemon.child.kill('SIGKILL'));
    await run.daemon.waitFor((l) => l.msg === 'lit');
    await lineEndsWith(run.dir, 'set 1');
    // Back to back, so the second lands while the first's stop waits for the LED (which the
    // fake kernel stalls), whatever the machine's load. Which of the two Node reports first
    // is not fixed (both may be pending at once): the first starts the stop, the other ends it.
    run.daemon.child.kill('SIGINT');
    run.daemon.child.kill('SIGTERM');
    const { code } = await run.finish(10_000);
    assert.equal(code, 1, run.daemon.stderr());
    const first = /^stopping \((SIGINT|SIGTERM)\)/.exec(run.daemon.lines.find((l) => l.msg.startsWith('stopping ('))?.msg ?? '')?.[1];
    assert.ok(first !== undefined, run.daemon.texts().join('\n'));
    const expected = `${first === 'SIGINT' ? 'SIGTERM' : 'SIGINT'} while already stopping: exiting now, without finishing the stop`;
    assert.equal(run.daemon.lines.at(-1)?.msg, expected, run.daemon.texts().join('\n'));
    const inFiles = fileLines(join(run.dir, 'logs')).map((l) => `${l.time} ${l.msg}`);
    assert.deepEqual(inFiles, run.daemon.lines.map((l) => `${l.time} ${l.msg}`), 'every line, the forced-exit line included, in the files');
    assert.deepEqual(await lineEndsWith(run.dir, 'release'), ['request 0', 'set 1', 'set 0', 'release'], 'driven off, then released, by the helper after the exit');
  });
});

describe('stops that a signal or a reload meets', { skip }, () => {
  it('a stop begun by a stop step treats the first SIGTERM as the second stop signal: exit 1 at once, saying so', async () => {
    const config = `${CONFIG(5000)}  stopper:\n    autostart: true\n    steps: [{sleep: 0.2, led: none}, {stop: true, led: none}]\n`;
    const run = startWithFakeGpio([], config, env, ['gpiochip0']);
    after(() => run.daemon.child.kill('SIGKILL'));
    // The stop waits for the LED, which the fake kernel stalls: the signal lands in it.
    await run.daemon.waitFor((l) => l.msg.startsWith('stopping (requested by stopper[1])'), 10_000, 'the stop step\'s stop');
    run.daemon.child.kill('SIGTERM');
    const { code } = await run.finish(10_000);
    assert.equal(code, 1, run.daemon.texts().join('\n'));
    assert.equal(run.daemon.lines.at(-1)?.msg, 'SIGTERM while already stopping: exiting now, without finishing the stop');
  });

  it('a stop right after a reload that moved the LED waits for the old pin to be driven off and released: no helper outlives the daemon', async () => {
    // Each value takes 0.5 s: long enough for the stop to land in the old pin's release, short of the 1 s after which a helper is killed.
    const run = startWithFakeGpio([], CONFIG(5000), (dir) => env(dir, 500), ['gpiochip0']);
    after(() => run.daemon.child.kill('SIGKILL'));
    await run.daemon.waitFor((l) => l.msg === 'lit');
    await lineEndsWith(run.dir, 'set 1');
    writeFileSync(run.configFile, CONFIG(5000).replace('pin: 17', 'pin: 22'));
    run.daemon.child.kill('SIGHUP');
    // The reload opens the new backend, then lets the old pin go (stalled by the fake kernel): the stop comes in that.
    await waitFor(() => (run.daemon.lines.filter((l) => l.msg.startsWith('LED: ')).length >= 2 ? true : undefined), 10_000, 'the reload reopening the LED');
    run.daemon.child.kill('SIGTERM');
    const { code } = await run.finish(20_000);
    assert.equal(code, 0, run.daemon.texts().join('\n'));
    // Read at the exit: the old line's whole history is there already, released.
    assert.deepEqual(lineHistory(run.dir), ['request 0', 'set 1', 'set 0', 'release'], 'BCM 17 off and released before the daemon exited');
  });
});
