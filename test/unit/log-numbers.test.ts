import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { logNumber, MAX_LOG_NUMBER, startNumber } from '../../src/log/log-numbers.js';
import { tempDir } from '../helpers/daemon.js';

describe('log file numbers', () => {
  it('only asyncdemo.<n>.log with n from 1 to 999999999 is ours', () => {
    assert.equal(logNumber('asyncdemo.7.log', 'asyncdemo'), 7);
    assert.equal(logNumber(`asyncdemo.${MAX_LOG_NUMBER}.log`, 'asyncdemo'), MAX_LOG_NUMBER);
    for (const name of ['asyncdemo.0.log', 'asyncdemo.07.log', 'asyncdemo.1000000000.log', 'asyncdemo.9007199254740993.log', 'dump.5.log', 'asyncdemo.5.log.gz', 'xasyncdemo.5.log', 'asyncdemo.2026-11-24.4.log']) {
      assert.equal(logNumber(name, 'asyncdemo'), undefined, name);
    }
  });

  it('a start appends to the newest of ours and leaves strays alone: numbered dumps, huge numbers', () => {
    const dir = tempDir();
    for (const name of ['asyncdemo.4.log', 'asyncdemo.5.log', 'dump.9007199254740993.log', 'dump.1000000000000000000000.log', 'notes.99.log']) writeFileSync(join(dir, name), '');
    assert.equal(startNumber(dir, 'asyncdemo'), 5);
  });

  it('a directory named like the newest log file makes the start begin a new file after it, not fail on it; a link there is claimed (and removed) as before', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'asyncdemo.4.log'), '');
    mkdirSync(join(dir, 'asyncdemo.5.log'));
    assert.equal(startNumber(dir, 'asyncdemo'), 6);
    const other = tempDir();
    symlinkSync('/etc/hostname', join(other, 'asyncdemo.2.log'));
    assert.equal(startNumber(other, 'asyncdemo'), 2);
  });

  it('an empty directory starts at 1', () => {
    assert.equal(startNumber(tempDir(), 'asyncdemo'), 1);
  });
});
