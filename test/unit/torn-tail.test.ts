import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cutTornTail } from '../../src/log/torn-tail.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function file(content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'asyncdemo-torn-'));
  dirs.push(dir);
  const path = join(dir, 'asyncdemo.11.log');
  writeFileSync(path, content);
  return path;
}
function cut(path: string): string[] {
  const reports: string[] = [];
  cutTornTail(path, (_level, message) => reports.push(message));
  return reports;
}

const WHOLE = '{"msg":"one"}\n{"msg":"two"}\n';

describe('a torn last line after a power cut', () => {
  it('zeros where the data never reached the disk are cut off, back to the last whole line, and said once', () => {
    const path = file(Buffer.concat([Buffer.from(`${WHOLE}{"msg":"thr`), Buffer.alloc(4096)]));
    const reports = cut(path);
    assert.equal(readFileSync(path, 'utf8'), WHOLE);
    assert.equal(reports.length, 1);
    assert.match(reports[0] ?? '', /^asyncdemo\.11\.log ended in a torn line \(4107 bytes, 4096 of them zeros; the power was cut while it was written\): cut back to its last whole line$/);
  });

  it('a part of a line is cut off', () => {
    const path = file(`${WHOLE}{"msg":"thr`);
    assert.equal(cut(path).length, 1);
    assert.equal(readFileSync(path, 'utf8'), WHOLE);
  });

  it('a file that ends with a whole line is left as it is, without a word', () => {
    const path = file(WHOLE);
    assert.deepEqual(cut(path), []);
    assert.equal(readFileSync(path, 'utf8'), WHOLE);
  });

  it('a missing file is no error', () => {
    assert.deepEqual(cut(join(tmpdir(), 'asyncdemo-torn-missing', 'asyncdemo.1.log')), []);
  });

  it('a link is not followed: its target keeps its torn end', () => {
    const victim = file(`${WHOLE}torn`);
    const link = join(mkdtempSync(join(tmpdir(), 'asyncdemo-torn-')), 'asyncdemo.12.log');
    dirs.push(join(link, '..'));
    symlinkSync(victim, link);
    assert.deepEqual(cut(link), []);
    assert.equal(readFileSync(victim, 'utf8'), `${WHOLE}torn`);
  });

  it('in a large file only the tail is looked at: 10 MiB of lines then zeros ends at its last whole line', () => {
    const lines = '{"msg":"a line of some length to fill the file with"}\n'.repeat(200_000);
    const path = file(Buffer.concat([Buffer.from(lines), Buffer.alloc(100 * 1024)]));
    cut(path);
    assert.equal(readFileSync(path).length, Buffer.byteLength(lines));
  });
});
