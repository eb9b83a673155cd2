import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/daemon.js';
import { waitForSync } from '../helpers/wait.js';

/** Where the boot script lives: in the source tree, next to this file's source. */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BOOT = join(REPO, 'test', 'systemd', 'boot-sandbox.sh');

/** Why the sandbox cannot run here, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (namespaces, mounts, chroot): sudo npm test';
  if (spawnSync('test', ['-x', '/lib/systemd/systemd']).status !== 0) return 'needs systemd installed (sudo apt install systemd)';
  if (spawnSync('unshare', ['--pid', '--fork', '--mount', 'true']).status !== 0) return 'unshare --pid --mount is not permitted here (a container without CAP_SYS_ADMIN): run the tests as root on a machine or VM';
  return undefined;
}

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A systemd booted as PID 1 in private namespaces, on a throwaway overlay of /. */
export interface Sandbox {
  /** Runs a command inside, bounded by `timeoutMs`. */
  run(command: string[], timeoutMs?: number, input?: string): Result;
  /** Like run, but fails when the command does. */
  ok(command: string[], timeoutMs?: number): string;
  /** Writes a file inside. */
  write(path: string, text: string): void;
  /** Ends the sandbox: killing its PID 1 ends every process and mount in it. */
  kill(): void;
}

export function bootSandbox(): Sandbox {
  const base = tempDir('asyncdemo-sandbox-');
  const unshare = spawn('unshare', ['--pid', '--fork', '--mount', '--uts', '--ipc', '--mount-proc', BOOT, base, REPO], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  unshare.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const unsharePid = unshare.pid;
  if (unsharePid === undefined) throw new Error('sandbox: unshare did not start');

  let pid1: number | undefined;
  const kill = (): void => {
    if (pid1 !== undefined) spawnSync('kill', ['-KILL', String(pid1)]);
    unshare.kill('SIGKILL');
    unshare.stderr?.destroy();
    unshare.unref();
    rmSync(base, { recursive: true, force: true });
  };
  try {
    // unshare --fork: its one child becomes PID 1 of the new namespace (the script execs systemd).
    pid1 = waitForSync(
      () => {
        try {
          const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
          return children === '' ? undefined : Number(children.split(' ')[0]);
        } catch {
          return undefined;
        }
      },
      10_000,
      'PID 1 in the sandbox',
      { everyMs: 50 },
    );
    const run = (command: string[], timeoutMs = 30_000, input?: string): Result => {
      const result: SpawnSyncReturns<string> = spawnSync('nsenter', ['-t', String(pid1), '-m', '-p', '-u', '-i', '-r', '-w', ...command], {
        encoding: 'utf8',
        timeout: timeoutMs,
        ...(input === undefined ? {} : { input }),
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
      });
      if (result.error !== undefined) throw new Error(`sandbox: ${command.join(' ')}: ${result.error.message}`);
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    waitForSync(
      () => {
        const state = run(['systemctl', 'is-system-running'], 5000).stdout.trim();
        return state === 'running' || state === 'degraded' ? state : undefined;
      },
      60_000,
      `booted system in the sandbox (log: ${stderr.slice(-500)})`,
      { everyMs: 50 },
    );
    return {
      run,
      ok(command, timeoutMs) {
        const result = run(command, timeoutMs);
        if (result.code !== 0) throw new Error(`sandbox: ${command.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
        return result.stdout;
      },
      write(path, text) {
        const result = run(['sh', '-c', `mkdir -p "$(dirname "$1")" && cat > "$1"`, 'sh', path], 10_000, text);
        if (result.code !== 0) throw new Error(`sandbox: cannot write ${path}: ${result.stderr}`);
      },
      kill,
    };
  } catch (error) {
    kill();
    throw error;
  }
}
