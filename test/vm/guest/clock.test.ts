/**
 * The second boot, with the guest's clock set days back (QEMU's -rtc base),
 * as a Pi without an RTC boots when fake-hwclock restores an old time: the
 * log files of the first boot are dated after "now". The daemon starts at
 * boot by itself. Afterwards clock-after.js starts a steady writer and asks
 * the host to cut the power (guest/boot.sh).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { after, describe, it, type TestContext } from 'node:test';
import { KEEP, LOG_FILE } from './configs.js';
import { journal, LOG_DIR, metric, OUT, poll, show, stop, writeMetrics } from './lib.js';

interface FileLine {
  readonly pid?: number;
  readonly msg?: string;
}

describe('a boot with the clock days behind the log files on disk', () => {
  after(() => writeMetrics('clock'));

  it('the clock is behind the newest log file of the first boot (the fault is in place)', (t: TestContext) => {
    const before = JSON.parse(readFileSync(`${OUT}/logs-before-clock.json`, 'utf8')) as { name: string; mtimeMs: number }[];
    const newest = Math.max(...before.map((f) => f.mtimeMs));
    t.diagnostic(`now ${new Date().toISOString()}, newest log file ${new Date(newest).toISOString()}`);
    assert.ok(Date.now() < newest - 86_400_000, 'at least a day behind');
  });

  it('the daemon started at boot; the files keep this run\'s newest lines up to its last, pruning the first boot\'s files first, and the directory stays bounded', async (t: TestContext) => {
    await poll(() => (show('ActiveState') === 'active' ? true : undefined), 60_000, 'asyncdemo active after boot');
    const pid = Number(show('MainPID'));
    // Ticks 10 ms apart, about 85 bytes each, 16 KiB files: this run rotates several times.
    await poll(() => (journal(undefined, [`_PID=${pid}`]).filter((l) => l.endsWith('tick')).length >= 500 ? true : undefined), 180_000, '500 ticks of this run', 250);
    stop();
    const ticksInJournal = journal(undefined, [`_PID=${pid}`]).filter((l) => l.endsWith('ticker[0] tick')).length;
    // In write order: by number, not by name or date.
    const files = readdirSync(LOG_DIR)
      .filter((n) => LOG_FILE.test(n))
      .sort((a, b) => Number(/\.(\d+)\.log$/.exec(a)?.[1]) - Number(/\.(\d+)\.log$/.exec(b)?.[1]));
    const lines = files.flatMap((name) =>
      readFileSync(`${LOG_DIR}/${name}`, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as FileLine),
    );
    const ticksInFiles = lines.filter((l) => l.pid === pid && l.msg === 'tick').length;
    const firstOfRun = lines.findIndex((l) => l.pid === pid);
    const earlierAfterRun = lines.slice(Math.max(0, firstOfRun)).filter((l) => l.pid !== pid).length;
    const earlier = lines.filter((l) => l.pid !== pid).length;
    metric('clockBehind', { ticksInJournal, ticksInFiles, earlierLinesKept: earlier, files: files.map((n) => `${n} ${new Date(statSync(`${LOG_DIR}/${n}`).mtimeMs).toISOString()}`) });
    t.diagnostic(`this run: ${ticksInJournal} ticks in the journal, ${ticksInFiles} in the files; ${earlier} lines of earlier boots kept; files: ${files.join(', ')}`);
    assert.ok(files.length <= KEEP + 1, `at most ${KEEP + 1} files: ${files.join(', ')}`);
    assert.ok(ticksInFiles > 0, 'this run\'s lines are in the files (pruned at once when the files were ordered by date)');
    assert.equal(earlierAfterRun, 0, 'no line of an earlier boot after one of this run: the files are in write order');
    if (ticksInFiles < ticksInJournal) assert.equal(earlier, 0, 'this run\'s lines were pruned only once every earlier boot\'s line was');
    assert.match(lines.at(-1)?.msg ?? '', /^stopped after \d+ steps$/, 'the files end with this run\'s last line');
    assert.equal(lines.at(-1)?.pid, pid);
  });
});
