import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createStatusPublisher, formatStatusFile, LISTED_TASKS, readStatusFile, STATUS_FILE_NAME, StatusUnavailableError, type StatusUpdate } from '../../src/status-file.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'asyncdemo-status-'));
  dirs.push(dir);
  return dir;
}

const UPDATE: StatusUpdate = {
  state: 'running',
  configFile: '/etc/asyncdemo/config.yaml',
  configSha256: 'a'.repeat(64),
  configLoadedAt: Date.UTC(2026, 10, 26, 9, 0, 0),
  lastReload: { at: Date.UTC(2026, 10, 26, 9, 5, 0), result: 'refused', reason: '/etc/asyncdemo/config.yaml: tasks.ticker.steps[1].sleep: not a duration' },
  tasks: [
    { name: 'operation', step: 5, doing: 'sleep 3s' },
    { name: 'operationsub', step: 2, doing: 'sleep 1s' },
  ],
  stepsDone: 42,
  logDir: '/var/log/asyncdemo',
  led: { backend: 'sysfs', pin: 17 },
  settings: [
    { key: 'debug.enabled', value: true, source: 'environment ASYNCDEMO_DEBUG, overriding false in the file' },
    { key: 'log.file.dir', value: '/var/log/asyncdemo', source: 'environment LOGS_DIRECTORY' },
  ],
};

function publisher(dir: string, reports: string[] = []) {
  return createStatusPublisher({ dir, pid: process.pid, version: '0.1.0+412.g47e54f4', commit: '47e54f4bdd4ee09a26f1d62d7528b9e1d78add69', startedAt: Date.UTC(2026, 10, 26, 8, 0, 0), startedMonotonicMs: 1_000, now: () => Date.UTC(2026, 10, 26, 9, 6, 0), report: (_level, message) => reports.push(message) });
}

describe('status file', () => {
  it('a published status reads back whole, mode 0644 under a umask of 0027 (the unit\'s), with no temporary file left behind', () => {
    const dir = tempDir();
    const umask = process.umask(0o027);
    try {
      publisher(dir).publish(UPDATE);
    } finally {
      process.umask(umask);
    }
    const file = join(dir, STATUS_FILE_NAME);
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir), [STATUS_FILE_NAME]);
    const status = readStatusFile(file, () => true);
    assert.equal(status.pid, process.pid);
    assert.deepEqual(status.tasks, UPDATE.tasks);
    assert.deepEqual(status.lastReload, UPDATE.lastReload);
    assert.deepEqual(status.settings, UPDATE.settings);
  });

  it(`lists at most ${LISTED_TASKS} tasks and counts the rest`, () => {
    const dir = tempDir();
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ name: `t${i}`, step: 0, doing: 'sleep 1h' }));
    publisher(dir).publish({ ...UPDATE, tasks });
    const status = readStatusFile(join(dir, STATUS_FILE_NAME), () => true);
    assert.equal(status.tasks.length, LISTED_TASKS);
    assert.equal(status.moreTasks, 10_000 - LISTED_TASKS);
    assert.match(formatStatusFile(status, 2_000), /^tasks: +10000 running$/m);
    assert.match(formatStatusFile(status, 2_000), new RegExp(`^  and ${10_000 - LISTED_TASKS} more$`, 'm'));
  });

  it('a directory it cannot write is said once, and its recovery once; the daemon is not stopped', { skip: process.getuid?.() === 0 ? 'root writes anywhere' : false }, () => {
    const dir = tempDir();
    const reports: string[] = [];
    const p = publisher(dir, reports);
    chmodSync(dir, 0o555);
    p.publish(UPDATE);
    p.publish(UPDATE);
    chmodSync(dir, 0o755);
    p.publish(UPDATE);
    assert.equal(reports.length, 2, reports.join('\n'));
    assert.match(reports[0] ?? '', /^cannot write the status file .*EACCES/);
    assert.match(reports[1] ?? '', /can be written again$/);
  });

  it('a directory that is gone is said once, and publishing goes on without throwing', () => {
    const reports: string[] = [];
    const p = publisher(join(tempDir(), 'missing'), reports);
    p.publish(UPDATE);
    p.publish(UPDATE);
    assert.equal(reports.length, 1);
    assert.match(reports[0] ?? '', /^cannot write the status file .*ENOENT/);
  });

  it('no file: "not running", marked so (exit 3)', () => {
    assert.throws(
      () => readStatusFile(join(tempDir(), STATUS_FILE_NAME), () => true),
      (error: unknown) => error instanceof StatusUnavailableError && error.notRunning && /^asyncdemo is not running \(no .*status\.json; start it with: sudo systemctl start asyncdemo\)$/.test(error.message),
    );
  });

  it('a file whose process is gone: "not running", naming the pid', () => {
    const dir = tempDir();
    publisher(dir).publish(UPDATE);
    assert.throws(
      () => readStatusFile(join(dir, STATUS_FILE_NAME), () => false),
      (error: unknown) => error instanceof StatusUnavailableError && error.notRunning && error.message.includes(`process ${process.pid}`),
    );
  });

  for (const [what, content] of [
    ['not JSON', '{"format": 1, "pid": '],
    ['another format', '{"format": 99, "pid": 1, "tasks": [], "settings": []}'],
    ['JSON of another shape', '[1, 2, 3]'],
    ['null', 'null'],
  ] as const) {
    it(`a file that is ${what} is refused with a reason, not shown`, () => {
      const file = join(tempDir(), STATUS_FILE_NAME);
      writeFileSync(file, content);
      assert.throws(
        () => readStatusFile(file, () => true),
        (error: unknown) => error instanceof StatusUnavailableError && !error.notRunning && /not a status file/.test(error.message),
      );
    });
  }

  it('a huge file is refused by its size, before it is read', () => {
    const file = join(tempDir(), STATUS_FILE_NAME);
    writeFileSync(file, Buffer.alloc(10 * 1024 * 1024, 0x20));
    assert.throws(
      () => readStatusFile(file, () => true),
      (error: unknown) => error instanceof StatusUnavailableError && /10485760 bytes, more than a status file can be/.test(error.message),
    );
  });

  it('the text names state, pid, uptime by the monotonic clock, the version and commit, config, last reload and its reason, tasks at their steps, log directory, LED and each setting with its source', () => {
    const dir = tempDir();
    publisher(dir).publish(UPDATE);
    const text = formatStatusFile(readStatusFile(join(dir, STATUS_FILE_NAME), () => true), 1_000 + 3_723_000);
    assert.match(text, new RegExp(`^asyncdemo: +running \\(pid ${process.pid}\\), up 1h 2m 3s, since 2026-11-26T08:00:00.000Z$`, 'm'));
    assert.match(text, /^version: +0\.1\.0\+412\.g47e54f4 \(commit 47e54f4bdd4ee09a26f1d62d7528b9e1d78add69\)$/m);
    assert.match(text, /^config: +\/etc\/asyncdemo\/config\.yaml, loaded 2026-11-26T09:00:00\.000Z \(sha256 a{12}…\)$/m);
    assert.match(text, /^last reload: +refused at 2026-11-26T09:05:00\.000Z: .*not a duration$/m);
    assert.match(text, /^ {2}operation\[5\] sleep 3s$/m);
    assert.match(text, /^ {2}operationsub\[2\] sleep 1s$/m);
    assert.match(text, /^steps done: +42$/m);
    assert.match(text, /^log files: +\/var\/log\/asyncdemo$/m);
    assert.match(text, /^LED: +sysfs, BCM 17$/m);
    assert.match(text, /^ {2}debug\.enabled = true +# environment ASYNCDEMO_DEBUG, overriding false in the file$/m);
    assert.match(text, /^ {2}log\.file\.dir = "\/var\/log\/asyncdemo" +# environment LOGS_DIRECTORY$/m);
  });
});
