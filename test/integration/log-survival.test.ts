// The log files through what happens to a Pi (issue 11): a wall clock that is
// wrong or jumps, a log directory that vanishes, turns read-only, fills up or
// holds planted links and strays, and a console that cannot be written. The
// real daemon (dist/main.js) and the real pino-roll, each case on its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { MAIN, startDaemon as startAnyDaemon, tempDir, type Line, type RunningDaemon } from '../helpers/daemon.js';
import {
  canUnshare,
  FAKETIME_LIB,
  fakeTimeEnv,
  fileNumber,
  insideNamespace,
  isRoot,
  largestLogFile,
  lineKey,
  logFileLines,
  logFiles,
  movableFakeTimeEnv,
  tinyDiskPrefix,
  UNSHARE_NEEDED,
  WITHOUT_CAPABILITIES,
} from '../helpers/log-files.js';
import { readableConfig } from '../helpers/config-file.js';
import { waitFor } from '../helpers/wait.js';
import { unlessMissing } from '../helpers/requirements.js';

const started: { kill(signal: NodeJS.Signals): unknown; exitCode: number | null; signalCode: NodeJS.Signals | null; once(event: 'exit', listener: () => void): unknown }[] = [];

/** startDaemon, remembered so that a failed test leaves no daemon running. */
function startDaemon(...args: Parameters<typeof startAnyDaemon>): RunningDaemon {
  const daemon = startAnyDaemon(...args);
  started.push(daemon.child);
  return daemon;
}

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    // SIGTERM first: a tiny-disk shell passes it on to the daemon in its namespace.
    const gone = new Promise<void>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
});

/** Waits for the first chat line: the daemon has started, SIGTERM now stops it. */
const running = (daemon: RunningDaemon): Promise<Line> => daemon.waitFor((l) => l.task === 'chat', 10_000, 'the first chat line');

/** The lines that match, for a failure message. */
const shown = (daemon: RunningDaemon, pattern: RegExp): string => daemon.lines.filter((l) => pattern.test(l.msg)).map((l) => l.msg).join('\n');

/** One line of about 100 bytes every `period`, forever. */
function chatty(file: string, period = '10ms'): string {
  return `log: {file: {${file}}}\ntasks:\n  chat: {autostart: true, repeat: forever, steps: [{log: a line of chat to fill the files}, {sleep: ${period}}]}\n`;
}

/** A file never exceeds its size by more than one batch (4 KiB) and one line. */
function sizeBound(size: number, lines: readonly Line[]): number {
  return size + 4096 + Math.max(...lines.map((l) => Buffer.byteLength(JSON.stringify(l)) + 1));
}

/** The files hold the console's lines from some point on, none missing, none added; returns where they start. */
function assertFilesHoldSuffix(daemon: RunningDaemon, dir: string, consoleOnlyAtEnd = 0): number {
  const onConsole = daemon.lines.slice(0, daemon.lines.length - consoleOnlyAtEnd).map(lineKey);
  const inFiles = logFileLines(dir).map(lineKey);
  const from = onConsole.length - inFiles.length;
  assert.ok(from >= 0, `the files have ${inFiles.length} lines, the console ${onConsole.length}`);
  assert.deepEqual(inFiles, onConsole.slice(from));
  return from;
}

/** The line that says the files can be written again (the failure line says "until the files can be written again"). */
const RECOVERED = /^the log files in .* can be written again/;

const count = (daemon: RunningDaemon, pattern: RegExp): number => daemon.lines.filter((l) => pattern.test(l.msg)).length;

const noFaketime = unlessMissing(FAKETIME_LIB === undefined && 'needs libfaketime (sudo apt install libfaketime)');

describe('the wall clock', { skip: noFaketime }, () => {
  it('behind the files already on disk: no line of the new run is pruned, current.log points at its file', async () => {
    const dir = tempDir();
    const config = readableConfig(chatty('size: 1k, keep: 3', '20ms'));
    const first = startDaemon(['run', '--config', config], { ASYNCDEMO_LOG_DIR: dir });
    await first.waitFor(() => first.lines.length >= 40, 10_000, '40 lines');
    first.child.kill('SIGTERM');
    assert.equal((await first.waitExit()).code, 0);

    // A Pi after a power cut: fake-hwclock restores a time days behind the files' dates.
    const second = startDaemon(['run', '--config', config], { ASYNCDEMO_LOG_DIR: dir, ...fakeTimeEnv('@2026-01-20 12:00:00') });
    await second.waitFor(() => second.lines.length >= 20, 10_000, '20 lines');
    second.child.kill('SIGTERM');
    assert.equal((await second.waitExit()).code, 0);
    assert.ok((second.lines[0]?.time ?? 0) < (first.lines[0]?.time ?? 0), 'the second run saw an earlier clock');

    const inFiles = logFileLines(dir).map(lineKey);
    for (const line of second.lines) assert.ok(inFiles.includes(lineKey(line)), `in the files: ${lineKey(line)}`);
    assert.ok(logFiles(dir).length <= 4, `keep + 1 files: ${logFiles(dir).map((f) => basename(f)).join(' ')}`);
    assert.equal(join(dir, readlinkSync(join(dir, 'current.log'))), logFiles(dir).at(-1));
    // (The newest file may be empty: a file that reached its size with the last batch is rolled at once.)
    const last = logFileLines(dir).at(-1);
    assert.equal(last?.['pid'], second.child.pid);
    assert.match(last?.msg ?? '', /^stopped after/);
  });

  it('at 1970 (no RTC, no network): the directory stays at keep + 1 files', async () => {
    const dir = tempDir();
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 1k, keep: 2', '5ms'))], { ASYNCDEMO_LOG_DIR: dir, ...fakeTimeEnv('@1970-01-01 00:00:00') });
    // Ten files' worth of lines.
    await daemon.waitFor(() => daemon.lines.length >= 110, 10_000, '110 lines');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assert.ok((daemon.lines[0]?.time ?? Infinity) < 86_400_000, 'the daemon saw 1970');
    const files = logFiles(dir);
    assert.ok(files.length <= 3, `keep + 1 files: ${files.map((f) => basename(f)).join(' ')}`);
    assert.ok(fileNumber(files.at(-1) ?? '') >= 9, 'it rolled');
    assert.equal(join(dir, readlinkSync(join(dir, 'current.log'))), files.at(-1));
    assertFilesHoldSuffix(daemon, dir);
  });

  it('jumping back, then forward, mid-run: each jump is one line, and every line is in the files', async () => {
    const dir = tempDir();
    const clockFile = join(tempDir(), 'faketime');
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 2k, keep: 100', '10ms'))], { ASYNCDEMO_LOG_DIR: dir, ...movableFakeTimeEnv(clockFile, '@2026-11-20 12:00:00') });
    await daemon.waitFor(() => daemon.lines.length >= 20, 10_000, '20 lines');
    writeFileSync(clockFile, '@1970-01-01 00:00:05\n');
    await daemon.waitFor((l) => /^the wall clock jumped back by 56 years/.test(l.msg), 10_000, 'the jump back');
    const afterBack = daemon.lines.length;
    await daemon.waitFor(() => daemon.lines.length >= afterBack + 20, 10_000, '20 more lines');
    writeFileSync(clockFile, '@2027-01-01 00:00:00\n');
    await daemon.waitFor((l) => /^the wall clock jumped forward by /.test(l.msg), 10_000, 'the jump forward');
    const afterForward = daemon.lines.length;
    await daemon.waitFor(() => daemon.lines.length >= afterForward + 20, 10_000, '20 more lines');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assert.equal(count(daemon, /^the wall clock jumped/), 2, 'one line per jump');
    assert.equal(assertFilesHoldSuffix(daemon, dir), 0, 'every line of the run is in the files');
  });
});

describe('the log directory', () => {
  for (const size of ['1k', '10m']) {
    it(`removed while the daemon writes to it (size ${size}): made again with one warning line; every line from then on is in the files`, async () => {
      const dir = tempDir();
      const daemon = startDaemon(['run', '--config', readableConfig(chatty(`size: ${size}, keep: 1000`, '5ms'))], { ASYNCDEMO_LOG_DIR: dir });
      await daemon.waitFor(() => daemon.lines.length >= 30, 10_000, '30 lines');
      // Gone at once (an rm -rf could race the daemon making its next file and fail with ENOTEMPTY).
      const gone = `${dir}.gone`;
      renameSync(dir, gone);
      rmSync(gone, { recursive: true, force: true });
      const warning = await daemon.waitFor((l) => /^the log directory .* was removed while asyncdemo wrote to it: made it again/.test(l.msg), 10_000, 'the warning');
      assert.equal(warning.level, 40);
      const at = daemon.lines.indexOf(warning);
      await daemon.waitFor(() => daemon.lines.length >= at + 30, 10_000, '30 lines after it');
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
      assert.equal(count(daemon, /was removed while asyncdemo wrote to it/), 1, 'said once');
      assert.equal(count(daemon, /cannot write|can be written again/), 0, `no failure, no false recovery:\n${daemon.texts().filter((t) => /cannot write|can be written again|removed/.test(t)).join('\n')}`);
      const from = assertFilesHoldSuffix(daemon, dir);
      assert.ok(from <= at, `the files start at line ${from}, the warning is line ${at}`);
    });
  }

  it('read-only mid-run: one line when it starts, one with the true count of dropped lines when it ends; the file stops at its size', async () => {
    const dir = tempDir();
    // Root writes anywhere: as root, the daemon runs without capabilities, so the mode bits hold.
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 1k, keep: 1000', '5ms'))], { ASYNCDEMO_LOG_DIR: dir }, isRoot ? { prefix: WITHOUT_CAPABILITIES } : {});
    await daemon.waitFor(() => daemon.lines.length >= 20, 10_000, '20 lines');
    chmodSync(dir, 0o555);
    const failed = await daemon.waitFor((l) => l.msg.startsWith('cannot write the log files'), 10_000, 'the failure line');
    assert.match(failed.msg, /EACCES/);
    const at = daemon.lines.indexOf(failed);
    await daemon.waitFor(() => daemon.lines.length >= at + 200, 10_000, '200 lines while read-only');
    assert.equal(count(daemon, RECOVERED), 0, `no recovery while read-only:\n${shown(daemon, RECOVERED)}`);
    assert.ok(largestLogFile(dir) <= sizeBound(1024, daemon.lines), `largest file ${largestLogFile(dir)} B`);
    chmodSync(dir, 0o755);
    const recovered = await daemon.waitFor((l) => RECOVERED.test(l.msg), 10_000, 'the recovery line');
    const back = daemon.lines.indexOf(recovered);
    await daemon.waitFor(() => daemon.lines.length >= back + 20, 10_000, '20 lines after it');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assert.equal(count(daemon, /^cannot write the log files/), 1, 'one line when it started');
    assert.equal(count(daemon, RECOVERED), 1, 'one when it ended');
    const dropped = Number(/(\d+) lines were dropped/.exec(recovered.msg)?.[1] ?? 0);
    assert.equal(daemon.lines.length - logFileLines(dir).length, dropped, 'the count is the lines the files lack');
    assert.ok(largestLogFile(dir) <= sizeBound(1024, daemon.lines), `largest file ${largestLogFile(dir)} B`);
  });

  it('a symbolic link planted as a log file, at start or as the next file, is removed, not followed', async () => {
    const dir = tempDir();
    const victims = tempDir();
    const victim = (name: string): string => {
      const path = join(victims, name);
      writeFileSync(path, `${name} untouched\n`);
      return path;
    };
    // The start file under both namings (asyncdemo before issue 11 put the date in it).
    const today = new Date().toISOString().slice(0, 10);
    symlinkSync(victim('first'), join(dir, 'asyncdemo.1.log'));
    symlinkSync(victim('first-dated'), join(dir, `asyncdemo.${today}.1.log`));
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 1k, keep: 1000', '10ms'))], { ASYNCDEMO_LOG_DIR: dir, TZ: 'UTC' });
    await daemon.waitFor((l) => /asyncdemo\.1\.log was a symbolic link to .*first, where asyncdemo writes a log file: removed it rather than follow it/.test(l.msg), 10_000, 'the warning');
    // Mid-run: a link where the next roll will open.
    let planted = '';
    await waitFor(
      () => {
        try {
          const current = readlinkSync(join(dir, 'current.log'));
          const next = join(dir, current.replace(/(\d+)\.log$/, (_, n: string) => `${Number(n) + 1}.log`));
          symlinkSync(victim('next'), next);
          planted = next;
          return true;
        } catch {
          return undefined; // It rolled meanwhile; try the new next.
        }
      },
      5000,
      'a link planted at the next file',
    );
    await daemon.waitFor((l) => l.msg.startsWith(`${planted} was a symbolic link`), 10_000, 'the warning for the next file');
    await waitFor(() => (logFiles(dir).some((f) => fileNumber(f) > fileNumber(planted)) ? true : undefined), 10_000, 'a roll past it');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    for (const name of ['first', 'first-dated', 'next']) assert.equal(readFileSync(join(victims, name), 'utf8'), `${name} untouched\n`, `${name} was not written`);
    assert.ok(lstatSync(planted).isFile(), 'a regular file in its place');
    assertFilesHoldSuffix(daemon, dir);
  });

  it('writable by every user: a warning at start', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 10m', '1h'))], { ASYNCDEMO_LOG_DIR: dir });
    const warning = await daemon.waitFor((l) => l.msg.startsWith(`the log directory ${dir} can be written by every user (mode 777)`), 10_000, 'the warning');
    assert.match(warning.msg, new RegExp(`Fix: chmod o-w ${dir}$`));
    await running(daemon);
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assertFilesHoldSuffix(daemon, dir);
  });

  for (const kind of ['a regular file', 'a directory'] as const) {
    it(`a stray current.log (${kind}) is moved aside, keeping what is in it; file logging goes on`, async () => {
      const dir = tempDir();
      const stray = join(dir, 'current.log');
      if (kind === 'a directory') {
        mkdirSync(stray);
        writeFileSync(join(stray, 'inside'), 'precious\n');
      } else {
        writeFileSync(stray, 'precious\n');
      }
      const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 10m', '1h'))], { ASYNCDEMO_LOG_DIR: dir });
      const warning = await daemon.waitFor((l) => l.msg.startsWith(`${stray} was ${kind}`), 10_000, 'the warning');
      assert.match(warning.msg, /moved it to current\.log\.old$/);
      await running(daemon);
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.waitExit()).code, 0);
      assert.equal(daemon.lines.filter((l) => l['code'] === 'LOG_DIR_UNUSABLE').length, 0, 'file logging stayed on');
      assert.equal(readFileSync(kind === 'a directory' ? join(dir, 'current.log.old', 'inside') : join(dir, 'current.log.old'), 'utf8'), 'precious\n');
      assert.ok(lstatSync(stray).isSymbolicLink());
      assert.equal(join(dir, readlinkSync(stray)), logFiles(dir).at(-1));
      assert.equal(assertFilesHoldSuffix(daemon, dir), 0);
    });
  }
});

const noUnshare = unlessMissing(!canUnshare && UNSHARE_NEEDED);
describe('a full log disk: the lines the files did not get are counted, and spread out when space returns', { skip: noUnshare }, () => {
  it('at exit: the last console line counts the lines the files did not get, truly', async () => {
    const dir = tempDir();
    const copy = tempDir();
    // keep is large: no pruning frees the disk, so every line is in the files or counted.
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 4k, keep: 100', '1ms'))], { ASYNCDEMO_LOG_DIR: dir }, { prefix: tinyDiskPrefix(dir, 16, copy) });
    const full = await daemon.waitFor((l) => l.msg.startsWith('cannot write the log files'), 10_000, 'the disk-full line');
    assert.match(full.msg, /ENOSPC/);
    const at = daemon.lines.indexOf(full);
    await daemon.waitFor(() => daemon.lines.length >= at + 300, 10_000, '300 lines while full');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assert.match(daemon.lines.at(-2)?.msg ?? '', /^stopped after/);
    const last = daemon.lines.at(-1);
    const unwritten = Number(/^(\d+) lines could not be written to the log files \(ENOSPC/.exec(last?.msg ?? '')?.[1]);
    assert.ok(unwritten > 0, last?.msg);
    assert.equal(last?.level, 50);
    assert.equal(unwritten, daemon.lines.length - 1 - logFileLines(copy).length, 'the count is the lines the files lack');
    assert.ok(largestLogFile(copy) <= sizeBound(4096, daemon.lines), `largest file ${largestLogFile(copy)} B`);
  });

  it('while full, no file grows past its size; when space returns the waiting lines spread over files of the right size', async () => {
    const dir = tempDir();
    const copy = tempDir();
    const daemon = startDaemon(['run', '--config', readableConfig(chatty('size: 8k, keep: 100', '5ms'))], { ASYNCDEMO_LOG_DIR: dir }, { prefix: tinyDiskPrefix(dir, 64, copy) });
    const full = await daemon.waitFor((l) => l.msg.startsWith('cannot write the log files'), 20_000, 'the disk-full line');
    const at = daemon.lines.indexOf(full);
    await daemon.waitFor(() => daemon.lines.length >= at + 100, 10_000, '100 lines while full');
    const inside = insideNamespace(daemon.child.pid ?? 0, dir);
    const bound = sizeBound(8192, daemon.lines);
    assert.ok(largestLogFile(inside) <= bound, `while full: largest file ${largestLogFile(inside)} B`);
    assert.equal(count(daemon, RECOVERED), 0, `no recovery while full:\n${shown(daemon, RECOVERED)}`);
    // Space returns: every file but the one being written goes.
    const current = readlinkSync(join(inside, 'current.log'));
    for (const file of logFiles(inside)) if (basename(file) !== current) unlinkSync(file);
    const freedAt = daemon.lines.length;
    const recovered = await daemon.waitFor((l) => RECOVERED.test(l.msg), 10_000, 'the recovery line');
    assert.ok(daemon.lines.indexOf(recovered) >= freedAt, 'recovered only once there was space');
    await daemon.waitFor(() => daemon.lines.length >= daemon.lines.indexOf(recovered) + 20, 10_000, '20 lines after it');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.waitExit()).code, 0);
    assert.ok(logFiles(copy).length >= 2, 'the waiting lines went into more than one file');
    assert.ok(largestLogFile(copy) <= bound, `largest file ${largestLogFile(copy)} B, bound ${bound}`);
  });
});

/** Runs the daemon with stdout on `stdout` (a descriptor); its console cannot be read, so the test reads the files. */
function startWithStdout(args: string[], stdout: number | 'ignore', env: Record<string, string>, prefix: string[] = []): { child: ReturnType<typeof spawn>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string } {
  const command = [...prefix, process.execPath, MAIN, ...args];
  const child = spawn(command[0] as string, command.slice(1), { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

async function exitWithin(exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>, child: ReturnType<typeof spawn>, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not exit within ${ms} ms of SIGTERM`));
    }, ms);
  });
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const fileLines = (dir: string): Line[] => (existsSync(dir) ? logFileLines(dir) : []);

describe('a console that cannot be written', () => {
  it('stdout on /dev/full: the daemon runs on, the files keep every line and say once that the console failed; SIGTERM stops it', async () => {
    const dir = tempDir();
    const full = openSync('/dev/full', 'w');
    const daemon = startWithStdout(['run', '--config', readableConfig(chatty('size: 10m', '10ms'))], full, { ASYNCDEMO_LOG_DIR: dir });
    closeSync(full);
    const failed = await waitFor(() => fileLines(dir).find((l) => l.msg.startsWith('the console (stdout) cannot be written')), 10_000, 'the console line in the files');
    assert.match(failed.msg, /ENOSPC/);
    await waitFor(() => (fileLines(dir).length >= 30 ? true : undefined), 10_000, '30 lines in the files');
    daemon.child.kill('SIGTERM');
    assert.deepEqual(await exitWithin(daemon.exited, daemon.child, 10_000), { code: 0, signal: null });
    const lines = fileLines(dir);
    assert.equal(lines.filter((l) => l.msg.startsWith('the console (stdout) cannot be written')).length, 1, 'said once');
    assert.match(lines[0]?.msg ?? '', /^LED: /, 'from the first line');
    assert.match(lines.at(-1)?.msg ?? '', /^stopped after/, 'to the last');
    assert.equal(daemon.stderr(), '');
  });

  it('stdout on a disk that fills mid-run: no hang, SIGTERM stops it; the files keep every line', { skip: noUnshare }, async () => {
    const dir = tempDir();
    const consoleDir = tempDir();
    // The console goes to a file on a 16 KiB tmpfs of the daemon's own namespace.
    const prefix = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=16k tmpfs ${consoleDir} && exec "$@" > ${consoleDir}/console.txt`, 'sh'];
    const daemon = startWithStdout(['run', '--config', readableConfig(chatty('size: 10m', '2ms'))], 'ignore', { ASYNCDEMO_LOG_DIR: dir }, prefix);
    const failed = await waitFor(() => fileLines(dir).find((l) => l.msg.startsWith('the console (stdout) cannot be written')), 20_000, 'the console line in the files');
    assert.match(failed.msg, /ENOSPC/);
    const at = fileLines(dir).indexOf(failed);
    await waitFor(() => (fileLines(dir).length >= at + 100 ? true : undefined), 10_000, '100 lines after it');
    daemon.child.kill('SIGTERM');
    assert.deepEqual(await exitWithin(daemon.exited, daemon.child, 10_000), { code: 0, signal: null });
    const lines = fileLines(dir);
    assert.equal(lines.filter((l) => l.msg.startsWith('the console (stdout) cannot be written')).length, 1, 'said once');
    assert.match(lines[0]?.msg ?? '', /^LED: /);
    assert.match(lines.at(-1)?.msg ?? '', /^stopped after/);
  });
});
