import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

// asyncdemo edit driven by a scripted $EDITOR (a shell script that edits the
// file it is given, as nano would when the owner types), against a daemon in
// the foreground: the reload it asks for is the daemon's own, by its signal.

const CONFIG = `tasks:
  operation:
    autostart: true
    repeat: forever
    steps: [{log: operation1}, {sleep: 3}]
  heartbeat:
    autostart: true
    repeat: forever
    steps: [{sleep: 10s}]
`;

/** An editor that runs `script` on the file ($1); `runs` counts its runs in `$dir/runs`. */
function editor(dir: string, script: string): string {
  const path = join(dir, 'editor.sh');
  writeFileSync(path, `#!/bin/sh\nrun=$(( $(cat "${dir}/runs" 2>/dev/null || echo 0) + 1 ))\necho "$run" > "${dir}/runs"\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** `asyncdemo edit` with `input` on its stdin (the answers to its question). */
function edit(args: string[], env: Record<string, string>, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'edit', ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.end(input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`asyncdemo edit did not finish within 20 s; stdout: ${stdout}; stderr: ${stderr}`));
    }, 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Setup {
  readonly dir: string;
  readonly file: string;
  readonly env: Record<string, string>;
  readonly daemon: RunningDaemon;
}

async function setUp(): Promise<Setup> {
  const dir = tempDir();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, CONFIG, { mode: 0o640 });
  const env = { ASYNCDEMO_STATUS_DIR: tempDir() };
  const daemon = startDaemon(['run', '--config', file], env);
  await daemon.waitFor((l) => l.msg === 'operation1');
  // The status is published at READY; edit finds the daemon through it.
  await waitFor(() => (readStatusPid(env.ASYNCDEMO_STATUS_DIR) === daemon.child.pid ? true : undefined), 10_000, 'the status file');
  return { dir, file, env, daemon };
}

function readStatusPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

async function tearDown({ daemon }: Setup): Promise<void> {
  daemon.child.kill('SIGTERM');
  await daemon.waitExit();
}

describe('asyncdemo edit', () => {
  it('a good edit: the file is replaced whole, its mode kept; the daemon reloads it and the terminal says what the reload did', async () => {
    const setup = await setUp();
    try {
      const { code, stdout, stderr } = await edit(['--config', setup.file], { ...setup.env, EDITOR: editor(setup.dir, `sed -i 's/sleep: 3/sleep: 2/' "$1"`) });
      assert.equal(code, 0, stderr);
      assert.equal(stdout, `saved ${setup.file}\nreloaded: kept heartbeat; restarted operation; cancelled none; started none\n`);
      assert.match(readFileSync(setup.file, 'utf8'), /\{sleep: 2\}/);
      assert.equal(statSync(setup.file).mode & 0o777, 0o640);
      await setup.daemon.waitFor((l) => l.msg.startsWith('reloaded '), 10_000, "the daemon's reload line");
    } finally {
      await tearDown(setup);
    }
  });

  it('a bad edit, then a fix: the problem is shown with its line, the editor opens again, the fixed file is saved and reloaded', async () => {
    const setup = await setUp();
    try {
      const script = `if [ "$run" = 1 ]; then sed -i 's/sleep: 3/sleep: soon/' "$1"; else sed -i 's/sleep: soon/sleep: 2/' "$1"; fi`;
      const { code, stdout, stderr } = await edit(['--config', setup.file], { ...setup.env, EDITOR: editor(setup.dir, script) }, 'e\n');
      assert.equal(code, 0, stderr);
      assert.match(stderr, new RegExp(`^your edit of ${setup.file} \\(1 problem\\):\\n  ${setup.file}:5: tasks\\.operation\\.steps\\[1\\]\\.sleep: must be a number of seconds`, 'm'));
      assert.match(stderr, /What now\? \(e\)dit again, or \(k\)eep the old file \[e\]: /);
      assert.equal(readFileSync(join(setup.dir, 'runs'), 'utf8').trim(), '2');
      assert.match(stdout, /^reloaded: kept heartbeat; restarted operation/m);
      assert.match(readFileSync(setup.file, 'utf8'), /\{sleep: 2\}/);
    } finally {
      await tearDown(setup);
    }
  });

  it('a bad edit, then keep: the file is unchanged, nothing is reloaded, exit 78', async () => {
    const setup = await setUp();
    try {
      const { code, stderr } = await edit(['--config', setup.file], { ...setup.env, EDITOR: editor(setup.dir, `sed -i 's/sleep: 3/sleep: soon/' "$1"`) }, 'k\n');
      assert.equal(code, 78);
      assert.match(stderr, new RegExp(`kept the old ${setup.file}; your edit is dropped\\n$`));
      assert.equal(readFileSync(setup.file, 'utf8'), CONFIG);
      assert.ok(!setup.daemon.lines.some((l) => l.msg.startsWith('reload')), 'no reload');
    } finally {
      await tearDown(setup);
    }
  });

  it('an editor that saves no change, or fails: the file is unchanged and nothing is reloaded', async () => {
    const setup = await setUp();
    try {
      const unchanged = await edit(['--config', setup.file], { ...setup.env, EDITOR: editor(setup.dir, 'true') });
      assert.equal(unchanged.code, 0);
      assert.equal(unchanged.stdout, `no change to ${setup.file}; nothing to do\n`);
      const failed = await edit(['--config', setup.file], { ...setup.env, EDITOR: editor(setup.dir, `sed -i 's/sleep: 3/sleep: 2/' "$1"; exit 1`) });
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, new RegExp(`exited with 1; ${setup.file} is unchanged\\n$`));
      assert.equal(readFileSync(setup.file, 'utf8'), CONFIG);
      assert.ok(!setup.daemon.lines.some((l) => l.msg.startsWith('reload')), 'no reload');
    } finally {
      await tearDown(setup);
    }
  });
});
