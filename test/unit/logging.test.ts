import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LogSettings } from '../../src/log/logger.js';
import { createLogging } from '../../src/log/logger.js';
import { systemTime } from '../../src/time.js';
import { FakeTime } from '../helpers/fake-time.js';
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
    .filter((f) => /^asyncdemo\.\d+\.log$/.test(f))
    .sort((a, b) => Number(/(\d+)\.log$/.exec(a)?.[1]) - Number(/(\d+)\.log$/.exec(b)?.[1]))
    .map((f) => join(dir, f));
}

const quietConsole = { write: () => true };

describe('log files', () => {
  it('rotation under load loses no line and splits none: 200,000 lines, a tiny size limit', async () => {
    const dir = tempDir();
    const logging = await createLogging({ settings: settings(dir, { file: { size: '100k', keep: 1000 } }), env: {}, stdoutIsTTY: false, consoleSink: quietConsole, time: systemTime });
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
    const longest = files.reduce((max, f) => readFileSync(f, 'utf8').split('\n').reduce((m, l) => Math.max(m, Buffer.byteLength(l) + 1), max), 0);
    for (const file of files) assert.ok(statSync(file).size <= 100 * 1024 + 4096 + longest, `${file}: ${statSync(file).size} B, size 100k`);
  });

  it('a synchronous burst loses nothing either', async () => {
    const dir = tempDir();
    const logging = await createLogging({ settings: settings(dir, { file: { size: '1m', keep: 100 } }), env: {}, stdoutIsTTY: false, consoleSink: quietConsole, time: systemTime });
    for (let i = 0; i < 50_000; i++) logging.logger.info({ seq: i }, 'burst');
    await logging.close();
    const seqs = logFiles(dir).flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq));
    assert.equal(seqs.length, 50_000);
    assert.ok(seqs.every((s, i) => s === i));
    // One synchronous burst: pino-roll alone would roll only after it, all of it in one file.
    assert.ok(logFiles(dir).length >= 3, `${logFiles(dir).length} files`);
    for (const file of logFiles(dir)) assert.ok(statSync(file).size <= 1024 * 1024 + 4096 + 200, `${file}: ${statSync(file).size} B, size 1m`);
  });

  it('a line reaches the file in the same turn of the loop, not when a batch fills', async () => {
    const dir = tempDir();
    const logging = await createLogging({ settings: settings(dir), env: {}, stdoutIsTTY: false, consoleSink: quietConsole, time: systemTime });
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
      time: systemTime,
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
    const logging = await createLogging({ settings: settings(dir), env: {}, stdoutIsTTY: false, time: systemTime, consoleSink: { write: (t: string) => consoleLines.push(t) } });
    await logging.close();
    logging.logger.info('late');
    assert.equal(consoleLines.length, 1);
  });
});

describe('the wall clock, injected', () => {
  it('a jump is logged once, in the turn it is first seen', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const time = new FakeTime({ wallStart: Date.UTC(2026, 10, 20, 12) });
    const logging = await createLogging({ settings: settings(dir), env: {}, stdoutIsTTY: false, consoleSink: { write: (t: string) => lines.push(t) }, time });
    logging.logger.info('before');
    await time.settle();
    time.setWallClock(Date.UTC(2026, 10, 23, 16));
    logging.logger.info('after');
    logging.logger.info('after, same turn');
    await time.settle();
    logging.logger.info('a turn later');
    await time.settle();
    await logging.close();
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(msgs.slice(0, 2), ['before', 'after']);
    assert.equal(msgs.filter((m) => m.startsWith('the wall clock jumped')).length, 1, msgs.join('\n'));
    assert.match(msgs[3] ?? '', /^the wall clock jumped forward by 3 days 4 h, to 2026-11-23T16:00:00\.000Z/);
  });

  it('daily: rolls at the next local midnight, counted again from the new time when the clock jumps', async () => {
    const dir = tempDir();
    const time = new FakeTime({ wallStart: new Date(2026, 10, 20, 23, 0, 0).getTime() });
    const logging = await createLogging({ settings: settings(dir, { file: { frequency: 'daily' } }), env: {}, stdoutIsTTY: false, consoleSink: quietConsole, time });
    const armed = (): number => {
      const live = time.pendingDelays().filter((ms) => ms > 1000);
      assert.equal(live.length, 1, 'one period timer');
      return live[0] as number;
    };
    assert.equal(armed(), 3_600_000, 'an hour to midnight');
    logging.logger.info('day one');
    await time.settle();
    await time.advance(3_600_000);
    logging.logger.info('day two');
    await time.settle();
    assert.deepEqual(
      logFiles(dir).map((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)),
      [['day one'], ['day two']],
    );
    assert.equal(readlinkSync(join(dir, 'current.log')), 'asyncdemo.2.log');
    assert.equal(armed(), 86_400_000, 'a day to the next midnight');
    // NTP steps the clock to 20:00 the next day: the next roll is at the next midnight by the new time.
    time.setWallClock(new Date(2026, 10, 21, 20, 0, 0).getTime());
    logging.logger.info('after the jump');
    await time.settle();
    assert.equal(armed(), 4 * 3_600_000, 'four hours to midnight');
    await logging.close();
  });
});
