import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, ROOT, startDaemon, tempDir } from '../helpers/daemon.js';
import { listenForNotify } from '../helpers/notify-listener.js';
import { skipIfMissing } from '../helpers/requirements.js';

/**
 * Under systemd without the sd-notify binding, end to end: a copy of the app
 * built from a checkout (dist/, package.json and the lockfile, without the
 * dev dependencies; not the Debian package, whose fix is apt's and is tested
 * in test/systemd/) whose node_modules lacks the
 * binding, as after an `npm ci` that dropped the optional package when its
 * build failed. The fix the daemon gives is then run as it is written.
 */
function installedCopy(): string {
  const app = tempDir('asyncdemo-app-');
  for (const item of ['dist', 'package.json', 'package-lock.json']) cpSync(join(ROOT, item), join(app, item), { recursive: true });
  return app;
}

/** Why the binding cannot be built here, or undefined when it can. */
function buildUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the fix runs as root (sudo npm …); CI runs as root';
  if (!existsSync('/usr/include/systemd/sd-daemon.h')) return 'libsystemd-dev is not installed';
  for (const tool of ['make', 'c++', 'python3', 'npm']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}
const skipBuild = buildUnavailable();

const CONFIG = join(EXAMPLES, 'scenario2-sleep.yaml');

describe('under systemd without the sd-notify binding', () => {
  it('one fatal line with a fix that works, and exit 69 at once (no READY=1, no wait for systemd to give up); after the fix it starts', { timeout: 240_000 }, async (t) => {
    const app = installedCopy();
    const main = join(app, 'dist', 'main.js');
    const listener = await listenForNotify();
    try {
      const missing = startDaemon(['run', '--config', CONFIG], { NOTIFY_SOCKET: listener.socket }, { main });
      assert.deepEqual(await missing.waitExit(10_000), { code: 69, signal: null }, missing.stderr());
      assert.equal(missing.lines.length, 1, missing.texts().join('\n'));
      const fatal = missing.lines[0];
      assert.equal(fatal?.level, 60);
      const fix = `sudo apt install libsystemd-dev build-essential python3, then cd ${app} && sudo npm install --no-save --omit=dev sd-notify && sudo npm rebuild sd-notify`;
      assert.equal(
        fatal?.msg,
        'systemd is waiting for READY=1 (NOTIFY_SOCKET is set) but the sd-notify binding is not installed (its native build failed or was skipped), ' +
          `so the service cannot start. Fix: ${fix}`,
      );
      assert.deepEqual(listener.messages, [], 'nothing was sent to systemd');

      // What follows runs the fix; a machine that cannot build the binding skips it (a failure under CI=true).
      if (skipIfMissing(t, skipBuild && `running the fix needs what builds sd-notify: ${skipBuild} (sudo apt install libsystemd-dev build-essential python3; sudo npm test)`)) return;
      // The fix as written, past the apt step (this machine has the packages): root needs no sudo.
      const command = (fatal?.msg ?? '').split(', then ')[1]?.replaceAll('sudo ', '') ?? '';
      assert.match(command, /^cd \S+ && npm install --no-save --omit=dev sd-notify && npm rebuild sd-notify$/);
      const fixed = spawnSync('sh', ['-c', command], {
        encoding: 'utf8',
        timeout: 180_000,
        // From the npm cache where it can: CI has just filled it with the same lockfile.
        env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
      });
      assert.equal(fixed.status, 0, `${fixed.stdout}\n${fixed.stderr}`);
      assert.ok(existsSync(join(app, 'node_modules', 'sd-notify', 'build', 'Release', 'notify.node')), 'the binding is built');

      const daemon = startDaemon(['run', '--config', CONFIG], { NOTIFY_SOCKET: listener.socket }, { main });
      try {
        const ready = await listener.waitFor((m) => m.fields['READY'] === '1', 15_000, 'READY=1');
        assert.equal(ready.pid, daemon.child.pid);
        daemon.child.kill('SIGTERM');
        assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
      } finally {
        daemon.child.kill('SIGKILL');
      }
    } finally {
      listener.close();
    }
  });
});
