import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { APT_INSTALL, thisPackage } from '../helpers/package.js';
import { waitForSync } from '../helpers/wait.js';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './sandbox.js';
import { unlessMissing } from '../helpers/requirements.js';

/**
 * asyncdemo under a real systemd (252 here), booted as PID 1 of private
 * namespaces on a throwaway overlay of /: installed from its Debian package
 * (npm run package) with apt, then driven with systemctl and read with journalctl, as a Pi owner would.
 * The steps build on each other and run in order.
 */
const skip = unlessMissing(sandboxUnavailable());

const CONFIG = '/etc/asyncdemo/config.yaml';
const DROP_IN = '/etc/systemd/system/asyncdemo.service.d/test.conf';
const TEST_CONFIG = `
tasks:
  steady:
    autostart: true
    repeat: forever
    steps: [{log: steady tick}, {sleep: 200ms}]
  timed:
    autostart: true
    repeat: forever
    steps: [{log: timed tick}, {sleep: 2s}]
  warner:
    autostart: true
    steps: [{log: a warning for the journal, level: warn}]
`;

describe('asyncdemo under a real systemd', { skip, timeout: 300_000 }, () => {
  let sandbox: Sandbox;
  const show = (property: string): string => sandbox.ok(['systemctl', 'show', 'asyncdemo', '-p', property, '--value']).trim();
  /** Journal lines of the unit as `epoch-seconds message`, after the cursor. */
  const journal = (args: string[] = []): string[] =>
    sandbox
      .ok(['journalctl', '-u', 'asyncdemo', '--no-pager', '-o', 'short-unix', ...args])
      .split('\n')
      .filter((l) => /^\d/.test(l));
  const messages = (args: string[] = []): string[] => journal(args).map((l) => l.replace(/^\S+ \S+ /, ''));

  let deb: string;
  before(() => {
    deb = thisPackage();
    sandbox = bootSandbox();
  });
  after(() => sandbox?.kill());

  it('1. apt installs the package; systemctl start returns once it is READY, and it is active', (t: TestContext) => {
    const install = sandbox.run([...APT_INSTALL, deb], 240_000);
    assert.equal(install.code, 0, install.stdout + install.stderr);
    assert.equal(show('ActiveState'), 'active', 'the package started it');
    assert.equal(show('UnitFileState'), 'enabled');
    sandbox.write(CONFIG, TEST_CONFIG);
    sandbox.ok(['systemctl', 'stop', 'asyncdemo']);
    const started = Date.now();
    sandbox.ok(['systemctl', 'start', 'asyncdemo']);
    const returnedAfter = Date.now() - started;
    // Only READY=1 moves a Type=notify unit to active, and it carried the status line.
    assert.equal(show('ActiveState'), 'active');
    assert.match(show('StatusText'), /^\d+ tasks? running, \d+ steps done/);
    assert.equal(sandbox.run(['systemctl', 'is-active', 'asyncdemo']).stdout.trim(), 'active');
    const toReadyMs = (Number(show('ActiveEnterTimestampMonotonic')) - Number(show('ExecMainStartTimestampMonotonic'))) / 1000;
    t.diagnostic(`exec to READY=1: ${toReadyMs.toFixed(1)} ms; systemctl start returned after ${returnedAfter} ms`);
  });

  it('2. the journal shows the step lines, and -p warning filters', () => {
    const lines = waitForSync(() => {
      const m = messages();
      return m.some((l) => l.includes('steady[0] steady tick')) ? m : undefined;
    }, 10_000, 'step lines in the journal');
    assert.ok(lines.some((l) => /^asyncdemo\[\d+\]: timed\[0\] timed tick$/.test(l)), lines.join('\n'));
    const warnings = messages(['-p', 'warning']);
    assert.ok(warnings.some((l) => l.endsWith('warner[0] a warning for the journal')), warnings.join('\n'));
    assert.ok(!warnings.some((l) => l.includes('tick')), 'info lines are filtered out');
  });

  it('3. editing a sleep timing and reloading changes the timing; the unchanged task is not restarted', () => {
    const pid = show('MainPID');
    sandbox.write(CONFIG, TEST_CONFIG.replace('{sleep: 2s}', '{sleep: 100ms}'));
    sandbox.ok(['systemctl', 'reload', 'asyncdemo']);
    const reloaded = waitForSync(() => messages().find((l) => l.includes(': reloaded ')), 10_000, 'the reload line');
    assert.match(reloaded, /kept steady; restarted timed;/);
    // The new timing, by counting rather than timing: timed (now every 100 ms) ticks more often
    // than steady (every 200 ms), where before the reload it ticked once for ten of steady's.
    const after = (): string[] => {
      const lines = messages();
      return lines.slice(lines.indexOf(reloaded) + 1);
    };
    const lines = waitForSync(() => {
      const l = after();
      return l.filter((x) => x.endsWith('steady tick')).length >= 10 ? l : undefined;
    }, 20_000, 'ten steady ticks after the reload');
    const upToTenth = lines.slice(0, lines.findIndex((_, i) => lines.slice(0, i + 1).filter((x) => x.endsWith('steady tick')).length === 10) + 1);
    const timed = upToTenth.filter((l) => l.endsWith('timed tick')).length;
    // About 20 at the new timing; at most 2 at the old one. A loaded machine delays both tasks alike.
    assert.ok(timed >= 5, `${timed} timed ticks for 10 steady ticks after the reload`);
    assert.ok(!after().some((l) => l.includes('steady[') && l.includes('cancelled')), 'steady was not cancelled by the reload');
    assert.equal(show('MainPID'), pid, 'the same process');
  });

  it('4. a broken config makes systemctl reload fail with the reason, and the old config keeps running', () => {
    const pid = show('MainPID');
    const inForce = sandbox.ok(['cat', CONFIG]);
    sandbox.write(CONFIG, TEST_CONFIG.replace('{sleep: 2s}', '{sleep: -3}'));
    const reload = sandbox.run(['systemctl', 'reload', 'asyncdemo']);
    assert.notEqual(reload.code, 0, 'systemctl reload fails');
    assert.match(reload.stderr, /asyncdemo\.service/);
    const reason = waitForSync(() => messages().find((l) => l.includes('tasks.timed.steps[1].sleep: must not be negative; got -3')), 10_000, 'the reason in the journal');
    assert.ok(reason);
    assert.equal(show('ActiveState'), 'active');
    assert.equal(show('MainPID'), pid);
    const before = journal().length;
    waitForSync(() => (journal().slice(before).some((l) => l.endsWith('steady tick')) ? true : undefined), 5000, 'steady ticking on');
    // The daemon itself refused it, so asyncdemo status says so, and that the file on disk is not what runs.
    const status = sandbox.ok(['asyncdemo', 'status']);
    assert.match(status, /^last reload: +refused at \S+: invalid config \/etc\/asyncdemo\/config\.yaml \(1 problem\): \/etc\/asyncdemo\/config\.yaml:\d+: tasks\.timed\.steps\[1\]\.sleep: must not be negative; got -3$/m);
    assert.match(status, /^ +edited at \S+, not applied: sudo systemctl reload asyncdemo \(or: sudo asyncdemo edit\)$/m);
    // asyncdemo reload asks the same, and says why on its terminal.
    const ours = sandbox.run(['asyncdemo', 'reload']);
    assert.equal(ours.code, 78, ours.stdout + ours.stderr);
    assert.match(ours.stderr, /^asyncdemo: reload refused, the running config stays: .*tasks\.timed\.steps\[1\]\.sleep: must not be negative; got -3\n$/);
    // One line per problem in the journal, at err, without a second "asyncdemo:" after the identifier.
    assert.ok(!messages().some((l) => /^asyncdemo\[\d+\]: asyncdemo: /.test(l)), 'no doubled prefix');
    sandbox.write(CONFIG, inForce);
    assert.doesNotMatch(sandbox.ok(['asyncdemo', 'status']), /not applied/, 'the file on disk is the config in force again');
  });

  it('4b. check-config with no file checks the service\'s config; a typo is one problem; the reload line has no JSON tail', () => {
    sandbox.write(CONFIG, TEST_CONFIG.replace('{sleep: 2s}', '{slep: 2s}'));
    const check = sandbox.run(['asyncdemo', 'check-config']);
    assert.equal(check.code, 78);
    assert.equal(check.stderr, 'asyncdemo: invalid config /etc/asyncdemo/config.yaml (1 problem):\n  /etc/asyncdemo/config.yaml:10: tasks.timed.steps[1].slep: unknown key; did you mean sleep?\n');
    sandbox.write(CONFIG, TEST_CONFIG);
    assert.match(sandbox.ok(['asyncdemo', 'check-config']), /^\/etc\/asyncdemo\/config\.yaml: OK \(3 tasks/);
    sandbox.ok(['systemctl', 'reload', 'asyncdemo']);
    const reloaded = waitForSync(() => messages().filter((l) => l.includes(': reloaded ')).at(-1), 10_000, 'the reload line');
    assert.match(reloaded, /: reloaded \/etc\/asyncdemo\/config\.yaml: kept steady; restarted timed; cancelled none; started none$/, 'a sentence, with no fields after it');
  });

  it('5. systemctl stop ends it cleanly: cancellation lines, exit 0, no SIGKILL', () => {
    sandbox.ok(['systemctl', 'stop', 'asyncdemo']);
    const lines = messages();
    assert.ok(lines.some((l) => /steady\[\d\] cancelled: stopping \(SIGTERM\)$/.test(l)), lines.slice(-10).join('\n'));
    assert.ok(lines.some((l) => /stopped after \d+ steps$/.test(l)));
    assert.ok(!lines.some((l) => /State 'stop-sigterm' timed out|Killing process/.test(l)), 'systemd did not have to kill it');
    assert.equal(show('ExecMainStatus'), '0');
    assert.equal(show('Result'), 'success');
    assert.equal(show('ActiveState'), 'inactive');
  });

  it('6. a blocked event loop gets it killed and restarted by the watchdog; so does kill -9', () => {
    // Shorter periods for the test only; the hardening is the shipped unit's.
    sandbox.write(DROP_IN, '[Service]\nWatchdogSec=2\nRestartSec=1\n');
    sandbox.ok(['systemctl', 'daemon-reload']);
    // The sleep first: an autostart task's first steps run before READY=1, and the watchdog starts after it.
    sandbox.write(CONFIG, 'tasks:\n  hog:\n    autostart: true\n    steps: [{sleep: 1s}, {log: hogging}, {busy: 8s}, {sleep: 1h}]\n');
    sandbox.ok(['systemctl', 'start', 'asyncdemo']);
    const firstPid = show('MainPID');
    waitForSync(() => (Number(show('NRestarts')) >= 1 ? true : undefined), 20_000, 'a restart by the watchdog');
    const log = sandbox.ok(['journalctl', '-u', 'asyncdemo', '--no-pager']);
    assert.match(log, /Watchdog timeout/);
    assert.notEqual(show('MainPID'), firstPid);

    sandbox.write(CONFIG, TEST_CONFIG);
    sandbox.ok(['systemctl', 'restart', 'asyncdemo']);
    const pid = show('MainPID');
    const restarts = Number(show('NRestarts'));
    sandbox.ok(['kill', '-9', pid]);
    waitForSync(() => (Number(show('NRestarts')) === restarts + 1 && show('ActiveState') === 'active' && show('MainPID') !== pid ? true : undefined), 15_000, 'a restart after kill -9');
  });

  it('7. a bad config at start exits 78, and systemd does not restart it', () => {
    sandbox.ok(['systemctl', 'stop', 'asyncdemo']);
    const before = journal().length;
    sandbox.write(CONFIG, 'tasks:\n  a: {autostart: true, steps: [{sleep: soon}]}\n');
    const start = sandbox.run(['systemctl', 'start', 'asyncdemo']);
    assert.notEqual(start.code, 0);
    // With a restart scheduled the unit would be activating (auto-restart), not failed.
    waitForSync(() => (show('ActiveState') === 'failed' ? true : undefined), 10_000, 'the failed state');
    assert.equal(show('SubState'), 'failed');
    assert.equal(show('ExecMainStatus'), '78');
    assert.equal(show('NRestarts'), '0', 'counted from this start');
    const since = journal().slice(before).map((l) => l.replace(/^\S+ \S+ /, ''));
    assert.ok(since.some((l) => l.includes('tasks.a.steps[0].sleep: must be a number of seconds')), since.join('\n'));
    assert.ok(!since.some((l) => l.includes('Scheduled restart job')), 'no restart was scheduled');
    sandbox.write(CONFIG, TEST_CONFIG);
    sandbox.ok(['systemctl', 'reset-failed', 'asyncdemo']);
  });

  it('8. systemd-analyze security rates the unit 1.5 or lower', (t: TestContext) => {
    const report = sandbox.run(['systemd-analyze', 'security', 'asyncdemo.service']).stdout;
    const exposure = Number(/Overall exposure level for asyncdemo\.service: ([\d.]+)/.exec(report)?.[1]);
    t.diagnostic(`systemd-analyze security: exposure ${exposure}`);
    assert.ok(exposure <= 1.5, report);
    const verify = sandbox.run(['systemd-analyze', 'verify', '--recursive-errors=yes', '/lib/systemd/system/asyncdemo.service']);
    assert.equal(verify.code, 0, verify.stderr);
  });

  it('9. the hardening is load-bearing: MemoryDenyWriteExecute=yes makes the start fail', () => {
    sandbox.write(DROP_IN, '[Service]\nRestartSec=1\nMemoryDenyWriteExecute=yes\n');
    sandbox.ok(['systemctl', 'daemon-reload']);
    const start = sandbox.run(['systemctl', 'start', 'asyncdemo']);
    assert.notEqual(start.code, 0, 'V8 cannot run without writable, executable memory');
    sandbox.ok(['rm', DROP_IN]);
    sandbox.ok(['systemctl', 'daemon-reload']);
    sandbox.ok(['systemctl', 'reset-failed', 'asyncdemo']);
    sandbox.ok(['systemctl', 'start', 'asyncdemo']);
    assert.equal(show('ActiveState'), 'active', 'and without it, it starts');
  });

  it('10. without the sd-notify binding for this Node.js: the service fails at once (69) with the fix, not restarted; the fix (reinstalling the package) works', () => {
    sandbox.ok(['systemctl', 'stop', 'asyncdemo']);
    // The binding of this Node.js's module ABI, as a damaged install would lack it.
    const abi = sandbox.ok(['node', '-p', 'process.versions.modules']).trim();
    const binding = sandbox.ok(['sh', '-c', `ls /usr/lib/asyncdemo/node_modules/sd-notify/lib/binding/node-v${abi}-linux-*/notify.node`]).trim();
    sandbox.ok(['rm', binding]);
    sandbox.run(['systemctl', 'reset-failed', 'asyncdemo']);
    const before = journal().length;
    const start = sandbox.run(['systemctl', 'start', 'asyncdemo']);
    assert.notEqual(start.code, 0, 'the start fails, and does not wait for TimeoutStartSec');
    waitForSync(() => (show('ActiveState') === 'failed' ? true : undefined), 10_000, 'the failed state');
    assert.equal(show('ExecMainStatus'), '69');
    assert.equal(show('SubState'), 'failed', 'no restart scheduled');
    const since = journal().slice(before).map((l) => l.replace(/^\S+ \S+ /, ''));
    const fatal = since.filter((l) => l.includes('the sd-notify binding is not installed'));
    assert.equal(fatal.length, 1, since.join('\n'));
    assert.match(fatal[0] ?? '', /so the service cannot start\. Fix: sudo apt install --reinstall asyncdemo$/);
    assert.ok(!since.some((l) => l.includes('Scheduled restart job')));
    // The fix as written (apt reinstalls from the archive; here, from the same file).
    const again = sandbox.run([...APT_INSTALL, '--reinstall', deb], 240_000);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(sandbox.run(['test', '-f', binding]).code, 0, 'the binding is back');
    sandbox.run(['systemctl', 'reset-failed', 'asyncdemo']);
    sandbox.ok(['systemctl', 'restart', 'asyncdemo']);
    assert.equal(show('ActiveState'), 'active');
  });

  it('11. apt remove stops the service and removes the program, keeps the config and logs; apt purge removes those and the user', () => {
    const remove = sandbox.run(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'remove', '-y', '-q', 'asyncdemo'], 120_000);
    assert.equal(remove.code, 0, remove.stdout + remove.stderr);
    assert.notEqual(sandbox.run(['systemctl', 'is-active', 'asyncdemo']).stdout.trim(), 'active');
    assert.notEqual(sandbox.run(['test', '-e', '/usr/lib/asyncdemo']).code, 0);
    assert.notEqual(sandbox.run(['test', '-e', '/usr/bin/asyncdemo']).code, 0);
    assert.equal(sandbox.ok(['cat', CONFIG]), TEST_CONFIG, 'the edited config stays');
    assert.equal(sandbox.run(['test', '-d', '/var/log/asyncdemo']).code, 0, 'the logs stay');
    assert.equal(sandbox.run(['id', 'asyncdemo']).code, 0, 'the user stays');
    const purge = sandbox.run(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'purge', '-y', '-q', 'asyncdemo'], 120_000);
    assert.equal(purge.code, 0, purge.stdout + purge.stderr);
    for (const path of ['/etc/asyncdemo', '/var/log/asyncdemo', '/var/cache/asyncdemo']) assert.notEqual(sandbox.run(['test', '-e', path]).code, 0, `${path} is still there`);
    assert.notEqual(sandbox.run(['id', 'asyncdemo']).code, 0);
    assert.notEqual(sandbox.run(['dpkg', '-s', 'asyncdemo']).code, 0, 'dpkg knows it no more');
  });
});

