import { chmodSync, closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The running daemon's status as a file, for `asyncdemo status`: written by
 * the daemon under systemd's RuntimeDirectory= (a tmpfs: no SD card wear),
 * replaced atomically (write, then rename), readable by anyone (mode 0644,
 * the directory 0755). The reader needs neither root nor D-Bus. systemd
 * removes the directory when the service stops, so a missing file means a
 * stopped service.
 */

/** The file's name in the runtime directory. */
export const STATUS_FILE_NAME = 'status.json';
/** Where an installed service keeps it (RuntimeDirectory=asyncdemo). */
export const SERVICE_STATUS_FILE = `/run/asyncdemo/${STATUS_FILE_NAME}`;
/** Tasks written out in full; the rest are counted. 10,000 tasks would otherwise make a 600 KB file every few seconds. */
export const LISTED_TASKS = 200;
/** A status file larger than this is not ours (or not whole): the reader refuses it. */
const MAX_STATUS_BYTES = 256 * 1024;
/** Raised when the file format changes in a way an older reader would misread. */
const FORMAT = 1;

export interface PublishedTask {
  readonly name: string;
  readonly step: number;
  readonly doing: string;
}

export interface PublishedReload {
  readonly at: number;
  readonly result: 'applied' | 'refused' | 'failed';
  readonly reason: string;
}

export interface PublishedSetting {
  readonly key: string;
  readonly value: unknown;
  /** `default`, `file`, `environment ASYNCDEMO_DEBUG`, … */
  readonly source: string;
}

/** What the file holds. Times are wall-clock milliseconds since the epoch unless named monotonic. */
export interface PublishedStatus {
  readonly format: number;
  readonly pid: number;
  /** The running build (src/build-info.ts); absent in files of builds before it. */
  readonly version?: string;
  readonly commit?: string;
  readonly state: 'running' | 'reloading' | 'stopping';
  readonly startedAt: number;
  /** CLOCK_MONOTONIC at the start, in ms: the uptime holds when the wall clock jumps (a Pi without RTC meeting NTP). */
  readonly startedMonotonicMs: number;
  readonly publishedAt: number;
  readonly configFile: string;
  /** SHA-256 of the config in force (load.ts): what a rollout compares with the file it sent. */
  readonly configSha256: string;
  readonly configLoadedAt: number;
  readonly lastReload: PublishedReload | null;
  readonly tasks: readonly PublishedTask[];
  /** How many running tasks are not in `tasks`. */
  readonly moreTasks: number;
  readonly stepsDone: number;
  readonly logDir: string | null;
  readonly led: { readonly backend: string; readonly pin: number | null };
  readonly settings: readonly PublishedSetting[];
}

/** What changes from one publication to the next. */
export interface StatusUpdate {
  readonly state: PublishedStatus['state'];
  readonly configFile: string;
  readonly configSha256: string;
  readonly configLoadedAt: number;
  readonly lastReload: PublishedReload | undefined;
  readonly tasks: readonly PublishedTask[];
  readonly stepsDone: number;
  readonly logDir: string | null;
  readonly led: PublishedStatus['led'];
  readonly settings: readonly PublishedSetting[];
}

export interface StatusPublisherOptions {
  readonly dir: string;
  readonly pid: number;
  /** The running build's version and commit: which build runs, after an upgrade. */
  readonly version: string;
  readonly commit: string;
  readonly startedAt: number;
  readonly startedMonotonicMs: number;
  readonly now: () => number;
  /** Told once when the file cannot be written, and once when it can again. */
  readonly report: (level: 'warn', message: string) => void;
}

export interface StatusPublisher {
  publish(update: StatusUpdate): void;
  /** Removes the file at a clean exit (outside systemd nobody else does); never throws. */
  withdraw(): void;
}

export function createStatusPublisher(options: StatusPublisherOptions): StatusPublisher {
  const file = join(options.dir, STATUS_FILE_NAME);
  const temp = `${file}.${options.pid}.tmp`;
  let failing = false;
  return {
    publish(update) {
      const status: PublishedStatus = {
        format: FORMAT,
        pid: options.pid,
        version: options.version,
        commit: options.commit,
        state: update.state,
        startedAt: options.startedAt,
        startedMonotonicMs: options.startedMonotonicMs,
        publishedAt: options.now(),
        configFile: update.configFile,
        configSha256: update.configSha256,
        configLoadedAt: update.configLoadedAt,
        lastReload: update.lastReload ?? null,
        tasks: update.tasks.slice(0, LISTED_TASKS),
        moreTasks: Math.max(0, update.tasks.length - LISTED_TASKS),
        stepsDone: update.stepsDone,
        logDir: update.logDir,
        led: update.led,
        settings: update.settings,
      };
      try {
        writeFileSync(temp, `${JSON.stringify(status)}\n`);
        // Explicitly: the unit's UMask=0027 would make it 0640, unreadable by the users status is for.
        chmodSync(temp, 0o644);
        renameSync(temp, file);
        if (failing) options.report('warn', `the status file ${file} can be written again`);
        failing = false;
      } catch (error) {
        // A status nobody reads is not worth stopping for; one line says so.
        if (!failing) options.report('warn', `cannot write the status file ${file} (asyncdemo status will not see this run): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
        failing = true;
      }
    },
    withdraw() {
      rmSync(file, { force: true });
    },
  };
}

/** Why `asyncdemo status` has no status to show. */
export class StatusUnavailableError extends Error {
  override readonly name = 'StatusUnavailableError';
  /** True when the service is simply not running (exit 3, as LSB status commands do). */
  readonly notRunning: boolean;

  constructor(message: string, notRunning: boolean) {
    super(message);
    this.notRunning = notRunning;
  }
}

/**
 * Reads a status file. `alive` tells whether a pid runs (the entry point
 * passes a `kill(pid, 0)` probe): a file left by a process that is gone
 * (killed with SIGKILL under a unit that keeps its runtime directory) is
 * not shown as running.
 */
export function readStatusFile(path: string, alive: (pid: number) => boolean): PublishedStatus {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StatusUnavailableError(`asyncdemo is not running (no ${path}; start it with: sudo systemctl start asyncdemo)`, true);
    if (code === 'EACCES') throw new StatusUnavailableError(`cannot read ${path}: permission denied (it is written 0644; check the modes of ${path} and its directory)`, false);
    throw new StatusUnavailableError(`cannot read ${path}: ${code ?? String(error)}`, false);
  }
  let text: string;
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_STATUS_BYTES) throw new StatusUnavailableError(`${path} is ${size} bytes, more than a status file can be (${MAX_STATUS_BYTES}): not asyncdemo's`, false);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    text = buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
  let status: PublishedStatus;
  try {
    status = JSON.parse(text) as PublishedStatus;
  } catch {
    throw new StatusUnavailableError(`${path} is not a status file asyncdemo wrote (not JSON)`, false);
  }
  if (typeof status !== 'object' || status === null || status.format !== FORMAT || typeof status.pid !== 'number' || !Array.isArray(status.tasks) || !Array.isArray(status.settings)) {
    throw new StatusUnavailableError(`${path} is not a status file this asyncdemo can read (format ${String((status as { format?: unknown } | null)?.format)}, expected ${FORMAT})`, false);
  }
  if (!alive(status.pid)) throw new StatusUnavailableError(`asyncdemo is not running (process ${status.pid}, which wrote ${path}, is gone)`, true);
  return status;
}

/** `asyncdemo status`'s text. `nowMonotonicMs`: the reader's CLOCK_MONOTONIC, the same clock as the daemon's on one boot. */
export function formatStatusFile(status: PublishedStatus, nowMonotonicMs: number): string {
  const lines: string[] = [];
  const field = (name: string, value: string): void => {
    lines.push(`${`${name}:`.padEnd(13)}${value}`);
  };
  field('asyncdemo', `${status.state} (pid ${status.pid}), up ${duration(nowMonotonicMs - status.startedMonotonicMs)}, since ${iso(status.startedAt)}`);
  if (status.version !== undefined) field('version', `${status.version} (commit ${status.commit ?? 'unknown'})`);
  field('config', `${status.configFile}, loaded ${iso(status.configLoadedAt)} (sha256 ${status.configSha256.slice(0, 12)}…)`);
  const reload = status.lastReload;
  field('last reload', reload === null ? 'none since the start' : `${reload.result} at ${iso(reload.at)}: ${reload.reason.replaceAll(/\s*\n\s*/g, '; ')}`);
  const count = status.tasks.length + status.moreTasks;
  field('tasks', count === 0 ? 'none running' : `${count} running`);
  for (const task of status.tasks) lines.push(`  ${task.name}[${task.step}] ${task.doing}`);
  if (status.moreTasks > 0) lines.push(`  and ${status.moreTasks} more`);
  field('steps done', String(status.stepsDone));
  field('log files', status.logDir ?? 'off (console only)');
  field('LED', status.led.pin === null ? status.led.backend : `${status.led.backend}, BCM ${status.led.pin}`);
  lines.push('settings (as the service sees them, with where each came from):');
  const width = Math.max(0, ...status.settings.map((s) => `${s.key} = ${JSON.stringify(s.value)}`.length));
  for (const s of status.settings) lines.push(`  ${`${s.key} = ${JSON.stringify(s.value)}`.padEnd(width)}  # ${s.source}`);
  lines.push(`(as of ${iso(status.publishedAt)})`);
  return `${lines.join('\n')}\n`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function duration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (s >= size || parts.length > 0) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  parts.push(`${s}s`);
  return parts.join(' ');
}
