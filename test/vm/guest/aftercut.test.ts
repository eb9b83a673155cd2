/**
 * The boot after the power cut (QEMU killed while the daemon wrote a line
 * every 5 ms), with the clock right again.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it, type TestContext } from 'node:test';
import { CUT_CONFIG, KEEP, LOG_FILE } from './configs.js';
import { CONFIG, journal, LOG_DIR, metric, poll, show, stop, writeMetrics } from './lib.js';

describe('the boot after a power cut while the daemon wrote', () => {
  after(() => writeMetrics('aftercut'));

  it('the config is intact and the service came back by itself at boot', () => {
    assert.equal(readFileSync(CONFIG, 'utf8'), CUT_CONFIG);
    assert.equal(show('ActiveState'), 'active');
    assert.equal(show('UnitFileState'), 'enabled');
    // Started by systemd during boot, before this check ran.
    const startedAtS = Number(show('ExecMainStartTimestampMonotonic')) / 1e6;
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    assert.ok(startedAtS < uptimeS, `started at ${startedAtS} s, now ${uptimeS} s`);
  });

  it('the log files hold whole JSON lines up to the last that reached the disk, the daemon appends after them, and the directory stays bounded', async (t: TestContext) => {
    const pid = Number(show('MainPID'));
    await poll(() => (journal(undefined, [`_PID=${pid}`]).filter((l) => l.endsWith('tick')).length >= 300 ? true : undefined), 120_000, '300 ticks after the boot', 500);
    stop();
    const files = readdirSync(LOG_DIR).filter((n) => LOG_FILE.test(n));
    const broken: string[] = [];
    let lines = 0;
    let afterCut = 0;
    for (const name of files) {
      const text = readFileSync(`${LOG_DIR}/${name}`, 'utf8');
      if (text !== '' && !text.endsWith('\n')) broken.push(`${name}: does not end with a newline`);
      text.split('\n').forEach((line, i) => {
        if (line === '') return;
        lines++;
        try {
          if ((JSON.parse(line) as { pid?: number }).pid === pid) afterCut++;
        } catch {
          broken.push(`${name}:${i + 1}: ${JSON.stringify(line.slice(0, 120))}`);
        }
      });
    }
    metric('powerCut', { files, lines, afterCut, broken: broken.length });
    t.diagnostic(`${files.length} files, ${lines} lines, ${lines - afterCut} of them from before the cut`);
    assert.deepEqual(broken, [], 'every line is whole JSON');
    assert.ok(afterCut > 0, 'the new run wrote to the files');
    assert.ok(lines > afterCut, 'the lines written before the cut are among those checked');
    assert.ok(files.length <= KEEP + 1, `at most ${KEEP + 1} files: ${files.join(', ')}`);
  });
});
