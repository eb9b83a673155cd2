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

  it('the daemon started at boot; no line of this run is lost from the files, and the directory stays bounded', async (t: TestContext) => {
    await poll(() => (show('ActiveState') === 'active' ? true : undefined), 60_000, 'asyncdemo active after boot');
    const pid = Number(show('MainPID'));
    // Enough ticks (10 ms apart, 16 KiB files) to rotate several times in this run.
    await poll(() => (journal(undefined, [`_PID=${pid}`]).filter((l) => l.endsWith('tick')).length >= 1500 ? true : undefined), 180_000, '1500 ticks of this run', 500);
    stop();
    const ticksInJournal = journal(undefined, [`_PID=${pid}`]).filter((l) => l.endsWith('ticker[0] tick')).length;
    const files = readdirSync(LOG_DIR).filter((n) => LOG_FILE.test(n));
    let ticksInFiles = 0;
    for (const name of files) {
      for (const line of readFileSync(`${LOG_DIR}/${name}`, 'utf8').split('\n')) {
        if (line === '') continue;
        const parsed = JSON.parse(line) as FileLine;
        if (parsed.pid === pid && parsed.msg === 'tick') ticksInFiles++;
      }
    }
    metric('clockBehind', { ticksInJournal, ticksInFiles, files: files.map((n) => `${n} ${new Date(statSync(`${LOG_DIR}/${n}`).mtimeMs).toISOString()}`) });
    t.diagnostic(`this run: ${ticksInJournal} ticks in the journal, ${ticksInFiles} in the files; files: ${files.join(', ')}`);
    assert.ok(files.length <= KEEP + 1, `at most ${KEEP + 1} files: ${files.join(', ')}`);
    assert.equal(ticksInFiles, ticksInJournal, 'every line of this run is in the files');
  });
});
