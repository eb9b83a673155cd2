import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LogSettings } from '../../src/log/logger.js';
import { createLogging } from '../../src/log/logger.js';
import { tempDir } from '../helpers/daemon.js';

function settings(dir: string, overrides: { level?: LogSettings['level']; console?: Partial<LogSettings['console']>; file?: Partial<LogSettings['file']> } = {}): LogSettings {
  return {
    level: overrides.level ?? 'info',
    console: { level: null, format: 'json', ...overrides.console },
    file: { enabled: true, dir, level: null, size: '10m', frequency: null, keep: 5, ...overrides.file },
  };
}

/** The log files in the order they were written (pino-roll numbers them). */
function logFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^asyncdemo\.(\d{4}-\d\d-\d\d\.)?\d+\.log$/.test(f))
    .sort((a, b) => Number(/(\d+)\.log$/.exec(a)?.[1]) - Number(/(\d+)\.log$/.exec(b)?.[1]))
    .map((f) => join(dir, f));
}

const quietConsole = { write: () => true };

describe('log files', () => {
  it('rotation under load loses no line and splits none: 200,000 lines, a tiny size limit', async () => {
    const dir = tempDir();
    const logging = await createLogging({ settings: settings(dir, { file: { size: '100k', keep: 1000 } }), env: {}, stdoutIsTTY: false, consoleSink: quietConsole });
    const task = logging.logger.child({ task: 'load' });
    const total = 200_000;
    for (let i = 0; i < total; i++) {
      task.info({ step: i % 9, seq: i }, `line ${i}`);
      // A busy daemon logs in bursts, one per timer wake; rotation happens between them.
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    await logging.close();
    const files = logFiles(dir);
    assert.ok(files.length > 100, `${files.length} files: rotation happened`);
    let expected = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      assert.ok(text.endsWith('\n'), `${file} ends with a whole line`);
      for (const line of text.slice(0, -1).split('\n')) {
        const record = JSON.parse(line) as { seq: number; msg: string };
        assert.equal(record.seq, expected, `line ${expected} is next, once`);
        assert.equal(record.msg, `line ${expected}`);
        expected++;
      }
    }
    assert.equal(expected, total);
  });

  it('a synchronous burst loses nothing either', async () => {
    const dir = tempDir();
    const logging = await createLogging({ settings: settings(dir, { file: { size: '1m', keep: 100 } }), env: {}, stdoutIsTTY: false, consoleSink: quietConsole });
    for (let i = 0; i < 50_000; i++) logging.logger.info({ seq: i }, 'burst');
    await logging.close();
    const seqs = logFiles(dir).flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq));
    assert.equal(seqs.length, 50_000);
    assert.ok(seqs.every((s, i) => s === i));
  });

  it('a line reaches the file in the same turn of the loop, not when a batch fills', async () => {
    const dir = tempDir();
    const logging = await createLogging({ settings: settings(dir), env: {}, stdoutIsTTY: false, consoleSink: quietConsole });
    logging.logger.info('one quiet line');
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(readFileSync(join(dir, 'current.log'), 'utf8'), /one quiet line/);
    await logging.close();
  });

  it('keeps per-destination levels, and a reload changes them at once', async () => {
    const dir = tempDir();
    const consoleLines: string[] = [];
    const logging = await createLogging({
      settings: settings(dir, { level: 'info', console: { level: 'warn' }, file: { level: 'debug' } }),
      env: {},
      stdoutIsTTY: false,
      consoleSink: { write: (t: string) => consoleLines.push(t) },
    });
    assert.equal(logging.logger.level, 'debug', 'the logger lets through what the most talkative destination wants');
    logging.logger.debug('d1');
    logging.logger.info('i1');
    logging.logger.warn('w1');
    const level = logging.setLevels(settings(dir, { level: 'info', console: { level: 'info' }, file: { level: 'error' } }));
    assert.equal(level, 'info');
    logging.logger.debug('d2');
    logging.logger.info('i2');
    logging.logger.error('e2');
    await logging.close();
    const fileMsgs = readFileSync(join(dir, 'current.log'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
    const consoleMsgs = consoleLines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(fileMsgs, ['d1', 'i1', 'w1', 'e2']);
    assert.deepEqual(consoleMsgs, ['w1', 'i2', 'e2']);
  });

  it('after close, lines still reach the console', async () => {
    const dir = tempDir();
    const consoleLines: string[] = [];
    const logging = await createLogging({ settings: settings(dir), env: {}, stdoutIsTTY: false, consoleSink: { write: (t: string) => consoleLines.push(t) } });
    await logging.close();
    logging.logger.info('late');
    assert.equal(consoleLines.length, 1);
  });
});
