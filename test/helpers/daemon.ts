import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arrivals } from './wait.js';

/** The repository root: tests run from build/test/…, the daemon from dist/. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The CLI under test; `ASYNCDEMO_TEST_MAIN` points the integration tests at another build (to show a test fails on an older one). */
export const MAIN = process.env['ASYNCDEMO_TEST_MAIN'] ?? join(ROOT, 'dist', 'main.js');
export const EXAMPLES = join(ROOT, 'config', 'examples');

export interface Line {
  level: number;
  time: number;
  msg: string;
  task?: string;
  step?: number;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A daemon started through the real CLI, its JSON console lines parsed as they come. */
export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly lines: Line[];
  /** Everything on stderr so far. */
  stderr(): string;
  /** Non-JSON stdout lines (there should be none in JSON mode). */
  readonly stray: string[];
  /** Wall-clock ms when the process was spawned. */
  readonly spawnedAt: number;
  /** Resolves with the first line (past or future) that matches; rejects after `timeoutMs`. */
  waitFor(match: (line: Line) => boolean, timeoutMs?: number, what?: string): Promise<Line>;
  readonly exited: Promise<Exit>;
  /** Resolves when the process exits, or rejects after `timeoutMs`. */
  waitExit(timeoutMs?: number): Promise<Exit>;
  /** `task[step] msg` (or `msg`) of every line, in order. */
  texts(): string[];
}

const tempDirs: string[] = [];
/** Daemons started and not yet exited: a test that failed half-way may leave one behind. */
const running = new Set<ChildProcess>();
// Each test file runs in its own process: when it exits, its daemons are
// killed (a failed test must not leave one running into the next files) and
// its temporary directories go.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'asyncdemo-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * Runs `node …nodeArgs dist/main.js …args` (after `prefix`, e.g. an unshare wrapper;
 * `main`: another copy's dist/main.js).
 * The console is JSON (stdout is a pipe); log files go to a fresh temporary
 * directory unless the env says otherwise.
 */
export function startDaemon(
  args: string[],
  env: Record<string, string> = {},
  { prefix = [], nodeArgs = [], main = MAIN }: { prefix?: string[]; nodeArgs?: string[]; main?: string } = {},
): RunningDaemon {
  const command = [...prefix, process.execPath, ...nodeArgs, main, ...args];
  const child = spawn(command[0] as string, command.slice(1), {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ASYNCDEMO_LOG_DIR: tempDir('asyncdemo-logs-'), ASYNCDEMO_STATUS_DIR: tempDir('asyncdemo-status-'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnedAt = Date.now();
  const stray: string[] = [];
  let stderr = '';
  const texts = (): string[] => lines.map((l) => (l.task === undefined ? l.msg : l.step === undefined ? `${l.task}: ${l.msg}` : `${l.task}[${l.step}] ${l.msg}`));
  const arrivals = new Arrivals<Line>(() => `got:\n${texts().join('\n')}\nstderr:\n${stderr}`);
  const lines = arrivals.items;
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        stray.push(text);
        continue;
      }
      arrivals.push(line);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  running.add(child);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  // Lines are all in a turn after the process has exited; a wait still waiting then will not be answered.
  void exited.then(() => setImmediate(() => arrivals.end('exited')));

  return {
    child,
    lines,
    stray,
    spawnedAt,
    stderr: () => stderr,
    exited,
    texts,
    waitFor: (match, timeoutMs = 10_000, what = 'a matching line') => arrivals.waitFor(match, timeoutMs, what),
    waitExit(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`did not exit within ${timeoutMs} ms; got:\n${texts().join('\n')}\nstderr:\n${stderr}`));
        }, timeoutMs);
        void exited.then((exit) => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
    },
  };
}

/** Runs a short CLI command to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`asyncdemo ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
