import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../helpers/daemon.js';
import { waitForSync } from '../helpers/wait.js';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './sandbox.js';

/**
 * The Pi owner's day under a real systemd (252 here): the installed command,
 * a user in adm who reads and checks without sudo, restarts that never lock
 * anyone out, a quiet journal, and upgrades that treat the config as dpkg
 * treats a conffile. The steps build on each other and run in order.
 */
const skip = sandboxUnavailable();

const CONFIG = '/etc/asyncdemo/config.yaml';
const TEST_CONFIG = 'tasks:\n  steady:\n    autostart: true\n    repeat: forever\n    steps: [{log: steady tick}, {sleep: 200ms}]\n';

describe("the Pi owner's day under a real systemd", { skip: skip ?? false, timeout: 600_000 }, () => {
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
      .map((line) => JSON.parse(line) as { PRIORITY?: string; MESSAGE?: unknown; UNIT?: string })
      .filter((entry) => Number(entry.PRIORITY ?? 6) <= priority)
      // systemd's lines about another unit (journald's BPF firewall on a busy host, say) are not asyncdemo's doing.
      .filter((entry) => otherUnits || entry.UNIT === undefined || entry.UNIT === 'asyncdemo.service')
      .map((entry) => (typeof entry.MESSAGE === 'string' ? entry.MESSAGE : JSON.stringify(entry.MESSAGE)))
      .join('\n');
  const cursorNow = (): string => {
    const cursor = /^-- cursor: (.+)$/m.exec(sandbox.ok(['journalctl', '-n', '1', '--show-cursor', '--no-pager']))?.[1];
    assert.ok(cursor !== undefined, 'journalctl gave no cursor');
    return cursor;
  };

  before(() => {
    sandbox = bootSandbox();
    sandbox.ok(['useradd', '--create-home', '--groups', 'adm', 'pi']);
  });
  after(() => {
    sandbox?.run(['userdel', '--remove', 'pi']);
    sandbox?.kill();
  });

  it('install.sh prints its own lines only, puts asyncdemo on the PATH, and the journal has no warning caused by the install or the unit', () => {
    const cursor = cursorNow();
    const install = sandbox.run([`${ROOT}/scripts/install.sh`], 300_000);
    assert.equal(install.code, 0, install.stdout + install.stderr);
    for (const line of install.stdout.trim().split('\n')) assert.match(line, /^asyncdemo install: /, `a line not its own: ${line}`);
    assert.equal(install.stderr, '');
    assert.equal(sandbox.ok(['sh', '-c', 'command -v asyncdemo']).trim(), '/usr/local/bin/asyncdemo');
    assert.match(sandbox.ok(['asyncdemo', '--version']), /^asyncdemo \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, Node\.js v\d+/);
    // Every command a message names exists.
    for (const command of install.stdout.matchAll(/(?:with|and): ((?:journalctl|asyncdemo|systemctl) [^()\n]*)/g)) {
      const name = (command[1] ?? '').split(' ')[0] ?? '';
      assert.equal(sandbox.run(['sh', '-c', `command -v ${name}`]).code, 0, `${name} named by the installer does not exist`);
      const sub = /^asyncdemo ([a-z-]+)/.exec(command[1] ?? '')?.[1];
      if (sub !== undefined) assert.match(sandbox.ok(['asyncdemo', '--help']), new RegExp(`^  ${sub} `, 'm'), `asyncdemo ${sub} named by the installer does not exist`);
    }
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
        assert.match(print.stdout, /^# \/etc\/asyncdemo\/config\.yaml \(the service's config, as \/etc\/systemd\/system\/asyncdemo\.service runs it/, command);
        assert.match(print.stdout, /^log\.file\.dir = "\/var\/log\/asyncdemo" +# environment LOGS_DIRECTORY \(unit Environment= in \/etc\/systemd\/system\/asyncdemo\.service\)$/m, command);
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

  it('an upgrade replaces a config still at its installed default, and keeps an edited one; with --no-start it leaves the running service alone', () => {
    // A second checkout whose default differs stands in for a newer release.
    sandbox.ok(['sh', '-c', `rm -rf /tmp/next && cp -a ${ROOT} /tmp/next && sed -i 's/slowStepMs: 100/slowStepMs: 120/' /tmp/next/config/default.yaml`], 120_000);
    sandbox.ok(['sh', '-c', `cp ${ROOT}/config/default.yaml ${CONFIG}`]);
    // The first install recorded the checksum of the default it installed; this config is that default.
    const upgrade = sandbox.run(['/tmp/next/scripts/install.sh'], 300_000);
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.match(upgrade.stdout, /updating the config \/etc\/asyncdemo\/config\.yaml to the new default/);
    assert.match(sandbox.ok(['cat', CONFIG]), /slowStepMs: 120/);
    sandbox.write(CONFIG, TEST_CONFIG);
    // --no-start (the Ansible role's way): the running service is left alone, to be restarted once by the caller.
    const running = show('MainPID');
    const again = sandbox.run([`${ROOT}/scripts/install.sh`, '--no-start'], 300_000);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /keeping your edited \/etc\/asyncdemo\/config\.yaml; the new default is in \/etc\/asyncdemo\/config\.yaml\.dist/);
    assert.equal(sandbox.ok(['cat', CONFIG]), TEST_CONFIG);
    assert.match(again.stdout, /not \(re\)started \(--no-start\)/);
    assert.doesNotMatch(again.stdout, /starting asyncdemo/);
    assert.equal(show('MainPID'), running, 'the service was not restarted');
    assert.notEqual(running, '0');
  });

  it('install.sh installs the libsystemd-dev of the installed libsystemd0, or says plainly what the one it can get upgrades', () => {
    // Stand-ins for the package tools: libsystemd-dev reads as not installed, the archive offers
    // $STUB_VERSIONS of it, and apt-get records its calls (a simulated install of an unpinned
    // libsystemd-dev lists upgrades, as apt does when the archive is newer than the system).
    const stub = '/tmp/asyncdemo-apt-stub';
    sandbox.write(`${stub}/dpkg-query`, '#!/bin/sh\nfor a; do [ "$a" = libsystemd-dev ] && exit 1; done\nexec /usr/bin/dpkg-query "$@"\n');
    sandbox.write(`${stub}/apt-cache`, '#!/bin/sh\n[ "$1" = madison ] || exec /usr/bin/apt-cache "$@"\nfor v in $STUB_VERSIONS; do echo "$2 | $v | http://deb.debian.org/debian stable/main amd64 Packages"; done\n');
    sandbox.write(
      `${stub}/apt-get`,
      `#!/bin/sh\necho "$*" >> ${stub}/calls\ncase " $* " in *" -s "*) case " $* " in *" libsystemd-dev="*) ;; *) echo "Inst libsystemd0 [1.0] (2.0 Debian:stable [amd64])"; echo "Inst systemd [1.0] (2.0 Debian:stable [amd64])" ;; esac ;; esac\nexit 0\n`,
    );
    sandbox.ok(['chmod', '+x', `${stub}/dpkg-query`, `${stub}/apt-cache`, `${stub}/apt-get`]);
    const version = sandbox.ok(['dpkg-query', '-W', '-f=${Version}', 'libsystemd0']).trim();
    const install = (versions: string): { stdout: string; calls: string } => {
      sandbox.ok(['rm', '-f', `${stub}/calls`]);
      const result = sandbox.run(['env', `PATH=${stub}:${SUDO_PATH}`, `STUB_VERSIONS=${versions}`, `${ROOT}/scripts/install.sh`], 300_000);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      return { stdout: result.stdout, calls: sandbox.ok(['cat', `${stub}/calls`]) };
    };
    try {
      const matching = install(`${version} 999.1`);
      assert.match(matching.stdout, new RegExp(`^asyncdemo install: installing libsystemd-dev=${version.replaceAll('.', '\\.')}$`, 'm'));
      assert.doesNotMatch(matching.stdout, /this also upgrades/);
      assert.match(matching.calls, new RegExp(`^install -y -q --no-install-recommends libsystemd-dev=${version.replaceAll('.', '\\.')}$`, 'm'));
      const newer = install('999.1');
      assert.match(newer.stdout, /^asyncdemo install: installing libsystemd-dev$/m);
      assert.match(newer.stdout, /^asyncdemo install: this also upgrades: libsystemd0 1\.0 -> 2\.0, systemd 1\.0 -> 2\.0 \(the archive has no libsystemd-dev matching the installed libsystemd0\)$/m);
    } finally {
      sandbox.ok(['rm', '-rf', stub]);
    }
  });

  it('uninstall --purge removes what install created, and no more', () => {
    // gpio existed before the install here only if the machine had it; install.sh recorded whether it made it.
    const hadGpio = sandbox.ok(['cat', '/var/lib/asyncdemo/install.state']).includes('created_group_gpio=yes');
    const purge = sandbox.run([`${ROOT}/scripts/uninstall.sh`, '--purge']);
    assert.equal(purge.code, 0, purge.stderr);
    for (const path of ['/opt/asyncdemo', '/etc/asyncdemo', '/var/log/asyncdemo', '/usr/local/bin/asyncdemo', '/var/lib/asyncdemo', '/etc/systemd/system/asyncdemo.service']) {
      assert.notEqual(sandbox.run(['test', '-e', path]).code, 0, `${path} is still there`);
    }
    assert.notEqual(sandbox.run(['id', 'asyncdemo']).code, 0);
    assert.equal(sandbox.run(['getent', 'group', 'gpio']).code === 0, !hadGpio, 'gpio removed exactly when install.sh made it');
    assert.equal(sandbox.run(['id', 'pi']).code, 0, 'other users stay');
  });
});

if (skip !== undefined) console.log(`# systemd sandbox tests skipped: ${skip}`);
