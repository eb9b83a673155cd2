import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, MAIN, startDaemon, tempDir, type Line, type RunningDaemon } from '../helpers/daemon.js';
import { configFile } from '../helpers/config-file.js';
import { canUnshare, UNSHARE_NEEDED } from '../helpers/log-files.js';
import { unlessMissing } from '../helpers/requirements.js';

function fileLines(dir: string): Line[] {
  return readdirSync(dir)
    .filter((f) => /^asyncdemo\..*\d+\.log$/.test(f))
    .sort((a, b) => Number(/(\d+)\.log$/.exec(a)?.[1]) - Number(/(\d+)\.log$/.exec(b)?.[1]))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Line);
}

/** The key paths of the problems a refused config's line carries in its `problems` field. */
function problemPaths(line: Line | undefined): string[] | undefined {
  return (line?.['problems'] as { path: string }[] | undefined)?.map((p) => p.path);
}

/** Every line the console got is in the files, in the same order, and the other way round. */
function assertSameLines(daemon: RunningDaemon, dir: string): void {
  const key = (l: Line): string => `${l.time} ${l.task ?? '-'}[${l.step ?? '-'}] ${l.msg}`;
  const inFiles = fileLines(dir).map(key);
  const onConsole = daemon.lines.map(key);
  assert.ok(onConsole.length > 0);
  assert.deepEqual(inFiles, onConsole);
}

const BUSY = `
tasks:
  chatty:
    autostart: true
    repeat: forever
    # A repeating task must sleep at least 1ms per round; five lines a round keep it chatty.
    steps: [{log: chat}, {log: chat}, {log: chat}, {log: chat}, {log: chat}, {sleep: 1ms}]
  sleeper:
    autostart: true
    steps: [{log: asleep}, {sleep: 1h}]
`;

describe('nothing lost', () => {
  it('on SIGTERM: every line logged is in the file and on the console', async () => {
    const dir = tempDir();
    const daemon = startDaemon(['run', '--config', configFile(BUSY)], { ASYNCDEMO_LOG_DIR: dir });
    await daemon.waitFor((l) => l.msg === 'chat' && daemon.lines.length > 2000, 10_000, '2000 lines');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assert.match(daemon.lines.at(-1)?.msg ?? '', /^stopped after/);
    assertSameLines(daemon, dir);
  });

  it('on a stop step', async () => {
    const dir = tempDir();
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario3-cancel-stop.yaml')], { ASYNCDEMO_LOG_DIR: dir });
    assert.equal((await daemon.waitExit()).code, 0);
    assertSameLines(daemon, dir);
  });

  it('on an uncaught exception', async () => {
    const dir = tempDir();
    const text = BUSY.replace('{log: asleep}, {sleep: 1h}', '{log: asleep}, {sleep: 50ms}, {crash: boom}');
    const daemon = startDaemon(['run', '--config', configFile(text)], { ASYNCDEMO_LOG_DIR: dir });
    assert.equal((await daemon.waitExit()).code, 1);
    const fatal = daemon.lines.findIndex((l) => l.level === 60);
    assert.ok(fatal > 0);
    assert.ok(daemon.lines.slice(fatal + 1).every((l) => l.msg === 'cancelled: the daemon crashed'), 'after the fatal line only the cancellations');
    assertSameLines(daemon, dir);
  });

  it('on a config error at start: the reason is in the file too', async () => {
    const dir = tempDir();
    const daemon = startDaemon(['run', '--config', configFile('tasks:\n  a: {autostart: true, steps: [{sleep: -1}]}\n')], { ASYNCDEMO_LOG_DIR: dir });
    assert.equal((await daemon.waitExit()).code, 78);
    assert.equal(daemon.lines.length, 1);
    assert.deepEqual(problemPaths(daemon.lines[0]), ['tasks.a.steps[0].sleep'], 'the line is the refusal of the config');
    assertSameLines(daemon, dir);
  });
});

describe('log files across restarts', () => {
  it('stay bounded: five restarts with a tiny size limit leave keep + 1 files', async () => {
    const dir = tempDir();
    const config = configFile(`
log: {file: {size: 8k, keep: 2}}
tasks:
  spam: {autostart: true, repeat: 500, steps: [{log: a line long enough to fill a small file soon}, {log: a line long enough to fill a small file soon}, {sleep: 1ms}]}
  end: {autostart: true, steps: [{sleep: 0.3}, {stop: true}]}
`);
    for (let run = 0; run < 5; run++) {
      const daemon = startDaemon(['run', '--config', config], { ASYNCDEMO_LOG_DIR: dir });
      assert.equal((await daemon.waitExit()).code, 0);
      const files = readdirSync(dir).filter((f) => f.endsWith('.log') && f !== 'current.log');
      assert.ok(files.length <= 3, `after run ${run + 1}: ${files.join(' ')}`);
    }
    const numbered = readdirSync(dir)
      .filter((f) => /^asyncdemo\.\d+\.log$/.test(f))
      .sort((a, b) => Number(/(\d+)\.log$/.exec(a)?.[1]) - Number(/(\d+)\.log$/.exec(b)?.[1]));
    // A file that reached its size with the last batch is rolled at once: the newest file may be empty.
    assert.equal(readlinkSync(join(dir, 'current.log')), numbered.at(-1), 'current.log points at the newest file');
    assert.match(fileLines(dir).at(-1)?.msg ?? '', /^stopped after/, 'the last line written is the last in the files');
  });

  it('a restart appends; it never truncates', async () => {
    const dir = tempDir();
    const config = join(EXAMPLES, 'scenario3-cancel-stop.yaml');
    const first = startDaemon(['run', '--config', config], { ASYNCDEMO_LOG_DIR: dir });
    assert.equal((await first.waitExit()).code, 0);
    const second = startDaemon(['run', '--config', config], { ASYNCDEMO_LOG_DIR: dir });
    assert.equal((await second.waitExit()).code, 0);
    const pids = new Set(fileLines(dir).map((l) => l['pid']));
    assert.deepEqual(pids, new Set([first.child.pid, second.child.pid]));
    assert.equal(fileLines(dir).length, first.lines.length + second.lines.length);
  });
});

describe('the journal', () => {
  it('gets one line per event with its priority and no timestamp, when stdout is the stream JOURNAL_STREAM names', async () => {
    const out = join(tempDir(), 'journal.txt');
    const fd = openSync(out, 'w');
    const { dev, ino } = fstatSync(fd);
    const child = spawn(process.execPath, [MAIN, 'run', '--config', join(EXAMPLES, 'scenario3-cancel-stop.yaml')], {
      stdio: ['ignore', fd, 'ignore'],
      env: { PATH: process.env['PATH'] ?? '', JOURNAL_STREAM: `${dev}:${ino}`, ASYNCDEMO_LOG_FILE: 'false' },
    });
    closeSync(fd);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.ok(lines.includes('<6>operation[2] operation1'), lines.join('\n'));
    assert.ok(lines.includes('<6>operationsub[2] cancelled by operation[4]'), lines.join('\n'));
    assert.ok(lines.every((l) => /^<[2-7]>/.test(l)), lines.join('\n'));
  });

  it('is not assumed when JOURNAL_STREAM names another stream (inherited by a redirected child)', async () => {
    const daemon = startDaemon(['run', '--config', join(EXAMPLES, 'scenario3-cancel-stop.yaml')], { JOURNAL_STREAM: '1:2', ASYNCDEMO_LOG_FILE: 'false' });
    assert.equal((await daemon.waitExit()).code, 0);
    assert.deepEqual(daemon.stray, [], 'JSON lines, not journal lines');
    assert.ok(daemon.lines.length > 5);
  });
});

describe('a full log disk: the daemon goes on', { skip: unlessMissing(!canUnshare && UNSHARE_NEEDED) }, () => {
  it('does not crash the daemon: one line says so, the console keeps every line', async () => {
    const dir = tempDir();
    // A 16 KiB tmpfs as the log directory, in a mount namespace of the daemon's own.
    const daemon = startDaemon(['run', '--config', configFile(BUSY)], { ASYNCDEMO_LOG_DIR: dir }, { prefix: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=16k tmpfs ${dir} && exec "$@"`, 'sh'] });
    const full = await daemon.waitFor((l) => l.msg.startsWith('cannot write the log file'), 10_000, 'the disk-full line');
    assert.equal(full.level, 50);
    assert.match(full.msg, /ENOSPC/);
    const at = daemon.lines.length;
    await daemon.waitFor((l) => l.msg === 'chat' && daemon.lines.indexOf(l) > at + 1000, 10_000, 'a thousand lines after the disk filled');
    daemon.child.kill('SIGTERM');
    assert.deepEqual(await daemon.waitExit(), { code: 0, signal: null });
    assert.equal(daemon.lines.filter((l) => l.msg.startsWith('cannot write the log file')).length, 1, 'said once');
    assert.match(daemon.lines.at(-2)?.msg ?? '', /^stopped after/);
    assert.match(daemon.lines.at(-1)?.msg ?? '', /^\d+ lines could not be written to the log files \(ENOSPC/, 'the last line counts what the files did not get');
  });
});
