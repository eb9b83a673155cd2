import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runDoctor } from '../../src/doctor.js';
import { doctorProbes } from '../helpers/doctor-probes.js';
import { tempDir } from '../helpers/daemon.js';

const logCheck = (dir: string) => runDoctor(doctorProbes(`log: {file: {dir: ${dir}}}\ntasks: {a: {autostart: true, steps: [{log: hi}]}}\n`)).find((c) => c.text.startsWith('log directory'));

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
