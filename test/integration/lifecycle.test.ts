import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, it } from 'node:test';
import { ROOT, startDaemon, tempDir } from '../helpers/daemon.js';
import { configFile, TICKER_AND_SLEEPER } from '../helpers/config-file.js';
import { waitFor } from '../helpers/wait.js';


describe('stopping', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} cancels every task, each says so, and the daemon exits 0`, async () => {
      const daemon = startDaemon(['run', '--config', configFile(TICKER_AND_SLEEPER)]);
      await daemon.waitFor((l) => l.msg === 'going to sleep');
      await daemon.waitFor((l) => l.msg === 'tick');
      daemon.child.kill(signal);
      assert.deepEqual(await daemon.waitExit(5000), { code: 0, signal: null });
      const texts = daemon.texts();
      assert.ok(texts.includes(`sleeper[1] cancelled: stopping (${signal})`), texts.join('\n'));
      assert.ok(texts.some((t) => t.startsWith('ticker[') && t.endsWith(`cancelled: stopping (${signal})`)), texts.join('\n'));
      assert.match(texts.at(-1) ?? '', /^stopped after \d+ steps$/);
      assert.ok(!texts.includes('sleeper[2] never'));
    });
  }

  it('Ctrl-C on `npm start` (SIGINT to its process group): the daemon cancels its tasks and exits 0, npm reports 130, as the README says', async () => {
    // Its own process group, as a terminal's foreground job: the kill below reaches npm and the daemon alike.
    const npm = spawn('npm', ['start', '--', '--config', configFile(TICKER_AND_SLEEPER)], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ASYNCDEMO_LOG_DIR: tempDir() } });
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    npm.stderr.resume();
    const exited = once(npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const ended = (): boolean => npm.exitCode !== null || npm.signalCode !== null;
    const started = await waitFor(() => (out.includes('going to sleep') ? true : ended() ? false : undefined), 20_000, '"going to sleep" under npm', { seen: () => out });
    assert.ok(started, `the daemon started under npm:\n${out}`);
    process.kill(-(npm.pid as number), 'SIGINT');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm did not exit within 10 s:\n${out}`)), 10_000).unref());
    const [code, signal] = await Promise.race([exited, timeout]);
    assert.match(out, /sleeper\[1\] cancelled: stopping \(SIGINT\)|"task":"sleeper","step":1,"msg":"cancelled: stopping \(SIGINT\)"/, out);
    assert.match(out, /stopped after \d+ steps/, 'the daemon stopped cleanly, which is its exit 0');
    // What a shell's $? shows: npm ends by re-raising SIGINT on itself, 128 + 2.
    assert.equal(code ?? 128 + (signal === null ? 0 : constants.signals[signal]), 130);
  });

  it('debug mode lists the tasks still pending at shutdown', async () => {
    const daemon = startDaemon(['run', '--config', configFile(`debug: {enabled: true}\n${TICKER_AND_SLEEPER}`)]);
    await daemon.waitFor((l) => l.msg === 'going to sleep');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    const pending = daemon.lines.find((l) => l.msg.startsWith('pending at shutdown'));
    assert.match(pending?.msg ?? '', /^pending at shutdown: (ticker\[\d\], sleeper\[1\]|sleeper\[1\], ticker\[\d\])$/);
  });
});

describe('failures', () => {
  it('a failing task is logged with its name and step; the others and the daemon run on', async () => {
    const daemon = startDaemon([
      'run',
      '--config',
      configFile('tasks:\n  bad:\n    autostart: true\n    steps: [{sleep: 10ms}, {fail: sensor unplugged}]\n  good:\n    autostart: true\n    repeat: forever\n    steps: [{sleep: 20ms}, {log: still fine}]\n'),
    ]);
    const failed = await daemon.waitFor((l) => l.task === 'bad' && l.level === 50);
    assert.equal(failed.step, 1);
    assert.equal((failed['err'] as { code?: unknown } | undefined)?.code, 'TASK_FAILED');
    assert.equal(failed.msg, 'failed: sensor unplugged');
    const failedAt = daemon.lines.length;
    await daemon.waitFor((l) => l.msg === 'still fine' && daemon.lines.indexOf(l) > failedAt);
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
  });

  it('an uncaught exception is logged as fatal and exits 1, so systemd restarts the service', async () => {
    const daemon = startDaemon(['run', '--config', configFile('tasks:\n  c:\n    autostart: true\n    steps: [{log: about to crash}, {crash: wires crossed}, {sleep: 1h}]\n')]);
    assert.deepEqual(await daemon.waitExit(5000), { code: 1, signal: null });
    const fatal = daemon.lines.find((l) => l.level === 60);
    assert.match(fatal?.msg ?? '', /^uncaught exception: wires crossed \(crash step c\[1\]\); exiting$/);
  });

  it('a log directory that cannot be created costs one clear line, and the daemon runs on', async () => {
    const daemon = startDaemon(['run', '--config', configFile(TICKER_AND_SLEEPER)], { ASYNCDEMO_LOG_DIR: '/etc/hostname/logs' });
    await daemon.waitFor((l) => l.msg === 'tick');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    const warnings = daemon.lines.filter((l) => l.level >= 40);
    assert.equal(warnings.length, 1, daemon.texts().join('\n'));
    assert.equal(warnings[0]?.['code'], 'LOG_DIR_UNUSABLE');
    assert.match(warnings[0]?.msg ?? '', /^cannot write log files to \/etc\/hostname\/logs: ENOTDIR; logging to the console only\. Fix: /);
  });
});

describe('reloading (SIGHUP)', () => {
  const before = `
tasks:
  steady:
    autostart: true
    repeat: forever
    steps: [{log: steady}, {sleep: 100ms}]
  timed:
    autostart: true
    repeat: forever
    steps: [{log: timed}, {sleep: 1h}]
`;

  it('applies a new timing: the changed task restarts, the unchanged one runs on', async () => {
    const path = configFile(before);
    const daemon = startDaemon(['run', '--config', path]);
    await daemon.waitFor((l) => l.msg === 'timed');
    writeFileSync(path, before.replace('{sleep: 1h}', '{sleep: 50ms}'));
    daemon.child.kill('SIGHUP');
    const reloaded = await daemon.waitFor((l) => l.msg.startsWith('reloaded'));
    assert.deepEqual(reloaded['changes'], { kept: ['steady'], restarted: ['timed'], cancelled: [], started: [] });
    // The new timing shows: several "timed" lines now come within a second.
    const start = daemon.lines.indexOf(reloaded);
    await daemon.waitFor((l) => l.msg === 'timed' && daemon.lines.indexOf(l) > start + 3 && daemon.lines.slice(start).filter((x) => x.msg === 'timed').length >= 3, 5000, 'three timed lines');
    assert.ok(daemon.texts().includes('timed[1] cancelled: its definition changed; a reload starts it again'));
    assert.ok(!daemon.lines.some((l) => l.task === 'steady' && l.msg.startsWith('cancelled')), 'steady was not restarted');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
  });

  it('refuses an invalid config with the reasons, and keeps running the old one', async () => {
    const path = configFile(before);
    const daemon = startDaemon(['run', '--config', path]);
    await daemon.waitFor((l) => l.msg === 'timed');
    writeFileSync(path, before.replace('{sleep: 1h}', '{sleep: -3}'));
    daemon.child.kill('SIGHUP');
    const refused = await daemon.waitFor((l) => l.msg.startsWith('reload refused'));
    assert.equal(refused.level, 50);
    assert.deepEqual((refused['problems'] as { path: string }[] | undefined)?.map((p) => p.path), ['tasks.timed.steps[1].sleep']);
    assert.ok(refused.msg.includes(`${path}:10: tasks.timed.steps[1].sleep: must not be negative; got -3`), refused.msg);
    const at = daemon.lines.length;
    await daemon.waitFor((l) => l.msg === 'steady' && daemon.lines.indexOf(l) > at, 5000, 'steady after the refused reload');
    assert.equal(daemon.child.exitCode, null);
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
  });

  it('applies a new log level at once', async () => {
    // At warn, the only line before the reload is this task's: it says the daemon is up.
    const marked = `${before}  up:\n    autostart: true\n    steps: [{log: up, level: warn}]\n`;
    const path = configFile(`log: {level: warn}\n${marked}`);
    const daemon = startDaemon(['run', '--config', path]);
    await daemon.waitFor((l) => l.msg === 'up');
    assert.ok(daemon.lines.every((l) => l.level >= 40), daemon.texts().join('\n'));
    writeFileSync(path, `log: {level: info}\n${marked}`);
    daemon.child.kill('SIGHUP');
    await daemon.waitFor((l) => l.msg === 'steady', 5000, 'an info line after the reload');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
  });
});
