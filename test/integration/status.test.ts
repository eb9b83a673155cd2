import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configFile } from '../helpers/config-file.js';
import { runCli, startDaemon, tempDir } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const TICK = 'tasks:\n  ticker:\n    autostart: true\n    repeat: forever\n    steps: [{log: tick}, {sleep: 20ms}]\n  sleeper:\n    autostart: true\n    steps: [{sleep: 1h}]\n';

interface StatusJson {
  pid: number;
  state: string;
  configFile: string;
  configSha256: string;
  lastReload: { result: string; reason: string } | null;
  tasks: { name: string; step: number; doing: string; steps: string[] }[];
  stepsDone: number;
  logDir: string | null;
  led: { backend: string; pin: number | null };
  settings: { key: string; value: unknown; source: string }[];
}

/** `asyncdemo status --json` until `until` holds, within a bound. */
function statusUntil(env: Record<string, string>, until: (s: StatusJson) => boolean, what: string): Promise<StatusJson> {
  let last = '';
  return waitFor(
    async () => {
      const result = await runCli(['status', '--json'], env);
      last = `exit ${result.code}: ${result.stdout}${result.stderr}`;
      if (result.code !== 0) return undefined;
      const status = JSON.parse(result.stdout) as StatusJson;
      return until(status) ? status : undefined;
    },
    10_000,
    `status with ${what}`,
    { seen: () => `last: ${last}` },
  );
}

describe('asyncdemo status', () => {
  it('shows the running daemon: pid, config and its sha256, tasks at their steps, log directory, LED, settings with sources; then a refused reload with its reason; then "not running", exit 3', async () => {
    const statusDir = tempDir();
    const logDir = tempDir();
    const path = configFile(`led: {enabled: true, backend: simulated, pin: 22}\n${TICK}`);
    const env = { ASYNCDEMO_STATUS_DIR: statusDir };
    const daemon = startDaemon(['run', '--config', path], { ...env, ASYNCDEMO_LOG_DIR: logDir, ASYNCDEMO_DEBUG: 'yes' });
    try {
      await daemon.waitFor((l) => l.msg === 'tick', 10_000, 'the first tick');
      const status = await statusUntil(env, (s) => s.tasks.length === 2, 'two tasks');
      assert.equal(status.pid, daemon.child.pid);
      assert.equal(status.state, 'running');
      assert.equal(status.configFile, path);
      assert.equal(status.configSha256, createHash('sha256').update(readFileSync(path)).digest('hex'));
      assert.equal(status.lastReload, null);
      const sleeper = status.tasks.find((t) => t.name === 'sleeper');
      assert.deepEqual({ name: sleeper?.name, step: sleeper?.step, doing: sleeper?.doing, steps: sleeper?.steps }, { name: 'sleeper', step: 0, doing: 'sleep 1h', steps: ['sleep 1h'] });
      assert.equal(status.logDir, logDir);
      assert.deepEqual(status.led, { backend: 'simulated', pin: 22 });
      assert.deepEqual(status.settings.find((s) => s.key === 'debug.enabled'), { key: 'debug.enabled', value: true, source: 'environment ASYNCDEMO_DEBUG' });
      assert.deepEqual(status.settings.find((s) => s.key === 'led.pin'), { key: 'led.pin', value: 22, source: 'file' });

      const text = await runCli(['status'], env);
      assert.equal(text.code, 0);
      assert.match(text.stdout, new RegExp(`^asyncdemo: +running \\(pid ${daemon.child.pid}\\), up \\d+s, since `, 'm'));
      assert.match(text.stdout, /^ {2}sleeper\[0\] sleep 1h \(since \d+\.\d s, 59m \d+s left\)$/m);

      writeFileSync(path, `led: {enabled: true, backend: simulated, pin: 22}\ntasks:\n  ticker: {autostart: true, steps: [{sleep: forever}]}\n`);
      daemon.child.kill('SIGHUP');
      const refused = await statusUntil(env, (s) => s.lastReload !== null, 'a reload');
      assert.equal(refused.lastReload?.result, 'refused');
      assert.match(refused.lastReload?.reason ?? '', /tasks\.ticker\.steps\[0\]\.sleep/);
      assert.equal(refused.configSha256, status.configSha256, 'the old config runs on');

      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
      const after = await runCli(['status'], env);
      assert.equal(after.code, 3);
      assert.match(after.stdout, new RegExp(`^asyncdemo is not running: the daemon's last run \\(pid ${daemon.child.pid}, started .*\\) stopped at .* with exit 0$`, 'm'));
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });

  it('a daemon killed with SIGKILL leaves its file; status says it is not running, naming the pid, exit 3', async () => {
    const statusDir = tempDir();
    const env = { ASYNCDEMO_STATUS_DIR: statusDir };
    const path = configFile(TICK);
    const daemon = startDaemon(['run', '--config', path], { ...env, ASYNCDEMO_LOG_DIR: tempDir() });
    await daemon.waitFor((l) => l.msg === 'tick', 10_000, 'the first tick');
    await statusUntil(env, () => true, 'any status');
    daemon.child.kill('SIGKILL');
    await daemon.waitExit();
    const after = await runCli(['status'], env);
    assert.equal(after.code, 3);
    assert.match(after.stdout, new RegExp(`process ${daemon.child.pid}, which wrote .*status\\.json at .*, ended without a clean stop`));
  });
});
