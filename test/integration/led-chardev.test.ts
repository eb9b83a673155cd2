import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_GPIOD_BIN, fakeGpioUnavailable, PI4_CHIPS, startWithFakeGpio } from '../helpers/fake-gpio.js';

// No sysfs GPIO (as on Raspberry Pi OS trixie), a /dev/gpiochip0, and stand-ins
// for gpioset and gpiodetect that record what they are told: the real daemon
// must pick the character device, hold the line with the right arguments for
// each libgpiod, and let go of it at exit.
const skip = fakeGpioUnavailable();
if (skip !== undefined) console.log(`# skipping the GPIO character-device tests: ${skip}`);

const CONFIG = (extra = '') => `
log: {level: debug, file: {enabled: false}}
led: {enabled: true, backend: auto, pin: 17, mode: hold${extra}}
tasks:
  blinker:
    autostart: true
    steps:
      - {sleep: 50ms}
      - {sleep: 50ms, led: none}
      - {sleep: 50ms}
      - {stop: true, led: none}
  holder:
    autostart: true
    steps:
      - {log: lit, led: none}
      - {sleep: 1h, led: none}
`;

interface Gpioset {
  readonly pid: number;
  readonly kind: 'hold' | 'set';
  readonly args: string;
  stopped: boolean;
}

/** The gpioset runs, in order, from the stand-in's record. */
function gpiosets(dir: string): Gpioset[] {
  const runs: Gpioset[] = [];
  let text = '';
  try {
    text = readFileSync(join(dir, 'gpioset.log'), 'utf8');
  } catch {
    return runs;
  }
  for (const line of text.split('\n')) {
    const [what, pid, ...args] = line.split(' ');
    if (what === 'hold' || what === 'set') runs.push({ pid: Number(pid), kind: what, args: args.join(' '), stopped: what === 'set' });
    if (what === 'stop') {
      const run = runs.find((r) => r.pid === Number(pid));
      if (run !== undefined) run.stopped = true;
    }
  }
  return runs;
}

/** Waits, with a bound, until the stand-in's record shows a holder keeping the LED lit. */
async function heldLit(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!gpiosets(dir).some((r) => r.kind === 'hold' && r.args.endsWith('17=1'))) {
    assert.ok(Date.now() < deadline, 'the LED was lit within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The holders' values, then the one-shot that ends it all. A holder replaced
 * at once may be stopped before the stand-in records it: the off holder of
 * the opening, when the first step lights the LED.
 */
function sequence(runs: readonly Gpioset[]): string[] {
  const values = runs.map((r) => `${r.kind} ${r.args.slice(r.args.lastIndexOf('=') + 1)}`);
  return values[0] === 'hold 0' ? values.slice(1) : values;
}

function env(dir: string, version: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${FAKE_GPIOD_BIN}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    FAKE_GPIOD_VERSION: version,
    FAKE_GPIOD_LOG: join(dir, 'gpioset.log'),
    FAKE_GPIODETECT: 'gpiochip0 [pinctrl-bcm2711] (58 lines);gpiochip1 [raspberrypi-exp-gpio] (8 lines)',
    ...extra,
  };
}

describe('LED through the GPIO character device (stand-in gpioset)', { skip }, () => {
  const flavours = [
    { version: '1.6.3', os: 'bookworm', args: (v: number, hold: boolean) => `${hold ? '--mode=signal ' : ''}gpiochip0 17=${v}` },
    { version: '2.1.3', os: 'trixie', args: (v: number, hold: boolean) => `${hold ? '' : '-t0 '}--chip gpiochip0 17=${v}` },
  ];
  for (const { version, os, args } of flavours) {
    it(`libgpiod ${version} (${os}): picked by auto without sysfs GPIO; holds the line per step; ends off and released`, async () => {
      const run = startWithFakeGpio([], CONFIG(), (dir) => env(dir, version), ['gpiochip0']);
      const { code } = await run.finish();
      assert.equal(code, 0, run.daemon.stderr());
      const picked = run.daemon.lines.find((l) => l.msg.startsWith('LED: '))?.msg ?? '';
      assert.match(picked, new RegExp(`^LED: GPIO character device gpiochip0 through gpioset \\(libgpiod ${version.slice(0, 3).replace('.', '\\.')}\\), picked by led.backend: auto because sysfs GPIO is not usable \\(no sysfs GPIO`));
      const runs = gpiosets(run.dir);
      // On and off for each hold, then the release: the holder stopped, a one-shot setting it off.
      assert.deepEqual(sequence(runs), ['hold 1', 'hold 0', 'hold 1', 'set 0']);
      assert.deepEqual(
        runs.filter((r) => r.kind === 'hold').map((r) => r.args).slice(-3),
        [1, 0, 1].map((v) => args(v, true)),
      );
      assert.equal(runs.at(-1)?.args, args(0, false));
      assert.ok(
        runs.every((r) => r.stopped),
        `every gpioset was stopped: ${JSON.stringify(runs)}`,
      );
    });
  }

  it('active-low: gpioset is told --active-low, so 1 still means lit', async () => {
    const run = startWithFakeGpio([], CONFIG(', activeLow: true'), (dir) => env(dir, '2.1.3'), ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    const runs = gpiosets(run.dir);
    assert.deepEqual(sequence(runs), ['hold 1', 'hold 0', 'hold 1', 'set 0']);
    assert.ok(
      runs.every((r) => r.args.includes('--chip gpiochip0 --active-low 17=')),
      JSON.stringify(runs),
    );
  });

  it('SIGTERM while the line is held lit: the holder is stopped, then a one-shot sets it off', async () => {
    const config = CONFIG().replace('{sleep: 1h, led: none}', '{sleep: 1h, led: hold}');
    const run = startWithFakeGpio([], config, (dir) => env(dir, '1.6.3'), ['gpiochip0']);
    await run.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    // The stand-in's record says when the lit holder runs: follow it with a bound.
    await heldLit(run.dir);
    run.daemon.child.kill('SIGTERM');
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    const runs = gpiosets(run.dir);
    assert.equal(runs.at(-1)?.kind, 'set');
    assert.equal(runs.at(-1)?.args, 'gpiochip0 17=0');
    assert.ok(runs.every((r) => r.stopped), JSON.stringify(runs));
  });

  it('a holder that ignores SIGTERM is killed after a second, and the LED still ends off', async () => {
    const config = CONFIG().replace('{sleep: 1h, led: none}', '{sleep: 1h, led: hold}');
    const run = startWithFakeGpio([], config, (dir) => env(dir, '1.6.3', { FAKE_GPIOSET_IGNORE_TERM: '1' }), ['gpiochip0']);
    await run.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    await heldLit(run.dir);
    const sent = Date.now();
    run.daemon.child.kill('SIGTERM');
    assert.equal((await run.finish(5_000)).code, 0, run.daemon.stderr());
    // Generous bounds: the kill comes after the 1 s grace, and not much later.
    const took = Date.now() - sent;
    assert.ok(took >= 900 && took < 4_000, `stopped in ${took} ms`);
    assert.deepEqual(gpiosets(run.dir).at(-1), { pid: gpiosets(run.dir).at(-1)?.pid, kind: 'set', args: 'gpiochip0 17=0', stopped: true });
  });

  it('a second SIGTERM while a stuck holder delays the stop exits 1 at once, saying so', async () => {
    const config = CONFIG().replace('{sleep: 1h, led: none}', '{sleep: 1h, led: hold}');
    const run = startWithFakeGpio([], config, (dir) => env(dir, '1.6.3', { FAKE_GPIOSET_IGNORE_TERM: '1' }), ['gpiochip0']);
    await run.daemon.waitFor((l) => l.task === 'holder' && l.msg === 'lit');
    run.daemon.child.kill('SIGTERM');
    await run.daemon.waitFor((l) => l.msg.startsWith('stopping'));
    run.daemon.child.kill('SIGTERM');
    const { code } = await run.finish(5_000);
    assert.equal(code, 1);
    assert.ok(run.daemon.lines.some((l) => l.msg === 'SIGTERM while already stopping: exiting now, without finishing the stop'), run.daemon.texts().join('\n'));
  });

  it('no gpioset installed: one warning with the fix (apt install gpiod), a simulated LED, and the tasks run', async () => {
    const run = startWithFakeGpio([], CONFIG(), { PATH: '/nonexistent' }, ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    const warnings = run.daemon.lines.filter((l) => l.level === 40 && l.msg.startsWith('LED: '));
    assert.equal(warnings.length, 1, run.daemon.texts().join('\n'));
    assert.match(warnings[0]?.msg ?? '', /using a simulated LED instead: no sysfs GPIO .*; gpioset \(libgpiod\) is not installed\. Fix: sudo apt install gpiod$/);
  });

  it('sysfs GPIO is preferred where it works, even with a character device present', async () => {
    const run = startWithFakeGpio(PI4_CHIPS, CONFIG(), (dir) => env(dir, '2.1.3'), ['gpiochip0']);
    assert.equal((await run.finish()).code, 0, run.daemon.stderr());
    assert.match(run.daemon.lines.find((l) => l.msg.startsWith('LED: '))?.msg ?? '', /^LED: sysfs GPIO through onoff/);
    assert.ok(run.events().some((e) => e.event === 'export' && e.gpio === 529));
  });
});
