import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFile } from '../helpers/config-file.js';
import { startDaemon, tempDir } from '../helpers/daemon.js';
import { assertSdNotifyBinding, listenForNotify, needsSdNotifyBinding, type NotifyMessage } from '../helpers/notify-listener.js';

const TICK = 'tasks:\n  tick:\n    autostart: true\n    repeat: forever\n    steps:\n      - log: tick\n      - log: quiet tick\n        level: debug\n      - sleep: 50ms\n';

describe('a reload tells the truth about what it applied', () => {
  it('applies what it can, and says at warn level, in the reload line and in STATUS which changed settings need a restart', needsSdNotifyBinding(), async () => {
    assertSdNotifyBinding();
    const listener = await listenForNotify();
    const path = configFile(`log: {level: info, console: {format: json}, file: {keep: 5}}\n${TICK}`);
    const daemon = startDaemon(['run', '--config', path], { NOTIFY_SOCKET: listener.socket });
    const readyAfter = (after: NotifyMessage): Promise<NotifyMessage> =>
      listener.waitFor((m) => m.fields['READY'] === '1' && listener.messages.indexOf(m) > listener.messages.indexOf(after), 5000, 'READY=1 after the reload');
    try {
      const ready = await listener.waitFor((m) => m.fields['READY'] === '1', 10_000, 'READY=1');
      await daemon.waitFor((l) => l.msg === 'tick', 5000);

      // log.level is applied at once; the console format and the files' keep count only at a restart.
      writeFileSync(path, `log: {level: debug, console: {format: pretty}, file: {keep: 2}}\n${TICK}`);
      daemon.child.kill('SIGHUP');
      const warned = await daemon.waitFor((l) => l.msg.startsWith('reload: '), 5000, 'the warning');
      assert.equal(warned.level, 40);
      assert.equal(warned.msg, 'reload: log.console.format, log.file.keep changed but need a restart to take effect (systemctl restart asyncdemo); the running values stay until then');
      assert.deepEqual(warned['restartNeeded'], ['log.console.format', 'log.file.keep']);
      const reloaded = await daemon.waitFor((l) => l.msg.startsWith('reloaded '), 5000, 'the reload line');
      assert.equal(reloaded.msg, `reloaded ${path} except log.console.format, log.file.keep (need a restart): kept tick; restarted none; cancelled none; started none`);
      const status = await readyAfter(ready);
      assert.match(status.fields['STATUS'] ?? '', /; restart needed for log\.console\.format, log\.file\.keep$/);
      // Applied: debug lines now show. Not applied: the console is still JSON, not pretty.
      const at = daemon.lines.indexOf(reloaded);
      await daemon.waitFor((l) => l.msg === 'quiet tick' && daemon.lines.indexOf(l) > at, 5000, 'a debug line after the reload');
      assert.deepEqual(daemon.stray, [], 'every console line still JSON');

      // Undone: nothing pending any more.
      writeFileSync(path, `log: {level: debug, console: {format: json}, file: {keep: 5}}\n${TICK}`);
      daemon.child.kill('SIGHUP');
      const again = await daemon.waitFor((l) => l.msg.startsWith('reloaded ') && l !== reloaded, 5000, 'the second reload line');
      assert.equal(again.msg, `reloaded ${path}: kept tick; restarted none; cancelled none; started none`);
      assert.equal(daemon.lines.filter((l) => l.msg.startsWith('reload: ')).length, 1, 'no second warning');
      const cleared = await readyAfter(status);
      assert.doesNotMatch(cleared.fields['STATUS'] ?? '', /restart needed/);

      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });

  it('lists at most ten task names per kind in the reload line, as the start line does, and counts them all', async () => {
    const path = join(tempDir(), 'config.yaml');
    const tasks = (sleep: string): string => `tasks:\n${Array.from({ length: 300 }, (_, i) => `  t${i}: {autostart: true, steps: [{sleep: ${sleep}}]}`).join('\n')}\n`;
    writeFileSync(path, tasks('1h'));
    const daemon = startDaemon(['run', '--config', path]);
    try {
      const started = await daemon.waitFor((l) => l.msg.startsWith('starting with'), 10_000);
      assert.match(started.msg, /\(t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 and 290 more\)$/);
      writeFileSync(path, tasks('2h'));
      daemon.child.kill('SIGHUP');
      const reloaded = await daemon.waitFor((l) => l.msg.startsWith('reloaded '), 10_000, 'the reload line');
      assert.equal(reloaded.msg, `reloaded ${path}: kept none; restarted t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 and 290 more; cancelled none; started none`);
      assert.deepEqual(reloaded['counts'], { kept: 0, restarted: 300, cancelled: 0, started: 0 });
      assert.equal((reloaded['changes'] as { restarted: string[] }).restarted.length, 10);
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });
});
