import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/daemon.js';
import { APT_INSTALL, OLDER_VERSION, olderPackage, packageVersion, thisPackage } from '../helpers/package.js';
import { waitForSync } from '../helpers/wait.js';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './sandbox.js';
import { unlessMissing } from '../helpers/requirements.js';

/**
 * The Pi owner's day under a real systemd (252 here), with the Debian
 * package: the previous release installed with apt, the installed command, a
 * user in adm who reads and checks without sudo, restarts that never lock
 * anyone out, a quiet journal, upgrades as dpkg does them (an untouched
 * conffile replaced, an edited one kept, one restart, on the new version), a
 * Node.js upgrade that remakes the code cache, and a purge. The steps build
 * on each other and run in order.
 */
const skip = unlessMissing(sandboxUnavailable());

const CONFIG = '/etc/asyncdemo/config.yaml';
const TEST_CONFIG = 'tasks:\n  steady:\n    autostart: true\n    repeat: forever\n    steps: [{log: steady tick}, {sleep: 200ms}]\n';

describe("the Pi owner's day under a real systemd", { skip, timeout: 600_000 }, () => {
  let sandbox: Sandbox;
  const show = (property: string): string => sandbox.ok(['systemctl', 'show', 'asyncdemo', '-p', property, '--value']).trim();
  /** Runs a command as `pi`, a normal user in adm, as Raspberry Pi OS's first user is. */
  const asPi = (command: string): { code: number | null; stdout: string; stderr: string } => sandbox.run(['runuser', '-u', 'pi', '--', 'sh', '-c', command], 60_000);
  /**
   * Journal messages after `cursor` at `priority` or worse. Filtered here, not
   * with journalctl -p: journalctl 252 with --after-cursor and -p skips an
   * entry that shares its timestamp with the one before (two lines of one write).
   */
  const journalSince = (cursor: string, priority = 7, { otherUnits = true } = {}): string =>
    sandbox
      .ok(['journalctl', '--no-pager', '-o', 'json', `--after-cursor=${cursor}`])
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { PRIORITY?: string; MESSAGE?: unknown; UNIT?: string; _SYSTEMD_UNIT?: string })
      .filter((entry) => Number(entry.PRIORITY ?? 6) <= priority)
      // systemd's lines about another unit (journald's BPF firewall on a busy host, say), and another
      // service's own (dbus-daemon refused a higher fd limit in the sandbox), are not asyncdemo's doing.
      .filter((entry) => otherUnits || ((entry.UNIT === undefined || entry.UNIT === 'asyncdemo.service') && (entry._SYSTEMD_UNIT === undefined || ['asyncdemo.service', 'init.scope'].includes(entry._SYSTEMD_UNIT))))
      .map((entry) => (typeof entry.MESSAGE === 'string' ? entry.MESSAGE : JSON.stringify(entry.MESSAGE)))
      .join('\n');
  const cursorNow = (): string => {
    const cursor = /^-- cursor: (.+)$/m.exec(sandbox.ok(['journalctl', '-n', '1', '--show-cursor', '--no-pager']))?.[1];
    assert.ok(cursor !== undefined, 'journalctl gave no cursor');
    return cursor;
  };

  let deb: string;
  let older: string;
  before(() => {
    deb = thisPackage();
    older = olderPackage();
    sandbox = bootSandbox();
    sandbox.ok(['useradd', '--create-home', '--groups', 'adm', 'pi']);
  });
  after(() => {
    sandbox?.run(['userdel', '--remove', 'pi']);
    sandbox?.kill();
  });

  it('apt installs the previous release: asyncdemo on the PATH with its version, the service enabled and running, and no warning in the journal from the install or the unit', () => {
    const cursor = cursorNow();
    const install = sandbox.run([...APT_INSTALL, older], 300_000);
    assert.equal(install.code, 0, install.stdout + install.stderr);
    assert.doesNotMatch(install.stdout + install.stderr, /asyncdemo: could not/, 'the postinst had nothing to complain about');
    assert.equal(sandbox.ok(['sh', '-c', 'command -v asyncdemo']).trim(), '/usr/bin/asyncdemo');
    assert.match(sandbox.ok(['asyncdemo', '--version']), /^asyncdemo \d+\.\d+\.\d+\+\d+\.g[0-9a-f]{7}\S* \(commit ([0-9a-f]{40}|unknown), Node\.js v\d+/);
    assert.equal(show('ActiveState'), 'active');
    assert.equal(show('UnitFileState'), 'enabled');
    assert.match(sandbox.ok(['id', '-nG', 'asyncdemo']), /\bgpio\b/, 'the service user is in gpio');
    sandbox.write(CONFIG, TEST_CONFIG);
    sandbox.ok(['systemctl', 'reload', 'asyncdemo']);
    sandbox.ok(['systemctl', 'stop', 'asyncdemo']);
    sandbox.ok(['systemctl', 'start', 'asyncdemo']);
    const warnings = journalSince(cursor, 4, { otherUnits: false });
    assert.equal(warnings.trim(), '', `journalctl -p warning after install, start, reload, stop and start:\n${warnings}`);
  });

  it('a user in adm reads the logs and the config and runs check-config and doctor without sudo; doctor tells a user outside adm how to read the logs', () => {
    waitForSync(() => (asPi('ls /var/log/asyncdemo').stdout.includes('current.log') ? true : undefined), 10_000, 'current.log listed by pi');
    const tail = asPi('tail -n 50 /var/log/asyncdemo/current.log');
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /"msg":"steady tick"/);
    assert.equal(asPi(`cat ${CONFIG}`).stdout, TEST_CONFIG);
    const check = asPi(`asyncdemo check-config ${CONFIG}`);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /OK \(1 task; at boot: steady\)/);
    const doctor = asPi('asyncdemo doctor');
    assert.doesNotMatch(doctor.stdout, /invalid config|EACCES/);
    assert.match(doctor.stdout, /^✓ config \/etc\/asyncdemo\/config\.yaml is valid \(1 task\)$/m);
    // The service writes its log directory; pi, in adm, reads it.
    assert.match(doctor.stdout, /^✓ the service's log directory \/var\/log\/asyncdemo \(asyncdemo:adm, mode 2750\): the service writes it, this user reads it$/m);
    // A user not in adm reads neither the logs nor, by systemd's rules, the journal; doctor says so, with the fix.
    sandbox.ok(['useradd', '--create-home', 'guest']);
    try {
      assert.notEqual(sandbox.run(['runuser', '-u', 'guest', '--', 'ls', '/var/log/asyncdemo']).code, 0);
      const guestDoctor = sandbox.run(['runuser', '-u', 'guest', '--', 'asyncdemo', 'doctor'], 60_000);
      assert.match(guestDoctor.stdout, /^✗ the service's log directory \/var\/log\/asyncdemo \(asyncdemo:adm, mode 2750\) cannot be read by this user \(not root, not in adm\)\n {4}fix: read the logs as a user in adm: sudo usermod -aG adm guest \(then log in again\), or with sudo$/m);
    } finally {
      sandbox.ok(['userdel', '--remove', 'guest']);
    }
  });

  it("print-config, run by a user in adm, describes the service: its config file, its unit's Environment= with the file that set it, its log directory", () => {
    sandbox.write('/etc/systemd/system/asyncdemo.service.d/debug.conf', '[Service]\nEnvironment=ASYNCDEMO_DEBUG=yes\n');
    sandbox.ok(['systemctl', 'daemon-reload']);
    try {
      for (const command of ['asyncdemo print-config', `asyncdemo print-config --config ${CONFIG}`]) {
        const print = asPi(command);
        assert.equal(print.code, 0, print.stderr);
        assert.match(print.stdout, /^# \/etc\/asyncdemo\/config\.yaml \(the service's config, as (\/usr)?\/lib\/systemd\/system\/asyncdemo\.service runs it/, command);
        assert.match(print.stdout, /^log\.file\.dir = "\/var\/log\/asyncdemo" +# environment LOGS_DIRECTORY \(unit Environment= in (\/usr)?\/lib\/systemd\/system\/asyncdemo\.service\)$/m, command);
        assert.match(print.stdout, /^debug\.enabled = true +# environment ASYNCDEMO_DEBUG \(unit Environment= in \/etc\/systemd\/system\/asyncdemo\.service\.d\/debug\.conf\)$/m, command);
        assert.match(print.stdout, /^tasks:\n {2}steady:/m, command);
      }
      // This shell's environment is not the service's.
      assert.match(asPi('ASYNCDEMO_LOG_LEVEL=trace asyncdemo print-config').stdout, /^log\.level = "info" +# default$/m);
      // The checkout's view, one flag away: this shell's environment, the config's own defaults.
      const checkout = asPi(`asyncdemo print-config --checkout --config ${CONFIG}`);
      assert.equal(checkout.code, 0, checkout.stderr);
      assert.match(checkout.stdout, /^# \/etc\/asyncdemo\/config\.yaml \(from --config\)$/m);
      assert.match(checkout.stdout, /^log\.file\.dir = "logs" +# default$/m);
      assert.match(checkout.stdout, /^debug\.enabled = false +# default$/m);
    } finally {
      sandbox.ok(['rm', '/etc/systemd/system/asyncdemo.service.d/debug.conf']);
      sandbox.ok(['systemctl', 'daemon-reload']);
    }
  });

  // sudo's secure_path on Debian: what root's commands run with.
  const SUDO_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

  it('asyncdemo status, for root and for a user in adm, shows the service as it runs: its MainPID, the config in force, the unit\'s environment as a source; stopped: "not running", exit 3', () => {
    const pid = show('MainPID');
    for (const [who, run] of [['root', (command: string) => sandbox.run(['sh', '-c', `PATH=${SUDO_PATH} ${command}`], 60_000)], ['pi', asPi]] as const) {
      let last = '';
      const listed = (): { stdout: string } | undefined => {
        const result = run('asyncdemo status');
        last = `exit ${result.code}: ${result.stdout}${result.stderr}`;
        return result.code === 0 && result.stdout.includes('steady[') ? result : undefined;
      };
      let status: { stdout: string };
      try {
        status = waitForSync(listed, 20_000, `asyncdemo status as ${who} listing the task`);
      } catch (error) {
        throw new Error(`${(error as Error).message}; the last said ${last}`);
      }
      assert.match(status.stdout, new RegExp(`^asyncdemo: +running \\(pid ${pid}\\), up `, 'm'), who);
      assert.match(status.stdout, /^config: +\/etc\/asyncdemo\/config\.yaml, loaded /m, who);
      assert.match(status.stdout, /^log files: +\/var\/log\/asyncdemo$/m, who);
      assert.match(status.stdout, /^ {2}log\.file\.dir = "\/var\/log\/asyncdemo" +# environment LOGS_DIRECTORY$/m, who);
    }
    sandbox.ok(['systemctl', 'stop', 'asyncdemo']);
    try {
      const stopped = asPi('asyncdemo status');
      assert.equal(stopped.code, 3, stopped.stdout + stopped.stderr);
      // RuntimeDirectoryPreserve=yes keeps the last run's status: how it ended.
      assert.match(stopped.stdout, new RegExp(`^asyncdemo is not running: the service's last run \\(pid ${pid}, started \\S+\\) stopped at \\S+ with exit 0$`, 'm'));
      const json = JSON.parse(asPi('asyncdemo status --json').stdout) as { state: string; running: boolean; stopped: { exitCode: number } };
      assert.deepEqual([json.state, json.running, json.stopped.exitCode], ['stopped', false, 0], '--json is JSON when stopped too');
    } finally {
      sandbox.ok(['systemctl', 'start', 'asyncdemo']);
    }
  });

  it('doctor, run by a user in adm who cannot read the config, says "permission denied" with a fix, not "invalid config"', () => {
    sandbox.ok(['chmod', '0600', CONFIG]);
    try {
      const doctor = asPi('asyncdemo doctor');
      assert.match(doctor.stdout, /^✗ cannot read the config \/etc\/asyncdemo\/config\.yaml: permission denied; run as root or a user in adm\n {4}fix: sudo chmod 0644 \/etc\/asyncdemo\/config\.yaml/m);
      assert.doesNotMatch(doctor.stdout, /invalid config|edit the file/);
    } finally {
      sandbox.ok(['chmod', '0644', CONFIG]);
    }
  });

  it('any number of manual restarts work', () => {
    for (let i = 0; i < 12; i++) {
      const restart = sandbox.run(['systemctl', 'restart', 'asyncdemo']);
      assert.equal(restart.code, 0, `restart ${i + 1}: ${restart.stderr}`);
    }
    assert.equal(show('ActiveState'), 'active');
  });

  it('a crash loop is still stopped, and a start after reset-failed works', () => {
    sandbox.write('/etc/systemd/system/asyncdemo.service.d/test.conf', '[Service]\nRestartSec=1\n');
    sandbox.ok(['systemctl', 'daemon-reload']);
    // A crash at the first step: the daemon exits 1, systemd restarts it, again and again.
    sandbox.write(CONFIG, 'tasks:\n  boom:\n    autostart: true\n    steps: [{crash: on purpose}]\n');
    sandbox.run(['systemctl', 'restart', 'asyncdemo']);
    waitForSync(() => (show('ActiveState') === 'failed' && /too quickly/.test(sandbox.ok(['journalctl', '-u', 'asyncdemo', '--no-pager'])) ? true : undefined), 60_000, 'the crash loop stopped');
    const restarts = Number(show('NRestarts'));
    assert.ok(restarts >= 3 && restarts <= 5, `NRestarts ${restarts}`);
    sandbox.write(CONFIG, TEST_CONFIG);
    sandbox.ok(['systemctl', 'reset-failed', 'asyncdemo']);
    sandbox.ok(['systemctl', 'start', 'asyncdemo']);
    assert.equal(show('ActiveState'), 'active');
    sandbox.ok(['rm', '/etc/systemd/system/asyncdemo.service.d/test.conf']);
    sandbox.ok(['systemctl', 'daemon-reload']);
  });

  it('a refused reload puts its reason in the journal at err priority', () => {
    const cursor = cursorNow();
    sandbox.write(CONFIG, TEST_CONFIG.replace('200ms', '-2'));
    const reload = sandbox.run(['systemctl', 'reload', 'asyncdemo']);
    assert.notEqual(reload.code, 0);
    assert.match(reload.stderr, /journalctl -xeu asyncdemo\.service/);
    const errors = waitForSync(() => {
      const text = journalSince(cursor, 3);
      return text.includes('tasks.steady.steps[1].sleep: must not be negative') ? text : undefined;
    }, 10_000, 'the reason at err priority');
    assert.match(errors, /invalid config \/etc\/asyncdemo\/config\.yaml/);
    sandbox.write(CONFIG, TEST_CONFIG);
  });

  /** The config the previous release shipped, read from its package. */
  const olderDefault = (): string => spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO ./etc/asyncdemo/config.yaml', 'sh', older], { encoding: 'utf8' }).stdout;

  /** Upgrades (or downgrades) with apt as an unattended upgrade does; the journal's start and stop lines of the service meanwhile. */
  const upgradeTo = (file: string): { output: string; starts: number; stops: number } => {
    const cursor = cursorNow();
    const result = sandbox.run([...APT_INSTALL, '--allow-downgrades', file], 300_000);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const lines = journalSince(cursor).split('\n');
    return { output: result.stdout + result.stderr, starts: lines.filter((l) => /^Started asyncdemo\.service/.test(l)).length, stops: lines.filter((l) => /^Stopping asyncdemo\.service/.test(l)).length };
  };

  it('an upgrade from the previous release replaces its untouched config with the new default, without a prompt, and restarts the service once, on the new version', () => {
    const shipped = olderDefault();
    assert.match(shipped, /slowStepMs: 120/);
    sandbox.write(CONFIG, shipped);
    sandbox.ok(['systemctl', 'restart', 'asyncdemo']);
    const pid = show('MainPID');
    const { starts, stops } = upgradeTo(deb);
    assert.equal(sandbox.ok(['cat', CONFIG]), sandbox.ok(['cat', '/usr/lib/asyncdemo/config/default.yaml']), 'the new default');
    assert.notEqual(sandbox.run(['test', '-e', `${CONFIG}.dpkg-dist`]).code, 0, 'nothing set aside');
    assert.deepEqual({ starts, stops }, { starts: 1, stops: 1 }, 'one restart');
    assert.notEqual(show('MainPID'), pid);
    const version = packageVersion(deb);
    assert.match(sandbox.ok(['asyncdemo', '--version']), new RegExp(`^asyncdemo ${version.replaceAll('.', '\\.').replaceAll('+', '\\+')} `));
    const status = waitForSync(() => {
      const text = asPi('asyncdemo status').stdout;
      return text.includes(`version:     ${version}`) ? text : undefined;
    }, 20_000, `asyncdemo status showing ${version}`);
    assert.match(status, new RegExp(`^asyncdemo: +running \\(pid ${show('MainPID')}\\)`, 'm'));
  });

  it('an upgrade with an edited config keeps it, puts the new default next to it (config.yaml.dpkg-dist), and asks nothing', () => {
    // Back to the previous release, then up again, each time with the config edited.
    sandbox.write(CONFIG, TEST_CONFIG);
    const down = upgradeTo(older);
    assert.equal(sandbox.ok(['cat', CONFIG]), TEST_CONFIG);
    assert.match(down.output, new RegExp(`Unpacking asyncdemo \\(${OLDER_VERSION.replaceAll('.', '\\.').replaceAll('+', '\\+')}\\)`));
    sandbox.ok(['rm', '-f', `${CONFIG}.dpkg-dist`]);
    const up = upgradeTo(deb);
    assert.equal(sandbox.ok(['cat', CONFIG]), TEST_CONFIG, 'the edited config is kept');
    assert.equal(sandbox.ok(['cat', `${CONFIG}.dpkg-dist`]), sandbox.ok(['cat', '/usr/lib/asyncdemo/config/default.yaml']), 'the new default next to it');
    assert.deepEqual({ starts: up.starts, stops: up.stops }, { starts: 1, stops: 1 }, 'one restart');
    assert.equal(show('ActiveState'), 'active');
  });

  it('a Node.js upgrade (a newer nodejs package) makes the code cache again, through the package\'s trigger, and it fits that Node', () => {
    const cache = sandbox.ok(['sh', '-c', 'ls /var/cache/asyncdemo']).trim();
    assert.ok(cache !== '', 'the install made a code cache');
    const before = sandbox.ok(['sh', '-c', 'find /var/cache/asyncdemo -type f -printf "%i %T@ %p\\n" | sort']);
    // A nodejs package one version up, with the same node: what dpkg sees of an upgrade from NodeSource.
    const current = sandbox.ok(['dpkg-query', '-W', '-f=${Version}', 'nodejs']).trim();
    const standin = '/tmp/nodejs-next.deb';
    sandbox.ok(['bash', `${ROOT}/test/vm/image/nodejs-standin.sh`, '/usr/bin/node', `${current}+next`, standin], 120_000);
    const upgrade = sandbox.run(['dpkg', '-i', standin], 300_000);
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.match(upgrade.stdout, /Processing triggers for asyncdemo/);
    const after = sandbox.ok(['sh', '-c', 'find /var/cache/asyncdemo -type f -printf "%i %T@ %p\\n" | sort']);
    assert.notEqual(after, before, 'the cache files were written again');
    const doctor = asPi('asyncdemo doctor');
    assert.match(doctor.stdout, /^✓ start-up: (the code cache \/var\/cache\/asyncdemo\/app\.cache fits this Node|Node's own compile cache \(module\.enableCompileCache\) in \/var\/cache\/asyncdemo)$/m, doctor.stdout);
  });

  it('apt purge removes the program, the unit, the config, the logs, the code cache and the user, and no more (the gpio group and other users stay)', () => {
    const purge = sandbox.run(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'purge', '-y', '-q', 'asyncdemo'], 120_000);
    assert.equal(purge.code, 0, purge.stdout + purge.stderr);
    for (const path of ['/usr/lib/asyncdemo', '/etc/asyncdemo', '/var/log/asyncdemo', '/var/cache/asyncdemo', '/usr/bin/asyncdemo', '/lib/systemd/system/asyncdemo.service']) {
      assert.notEqual(sandbox.run(['test', '-e', path]).code, 0, `${path} is still there`);
    }
    assert.notEqual(sandbox.run(['id', 'asyncdemo']).code, 0);
    assert.equal(sandbox.run(['getent', 'group', 'gpio']).code, 0, 'gpio stays: others share it');
    assert.equal(sandbox.run(['id', 'pi']).code, 0, 'other users stay');
  });
});

