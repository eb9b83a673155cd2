import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFile } from '../helpers/config-file.js';
import { ROOT, runCli, startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';
import { fakeGpioUnavailable, startWithFakeGpio } from '../helpers/fake-gpio.js';
import { unlessMissing } from '../helpers/requirements.js';
import { waitFor } from '../helpers/wait.js';

// What comes from outside and must not hurt the daemon: files planted where it
// writes, text in its config, signals at start, the status file `asyncdemo
// status` reads, strays in the log directory, configs that would spin.
// Each of these failed on the release before (ASYNCDEMO_TEST_MAIN=<its
// dist/main.js> runs them against another build).

const TICKER = 'tasks:\n  ticker:\n    autostart: true\n    repeat: forever\n    steps: [{log: tick}, {sleep: 20ms}]\n';

async function stopCleanly(daemon: RunningDaemon): Promise<void> {
  daemon.child.kill('SIGTERM');
  assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null }, daemon.stderr());
}

describe('files planted where the daemon writes its status', () => {
  for (const [what, plant] of [
    ['a symbolic link to a root-only file', 'ln -s "$VICTIM" "$0/status.json.$$.tmp"'],
    ['a FIFO', 'mkfifo "$0/status.json.$$.tmp"'],
  ] as const) {
    it(`${what} at the temporary name is removed, never followed nor waited on; one line says so; the status is published`, async () => {
      const dir = tempDir();
      const victim = join(tempDir(), 'root-only');
      writeFileSync(victim, 'secret\n', { mode: 0o600 });
      // The temporary name holds the daemon's PID: the shell plants it under its own, which exec hands on to node.
      const daemon = startDaemon(['run', '--config', configFile(TICKER)], { ASYNCDEMO_STATUS_DIR: dir, VICTIM: victim }, { prefix: ['sh', '-c', `${plant} && exec "$@"`, dir] });
      try {
        await daemon.waitFor((l) => l.msg === 'tick');
        const line = await daemon.waitFor((l) => /status\.json\.\d+\.tmp was /.test(l.msg), 10_000, 'the line about what was planted');
        assert.equal(line.level, 40);
        assert.match(line.msg, /removed it and wrote the file afresh$/);
        assert.equal(readFileSync(victim, 'utf8'), 'secret\n');
        assert.equal(statSync(victim).mode & 0o777, 0o600);
        const status = await runCli(['status', '--json'], { ASYNCDEMO_STATUS_DIR: dir });
        assert.equal(status.code, 0, status.stdout + status.stderr);
        await stopCleanly(daemon);
      } finally {
        daemon.child.kill('SIGKILL');
      }
    });
  }
});

describe('text from a config in the console', () => {
  it('a log step cannot forge a journal entry or its priority: NUL, line breaks and a line past journald\'s LineMax stay one line at info', async () => {
    const long = `${'x'.repeat(49_135)}<0>FORGED`;
    const path = configFile(
      `tasks:\n  t:\n    autostart: true\n    steps:\n      - log: "nul\\0<0>forged"\n      - log: "ok\\nother[3] fake line"\n      - log: "\\e[2J\\e]52;c;c2VjcmV0\\a"\n      - log: ${long}\n      - stop: true\n`,
    );
    const daemon = startDaemon(['run', '--config', path], { ASYNCDEMO_LOG_FORMAT: 'journal' });
    assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
    const steps = daemon.stray.filter((l) => l.startsWith('<6>t['));
    assert.equal(steps.length, 5, daemon.stray.join('\n').slice(0, 2000));
    for (const line of steps) {
      assert.match(line, /^<6>t\[\d\] /, 'each at info, as written by the daemon');
      assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f]/, 'no control character reaches the journal');
      assert.ok(Buffer.byteLength(line) < 48 * 1024, `${Buffer.byteLength(line)} bytes`);
    }
    assert.ok(!daemon.stray.some((l) => l.startsWith('<0>') || l.startsWith('other[3]')), 'no line of its own for the forged text');
    assert.match(steps[3] ?? '', /… \[cut: 49149 characters in all; the log files have the whole line\]$/, 'the line with its prefix, cut');
  });
});

/** Waits until the process has a handler for `signal` (its bit in /proc/PID/status SigCgt). */
function handles(pid: number, signal: number): Promise<true> {
  return waitFor(
    () => {
      try {
        const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return caught !== undefined && (BigInt(`0x${caught}`) >> BigInt(signal - 1)) & 1n ? true : undefined;
      } catch {
        return undefined;
      }
    },
    10_000,
    `a handler for signal ${signal}`,
    { everyMs: 1 },
  );
}

const SIGHUP = 1;
const SIGTERM = 15;
const GATED_PYTHON = join(ROOT, 'test', 'fixtures', 'gated-python3');
const gpioSkip = unlessMissing(fakeGpioUnavailable());

describe('signals while the daemon starts', () => {
  // The start is held in the middle (the LED's chip detection waits on a FIFO the test controls), so each signal lands there, whatever the machine's speed.
  const heldStart = (dir: string): { env: Record<string, string>; gate: string } => {
    const gate = join(dir, 'gate');
    execFileSync('mkfifo', [gate]);
    return { gate, env: { PATH: `${GATED_PYTHON}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, ASYNCDEMO_TEST_GATE: gate } };
  };
  const LED_TICKER = `led: {enabled: true, backend: auto}\n${TICKER}`;

  for (const signal of ['SIGHUP', 'SIGUSR2', 'SIGALRM', 'SIGTERM'] as const) {
    it(`${signal} in the middle of the start does not kill it: ${signal === 'SIGTERM' ? 'a clean stop, exit 0, before any task starts' : signal === 'SIGHUP' ? 'it starts, then reloads' : 'it starts and says it ignored it'}`, { skip: gpioSkip }, async () => {
      let gate = '';
      const run = startWithFakeGpio([], LED_TICKER, (dir) => {
        const held = heldStart(dir);
        gate = held.gate;
        return held.env;
      }, ['gpiochip0']);
      const { daemon } = run;
      try {
        await waitFor(() => (existsSync(`${gate}.entered`) ? true : undefined), 10_000, 'the start held at the chip detection');
        daemon.child.kill(signal);
        writeFileSync(gate, 'go\n');
        if (signal === 'SIGTERM') {
          assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null }, daemon.stderr());
          assert.ok(!daemon.lines.some((l) => l.msg === 'tick'), daemon.texts().join('\n'));
          assert.ok(daemon.lines.some((l) => l.msg.startsWith('stopping (SIGTERM)')), daemon.texts().join('\n'));
          return;
        }
        await daemon.waitFor((l) => l.msg === 'tick', 10_000, 'a tick: it started');
        if (signal === 'SIGHUP') await daemon.waitFor((l) => l.msg.startsWith('reloaded '), 10_000, 'the held reload');
        else await daemon.waitFor((l) => l.msg.startsWith(`${signal} received and ignored`), 10_000, 'the line that says it was ignored');
        await stopCleanly(daemon);
      } finally {
        daemon.child.kill('SIGKILL');
      }
    });
  }

  it('from the first line of JavaScript, before the config is read, SIGHUP and SIGTERM have a handler', async () => {
    const daemon = startDaemon(['run', '--config', configFile(TICKER)]);
    try {
      await handles(daemon.child.pid ?? 0, SIGHUP);
      await handles(daemon.child.pid ?? 0, SIGTERM);
      daemon.child.kill('SIGHUP');
      await daemon.waitFor((l) => l.msg.startsWith('reloaded '), 10_000, 'the reload');
      await stopCleanly(daemon);
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });
});

/** A status file with these fields changed, as `asyncdemo status` would find it. */
function statusFile(dir: string, changes: Record<string, unknown>): void {
  const base = {
    format: 2,
    version: '0.1.0',
    commit: 'unknown',
    pid: process.pid,
    bootId: null,
    startTicks: '1',
    state: 'running',
    startedAt: Date.UTC(2026, 10, 26),
    startedMonotonicMs: 0,
    publishedAt: Date.UTC(2026, 10, 26),
    publishedMonotonicMs: 0,
    configFile: '/nonexistent/config.yaml',
    configSha256: 'a'.repeat(64),
    configLoadedAt: Date.UTC(2026, 10, 26),
    lastReload: null,
    tasks: [],
    moreTasks: 0,
    stepsDone: 0,
    logDir: null,
    led: { backend: 'simulated', pin: 17 },
    settings: [],
    stopped: null,
  };
  writeFileSync(join(dir, 'status.json'), JSON.stringify({ ...base, ...changes }));
}

describe('asyncdemo status reads its file as outside input', () => {
  it('a FIFO at status.json: one line and exit 4, at once, not a hang', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'status.json')]);
    const { code, stdout, stderr } = await runCli(['status'], { ASYNCDEMO_STATUS_DIR: dir }, 5000);
    assert.equal(code, 4);
    assert.equal(stdout, '');
    assert.match(stderr, /^asyncdemo: .*status\.json is a FIFO \(named pipe\), not a status file asyncdemo wrote\n$/);
  });

  it('a directory, or values of the wrong kind: one line and exit 4, no stack trace', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'status.json'));
    const directory = await runCli(['status'], { ASYNCDEMO_STATUS_DIR: dir });
    assert.equal(directory.code, 4);
    assert.match(directory.stderr, /^asyncdemo: .* is a directory, not a status file asyncdemo wrote\n$/);
    for (const changes of [{ startedAt: 'yesterday' }, { configSha256: 42 }, { tasks: [{ name: 'x' }] }, { lastReload: { at: 'soon' } }]) {
      const other = tempDir();
      statusFile(other, changes);
      const result = await runCli(['status'], { ASYNCDEMO_STATUS_DIR: other });
      assert.equal(result.code, 4, JSON.stringify(changes));
      assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });

  it("text fields reach the terminal inert: a clear-screen or clipboard sequence is printed escaped", async () => {
    const dir = tempDir();
    statusFile(dir, {
      startTicks: null,
      configFile: '/etc/\u001b[2J\u001b]52;c;c2VjcmV0\u0007config.yaml',
      tasks: [{ name: 'evil\u001b[31m', step: 0, doing: 'log "\u009b2J"', since: 0, wakeAt: null, steps: [] }],
      lastReload: { at: 0, began: 0, result: 'refused', reason: 'x\r\u2028y' },
    });
    const { code, stdout } = await runCli(['status'], { ASYNCDEMO_STATUS_DIR: dir });
    assert.equal(code, 0, stdout);
    assert.doesNotMatch(stdout.replaceAll('\n', ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    assert.match(stdout, /\\x1b\[2J\\x1b\]52;c;c2VjcmV0\\x07config\.yaml/);
  });

  it('a PID now held by another process (another start time) is not reported as running: exit 3', async () => {
    const dir = tempDir();
    // This test's own PID, alive, with a start time that is not its own.
    statusFile(dir, { startTicks: '1' });
    const { code, stdout } = await runCli(['status'], { ASYNCDEMO_STATUS_DIR: dir });
    assert.equal(code, 3, stdout);
    assert.match(stdout, new RegExp(`process ${process.pid}, which wrote .* ended without a clean stop`));
  });
});

/** Every line in the log files of `dir`, and the files by name. */
function logFiles(dir: string): { files: string[]; lines: string[] } {
  const files = readdirSync(dir).filter((f) => /^asyncdemo\.\d+\.log$/.test(f));
  return { files, lines: files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) };
}

describe('strays in the log directory', () => {
  for (const stray of ['dump.9007199254740993.log', 'dump.1000000000000000000000.log']) {
    it(`${stray} is left alone: files are still numbered from asyncdemo's own and roll at their size; no crash`, async () => {
      const logs = tempDir();
      writeFileSync(join(logs, stray), 'not ours\n');
      writeFileSync(join(logs, 'asyncdemo.4.log'), '');
      const path = configFile(`log: {file: {size: 1k, keep: 100}}\ntasks:\n  chatty:\n    autostart: true\n    repeat: 200\n    steps: [{log: "${'y'.repeat(60)}"}, {sleep: 1ms}]\n  stopper:\n    autostart: true\n    steps: [{sleep: 1h}]\n`);
      const daemon = startDaemon(['run', '--config', path], { ASYNCDEMO_LOG_DIR: logs });
      try {
        await waitFor(() => (daemon.lines.filter((l) => l.task === 'chatty').length >= 200 ? true : undefined), 30_000, 'the 200 lines');
        await stopCleanly(daemon);
      } finally {
        daemon.child.kill('SIGKILL');
      }
      const { files } = logFiles(logs);
      assert.ok(files.length > 5, `rolled: ${files.join(', ')}`);
      assert.ok(files.every((f) => Number(/\.(\d+)\.log$/.exec(f)?.[1]) < 1000), `numbered from 4: ${files.join(', ')}`);
      assert.ok(files.every((f) => statSync(join(logs, f)).size < 8 * 1024), 'no file grew past its size by more than a batch');
      assert.equal(readFileSync(join(logs, stray), 'utf8'), 'not ours\n');
      assert.equal(daemon.stderr(), '');
    });
  }

  it('a directory named like the newest log file does not turn file logging off: the start begins the next file', async () => {
    const logs = tempDir();
    writeFileSync(join(logs, 'asyncdemo.4.log'), '');
    mkdirSync(join(logs, 'asyncdemo.5.log'));
    const daemon = startDaemon(['run', '--config', configFile(TICKER)], { ASYNCDEMO_LOG_DIR: logs });
    try {
      await daemon.waitFor((l) => l.msg === 'tick');
      await stopCleanly(daemon);
    } finally {
      daemon.child.kill('SIGKILL');
    }
    assert.ok(!daemon.lines.some((l) => l['code'] === 'LOG_DIR_UNUSABLE'), daemon.texts().join('\n'));
    assert.match(readFileSync(join(logs, 'asyncdemo.6.log'), 'utf8'), /"msg":"tick"/);
  });
});

describe('configs that would spin a core', () => {
  for (const [what, tasks, cycle] of [
    ['two tasks that spawn each other', 'a: {autostart: true, steps: [{spawn: b}]}\n  b: {steps: [{log: b}, {spawn: a}]}', 'a spawns b spawns a'],
    ['three', 'a: {autostart: true, steps: [{spawn: b}]}\n  b: {steps: [{spawn: c}]}\n  c: {steps: [{busy: 1ms}, {spawn: a}]}', 'a spawns b spawns c spawns a'],
  ] as const) {
    it(`${what} with no sleep among them are refused, the cycle named: exit 78`, async () => {
      const { code, stderr } = await runCli(['check-config', configFile(`tasks:\n  ${tasks}\n`)]);
      assert.equal(code, 78, stderr);
      assert.match(stderr, new RegExp(`tasks\\.a\\.steps\\[0\\]\\.spawn: ${cycle}, and none of them sleeps`));
    });
  }

  it('a cycle in which one task sleeps is accepted', async () => {
    const { code, stderr } = await runCli(['check-config', configFile('tasks:\n  a: {autostart: true, steps: [{spawn: b}]}\n  b: {steps: [{sleep: 1s}, {spawn: a}]}\n')]);
    assert.equal(code, 0, stderr);
  });
});

describe('asyncio semantics at the edges', () => {
  it('a task cancelled and spawned again starts again (a cancelled task is done)', async () => {
    const path = configFile(`tasks:
  boss:
    autostart: true
    steps: [{spawn: worker}, {sleep: 0.1}, {cancel: worker}, {spawn: worker}, {sleep: 0.1}, {stop: true}]
  worker:
    steps: [{log: worker started}, {sleep: 1h}]
`);
    const daemon = startDaemon(['run', '--config', path]);
    assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
    assert.deepEqual(
      daemon.texts().filter((t) => t.startsWith('worker[')),
      ['worker[0] worker started', 'worker[1] cancelled by boss[2]', 'worker[0] worker started', 'worker[1] cancelled: stopping (requested by boss[5])'],
    );
  });
});
