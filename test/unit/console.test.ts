import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { CONSOLE_LINE_MAX_CHARS, createConsoleDestination, type ConsoleStyle } from '../../src/log/console.js';
import { isJournalStream } from '../../src/log/journal.js';
import { tempDir } from '../helpers/daemon.js';

function consoleLogger(style: ConsoleStyle, colors = false) {
  const out: string[] = [];
  const dest = createConsoleDestination({ style, colors, sink: { write: (text: string) => out.push(text) } });
  const logger = pino({ level: 'trace', base: undefined }, dest);
  return { logger, out };
}

describe('console lines', () => {
  it('journal: one line per event with the sd-daemon priority, task[step], no timestamp and no fields (the files have them)', () => {
    const { logger, out } = consoleLogger('journal');
    logger.info({ task: 'operation', step: 2 }, 'operation1');
    logger.warn({ task: 'operation', step: 3, durationMs: 150 }, 'slow step');
    logger.error('daemon trouble');
    logger.debug({ task: 'operation' }, 'started by autostart');
    logger.fatal('gone');
    logger.trace('detail');
    assert.deepEqual(out, [
      '<6>operation[2] operation1\n',
      '<4>operation[3] slow step\n',
      '<3>daemon trouble\n',
      '<7>operation: started by autostart\n',
      '<2>gone\n',
      '<7>detail\n',
    ]);
  });

  it('journal: an error is its message on one line; its stack is for the files', () => {
    const { logger, out } = consoleLogger('journal');
    const error = new Error('boom');
    error.stack = 'Error: boom\n    at a (x.js:1:1)\n    at b (y.js:2:2)';
    logger.error({ err: error }, 'failed: boom');
    assert.deepEqual(out, ['<3>failed: boom\n']);
  });

  for (const style of ['journal', 'pretty', 'json'] as const) {
    it(`${style}: text from a config cannot forge a line, a priority or a terminal sequence: control characters are escaped`, () => {
      const { logger, out } = consoleLogger(style);
      logger.info({ task: 't', step: 0 }, 'nul\0<0>forged');
      logger.info({ task: 't', step: 1 }, 'ok\nother[3] fake line\r\u2028x');
      logger.info({ task: 't', step: 2 }, '\x1b[2J\x1b]52;c;c2VjcmV0\x07\u009b31m');
      assert.equal(out.length, 3);
      for (const line of out) {
        assert.equal(line.indexOf('\n'), line.length - 1, `one line: ${JSON.stringify(line)}`);
        assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, `no control character left: ${JSON.stringify(line)}`);
      }
      if (style === 'journal') {
        assert.deepEqual(out, ['<6>t[0] nul\\x00<0>forged\n', '<6>t[1] ok\\nother[3] fake line\\r\\u2028x\n', '<6>t[2] \\x1b[2J\\x1b]52;c;c2VjcmV0\\x07\\x9b31m\n']);
      }
      if (style === 'json') {
        assert.deepEqual(out.map((l) => (JSON.parse(l) as { msg: string }).msg), ['nul\0<0>forged', 'ok\nother[3] fake line\r\u2028x', '\x1b[2J\x1b]52;c;c2VjcmV0\x07\u009b31m'], 'JSON escapes mean the same text');
      }
    });
  }

  it(`a line longer than ${CONSOLE_LINE_MAX_CHARS} characters is cut, saying so, well below journald's 48 KiB LineMax: its end cannot start an entry of its own`, () => {
    const { logger, out } = consoleLogger('journal');
    logger.info(`${'x'.repeat(49_135)}<0>FORGED`);
    assert.equal(out.length, 1);
    const line = out[0] ?? '';
    assert.ok(Buffer.byteLength(line) < 48 * 1024, `${Buffer.byteLength(line)} bytes`);
    assert.match(line, /^<6>x+… \[cut: 49144 characters in all; the log files have the whole line\]\n$/);
    const json = consoleLogger('json');
    json.logger.info(`${'x'.repeat(49_135)}<0>FORGED`);
    assert.ok((json.out[0] ?? '').length < 48 * 1024);
    assert.match((JSON.parse(json.out[0] ?? '') as { msg: string }).msg, /… \[cut: 49144 characters in all/);
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
