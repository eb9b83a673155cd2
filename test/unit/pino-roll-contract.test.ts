// What asyncdemo assumes about pino-roll and sonic-boom beyond their documented
// options (src/log/pino-roll-internals.ts). Both are pinned in package.json; an
// upgrade that changes any of this fails here first.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { forgetFailedReopen, nextFileName, requestRoll, rollPending, rollPendingNow, startFileName, type RollingStream } from '../../src/log/pino-roll-internals.js';
import { pinoRoll } from '../../src/log/pino-roll.js';
import { ROOT, tempDir } from '../helpers/daemon.js';

const require = createRequire(import.meta.url);

function open(dir: string, extra: { size?: string; count?: number } = {}): Promise<RollingStream> {
  return pinoRoll({ file: join(dir, 'asyncdemo'), extension: '.log', size: extra.size ?? '1k', symlink: true, limit: { count: extra.count ?? 100, removeOtherLogFiles: true }, sync: true });
}

function close(stream: RollingStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.end();
  });
}

describe('pino-roll and sonic-boom as asyncdemo uses them', () => {
  it('are the exact versions package.json pins', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['pino-roll', 'sonic-boom']) {
      const installed = (require(join(ROOT, 'node_modules', name, 'package.json')) as { version: string }).version;
      assert.equal(pkg.dependencies[name], installed, `${name}: pinned ${pkg.dependencies[name]}, installed ${installed}`);
    }
    assert.equal(require.resolve('sonic-boom', { paths: [join(ROOT, 'node_modules', 'pino-roll')] }), require.resolve('sonic-boom', { paths: [ROOT] }), 'pino-roll uses the pinned sonic-boom');
  });

  it("start: appends to the newest asyncdemo.<n>.log, as startFileName says: pino-roll takes asyncdemo's numbering (it reads detectLastNumber from its utils when it loads)", async () => {
    const empty = tempDir();
    const first = await open(empty);
    assert.equal(first.file, join(empty, 'asyncdemo.1.log'));
    assert.equal(startFileName(empty, 'asyncdemo'), first.file);
    await close(first);

    const dir = tempDir();
    // pino-roll's own rule would take 9007199254740993 (the trailing digits of any *.log), then roll to the same name for ever.
    for (const name of ['asyncdemo.3.log', 'asyncdemo.2026-11-24.4.log', 'other.9.log', 'asyncdemo.12.txt', 'dump.9007199254740993.log', 'dump.1000000000000000000000.log']) writeFileSync(join(dir, name), '');
    symlinkSync('asyncdemo.3.log', join(dir, 'current.log'));
    const expected = startFileName(dir, 'asyncdemo');
    assert.equal(expected, join(dir, 'asyncdemo.3.log'));
    const stream = await open(dir);
    assert.equal(stream.file, expected);
    await close(stream);
  });

  it('a write that reaches size makes it wait for drain; drain then rolls synchronously to the next number and relinks current.log', async () => {
    const dir = tempDir();
    const stream = await open(dir);
    const fd = stream.fd;
    stream.write('x'.repeat(1023) + '\n');
    assert.equal(rollPending(stream), true, 'waits for drain');
    assert.equal(stream.file, join(dir, 'asyncdemo.1.log'), 'not rolled yet');
    const next = nextFileName(stream.file);
    // asyncdemo points current.log at the next file first, atomically; pino-roll leaves a right link alone.
    symlinkSync('asyncdemo.2.log', join(dir, 'new-link'));
    renameSync(join(dir, 'new-link'), join(dir, 'current.log'));
    const link = lstatSync(join(dir, 'current.log')).ino;
    rollPendingNow(stream);
    assert.equal(lstatSync(join(dir, 'current.log')).ino, link, 'the same link');
    assert.equal(stream.file, next, 'rolled before drain returned');
    assert.notEqual(stream.fd, fd);
    assert.equal(readlinkSync(join(dir, 'current.log')), 'asyncdemo.2.log');
    assert.equal(rollPending(stream), false);
    stream.write('y\n');
    assert.equal(readFileSync(next, 'utf8'), 'y\n', 'sync: written before write returned');
    await close(stream);
  });

  it('a write event of ROLL_NOW_BYTES asks for a roll, once', async () => {
    const dir = tempDir();
    const stream = await open(dir, { size: '10m' });
    stream.write('a\n');
    assert.equal(rollPending(stream), false);
    requestRoll(stream);
    requestRoll(stream);
    assert.equal(rollPending(stream), true);
    rollPendingNow(stream);
    assert.equal(stream.file, join(dir, 'asyncdemo.2.log'), 'one roll, to the next number');
    requestRoll(stream);
    rollPendingNow(stream);
    assert.equal(stream.file, join(dir, 'asyncdemo.3.log'));
    await close(stream);
  });

  it('a failed roll keeps the old descriptor, names the file it could not open, and reports the error before drain returns', async () => {
    const dir = tempDir();
    const stream = await open(dir, { size: '10m' });
    mkdirSync(join(dir, 'asyncdemo.2.log'));
    const errors: unknown[] = [];
    stream.on('error', (error) => errors.push(error));
    const fd = stream.fd;
    requestRoll(stream);
    rollPendingNow(stream);
    assert.equal(errors.length, 1, 'reported synchronously');
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'EISDIR');
    assert.equal(stream.fd, fd);
    assert.equal(stream.file, join(dir, 'asyncdemo.2.log'));
    assert.equal(nextFileName(stream.file), join(dir, 'asyncdemo.3.log'));
    assert.equal(stream.listenerCount('ready'), 1, "leaves behind the 'ready' listener meant to close the old descriptor (forgetFailedReopen removes it)");
    forgetFailedReopen(stream);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(errors.every((e) => e === errors[0]), 'reported again on the next tick as the same error object');
    // Asked again, it rolls to the number after the failed one.
    requestRoll(stream);
    rollPendingNow(stream);
    assert.equal(stream.file, join(dir, 'asyncdemo.3.log'));
    assert.notEqual(stream.fd, fd);
    await close(stream);
  });

  it('a synchronous write that fails reports before returning and keeps the rest; write("") tries the rest again', async () => {
    const SonicBoom = require('sonic-boom') as new (opts: object) => RollingStream & { reopen(file: string): void };
    const stream = new SonicBoom({ dest: '/dev/full', sync: true });
    const errors: NodeJS.ErrnoException[] = [];
    stream.on('error', (error: NodeJS.ErrnoException) => errors.push(error));
    stream.write('kept line\n');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, 'ENOSPC');
    stream.write('');
    assert.equal(errors.length, 2, 'the rest was tried again');
    const good = join(tempDir(), 'good.log');
    stream.reopen(good);
    assert.equal(readFileSync(good, 'utf8'), 'kept line\n', 'the rest was kept');
    await close(stream);
  });

  it('prunes by number alone: the highest numbers stay', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'asyncdemo.7.log'), 'old\n');
    const stream = await open(dir, { size: '10m', count: 2 });
    assert.equal(stream.file, join(dir, 'asyncdemo.7.log'));
    for (let i = 0; i < 3; i++) {
      const pruned = new Promise((resolve) => stream.once('cleanup-complete', resolve));
      requestRoll(stream);
      rollPendingNow(stream);
      await pruned;
    }
    assert.deepEqual(readdirSync(dir).sort(), ['asyncdemo.10.log', 'asyncdemo.9.log', 'current.log']);
    await close(stream);
  });
});
