/**
 * The first boot of an image: a Pi owner's install of the package with apt,
 * on an image without a compiler, then the LED on a real
 * kernel GPIO chip with each backend under the shipped hardened unit, the
 * permission fallback, the watchdog, the journal, the exposure, a full log
 * disk; it ends leaving rotated log files for the clock phase's boot.
 * The checks build on each other and run in order.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { KEEP, LOG_FILE, ledConfig, rotatingConfig } from './configs.js';
import {
  APP,
  apt,
  COMMAND,
  CONFIG,
  createSimChip,
  packages,
  GpioTrace,
  journal,
  journalCursor,
  journalLine,
  LineSampler,
  lineValue,
  LOG_DIR,
  metric,
  ok,
  OUT,
  poll,
  removeSimChip,
  restart,
  run,
  setPull,
  sh,
  show,
  simChip,
  stop,
  writeConfig,
  writeDropIn,
  writeMetrics,
  UNIT_FILE,
  type SimChip,
} from './lib.js';

/** The suite's scripts in the share (guest/nodejs-standin.sh is the image recipe's, copied there by the host). */
const SHARE_GUEST = '/mnt/vm/guest';
const suite = /^VERSION_CODENAME=(\w+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
const NODE = sh('command -v node').trim();
const gid = (group: string): number => Number(sh(`getent group ${group} | cut -d: -f3`));

/** The processes of the unit besides the daemon: the LED's helpers. */
function unitChildren(): number[] {
  const main = Number(show('MainPID'));
  const procs = readFileSync('/sys/fs/cgroup/system.slice/asyncdemo.service/cgroup.procs', 'utf8').split('\n').filter(Boolean).map(Number);
  return procs.filter((p) => p !== main);
}

/** `asyncdemo doctor` as the service user, who is in the gpio group. */
function doctor(): { code: number | null; report: string } {
  const result = run(['runuser', '-u', 'asyncdemo', '--', NODE, `${APP}/dist/main.js`, 'doctor', '--config', CONFIG]);
  return { code: result.code, report: result.stdout + result.stderr };
}

describe(`asyncdemo on Debian ${suite} (kernel ${sh('uname -r').trim()})`, () => {
  const trace = new GpioTrace();
  let pi: SimChip;
  /** BCM 17's global GPIO number (trace events use it). */
  const gpio = (bcm: number, chip: SimChip = pi): number => (chip.base ?? 0) + bcm;

  before(() => {
    trace.start();
    pi = simChip('pinctrl-bcm2711');
    metric('suite', suite);
  });
  after(() => writeMetrics('main'));

  it('the simulated Pi 4 chip (gpio-sim, pinctrl-bcm2711, 58 lines) is handed to the gpio group by udev, as on Raspberry Pi OS', () => {
    assert.equal(pi.lines, 58);
    const device = statSync(`/dev/${pi.chip}`);
    assert.equal(device.gid, gid('gpio'), `/dev/${pi.chip} belongs to the gpio group`);
    assert.equal(device.mode & 0o777, 0o660);
    assert.equal(statSync('/sys/class/gpio/export').gid, gid('gpio'), '/sys/class/gpio/export belongs to the gpio group');
    metric('chip', `${pi.chip} [${pi.label}], sysfs base ${pi.base ?? 'none'}`);
  });

  it('the image has no compiler and no libsystemd-dev: dpkg -l lists no gcc, g++, cpp, make, build-essential, libsystemd-dev or kernel headers', (t: TestContext) => {
    const installed = sh("dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' | awk '$1 == \"ii\" {print $2}'").split('\n');
    const tools = installed.filter((p) => /^(gcc(-\d+)?|g\+\+(-\d+)?|cpp(-\d+)?|make|build-essential|libsystemd-dev|libnode-dev|npm|linux-headers-.*)$/.test(p));
    assert.deepEqual(tools, []);
    for (const tool of ['cc', 'gcc', 'c++', 'make']) assert.notEqual(run(['sh', '-c', `command -v ${tool}`]).code, 0, `${tool} is on the PATH`);
    t.diagnostic(`dpkg -l | grep gcc: ${installed.filter((p) => p.includes('gcc')).join(', ') || 'nothing'} (libraries only)`);
  });

  it('apt install ./asyncdemo_…deb installs it offline, with no compiler, and starts it: READY=1, enabled, the service user in gpio', (t: TestContext) => {
    const { current, version } = packages();
    const { result: install, ms } = apt(['install', '--no-install-recommends', current], 'install.log');
    metric('installMs', ms);
    metric('package', { file: current.split('/').at(-1), bytes: statSync(current).size });
    assert.equal(install.code, 0, install.stdout.slice(-3000) + install.stderr.slice(-3000));
    assert.match(install.stdout, new RegExp(`Setting up asyncdemo \\(${version.replaceAll('.', '\\.').replaceAll('+', '\\+')}\\)`));
    assert.equal(show('ActiveState'), 'active');
    assert.equal(show('UnitFileState'), 'enabled');
    assert.match(show('StatusText'), /^\d+ tasks? running, \d+ steps done/);
    assert.match(sh('id -nG asyncdemo'), /\bgpio\b/);
    assert.match(ok([COMMAND, '--version']), new RegExp(`^asyncdemo ${version.replaceAll('.', '\\.').replaceAll('+', '\\+')} \\(commit `));
    const toReadyMs = (Number(show('ActiveEnterTimestampMonotonic')) - Number(show('ExecMainStartTimestampMonotonic'))) / 1000;
    metric('execToReadyMs', toReadyMs);
    t.diagnostic(`apt install took ${(ms / 1000).toFixed(1)} s; exec to READY=1 ${toReadyMs.toFixed(0)} ms`);
  });

  it('scenario 3 (cancel and stop) prints the tutorial lines in order, without operationsub11, and exits 0', () => {
    const result = run(['runuser', '-u', 'asyncdemo', '--', NODE, `${APP}/dist/main.js`, 'run', '--config', `${APP}/config/examples/scenario3-cancel-stop.yaml`], { timeoutMs: 60_000, env: { ASYNCDEMO_LOG_FILE: 'false' } });
    assert.equal(result.code, 0, result.stderr);
    const messages = result.stdout.split('\n').flatMap((l) => {
      try {
        return [(JSON.parse(l) as { msg: string }).msg];
      } catch {
        return [];
      }
    });
    const expected = ['start operation', 'operation1', 'start operationsub', 'operationsub10', 'operation2', 'operation3'];
    assert.deepEqual(
      messages.filter((m) => expected.includes(m) || m === 'operationsub11'),
      expected,
    );
  });

  for (const backend of ['sysfs', 'chardev', 'auto'] as const) {
    it(`led.backend ${backend} under the hardened unit: the line toggles as the steps run; a stop drives it low and lets it go`, async (t: TestContext) => {
      setPull(pi, 17, 'pull-down');
      writeConfig(ledConfig(backend));
      const cursor = journalCursor();
      trace.clear();
      restart();
      const line = await journalLine(cursor, /^LED: /);
      if (backend === 'chardev') assert.match(line, new RegExp(`^LED: GPIO character device ${pi.chip}\\b`));
      // sysfs GPIO exists on these kernels, so auto takes it.
      else assert.match(line, new RegExp(`^LED: sysfs GPIO through onoff \\(pinctrl-bcm2711, base ${pi.base}: BCM 17 is GPIO ${gpio(17)}\\)`));
      const sampler = new LineSampler(pi, 17);
      try {
        await sampler.waitForTransitions(6, 60_000);
      } finally {
        sampler.stop();
      }
      stop();
      assert.equal(lineValue(pi, 17), 0, 'the line is low after the stop');
      if (backend !== 'chardev') assert.ok(!existsSync(`/sys/class/gpio/gpio${gpio(17)}`), 'and unexported');
      // gpio-sim returns a released line to its pull (down here), so the low
      // level alone proves nothing: the trace shows who drove what.
      const sets = trace.sets(gpio(17));
      const lastOn = sets.map((s) => s.value).lastIndexOf(1);
      assert.ok(lastOn >= 0, `the daemon lit the LED: ${JSON.stringify(sets)}`);
      const off = sets.slice(lastOn + 1).find((s) => s.value === 0);
      assert.ok(off !== undefined, `after its last 1 the line was driven to 0 by the daemon's side, not left to the pull: ${JSON.stringify(sets.slice(-4))}`);
      t.diagnostic(`${sets.length} values set on GPIO ${gpio(17)}; sampled ${sampler.transitions} changes; driven low at the stop by ${off.comm}`);
    });
  }

  it('a line let go without being driven low reads low as well (gpio-sim returns it to its pull): only the trace tells the two apart', async () => {
    setPull(pi, 17, 'pull-down');
    writeConfig(ledConfig('chardev').replace('mode: toggle', 'mode: hold').replace('{sleep: 250ms}', '{sleep: 1h}'));
    trace.clear();
    restart();
    await poll(() => (lineValue(pi, 17) === 1 ? true : undefined), 30_000, 'the LED lit');
    const holders = unitChildren();
    assert.ok(holders.length > 0, 'a process holds the line for the daemon');
    for (const pid of holders) run(['kill', '-KILL', String(pid)]);
    await poll(() => (lineValue(pi, 17) === 0 ? true : undefined), 10_000, 'the line back at its pull');
    assert.equal(trace.sets(gpio(17)).at(-1)?.value, 1, 'nothing drove it low: the trace ends at 1');
    stop();
  });

  for (const backend of ['sysfs', 'chardev'] as const) {
    it(`led.backend ${backend}: a reload that changes the pin moves the LED: BCM 17 is driven low and let go first, then BCM 27 toggles`, async () => {
      writeConfig(ledConfig(backend, 17));
      restart();
      const before = new LineSampler(pi, 17);
      try {
        await before.waitForTransitions(2, 60_000);
      } finally {
        before.stop();
      }
      trace.clear();
      const cursor = journalCursor();
      writeConfig(ledConfig(backend, 27));
      ok(['systemctl', 'reload', 'asyncdemo']);
      await journalLine(cursor, /^reloaded /);
      const moved = new LineSampler(pi, 27);
      try {
        await moved.waitForTransitions(4, 60_000);
      } finally {
        moved.stop();
      }
      assert.equal(lineValue(pi, 17), 0, 'BCM 17 is low');
      if (backend === 'sysfs') assert.ok(!existsSync(`/sys/class/gpio/gpio${gpio(17)}`), 'BCM 17 is unexported');
      const events = trace.events().filter((e) => e.kind === 'value' && e.op === 'set');
      const last17 = events.map((e) => e.gpio).lastIndexOf(gpio(17));
      const first27 = events.findIndex((e) => e.gpio === gpio(27));
      assert.ok(last17 >= 0 && events[last17]?.value === 0, `BCM 17's last value is a driven 0: ${JSON.stringify(events.slice(0, 6))}`);
      assert.ok(last17 < first27, 'BCM 17 is let go before BCM 27 is taken');
      stop();
      assert.equal(lineValue(pi, 27), 0);
    });
  }

  it('asyncdemo doctor, as the service user, names the chip and the pin number, for sysfs and for the character device', () => {
    writeConfig(ledConfig('auto'));
    const sysfs = doctor();
    assert.equal(sysfs.code, 0, sysfs.report);
    assert.match(sysfs.report, new RegExp(`^✓ sysfs GPIO: pinctrl-bcm2711 at base ${pi.base}: BCM 17 is GPIO ${gpio(17)}`, 'm'));
    assert.match(sysfs.report, new RegExp(`^✓ GPIO character devices: .*/dev/${pi.chip}\\b`, 'm'));
    assert.match(sysfs.report, /^✓ the service user asyncdemo is in the gpio group$/m);
    assert.match(sysfs.report, new RegExp(`^✓ LED: sysfs GPIO through onoff \\(pinctrl-bcm2711, base ${pi.base}: BCM 17 is GPIO ${gpio(17)}\\)`, 'm'));
    writeConfig(ledConfig('chardev'));
    const chardev = doctor();
    assert.equal(chardev.code, 0, chardev.report);
    assert.match(chardev.report, new RegExp(`^✓ LED: GPIO character device ${pi.chip}\\b.*pinctrl-bcm2711.*\\b17\\b`, 'm'));
  });

  it('auto without sysfs GPIO (as on Raspberry Pi OS trixie) takes the character device, and the LED toggles', async () => {
    writeDropIn('[Service]\nInaccessiblePaths=/sys/class/gpio\n');
    try {
      writeConfig(ledConfig('auto'));
      const cursor = journalCursor();
      restart();
      assert.match(await journalLine(cursor, /^LED: /), new RegExp(`^LED: GPIO character device ${pi.chip}\\b.*picked by led.backend: auto because sysfs GPIO is not usable`));
      const sampler = new LineSampler(pi, 17);
      try {
        await sampler.waitForTransitions(4, 60_000);
      } finally {
        sampler.stop();
      }
      stop();
      assert.equal(lineValue(pi, 17), 0);
    } finally {
      writeDropIn(undefined);
    }
  });

  it('a Pi 5 (pinctrl-rp1, 54 lines): auto and chardev find it by its label, and the LED toggles there', async () => {
    stop();
    removeSimChip('pi');
    try {
      const rp1 = createSimChip('pi5', 'pinctrl-rp1:54');
      for (const backend of ['auto', 'chardev'] as const) {
        writeConfig(ledConfig(backend));
        const cursor = journalCursor();
        restart();
        const line = await journalLine(cursor, /^LED: /);
        assert.match(line, backend === 'auto' ? new RegExp(`^LED: sysfs GPIO through onoff \\(pinctrl-rp1, base ${rp1.base}: BCM 17 is GPIO ${gpio(17, rp1)}\\)`) : new RegExp(`^LED: GPIO character device ${rp1.chip}\\b`));
        const sampler = new LineSampler(rp1, 17);
        try {
          await sampler.waitForTransitions(4, 60_000);
        } finally {
          sampler.stop();
        }
        stop();
        assert.equal(lineValue(rp1, 17), 0);
      }
    } finally {
      stop();
      removeSimChip('pi5');
      pi = createSimChip('pi', 'pinctrl-bcm2711:58');
    }
  });

  it('plain Debian permissions (root-only /dev/gpiochip*, no gpio udev rules): the fallback line names the missing permission and its fix', async () => {
    stop();
    const rules = '/etc/udev/rules.d/99-gpio.rules';
    renameSync(rules, `${rules}.off`);
    ok(['udevadm', 'control', '--reload']);
    try {
      removeSimChip('pi');
      pi = createSimChip('pi', 'pinctrl-bcm2711:58');
      // What a Debian kernel gives: the devices and sysfs GPIO belong to root alone.
      sh('chown root:root /sys/class/gpio/export /sys/class/gpio/unexport && chmod 0200 /sys/class/gpio/export /sys/class/gpio/unexport');
      assert.equal(statSync(`/dev/${pi.chip}`).mode & 0o777, 0o600, 'the device is root-only without the rules');
      for (const backend of ['auto', 'chardev'] as const) {
        writeConfig(ledConfig(backend));
        const cursor = journalCursor();
        restart();
        const line = await journalLine(cursor, /^LED: /);
        assert.match(line, /^LED: GPIO is not usable, using a simulated LED instead: /);
        assert.match(line, new RegExp(`no permission to (open|use) /dev/${pi.chip}`), `the character device's problem is permission: ${line}`);
        assert.doesNotMatch(line, /found: none|set led\.chip/, `not a missing chip: ${line}`);
        assert.match(line, /udev rule/, `the fix says how the gpio group gets the devices: ${line}`);
        stop();
      }
    } finally {
      renameSync(`${rules}.off`, rules);
      ok(['udevadm', 'control', '--reload']);
      removeSimChip('pi');
      pi = createSimChip('pi', 'pinctrl-bcm2711:58');
    }
    assert.equal(statSync(`/dev/${pi.chip}`).gid, gid('gpio'), 'the rules are back');
  });

  it('a blocked event loop gets the daemon killed and restarted by the watchdog', async () => {
    writeDropIn('[Service]\nWatchdogSec=3\nRestartSec=1\n');
    try {
      // The sleep first: the watchdog starts at READY=1, after the first steps.
      writeConfig('tasks:\n  hog:\n    autostart: true\n    steps: [{sleep: 1s}, {log: hogging}, {busy: 20s}, {sleep: 1h}]\n');
      const cursor = journalCursor();
      restart();
      const first = show('MainPID');
      await poll(() => (Number(show('NRestarts')) >= 1 && show('ActiveState') === 'active' ? true : undefined), 60_000, 'a restart by the watchdog', 250);
      assert.notEqual(show('MainPID'), first);
      const log = ok(['journalctl', '-u', 'asyncdemo', '--no-pager', `--after-cursor=${cursor}`]);
      assert.match(log, /Watchdog timeout/);
      stop();
    } finally {
      writeDropIn(undefined);
    }
  });

  it('any number of manual restarts work (12 in a row), and a crash loop is still stopped', async (t: TestContext) => {
    writeConfig('tasks:\n  ticker: {autostart: true, repeat: forever, steps: [{log: tick}, {sleep: 200ms}]}\n');
    ok(['systemctl', 'reset-failed', 'asyncdemo']);
    for (let i = 0; i < 12; i++) {
      const result = run(['systemctl', 'restart', 'asyncdemo'], { timeoutMs: 60_000 });
      assert.equal(result.code, 0, `restart ${i + 1}: ${result.stderr}`);
    }
    assert.equal(show('ActiveState'), 'active');
    writeDropIn('[Service]\nRestartSec=1\n');
    try {
      writeConfig('tasks:\n  boom:\n    autostart: true\n    steps: [{crash: on purpose}]\n');
      run(['systemctl', 'restart', 'asyncdemo'], { timeoutMs: 60_000 });
      // systemd keeps the last failure's Result (exit-code) and says why it stopped restarting in the journal.
      const stoppedByLimit = (): boolean => show('ActiveState') === 'failed' && ok(['journalctl', '-u', 'asyncdemo', '--no-pager', '-n', '30']).includes('repeated too quickly');
      await poll(() => (stoppedByLimit() ? true : undefined), 240_000, 'the crash loop stopped by the start limit', 500).catch((error: Error) => {
        throw new Error(`${error.message}: ActiveState ${show('ActiveState')}, Result ${show('Result')}, NRestarts ${show('NRestarts')}\n${journal(undefined, ['-n', '20']).join('\n')}`);
      });
      const restarts = Number(show('NRestarts'));
      t.diagnostic(`systemd ${sh('systemctl --version | head -n1').trim()}: crash loop stopped after ${restarts} restarts`);
      assert.ok(restarts >= 3 && restarts <= 5, `NRestarts ${restarts}`);
    } finally {
      writeDropIn(undefined);
      ok(['systemctl', 'reset-failed', 'asyncdemo']);
    }
  });

  it('a user in adm runs asyncdemo status without sudo: the running service, its PID and config', async (t: TestContext) => {
    writeConfig('tasks:\n  ticker: {autostart: true, repeat: forever, steps: [{log: tick}, {sleep: 200ms}]}\n');
    restart();
    run(['useradd', '--create-home', '--groups', 'adm', 'owner']);
    try {
      const pid = show('MainPID');
      const status = await poll(() => {
        const result = run(['runuser', '-u', 'owner', '--', COMMAND, 'status']);
        return result.code === 0 && result.stdout.includes('ticker[') ? result : undefined;
      }, 30_000, 'asyncdemo status as a user in adm', 500);
      assert.match(status.stdout, new RegExp(`^asyncdemo: +running \\(pid ${pid}\\), up `, 'm'));
      assert.match(status.stdout, /^config: +\/etc\/asyncdemo\/config\.yaml, loaded /m);
      t.diagnostic(`owner@guest$ asyncdemo status\n${status.stdout}`);
      stop();
      const stopped = run(['runuser', '-u', 'owner', '--', COMMAND, 'status']);
      assert.equal(stopped.code, 3, stopped.stdout + stopped.stderr);
    } finally {
      run(['userdel', '--remove', 'owner']);
    }
  });

  it("the owner's edit loop: a refused reload fails systemctl reload, is recorded by asyncdemo status and told by asyncdemo reload; an edit not yet applied is flagged; asyncdemo edit installs and reloads", async (t: TestContext) => {
    const good = 'tasks:\n  heartbeat: {autostart: true, repeat: forever, steps: [{sleep: 10s}]}\n  operation: {autostart: true, repeat: forever, steps: [{log: operation1}, {sleep: 3}]}\n';
    writeConfig(good);
    restart();
    const pid = show('MainPID');
    // Not applied yet: the file on disk differs from the config in force.
    writeConfig(good.replace('{sleep: 3}', '{sleep: 2}'));
    const unapplied = ok([COMMAND, 'status']);
    assert.match(unapplied, /^ +edited at \S+, not applied: sudo systemctl reload asyncdemo \(or: sudo asyncdemo edit\)$/m);
    // A broken file: systemctl reload fails, the daemon's reason is at err in the journal and in status.
    writeConfig(good.replace('{sleep: 3}', '{sleep: soon}'));
    const cursor = journalCursor();
    const reload = run(['systemctl', 'reload', 'asyncdemo']);
    assert.notEqual(reload.code, 0, 'systemctl reload fails');
    const reason = await journalLine(cursor, /reload refused, the running config stays: .*tasks\.operation\.steps\[1\]\.sleep: must be a number of seconds/);
    // Its priority from the entry, not journalctl -p: journalctl 252 with --after-cursor and -p skips
    // an entry that shares its timestamp with the one before.
    const entries = ok(['journalctl', '-u', 'asyncdemo', '--no-pager', '-o', 'json', `--after-cursor=${cursor}`])
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { MESSAGE?: unknown; PRIORITY?: string });
    assert.equal(entries.find((e) => e.MESSAGE === reason)?.PRIORITY, '3', 'at err priority');
    assert.match(ok([COMMAND, 'status']), /^last reload: +refused at \S+: invalid config \/etc\/asyncdemo\/config\.yaml \(1 problem\): /m);
    const ours = run([COMMAND, 'reload']);
    assert.equal(ours.code, 78, ours.stdout + ours.stderr);
    assert.match(ours.stderr, /^asyncdemo: reload refused, the running config stays: .*must be a number of seconds/);
    assert.equal(show('MainPID'), pid, 'the old config runs on, in the same process');
    // One line per message, without a second "asyncdemo:" after the journal's identifier.
    assert.deepEqual(journal(cursor).filter((l) => l.startsWith('asyncdemo: ')), [], 'no doubled prefix');
    // check-config with no file checks the service's config; a typo is one problem.
    writeConfig(good.replace('{sleep: 3}', '{slep: 3}'));
    const check = run([COMMAND, 'check-config']);
    assert.equal(check.code, 78);
    assert.match(check.stderr, /^asyncdemo: invalid config \/etc\/asyncdemo\/config\.yaml \(1 problem\):\n  \/etc\/asyncdemo\/config\.yaml:\d+: tasks\.operation\.steps\[1\]\.slep: unknown key; did you mean sleep\?\n$/);
    // Each command has its own help; the man pages and completion are installed; the version names the commit.
    assert.match(ok([COMMAND, 'status', '--help']), /^Usage: asyncdemo status \[--json\] \[--tasks\]\n/);
    for (const file of ['/usr/share/man/man1/asyncdemo.1.gz', '/usr/share/man/man5/asyncdemo.yaml.5.gz', '/usr/share/bash-completion/completions/asyncdemo']) assert.ok(statSync(file).size > 0, file);
    assert.match(ok([COMMAND, '--version']), /^asyncdemo \S+ \(commit [0-9a-f]{40}, Node\.js v\d+/);
    // asyncdemo edit with a scripted editor: the good timing, installed with the file's mode and owner, and reloaded.
    writeConfig(good);
    const editor = '/tmp/vm-editor.sh';
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/sleep: 3/sleep: 2/' "$1"\n`, { mode: 0o755 });
    const editCursor = journalCursor();
    const edited = run([COMMAND, 'edit'], { env: { EDITOR: editor } });
    assert.equal(edited.code, 0, edited.stdout + edited.stderr);
    assert.equal(edited.stdout, `saved ${CONFIG}\nreloaded: kept heartbeat; restarted operation; cancelled none; started none\n`);
    // The reload's journal line reads as a sentence: no JSON tail.
    const reloaded = journal(editCursor).find((l) => l.startsWith('reloaded '));
    assert.match(reloaded ?? '', /^reloaded \/etc\/asyncdemo\/config\.yaml: kept heartbeat; restarted operation; cancelled none; started none$/);
    assert.equal(sh(`stat -c '%U:%G %a' ${CONFIG}`).trim(), 'root:asyncdemo 640');
    assert.equal(show('MainPID'), pid);
    t.diagnostic(`root@guest# asyncdemo edit (EDITOR: sed sleep 3 -> 2)\n${edited.stdout}`);
    // Another daemon in the foreground may not drive the service's pin.
    writeConfig(ledConfig('chardev'));
    restart();
    writeFileSync('/tmp/vm-second.yaml', ledConfig('chardev'));
    const second = run([COMMAND, 'run', '--config', '/tmp/vm-second.yaml'], { timeoutMs: 30_000 });
    assert.equal(second.code, 75, second.stdout + second.stderr);
    assert.match(second.stdout, /not starting: the asyncdemo service \(pid \d+\) drives BCM 17, which \/tmp\/vm-second\.yaml would drive too\. Fix: /);
    stop();
  });

  it('journalctl -p warning shows the warnings and none of the info lines', async () => {
    writeConfig('tasks:\n  ticker: {autostart: true, repeat: forever, steps: [{log: info tick}, {sleep: 200ms}]}\n  warner: {autostart: true, steps: [{log: a warning for the journal, level: warn}]}\n');
    restart();
    // This run's lines by its PID, not by a cursor: journalctl 252 with --after-cursor and -p
    // skips an entry that shares its timestamp with the one before (two lines of one write).
    const pid = `_PID=${show('MainPID')}`;
    await poll(() => (journal(undefined, [pid]).filter((l) => l.endsWith('info tick')).length >= 3 ? true : undefined), 30_000, 'info ticks in the journal', 250);
    const warnings = journal(undefined, [pid, '-p', 'warning']);
    assert.ok(warnings.some((l) => l.endsWith('warner[0] a warning for the journal')), warnings.join('\n'));
    assert.ok(!warnings.some((l) => l.includes('info tick')), warnings.join('\n'));
    stop();
  });

  it('systemd-analyze security rates the shipped unit 1.0 or lower', (t: TestContext) => {
    const report = run(['systemd-analyze', 'security', 'asyncdemo.service']).stdout;
    writeFileSync(`${OUT}/security.txt`, report);
    const exposure = Number(/Overall exposure level for asyncdemo\.service: ([\d.]+)/.exec(report)?.[1]);
    metric('exposure', exposure);
    t.diagnostic(`systemd-analyze security (systemd ${sh('systemctl --version | head -n1').trim()}): exposure ${exposure}`);
    assert.ok(exposure <= 1.0, report);
    const verify = run(['systemd-analyze', 'verify', '--recursive-errors=yes', UNIT_FILE]);
    assert.equal(verify.code, 0, verify.stderr);
  });

  it('a full log filesystem: one error line, the daemon runs on, and one line when it can write again', async () => {
    stop();
    const image = '/var/tmp/asyncdemo-tiny-log.img';
    try {
      // A 2 MiB filesystem on the log directory, all but 64 KiB of it taken by a file the test can remove.
      sh(`rm -f ${image} && truncate -s 2M ${image} && mkfs.ext4 -q -F ${image} && mount -o loop ${image} ${LOG_DIR}`);
      sh(`fallocate -l $(( $(df --output=avail -B1 ${LOG_DIR} | tail -n1) - 65536 )) ${LOG_DIR}/filler`);
      writeConfig('log: {file: {size: 10m}}\ntasks:\n  writer: {autostart: true, repeat: forever, steps: [{log: "a line to fill the disk with, long enough to fill it soon"}, {sleep: 5ms}]}\n');
      const cursor = journalCursor();
      restart();
      const pid = show('MainPID');
      await journalLine(cursor, /^cannot write the log files in .*ENOSPC/, 120_000);
      const failedAt = journal(cursor).findIndex((l) => l.startsWith('cannot write the log files'));
      await poll(() => (journal(cursor).slice(failedAt).filter((l) => l.includes('a line to fill the disk')).length >= 50 ? true : undefined), 60_000, 'the writer running on after the disk filled', 250);
      assert.equal(show('MainPID'), pid, 'the same process');
      assert.equal(show('ActiveState'), 'active');
      rmSync(`${LOG_DIR}/filler`);
      await journalLine(cursor, /^the log files in \S+ can be written again; (no line was lost|\d+ lines were dropped meanwhile \(the console has them\))$/, 60_000);
      assert.equal(journal(cursor).filter((l) => l.startsWith('cannot write the log files')).length, 1, 'one error line');
      assert.equal(show('MainPID'), pid);
    } finally {
      stop();
      run(['umount', LOG_DIR]);
      rmSync(image, { force: true });
    }
  });

  /** What the previous release shipped as /etc/asyncdemo/config.yaml. */
  const olderDefault = (): string => sh(`dpkg-deb --fsys-tarfile ${packages().older} | tar -xO ./etc/asyncdemo/config.yaml`);
  /** An apt install of `deb` (up or down), with the journal's starts and stops of the service meanwhile. */
  const installAgain = (deb: string): { output: string; starts: number; stops: number } => {
    const cursor = journalCursor();
    const { result } = apt(['install', '--no-install-recommends', '--allow-downgrades', deb], 'upgrade.log');
    assert.equal(result.code, 0, result.stdout.slice(-3000));
    const lines = journal(cursor);
    return { output: result.stdout, starts: lines.filter((l) => /^Started asyncdemo\.service/.test(l)).length, stops: lines.filter((l) => /^Stopping asyncdemo\.service/.test(l)).length };
  };
  const versionPattern = (version: string): string => version.replaceAll('.', '\\.').replaceAll('+', '\\+');

  it('an upgrade from the previous release with its untouched config: the new default replaces it, no prompt, one restart, on the new version (asyncdemo status says which)', async (t: TestContext) => {
    const { current, older, version, olderVersion } = packages();
    // Untouched: as the installed package shipped it; the previous release then replaces it with its own.
    writeConfig(readFileSync(`${APP}/config/default.yaml`, 'utf8'));
    installAgain(older);
    assert.equal(readFileSync(CONFIG, 'utf8'), olderDefault(), 'the previous release installed its default');
    assert.match(ok([COMMAND, '--version']), new RegExp(`^asyncdemo ${versionPattern(olderVersion)} `));
    restart();
    const pid = show('MainPID');
    const cursor = journalCursor();
    const started = Date.now();
    const up = installAgain(current);
    metric('upgradeMs', Date.now() - started);
    assert.equal(readFileSync(CONFIG, 'utf8'), readFileSync(`${APP}/config/default.yaml`, 'utf8'), 'the new default');
    assert.ok(!existsSync(`${CONFIG}.dpkg-dist`), 'nothing set aside');
    assert.deepEqual({ starts: up.starts, stops: up.stops }, { starts: 1, stops: 1 }, 'one restart');
    assert.notEqual(show('MainPID'), pid);
    const status = await poll(() => {
      const r = run([COMMAND, 'status']);
      return r.stdout.includes(`version:     ${version}`) ? r.stdout : undefined;
    }, 30_000, `asyncdemo status showing ${version}`, 500);
    assert.match(status, new RegExp(`^asyncdemo: +running \\(pid ${show('MainPID')}\\)`, 'm'));
    const upgradeLines = ok(['journalctl', '--no-pager', '-o', 'short-iso', `--after-cursor=${cursor}`, '-u', 'asyncdemo', '-g', 'Stopping|Stopped|Starting|Started|asyncdemo .* ready|^stopped|cancelled|LED:']);
    writeFileSync(`${OUT}/upgrade-journal-${suite}.txt`, upgradeLines);
    t.diagnostic(`the upgrade in the journal:\n${upgradeLines}`);
  });

  it('an upgrade with an edited config keeps it and puts the new default next to it (config.yaml.dpkg-dist), asking nothing', () => {
    const { current, older } = packages();
    const edited = 'tasks:\n  ticker: {autostart: true, repeat: forever, steps: [{log: edited tick}, {sleep: 300ms}]}\n';
    writeConfig(edited);
    installAgain(older);
    assert.equal(readFileSync(CONFIG, 'utf8'), edited);
    rmSync(`${CONFIG}.dpkg-dist`, { force: true });
    const up = installAgain(current);
    assert.equal(readFileSync(CONFIG, 'utf8'), edited, 'the edited config is kept');
    assert.equal(readFileSync(`${CONFIG}.dpkg-dist`, 'utf8'), readFileSync(`${APP}/config/default.yaml`, 'utf8'));
    assert.deepEqual({ starts: up.starts, stops: up.stops }, { starts: 1, stops: 1 }, 'one restart');
    assert.equal(show('ActiveState'), 'active');
  });

  it("a Node.js upgrade (a newer nodejs package) remakes the code cache through the package's trigger", () => {
    const files = (): string => sh('find /var/cache/asyncdemo -type f -printf "%i %T@ %p\\n" | sort');
    const before = files();
    assert.notEqual(before.trim(), '', 'the install made a code cache');
    const current = sh("dpkg-query -W -f='${Version}' nodejs").trim();
    sh(`bash ${SHARE_GUEST}/nodejs-standin.sh /usr/bin/node '${current}+next' /var/tmp/nodejs-next.deb`, 300_000);
    const upgrade = run(['dpkg', '-i', '/var/tmp/nodejs-next.deb'], { timeoutMs: 600_000 });
    rmSync('/var/tmp/nodejs-next.deb', { force: true });
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.match(upgrade.stdout, /Processing triggers for asyncdemo/);
    assert.notEqual(files(), before, 'the cache files were written again');
    const doctor = run(['runuser', '-u', 'asyncdemo', '--', COMMAND, 'doctor', '--config', CONFIG]).stdout;
    assert.match(doctor, /^✓ start-up: (the code cache \/var\/cache\/asyncdemo\/app\.cache fits this Node|Node's own compile cache)/m, doctor);
  });

  it('apt remove stops it and keeps the config and logs; apt purge removes them and the user; apt install brings it back', () => {
    const { current } = packages();
    const config = readFileSync(CONFIG, 'utf8');
    const removed = apt(['remove', 'asyncdemo'], 'remove.log');
    assert.equal(removed.result.code, 0, removed.result.stdout);
    assert.notEqual(show('ActiveState'), 'active');
    assert.ok(!existsSync(APP) && !existsSync(COMMAND));
    assert.equal(readFileSync(CONFIG, 'utf8'), config);
    assert.ok(existsSync(LOG_DIR));
    const purged = apt(['purge', 'asyncdemo'], 'remove.log');
    assert.equal(purged.result.code, 0, purged.result.stdout);
    for (const path of ['/etc/asyncdemo', LOG_DIR, '/var/cache/asyncdemo']) assert.ok(!existsSync(path), `${path} is gone`);
    assert.notEqual(run(['id', 'asyncdemo']).code, 0, 'the user is gone');
    // For the next boots (clock, after the cut): installed again.
    const again = apt(['install', '--no-install-recommends', current], 'install.log');
    assert.equal(again.result.code, 0, again.result.stdout);
    assert.equal(show('ActiveState'), 'active');
  });

  it('leaves rotated log files for the next boot, whose clock will be behind them', async () => {
    for (const name of readdirSync(LOG_DIR)) rmSync(`${LOG_DIR}/${name}`, { recursive: true, force: true });
    writeConfig(rotatingConfig(10));
    restart();
    await poll(() => (readdirSync(LOG_DIR).filter((n) => LOG_FILE.test(n)).length >= KEEP + 1 ? true : undefined), 120_000, `${KEEP + 1} log files`, 250);
    stop();
    sh('sync');
    const files = readdirSync(LOG_DIR).filter((n) => LOG_FILE.test(n));
    assert.ok(files.length <= KEEP + 1, `bounded: ${files.join(', ')}`);
    writeFileSync(`${OUT}/logs-before-clock.json`, JSON.stringify(files.map((n) => ({ name: n, mtimeMs: statSync(`${LOG_DIR}/${n}`).mtimeMs }))));
  });
});
