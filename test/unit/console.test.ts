import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createConsoleDestination, type ConsoleStyle } from '../../src/log/console.js';
import { isJournalStream } from '../../src/log/journal.js';
import { tempDir } from '../helpers/daemon.js';

function consoleLogger(style: ConsoleStyle, colors = false) {
  const out: string[] = [];
  const dest = createConsoleDestination({ style, colors, sink: { write: (text: string) => out.push(text) } });
  const logger = pino({ level: 'trace', base: undefined }, dest);
  return { logger, out };
}

describe('console lines', () => {
  it('journal: one line per event with the sd-daemon priority, task[step] and no timestamp', () => {
    const { logger, out } = consoleLogger('journal');
    logger.info({ task: 'operation', step: 2 }, 'operation1');
    logger.warn({ task: 'operation', step: 3, durationMs: 150 }, 'slow step');
    logger.error('daemon trouble');
    logger.debug({ task: 'operation' }, 'started by autostart');
    logger.fatal('gone');
    logger.trace('detail');
    assert.deepEqual(out, [
      '<6>operation[2] operation1\n',
      '<4>operation[3] slow step durationMs=150\n',
      '<3>daemon trouble\n',
      '<7>operation: started by autostart\n',
      '<2>gone\n',
      '<7>detail\n',
    ]);
  });

  it('journal: every line of a stack trace keeps the priority, so -p filters it whole', () => {
    const { logger, out } = consoleLogger('journal');
    const error = new Error('boom');
    error.stack = 'Error: boom\n    at a (x.js:1:1)\n    at b (y.js:2:2)';
    logger.error({ err: error }, 'failed');
    assert.equal(out.length, 1);
    const lines = (out[0] ?? '').trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.ok(lines.every((l) => l.startsWith('<3>')), lines.join('\n'));
  });

  it('pretty: time, level and the same task[step] form; colors only when asked', () => {
    const plain = consoleLogger('pretty');
    plain.logger.info({ task: 'op', step: 0 }, 'start operation');
    assert.match(plain.out[0] ?? '', /^\d\d:\d\d:\d\d\.\d{3} INFO  op\[0\] start operation\n$/);
    const colored = consoleLogger('pretty', true);
    colored.logger.warn('careful');
    assert.match(colored.out[0] ?? '', /\x1b\[33mWARN \x1b\[0m careful/);
  });

  it('json: the pino line, untouched', () => {
    const { logger, out } = consoleLogger('json');
    logger.child({ task: 'op' }).info({ step: 1 }, 'x');
    assert.deepEqual(JSON.parse(out[0] ?? ''), { level: 30, time: JSON.parse(out[0] ?? '').time, task: 'op', step: 1, msg: 'x' });
  });
});

describe('journal detection', () => {
  it('is the journal only when JOURNAL_STREAM names this very stream', () => {
    const path = join(tempDir(), 'stdout');
    const fd = openSync(path, 'w');
    try {
      const { dev, ino } = fstatSync(fd);
      assert.equal(isJournalStream(fd, `${dev}:${ino}`), true);
      assert.equal(isJournalStream(fd, `${dev}:${ino + 1}`), false, 'inherited from a parent whose stdout was elsewhere');
      assert.equal(isJournalStream(fd, undefined), false);
      assert.equal(isJournalStream(fd, 'garbage'), false);
    } finally {
      closeSync(fd);
    }
  });
});
