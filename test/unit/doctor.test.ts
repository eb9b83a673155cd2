import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatReport, runDoctor, type DoctorProbes } from '../../src/doctor.js';
import { ConfigError, GpioUnavailableError } from '../../src/errors.js';
import { configFile } from '../helpers/config-file.js';
import { tempDir } from '../helpers/daemon.js';
import { doctorProbes, SD_NOTIFY_FIX } from '../helpers/doctor-probes.js';

function pi4Sysfs(): string {
  const root = tempDir('asyncdemo-doctor-sysfs-');
  writeFileSync(join(root, 'export'), '');
  mkdirSync(join(root, 'gpiochip512'));
  writeFileSync(join(root, 'gpiochip512', 'base'), '512\n');
  writeFileSync(join(root, 'gpiochip512', 'ngpio'), '58\n');
  writeFileSync(join(root, 'gpiochip512', 'label'), 'pinctrl-bcm2711\n');
  return root;
}

const LOGS = tempDir('asyncdemo-doctor-logs-');
const GOOD = `log: {file: {dir: ${LOGS}}}\nled: {enabled: true, pin: 27}\ntasks: {a: {autostart: true, steps: [{log: hi}]}}\n`;

function probes(overrides: Partial<DoctorProbes> & { yaml?: string } = {}): DoctorProbes {
  const { yaml, ...rest } = overrides;
  return doctorProbes(yaml ?? GOOD, rest);
}

describe('asyncdemo doctor', () => {
  it('on a Pi 4 with a kernel 6.6+: the chip, its base and the sysfs number of the configured pin', () => {
    const checks = runDoctor(probes({ sysfsRoot: pi4Sysfs(), loadOnoff: () => class {} as never }));
    const sysfs = checks.find((c) => c.text.startsWith('sysfs GPIO'));
    assert.deepEqual(sysfs, { ok: true, required: false, text: 'sysfs GPIO: pinctrl-bcm2711 at base 512: BCM 27 is GPIO 539 (chips: gpiochip512 pinctrl-bcm2711 base 512)' });
    assert.ok(checks.some((c) => c.ok && c.text === 'onoff (sysfs GPIO) is installed'));
    assert.ok(checks.some((c) => c.ok && c.text === 'this user is in the gpio group'));
  });

  it('every ✗ comes with its fix; warnings alone exit 0', () => {
    const checks = runDoctor(probes({ loadSdNotify: () => undefined, pythonVersion: () => undefined }));
    const failed = checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.text.slice(0, c.text.indexOf(':'))),
      ['systemd binding (sd-notify) is not installed', 'sysfs GPIO', 'GPIO character devices', 'python3 does not run', 'LED'],
      JSON.stringify(failed),
    );
    assert.ok(failed.every((c) => !c.required), 'all warnings here: this machine does not run systemd');
    for (const check of failed) assert.ok(check.fix !== undefined && check.fix.length > 0, `${check.text} has a fix`);
    assert.equal(failed[0]?.fix, SD_NOTIFY_FIX);
    assert.equal(failed[3]?.fix, 'sudo apt install python3');
    const report = formatReport(checks);
    assert.equal(report.ok, true);
    assert.match(report.text, /^✓ Node\.js v20\.20\.2/m);
    assert.match(report.text, /^✗ systemd binding .*\n {4}fix: sudo apt install libsystemd-dev/m);
    assert.match(report.text, /ready to run, with 5 warnings\n$/);
  });

  it('under systemd the sd-notify binding is required: without it doctor fails, with the fix that reinstalls it', () => {
    const missing = runDoctor(probes({ loadSdNotify: () => undefined, systemdRunning: () => true }));
    const binding = missing.find((c) => c.text.startsWith('systemd binding'));
    assert.deepEqual(binding, {
      ok: false,
      required: true,
      text: 'systemd binding (sd-notify) is not installed: it is required under systemd, and the service cannot start without it',
      fix: SD_NOTIFY_FIX,
    });
    const report = formatReport(missing);
    assert.equal(report.ok, false);
    assert.match(report.text, /1 required check failed\n$/);
    const present = runDoctor(probes({ systemdRunning: () => true })).find((c) => c.text.startsWith('systemd binding'));
    assert.deepEqual(present, { ok: true, required: true, text: 'systemd binding (sd-notify) is installed: READY, STATUS and WATCHDOG reach systemd' });
  });

  it('a user outside the gpio group is told how to join it', () => {
    const checks = runDoctor(probes({ user: () => ({ uid: 1000, groups: ['pi'] }) }));
    const group = checks.find((c) => c.text.includes('gpio group'));
    assert.equal(group?.ok, false);
    assert.match(group?.fix ?? '', /sudo usermod -aG gpio \$USER/);
  });

  it('required failures exit non-zero: an old Node, a bad config, led.required without GPIO', () => {
    const old = formatReport(runDoctor(probes({ nodeVersion: 'v18.19.0' })));
    assert.equal(old.ok, false);
    assert.match(old.text, /✗ Node\.js v18\.19\.0 is too old/);

    const bad = runDoctor(probes({ yaml: 'tasks: {a: {steps: [{sleep: -1}]}}\n' }));
    const config = bad.find((c) => !c.ok && c.required);
    assert.match(config?.text ?? '', /tasks\.a\.steps\[0\]\.sleep/);
    assert.equal(formatReport(bad).ok, false);

    const required = runDoctor(
      probes({
        chooseLed: () => {
          throw new GpioUnavailableError('LED: GPIO is not usable and led.required is true: no sysfs GPIO', 'fix the GPIO access above');
        },
      }),
    );
    assert.equal(formatReport(required).ok, false);
    assert.ok(required.some((c) => !c.ok && c.required && c.text.startsWith('LED: GPIO is not usable and led.required is true')));
  });

  it('an unwritable log directory is a warning with the fix, not a failure', () => {
    const checks = runDoctor(probes({ yaml: GOOD.replace(LOGS, join(configFile('a file, not a directory'), 'logs')) }));
    const logs = checks.find((c) => c.text.startsWith('log directory'));
    assert.equal(logs?.ok, false);
    assert.equal(logs?.required, false);
    assert.match(logs?.fix ?? '', /LogsDirectory=|log\.file\.dir/);
  });

  it('does not hide errors that are not about the config', () => {
    const bug = (): never => {
      throw new TypeError('a bug');
    };
    assert.throws(() => runDoctor(probes({ loadConfig: bug })), TypeError);
  });

  it('a config this user may not read is "cannot read: permission denied", not an invalid config, and not a failure for a non-root user', () => {
    const denied = (): never => {
      throw new ConfigError('/etc/asyncdemo/config.yaml', [{ path: '', reason: 'cannot read the file: EACCES (permission denied)' }], { cause: Object.assign(new Error('EACCES'), { code: 'EACCES' }) });
    };
    const checks = runDoctor(probes({ configFile: '/etc/asyncdemo/config.yaml', loadConfig: denied }));
    const config = checks.find((c) => c.text.includes('/etc/asyncdemo/config.yaml'));
    assert.equal(config?.text, 'cannot read the config /etc/asyncdemo/config.yaml: permission denied; run as root or a user in adm');
    assert.equal(config?.required, false);
    assert.match(config?.fix ?? '', /chmod 0644 \/etc\/asyncdemo\/config\.yaml|sudo asyncdemo doctor/);
    assert.ok(!checks.some((c) => /invalid config|edit the file/.test(`${c.text} ${c.fix ?? ''}`)));
    assert.equal(formatReport(checks).ok, true);
  });

  it("the service's log directory: relative to its WorkingDirectory, the service user's to write and this user's to read", () => {
    const work = tempDir('asyncdemo-doctor-work-');
    mkdirSync(join(work, 'logs'));
    const me = process.getuid?.() ?? 0;
    const service = { user: 'asyncdemo', workingDirectory: work };
    const names = (): { user: string; group: string } => ({ user: 'asyncdemo', group: 'adm' });
    const yaml = GOOD.replace(LOGS, 'logs');
    const mine = runDoctor(probes({ yaml, service, names, uidOf: () => me })).find((c) => c.text.includes("the service's log directory"));
    assert.equal(mine?.ok, true, mine?.text);
    assert.match(mine?.text ?? '', new RegExp(`^the service's log directory ${join(work, 'logs')} \\(asyncdemo:adm, mode \\d+\\): the service writes it, this user reads it$`));
    const theirs = runDoctor(probes({ yaml, service, names, uidOf: () => me + 1 })).find((c) => c.text.includes("the service's log directory"));
    assert.equal(theirs?.ok, false);
    assert.match(theirs?.text ?? '', /is not the service user asyncdemo's/);
    const missing = runDoctor(probes({ yaml: GOOD.replace(LOGS, 'gone'), service, names })).find((c) => c.text.includes("the service's log directory"));
    assert.equal(missing?.text, `the service's log directory ${join(work, 'gone')} does not exist yet: the service makes it when it starts`);
    assert.equal(missing?.fix, 'sudo systemctl start asyncdemo');
  });
});

describe('asyncdemo doctor: fixes that fit the machine', () => {
  it('no sysfs GPIO is normal on trixie and said so; on bookworm it is a warning whose fix does not speak of trixie', () => {
    const trixie = runDoctor(probes({ osCodename: () => 'trixie' })).find((c) => c.text.startsWith('sysfs GPIO'));
    assert.equal(trixie?.ok, true);
    assert.match(trixie?.text ?? '', /as on trixie's kernels\): led\.backend auto uses the character device$/);
    const bookworm = runDoctor(probes({ osCodename: () => 'bookworm' })).find((c) => c.text.startsWith('sysfs GPIO'));
    assert.equal(bookworm?.ok, false);
    assert.doesNotMatch(`${bookworm?.text ?? ''} ${bookworm?.fix ?? ''}`, /trixie/);
  });
});
