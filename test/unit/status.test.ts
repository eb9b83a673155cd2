import assert from 'node:assert/strict';
import { chmodSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import {
  createStatusPublisher,
  formatSnapshotLine,
  LISTED_TASKS,
  ownIdentity,
  readStatusFile,
  STATUS_FILE_NAME,
  StatusUnreadableError,
  type DaemonSnapshot,
  type LivenessProbes,
  type StatusExtras,
} from '../../src/status.js';
import { tempDir } from '../helpers/daemon.js';
import { FakeTime } from '../helpers/fake-time.js';

const SNAPSHOT: DaemonSnapshot = {
  state: 'running',
  configFile: '/etc/asyncdemo/config.yaml',
  configLoadedAt: Date.UTC(2026, 10, 26, 9, 0, 0),
  tasks: [
    { name: 'operation', step: 5, doing: 'sleep 3s', since: 1000, wakeAt: 4000, steps: ['log "start operation"', 'sleep 3s'] },
    { name: 'operationsub', step: 2, doing: 'sleep 1s', since: 1000, wakeAt: 2000, steps: ['sleep 1s'] },
  ],
  moreTasks: 0,
  stepsDone: 42,
  lastReload: { at: Date.UTC(2026, 10, 26, 9, 5, 0), began: 900, result: 'refused', reason: '/etc/asyncdemo/config.yaml: tasks.ticker.steps[1].sleep: not a duration' },
};

const EXTRAS: StatusExtras = {
  configSha256: 'a'.repeat(64),
  logDir: '/var/log/asyncdemo',
  led: { backend: 'sysfs', pin: 17 },
  settings: [{ key: 'debug.enabled', value: true, source: 'environment ASYNCDEMO_DEBUG, overriding false in the file' }],
};

/** Probes that say the writer runs (the same boot, the same start). */
const ALIVE: LivenessProbes = { bootId: () => 'boot', startTicks: () => '100', alive: () => true };

function publisher(dir: string, reports: string[] = []) {
  return createStatusPublisher({ dir, build: { version: '0.1.0+412.g47e54f4', commit: '47e54f4bdd4ee09a26f1d62d7528b9e1d78add69' }, identity: () => ({ pid: process.pid, bootId: 'boot', startTicks: '100' }), time: new FakeTime(), report: (message) => reports.push(message) });
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** How reading was refused: the error's code, and the code of its cause (why the file could not be read). */
function refusal(read: () => unknown): { code: string; because: unknown } {
  try {
    read();
  } catch (error) {
    assert.ok(error instanceof StatusUnreadableError, `a StatusUnreadableError, not ${String(error)}`);
    return { code: error.code, because: (error.cause as { code?: unknown } | undefined)?.code };
  }
  assert.fail('the file was read');
}

describe('status file: publishing', () => {
  it("reads back whole, mode 0644 under a umask of 0027 (the unit's), with no temporary file left behind", () => {
    const dir = tempDir();
    const umask = process.umask(0o027);
    try {
      publisher(dir).publish(SNAPSHOT, EXTRAS);
    } finally {
      process.umask(umask);
    }
    const file = join(dir, STATUS_FILE_NAME);
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir), [STATUS_FILE_NAME]);
    const reading = readStatusFile(file, ALIVE);
    assert.equal(reading?.liveness, 'running');
    assert.equal(reading?.status.pid, process.pid);
    assert.deepEqual(reading?.status.tasks, SNAPSHOT.tasks);
    assert.deepEqual(reading?.status.lastReload, SNAPSHOT.lastReload);
    assert.deepEqual(reading?.status.settings, EXTRAS.settings);
  });

  it('its last publication says the run stopped, when and with which exit code', () => {
    const dir = tempDir();
    const p = publisher(dir);
    p.publish(SNAPSHOT, EXTRAS);
    p.finish(0);
    const reading = readStatusFile(join(dir, STATUS_FILE_NAME), ALIVE);
    assert.equal(reading?.liveness, 'stopped');
    assert.equal(reading?.status.stopped?.exitCode, 0);
    assert.deepEqual(reading?.status.tasks, []);
  });

  it('a symbolic link planted at its temporary name is removed, never followed: the file it points at is untouched', () => {
    const dir = tempDir();
    const victim = join(tempDir(), 'root-only');
    writeFileSync(victim, 'secret\n', { mode: 0o600 });
    symlinkSync(victim, join(dir, `${STATUS_FILE_NAME}.${process.pid}.tmp`));
    const reports: string[] = [];
    publisher(dir, reports).publish(SNAPSHOT, EXTRAS);
    assert.equal(readFileSync(victim, 'utf8'), 'secret\n');
    assert.equal(statSync(victim).mode & 0o777, 0o600);
    assert.equal(lstatSync(join(dir, STATUS_FILE_NAME)).isFile(), true);
    assert.equal(reports.length, 1, reports.join('\n'));
    assert.match(reports[0] ?? '', /was a symbolic link to .*root-only; removed it and wrote the file afresh$/);
  });

  it('a FIFO planted at its temporary name does not block it: removed, one line says so', () => {
    const dir = tempDir();
    mkfifo(join(dir, `${STATUS_FILE_NAME}.${process.pid}.tmp`));
    const reports: string[] = [];
    publisher(dir, reports).publish(SNAPSHOT, EXTRAS);
    assert.equal(lstatSync(join(dir, STATUS_FILE_NAME)).isFile(), true);
    assert.match(reports[0] ?? '', /was a FIFO \(named pipe\); removed it/);
  });

  it(`lists at most ${LISTED_TASKS} tasks and counts the rest`, () => {
    const dir = tempDir();
    const tasks = Array.from({ length: LISTED_TASKS }, (_, i) => ({ name: `t${i}`, step: 0, doing: 'sleep 1h', since: 0, wakeAt: 3_600_000, steps: ['sleep 1h'] }));
    publisher(dir).publish({ ...SNAPSHOT, tasks, moreTasks: 9_800 }, EXTRAS);
    const reading = readStatusFile(join(dir, STATUS_FILE_NAME), ALIVE);
    assert.equal(reading?.status.tasks.length, LISTED_TASKS);
    assert.equal(reading?.status.moreTasks, 9_800);
  });

  it('a directory it cannot write is said once, and its recovery once; the daemon is not stopped', () => {
    const dir = tempDir();
    const reports: string[] = [];
    const p = publisher(dir, reports);
    // A file in the directory's place: no one can write into it, root included (a mode only stops other users).
    renameSync(dir, `${dir}.away`);
    writeFileSync(dir, '');
    p.publish(SNAPSHOT, EXTRAS);
    p.publish(SNAPSHOT, EXTRAS);
    rmSync(dir);
    renameSync(`${dir}.away`, dir);
    p.publish(SNAPSHOT, EXTRAS);
    assert.equal(reports.length, 2, reports.join('\n'));
    assert.match(reports[0] ?? '', /^cannot write the status file .*ENOTDIR/);
    assert.match(reports[1] ?? '', /can be written again$/);
  });

  it('a directory that is gone is said once, and publishing goes on without throwing', () => {
    const reports: string[] = [];
    const p = publisher(join(tempDir(), 'missing'), reports);
    p.publish(SNAPSHOT, EXTRAS);
    p.publish(SNAPSHOT, EXTRAS);
    assert.equal(reports.filter((r) => r.startsWith('cannot write the status file')).length, 1, reports.join('\n'));
  });

  it('a directory every user can write (not sticky) is used with one warning', () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const reports: string[] = [];
    publisher(dir, reports).publish(SNAPSHOT, EXTRAS);
    assert.match(reports[0] ?? '', /is used all the same: every user can write it \(mode 777\)/);
    assert.equal(lstatSync(join(dir, STATUS_FILE_NAME)).isFile(), true);
  });
});

describe('status file: reading it as outside input', () => {
  it('no file: nothing to read', () => {
    assert.equal(readStatusFile(join(tempDir(), STATUS_FILE_NAME), ALIVE), undefined);
  });

  it('a writer gone, or another process with its PID now (another start time, another boot): not running', () => {
    const dir = tempDir();
    publisher(dir).publish(SNAPSHOT, EXTRAS);
    const file = join(dir, STATUS_FILE_NAME);
    assert.equal(readStatusFile(file, { ...ALIVE, startTicks: () => null, alive: () => false })?.liveness, 'gone');
    assert.equal(readStatusFile(file, { ...ALIVE, startTicks: () => '999' })?.liveness, 'gone', 'the PID was reused: another start time');
    assert.equal(readStatusFile(file, { ...ALIVE, bootId: () => 'another boot' })?.liveness, 'gone');
  });

  it("this process's identity, read from /proc, names it and no other", () => {
    const me = ownIdentity();
    assert.equal(me.pid, process.pid);
    assert.match(me.startTicks ?? '', /^\d+$/);
    assert.match(me.bootId ?? '', /^[0-9a-f-]{36}$/);
  });

  for (const [what, content] of [
    ['not JSON', '{"format": 2, "pid": '],
    ['another format', '{"format": 99, "pid": 1, "tasks": [], "settings": []}'],
    ['JSON of another shape', '[1, 2, 3]'],
    ['null', 'null'],
    ['a time that is no number', JSON.stringify({ format: 2, pid: 1, state: 'running', startedAt: 'yesterday' })],
    ['a task whose name is no text', JSON.stringify({ format: 2, pid: 1, state: 'running', tasks: [{ name: 42 }] })],
  ] as const) {
    it(`a file that is ${what} is refused with one line, not shown`, () => {
      const file = join(tempDir(), STATUS_FILE_NAME);
      writeFileSync(file, content);
      assert.throws(() => readStatusFile(file, ALIVE), (error: unknown) => error instanceof StatusUnreadableError && error.code === 'STATUS_UNREADABLE' && !error.message.includes('\n'));
    });
  }

  it('a huge file is refused by its size, before it is read', () => {
    const file = join(tempDir(), STATUS_FILE_NAME);
    writeFileSync(file, Buffer.alloc(10 * 1024 * 1024, 0x20));
    assert.deepEqual(refusal(() => readStatusFile(file, ALIVE)), { code: 'STATUS_UNREADABLE', because: 'FILE_TOO_BIG' });
  });

  it('a FIFO, a directory or a link is refused at once, never waited on or followed', () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    mkfifo(fifo);
    assert.deepEqual(refusal(() => readStatusFile(fifo, ALIVE)), { code: 'STATUS_UNREADABLE', because: 'UNSAFE_FILE' });
    assert.deepEqual(refusal(() => readStatusFile(dir, ALIVE)), { code: 'STATUS_UNREADABLE', because: 'UNSAFE_FILE' });
    const link = join(dir, 'link');
    // Followed, the link would give /etc/hostname: not JSON, refused too, but not as a link.
    symlinkSync('/etc/hostname', link);
    assert.deepEqual(refusal(() => readStatusFile(link, ALIVE)), { code: 'STATUS_UNREADABLE', because: 'UNSAFE_FILE' });
  });
});

describe('the status line (SIGUSR1)', () => {
  it('names each task with its step, then the counts, the config and the last reload, on one line', () => {
    const line = formatSnapshotLine({
      ...SNAPSHOT,
      lastReload: { at: Date.UTC(2026, 10, 26, 10, 0, 0), began: 0, result: 'refused', reason: 'invalid config c.yaml (1 problem):\n  c.yaml:6: tasks.a.steps[0].sleep: must not be negative; got -1' },
    });
    assert.equal(
      line,
      'status: running; 2 tasks: operation[5] sleep 3s, operationsub[2] sleep 1s; 42 steps done; config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; ' +
        'last reload: refused at 2026-11-26T10:00:00.000Z: invalid config c.yaml (1 problem): c.yaml:6: tasks.a.steps[0].sleep: must not be negative; got -1',
    );
  });

  it('stays bounded with ten thousand tasks and a long reason', () => {
    const tasks = Array.from({ length: 200 }, (_, i) => ({ name: `t${i}`, step: 1, doing: 'sleep 1h', since: 0, wakeAt: 1, steps: [] }));
    const line = formatSnapshotLine({ ...SNAPSHOT, tasks, moreTasks: 9_800, lastReload: { at: 0, began: 0, result: 'refused', reason: 'x'.repeat(100_000) } });
    assert.ok(line.length < 1500, `${line.length} characters`);
    assert.match(line, /^status: running; 10000 tasks: t0\[1\] sleep 1h, .* t19\[1\] sleep 1h, and 9980 more; 42 steps done; /);
    assert.match(line, /x…$/);
  });

  it('says when no task runs and no reload happened', () => {
    assert.equal(
      formatSnapshotLine({ ...SNAPSHOT, tasks: [], stepsDone: 0, lastReload: null }),
      'status: running; no task running; 0 steps done; config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; no reload yet',
    );
  });
});
