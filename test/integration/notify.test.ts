import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, startDaemon, tempDir } from '../helpers/daemon.js';
import { listenForNotify } from '../helpers/notify-listener.js';

function configFile(text: string): string {
  const path = join(tempDir(), 'config.yaml');
  writeFileSync(path, text);
  return path;
}

describe('talking to systemd (a NOTIFY_SOCKET listener standing in)', () => {
  it('READY=1 once the autostart tasks run; STATUS; RELOADING=1 then READY=1 at SIGHUP; STOPPING=1 at SIGTERM', async () => {
    const listener = await listenForNotify();
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')], { NOTIFY_SOCKET: listener.socket });
    try {
      const ready = await listener.waitFor((m) => m.fields['READY'] === '1', 10_000, 'READY=1');
      assert.match(ready.fields['STATUS'] ?? '', /^\d+ tasks? running, \d+ steps done$/);
      const started = daemon.lines.find((l) => l.msg === 'start operation');
      assert.ok(started !== undefined && started.time <= ready.at + 1, 'the autostart task ran before READY=1');
      daemon.child.kill('SIGHUP');
      const reloading = await listener.waitFor((m) => m.fields['RELOADING'] === '1', 5000, 'RELOADING=1');
      assert.match(reloading.fields['MONOTONIC_USEC'] ?? '', /^\d+$/);
      await listener.waitFor((m) => m.fields['READY'] === '1' && m.at >= reloading.at && m !== ready, 5000, 'READY=1 after the reload');
      daemon.child.kill('SIGTERM');
      const stopping = await listener.waitFor((m) => m.fields['STOPPING'] === '1', 5000, 'STOPPING=1');
      assert.match(stopping.fields['STATUS'] ?? '', /^stopping: SIGTERM$/);
      assert.equal((await daemon.waitExit()).code, 0);
      assert.ok(!listener.messages.some((m) => m.fields['WATCHDOG'] !== undefined), 'no pings without WATCHDOG_USEC');
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });

  it('pings WATCHDOG=1 from the event loop at half the period, and stops while the loop is blocked', async () => {
    const listener = await listenForNotify();
    const config = configFile('tasks:\n  hog:\n    autostart: true\n    steps: [{sleep: 0.5}, {log: hogging}, {busy: 1s}, {log: free}, {sleep: 1h}]\n');
    const daemon = startDaemon(['run', '--config', config], { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '200000' });
    try {
      const free = await daemon.waitFor((l) => l.msg === 'free', 10_000, 'the end of the busy step');
      const hogging = daemon.lines.find((l) => l.msg === 'hogging');
      await listener.waitFor((m) => m.fields['WATCHDOG'] === '1' && m.at > free.time + 150, 5000, 'a ping after the block');
      const pings = listener.messages.filter((m) => m.fields['WATCHDOG'] === '1').map((m) => m.at);
      assert.ok(pings.filter((t) => t < (hogging?.time ?? 0)).length >= 3, `pings every ~100 ms before the block: ${pings.length}`);
      const during = pings.filter((t) => t > (hogging?.time ?? 0) + 50 && t < free.time - 50);
      assert.deepEqual(during, [], 'no ping while the loop is blocked');
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });

  it('sends no pings when WATCHDOG_PID names another process', async () => {
    const listener = await listenForNotify();
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')], { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' });
    try {
      await listener.waitFor((m) => m.fields['READY'] === '1');
      await daemon.waitFor((l) => l.msg === 'operation2', 5000);
      assert.ok(!listener.messages.some((m) => m.fields['WATCHDOG'] !== undefined));
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });
});
