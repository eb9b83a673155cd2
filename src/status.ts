/**
 * What the daemon is doing, in one place and one set of types:
 *
 * - {@link DaemonSnapshot}: what the daemon says of itself (`Daemon.snapshot()`),
 *   as one log line for SIGUSR1 ({@link formatSnapshotLine});
 * - {@link StatusFile}: the snapshot published as a file for `asyncdemo status`
 *   and `asyncdemo reload` (under systemd in RuntimeDirectory=, a tmpfs: no SD
 *   card wear), replaced atomically, readable by anyone (0644), so neither root
 *   nor D-Bus is needed to read it;
 * - {@link readStatusFile}: that file read back as the outside input it is
 *   (bounded, no link followed, no wait on a FIFO, every field checked).
 *
 * (`systemctl status` shows a third kind, STATUS=: daemon.ts's one-line summary.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDirectory, FileTooBigError, readSmallFile, replaceFile, UnsafeFileError } from './safe-files.js';
import { count, iso, oneLine } from './text.js';
import type { Time } from './time.js';

/** A running task, as reports show it. */
export interface TaskStatus {
  readonly name: string;
  /** Index of the step it is at. */
  readonly step: number;
  /** That step: `sleep 3s`, `log "operation1"`. */
  readonly doing: string;
  /** Monotonic ms (CLOCK_MONOTONIC, one clock for every process of a boot) when that step began; null before the task's first turn. */
  readonly since: number | null;
  /** For a step that waits: the monotonic ms it wakes at. */
  readonly wakeAt: number | null;
  /** Every step of the task as it runs now, described (the first {@link LISTED_STEPS}). */
  readonly steps: readonly string[];
}

/** How a reload (SIGHUP) ended. */
export interface ReloadOutcome {
  /** Wall-clock ms when it ended. */
  readonly at: number;
  /** Monotonic ms when it began reading the config: `asyncdemo reload` waits for one that began after its signal. */
  readonly began: number;
  /** `applied`: the new config runs; `refused`: it was invalid, the old one runs on; `failed`: an unexpected error. */
  readonly result: 'applied' | 'refused' | 'failed';
  /** What it changed, or why it was refused. */
  readonly reason: string;
}

export type DaemonState = 'running' | 'reloading' | 'stopping';

/** What the daemon is doing now: `Daemon.snapshot()`. */
export interface DaemonSnapshot {
  readonly state: DaemonState;
  /** The config file in force. */
  readonly configFile: string;
  /** When that config was loaded: wall-clock ms (the start, or the last applied reload). */
  readonly configLoadedAt: number;
  /** The first {@link LISTED_TASKS} tasks running now. */
  readonly tasks: readonly TaskStatus[];
  /** How many running tasks are not in `tasks`. */
  readonly moreTasks: number;
  /** Steps completed since the start, over all tasks. */
  readonly stepsDone: number;
  readonly lastReload: ReloadOutcome | null;
}

/** Tasks listed in full; the rest are counted. 10,000 tasks would otherwise make a 600 KB file every few seconds. */
export const LISTED_TASKS = 200;
/** Steps listed per task; a generated task may have thousands. */
export const LISTED_STEPS = 50;
/** How many tasks the one-line report names. */
const LINE_TASKS = 20;
/** A refused reload's reason can list many problems; the line keeps the start. */
const LINE_REASON_CHARS = 400;

/**
 * The snapshot as one log line:
 * `status: running; 2 tasks: operation[4] sleep 3s, operationsub[2] sleep 1s; 42 steps done;
 * config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; last reload: refused at …: …`.
 */
export function formatSnapshotLine(snapshot: DaemonSnapshot): string {
  const total = snapshot.tasks.length + snapshot.moreTasks;
  const listed = snapshot.tasks.slice(0, LINE_TASKS).map((t) => `${t.name}[${t.step}] ${t.doing}`);
  if (total > listed.length) listed.push(`and ${total - listed.length} more`);
  const tasks = total === 0 ? 'no task running' : `${count(total, 'task')}: ${listed.join(', ')}`;
  const reload = snapshot.lastReload;
  const last = reload === null ? 'no reload yet' : `last reload: ${reload.result} at ${iso(reload.at)}: ${oneLine(reload.reason, LINE_REASON_CHARS)}`;
  return `status: ${snapshot.state}; ${tasks}; ${snapshot.stepsDone} steps done; config ${snapshot.configFile} loaded ${iso(snapshot.configLoadedAt)}; ${last}`;
}

/** The file's name in its directory. */
export const STATUS_FILE_NAME = 'status.json';
/** Where the installed service keeps it (RuntimeDirectory=asyncdemo; RuntimeDirectoryPreserve=yes keeps the last run's). */
export const SERVICE_STATUS_DIR = '/run/asyncdemo';
/** A status file larger than this is not ours (or not whole): the reader refuses it. */
const MAX_STATUS_BYTES = 256 * 1024;
/** Raised when the file's form changes in a way an older reader would misread. */
const STATUS_FORMAT = 2;

/** A setting as the status shows it. */
export interface SettingStatus {
  readonly key: string;
  readonly value: unknown;
  /** `default`, `file`, `environment ASYNCDEMO_DEBUG`, … */
  readonly source: string;
}

/** Which process wrote the file, so that a reader can tell it from another that got its PID since. */
interface ProcessIdentity {
  readonly pid: number;
  /** /proc/sys/kernel/random/boot_id: a PID of another boot is another process. */
  readonly bootId: string | null;
  /** The process's start time in clock ticks since boot (/proc/PID/stat, field 22). */
  readonly startTicks: string | null;
}

/** What the file holds. Times are wall-clock ms since the epoch unless they say monotonic. */
export interface StatusFile extends Omit<DaemonSnapshot, 'state'>, ProcessIdentity {
  readonly format: number;
  /** The running build (src/build-info.ts): which one runs, after an upgrade. */
  readonly version: string;
  readonly commit: string;
  readonly state: DaemonState | 'stopped';
  readonly startedAt: number;
  /** CLOCK_MONOTONIC at the start, in ms: the uptime holds when the wall clock jumps (a Pi without RTC meeting NTP). */
  readonly startedMonotonicMs: number;
  readonly publishedAt: number;
  readonly publishedMonotonicMs: number;
  /** SHA-256 of the config in force (load.ts): what a rollout and `status` compare with the file on disk. */
  readonly configSha256: string;
  readonly logDir: string | null;
  readonly led: { readonly backend: string; readonly pin: number | null };
  readonly settings: readonly SettingStatus[];
  /** How the run ended, once it has: its last publication. */
  readonly stopped: { readonly at: number; readonly exitCode: number } | null;
}

/** What the daemon adds to its snapshot for the file: what changes only with the config. */
export interface StatusExtras {
  readonly configSha256: string;
  readonly logDir: string | null;
  readonly led: StatusFile['led'];
  readonly settings: readonly SettingStatus[];
}

interface StatusPublisherOptions {
  readonly dir: string;
  /** The running build's version and commit. */
  readonly build: { readonly version: string; readonly commit: string };
  readonly identity: () => ProcessIdentity;
  readonly time: Time;
  /** Told once when the file cannot be written, and once when it can again; and of anything found in the way. */
  readonly report: (message: string) => void;
}

export interface StatusPublisher {
  publish(snapshot: DaemonSnapshot, extras: StatusExtras): void;
  /** The last publication: the run has ended, with this exit code. */
  finish(exitCode: number): void;
}

/**
 * Publishes the status file in `dir`, never throwing: a status nobody can read
 * is not worth stopping the daemon for, and one line says so (and one when it
 * can be written again). A directory that belongs to another user is not
 * written at all; one that every user can write is written with a warning.
 */
export function createStatusPublisher({ dir, build, identity, time, report }: StatusPublisherOptions): StatusPublisher {
  // A directory not there yet is tried at each publication (and said once, then); one that belongs to another user, or is a link, is not used.
  const problem = checkDirectory(dir);
  const refused = problem?.kind === 'refused';
  if (problem?.kind === 'refused') report(`the status directory ${dir} is not used: ${problem.reason}; asyncdemo status will not see this run`);
  if (problem?.kind === 'open') report(`the status directory ${dir} is used all the same: ${problem.reason}`);
  const startedAt = time.wallMs();
  const startedMonotonicMs = time.monotonicMs();
  let who: ProcessIdentity | undefined;
  let last: StatusFile | undefined;
  let failing = false;
  const write = (status: StatusFile): void => {
    last = status;
    if (refused) return;
    try {
      const note = replaceFile(dir, STATUS_FILE_NAME, `${JSON.stringify(status)}\n`, { mode: 0o644, tempSuffix: String(status.pid) });
      if (note !== undefined) report(note);
      if (failing) report(`the status file ${join(dir, STATUS_FILE_NAME)} can be written again`);
      failing = false;
    } catch (error) {
      if (!failing) report(`cannot write the status file ${join(dir, STATUS_FILE_NAME)} (asyncdemo status will not see this run): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      failing = true;
    }
  };
  return {
    publish(snapshot, extras) {
      who ??= identity();
      write({
        format: STATUS_FORMAT,
        version: build.version,
        commit: build.commit,
        ...who,
        startedAt,
        startedMonotonicMs,
        publishedAt: time.wallMs(),
        publishedMonotonicMs: time.monotonicMs(),
        ...snapshot,
        ...extras,
        stopped: null,
      });
    },
    finish(exitCode) {
      if (last === undefined) return;
      write({ ...last, state: 'stopped', tasks: [], moreTasks: 0, publishedAt: time.wallMs(), publishedMonotonicMs: time.monotonicMs(), stopped: { at: time.wallMs(), exitCode } });
    },
  };
}

/** This process's identity, from /proc; nulls where /proc does not say. */
export function ownIdentity(pid: number = process.pid): ProcessIdentity {
  return { pid, bootId: readBootId(), startTicks: processStartTicks(pid) };
}

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat; the name in field 2 may hold spaces and parentheses, so fields are counted from the last ')'. */
function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * `asyncdemo status` cannot tell: the file is there but cannot be read or is
 * not a status file (exit 4, as LSB says for "unknown"). When reading failed,
 * `cause` is why: an {@link UnsafeFileError}, a {@link FileTooBigError} or the
 * open's own error, each with its code.
 */
export class StatusUnreadableError extends Error {
  override name = 'StatusUnreadableError';
  readonly code = 'STATUS_UNREADABLE';
}

/** What a status file says, and whether its writer is the process running now. */
export interface StatusReading {
  readonly status: StatusFile;
  /** `running`: the writer runs; `stopped`: it published its end; `gone`: it ended without doing so (killed), or another process has its PID now. */
  readonly liveness: 'running' | 'stopped' | 'gone';
}

/** How a reader tells whether the writer still runs; tests pass their own. */
export interface LivenessProbes {
  readonly bootId: () => string | null;
  readonly startTicks: (pid: number) => string | null;
  /** kill(pid, 0), for a system without /proc. */
  readonly alive: (pid: number) => boolean;
}

const systemProbes: LivenessProbes = {
  bootId: readBootId,
  startTicks: processStartTicks,
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      // A process of another user (the service's) answers EPERM: it is there all the same.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

/**
 * Reads a status file as the outside input it is: at most 256 KiB, no link
 * followed, no wait on a FIFO, JSON with every field of the expected type.
 *
 * @returns undefined when there is no file.
 * @throws {StatusUnreadableError} saying why in one line.
 */
export function readStatusFile(path: string, probes: LivenessProbes = systemProbes): StatusReading | undefined {
  let text: string;
  try {
    text = readSmallFile(path, MAX_STATUS_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    const cause = { cause: error };
    if (error instanceof UnsafeFileError) throw new StatusUnreadableError(`${path} is ${error.found}, not a status file asyncdemo wrote`, cause);
    if (error instanceof FileTooBigError) throw new StatusUnreadableError(`${path} is more than ${MAX_STATUS_BYTES} bytes: not a status file asyncdemo wrote`, cause);
    if (code === 'EACCES') throw new StatusUnreadableError(`cannot read ${path}: permission denied (asyncdemo writes it 0644; check the modes of the file and its directory)`, cause);
    throw new StatusUnreadableError(`cannot read ${path}: ${code ?? String(error)}`, cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StatusUnreadableError(`${path} is not a status file asyncdemo wrote (not JSON)`);
  }
  const wrong = checkStatusFile(value);
  if (wrong !== undefined) throw new StatusUnreadableError(`${path} is not a status file this asyncdemo can read (${wrong})`);
  const status = value as StatusFile;
  return { status, liveness: status.state === 'stopped' ? 'stopped' : sameProcess(status, probes) ? 'running' : 'gone' };
}

/** Whether the process that wrote the file is the one with its PID now: the same boot, the same start time. */
function sameProcess(status: StatusFile, probes: LivenessProbes): boolean {
  const bootId = probes.bootId();
  if (status.bootId !== null && bootId !== null && status.bootId !== bootId) return false;
  if (status.startTicks !== null) {
    const ticks = probes.startTicks(status.pid);
    if (ticks !== null) return ticks === status.startTicks;
  }
  return probes.alive(status.pid);
}

type Check = (value: unknown) => boolean;
const isText: Check = (v) => typeof v === 'string';
const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isWhole: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const orNull = (check: Check): Check => (v) => v === null || check(v);
const oneOf = (...values: unknown[]): Check => (v) => values.includes(v);
const listOf = (check: Check): Check => (v) => Array.isArray(v) && v.every(check);
function shape(fields: Readonly<Record<string, Check>>): Check {
  return (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.entries(fields).every(([key, check]) => check((v as Record<string, unknown>)[key]));
}

const RELOAD = shape({ at: isNumber, began: isNumber, result: oneOf('applied', 'refused', 'failed'), reason: isText });
const TASK = shape({ name: isText, step: isWhole, doing: isText, since: orNull(isNumber), wakeAt: orNull(isNumber), steps: listOf(isText) });
const FIELDS: Readonly<Record<string, Check>> = {
  pid: (v) => Number.isSafeInteger(v) && (v as number) > 0,
  version: isText,
  commit: isText,
  bootId: orNull(isText),
  startTicks: orNull(isText),
  state: oneOf('running', 'reloading', 'stopping', 'stopped'),
  startedAt: isNumber,
  startedMonotonicMs: isNumber,
  publishedAt: isNumber,
  publishedMonotonicMs: isNumber,
  configFile: isText,
  configSha256: isText,
  configLoadedAt: isNumber,
  lastReload: orNull(RELOAD),
  tasks: listOf(TASK),
  moreTasks: isWhole,
  stepsDone: isWhole,
  logDir: orNull(isText),
  led: shape({ backend: isText, pin: orNull(isWhole) }),
  settings: listOf(shape({ key: isText, source: isText })),
  stopped: orNull(shape({ at: isNumber, exitCode: isWhole })),
};

/** What is wrong with a value read as a status file, or undefined when every field is as asyncdemo writes it. */
function checkStatusFile(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const record = value as Record<string, unknown>;
  if (record['format'] !== STATUS_FORMAT) return `format ${oneLine(JSON.stringify(record['format']) ?? 'missing', 20)}, expected ${STATUS_FORMAT}`;
  for (const [key, check] of Object.entries(FIELDS)) if (!check(record[key])) return `its ${key} is missing or of the wrong kind`;
  return undefined;
}
