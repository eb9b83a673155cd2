import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { configFile, TICKER_AND_SLEEPER } from '../helpers/config-file.js';


/** Whether `pid` has a TCP socket listening on `port` (its fds against /proc/net/tcp). */
function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['tcp', 'tcp6'].some((table) =>
    readFileSync(`/proc/net/${table}`, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // local address, state 0A = LISTEN, inode
      .some((cols) => cols[1]?.endsWith(`:${hex}`) === true && cols[3] === '0A' && inodes.has(cols[9] ?? '')),
  );
}

describe('signals', () => {
  it('SIGUSR1 logs the status report (tasks and their steps, steps done, config, last reload) and never opens the inspector', async () => {
    const config = configFile(TICKER_AND_SLEEPER);
    const daemon = startDaemon(['run', '--config', config]);
    try {
      await daemon.waitFor((l) => l.msg === 'going to sleep');
      daemon.child.kill('SIGUSR1');
      const status = await daemon.waitFor((l) => l.msg.startsWith('status: '), 10_000, 'the status line');
      assert.match(status.msg, new RegExp(`^status: running; 2 tasks: ticker\\[[01]\\] (log "tick"|sleep 50ms), sleeper\\[1\\] sleep 1h; \\d+ steps done; config ${config} loaded \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; no reload yet$`));
      daemon.child.kill('SIGHUP');
      await daemon.waitFor((l) => l.msg.startsWith('reloaded '));
      const seen = daemon.lines.length;
      daemon.child.kill('SIGUSR1');
      const next = await daemon.waitFor((l) => l.msg.startsWith('status: ') && daemon.lines.indexOf(l) >= seen, 10_000, 'a status line after the reload');
      assert.match(next.msg, /; last reload: applied at [\d-]+T[\d:.]+Z: kept ticker, sleeper; restarted none; cancelled none; started none$/);
      assert.equal(listensOn(daemon.child.pid ?? 0, 9229), false, 'no inspector socket');
      assert.doesNotMatch(daemon.stderr(), /Debugger listening/);
      daemon.child.kill('SIGTERM');
      assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });

  for (const signal of ['SIGUSR2', 'SIGALRM'] as const) {
    it(`${signal} is logged and ignored: the daemon runs on and stops cleanly`, async () => {
      const daemon = startDaemon(['run', '--config', configFile(TICKER_AND_SLEEPER)]);
      try {
        await daemon.waitFor((l) => l.msg === 'tick');
        daemon.child.kill(signal);
        const line = await daemon.waitFor((l) => l.msg.startsWith(signal), 10_000, `the ${signal} line`);
        assert.equal(line.level, 40);
        assert.equal(line.msg, `${signal} received and ignored: asyncdemo does nothing on it (SIGHUP reloads the config, SIGUSR1 logs the status)`);
        const at = daemon.lines.indexOf(line);
        await daemon.waitFor((l) => l.msg === 'tick' && daemon.lines.indexOf(l) > at, 10_000, 'a tick after the signal');
        assert.equal(daemon.child.exitCode, null);
        daemon.child.kill('SIGTERM');
        assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
      } finally {
        daemon.child.kill('SIGKILL');
      }
    });
  }

  it('signals that come once the stop has finished change nothing: exit 0, and "stopped" is the last line', async () => {
    const daemon = startDaemon(['run', '--config', configFile(TICKER_AND_SLEEPER)]);
    await daemon.waitFor((l) => l.msg === 'going to sleep');
    daemon.child.kill('SIGTERM');
    await daemon.waitFor((l) => l.msg.startsWith('stopped after'));
    // The daemon may still be finishing its log files, or gone already.
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGHUP'] as const) {
      try {
        daemon.child.kill(signal);
      } catch {
        // Gone.
      }
    }
    assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
    assert.match(daemon.texts().at(-1) ?? '', /^stopped after \d+ steps$/);
  });
});
