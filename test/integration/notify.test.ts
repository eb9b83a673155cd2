import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, startDaemon } from '../helpers/daemon.js';
import { configFile } from '../helpers/config-file.js';
import { assertSdNotifyBinding, listenForNotify, needsSdNotifyBinding, type NotifyMessage } from '../helpers/notify-listener.js';

const kind = (m: NotifyMessage): string => ['READY', 'RELOADING', 'STOPPING', 'WATCHDOG'].find((k) => m.fields[k] === '1') ?? 'STATUS';

/**
 * The daemon's side of sd_notify against a stand-in for systemd's socket.
 * Datagrams from one sender arrive in the order they were sent, so the
 * assertions are about order and content, never about when they came.
 */
describe('talking to systemd (a NOTIFY_SOCKET listener standing in)', needsSdNotifyBinding(), () => {
  it('through the binding, from the daemon itself: READY=1 once the autostart tasks ran; RELOADING=1 then READY=1 at SIGHUP; STOPPING=1 at SIGTERM', async () => {
    assertSdNotifyBinding();
    const listener = await listenForNotify();
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')], { NOTIFY_SOCKET: listener.socket });
    try {
      const ready = await listener.waitFor((m) => kind(m) === 'READY', 10_000, 'READY=1');
      // The autostart task's first steps (a line, a spawn, a line) were done before READY=1 was sent.
      assert.equal(ready.fields['STATUS'], '2 tasks running, 3 steps done');
      await daemon.waitFor((l) => l.msg === 'operation1');
      daemon.child.kill('SIGHUP');
      await daemon.waitFor((l) => l.msg.startsWith('reloaded '));
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
      const stopping = await listener.waitFor((m) => kind(m) === 'STOPPING', 10_000, 'STOPPING=1');
      assert.equal(stopping.fields['STATUS'], 'stopping: SIGTERM');
      assert.deepEqual(listener.messages.map(kind), ['READY', 'RELOADING', 'READY', 'STOPPING'], 'no pings without WATCHDOG_USEC; nothing else');
      assert.match(listener.messages[1]?.fields['MONOTONIC_USEC'] ?? '', /^\d+$/);
      assert.ok(
        listener.messages.every((m) => m.pid === daemon.child.pid),
        `every message from the daemon's own process (the sd-notify binding), none from a child: ${listener.messages.map((m) => m.pid).join(', ')} vs ${String(daemon.child.pid)}`,
      );
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });

  it('pings WATCHDOG=1 from the event loop: a step that blocks the loop stops the pings until it ends', async () => {
    const listener = await listenForNotify();
    const config = configFile('tasks:\n  hog:\n    autostart: true\n    steps: [{sleep: 0.5}, {log: hogging}, {busy: 1s}, {log: free}, {sleep: 1h}]\n');
    // 200 ms: a ping every 100 ms, each followed by the status line, which counts the steps done.
    const daemon = startDaemon(['run', '--config', config], { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '200000' });
    try {
      await daemon.waitFor((l) => l.msg === 'free', 15_000, 'the end of the busy step');
      const after = await listener.waitFor((m) => m.fields['STATUS'] === '1 task running, 4 steps done', 10_000, 'a status after the block');
      const messages = listener.messages.slice(0, listener.messages.indexOf(after) + 1);
      const lastBefore = messages.map((m) => m.fields['STATUS']).lastIndexOf('1 task running, 0 steps done');
      assert.ok(lastBefore > 0, 'pings and status lines while the task slept');
      assert.ok(messages.slice(1, lastBefore).some((m) => kind(m) === 'WATCHDOG'), 'pinged before the block');
      // The loop was held for a second, ten ping periods: a pinger outside the loop would have sent ten.
      assert.deepEqual(messages.slice(lastBefore + 1).map(kind), ['WATCHDOG', 'STATUS'], 'one ping between the last status before the block and the first after it');
      assert.ok(listener.messages.every((m) => m.pid === daemon.child.pid));
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });

  it('sends no pings when WATCHDOG_PID names another process', async () => {
    assertSdNotifyBinding();
    const listener = await listenForNotify();
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')], { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' });
    try {
      await listener.waitFor((m) => kind(m) === 'READY');
      // 200 ms of the daemon's own time: with pings every 50 ms it would have sent some by now.
      await daemon.waitFor((l) => l.msg === 'operation2', 10_000);
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
      // STOPPING=1 is the daemon's last message: everything before it has arrived.
      await listener.waitFor((m) => kind(m) === 'STOPPING', 10_000, 'STOPPING=1');
      assert.ok(!listener.messages.some((m) => kind(m) === 'WATCHDOG'), listener.messages.map((m) => m.text).join(' | '));
    } finally {
      daemon.child.kill('SIGKILL');
      listener.close();
    }
  });
});
