import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { runDoctor, type DoctorProbes } from '../../src/doctor.js';
import { configFile } from '../helpers/config-file.js';
import { tempDir } from '../helpers/daemon.js';

function probes(logDir: string): DoctorProbes {
  const file = configFile(`log: {file: {dir: ${logDir}}}\ntasks: {a: {autostart: true, steps: [{log: hi}]}}\n`);
  return {
    nodeVersion: 'v20.20.2',
    configFile: file,
    loadConfig: () => loadConfig({ file, env: {} }),
    sysfsRoot: '/nonexistent/gpio',
    devDir: '/nonexistent',
    loadOnoff: () => undefined,
    loadSdNotify: () => () => {},
    sdNotifyFix: 'npm rebuild sd-notify',
    systemdRunning: () => false,
    pythonVersion: () => undefined,
    chooseLed: () => ({ backend: undefined, line: 'LED: simulated', fellBack: false }),
    user: () => ({ uid: 1000, groups: ['gpio'] }),
    gpioGroupExists: () => true,
  };
}

const logCheck = (dir: string) => runDoctor(probes(dir)).find((c) => c.text.startsWith('log directory'));

describe('asyncdemo doctor on the log directory', () => {
  it('✗ when every user can write it, with the chmod that fixes it', () => {
    const dir = tempDir('asyncdemo-doctor-logs-');
    chmodSync(dir, 0o777);
    const check = logCheck(dir);
    assert.equal(check?.ok, false);
    assert.match(check?.text ?? '', /can be written by every user \(mode 777\)/);
    assert.equal(check?.fix, `chmod o-w ${dir}`);
  });

  it('✓ when only its owner (and group) can write it', () => {
    const dir = tempDir('asyncdemo-doctor-logs-');
    chmodSync(dir, 0o775);
    assert.deepEqual(logCheck(dir), { ok: true, required: false, text: `log directory ${dir} is writable` });
  });
});
