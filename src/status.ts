import type { RunningTask } from './scheduler.js';

/** How the last reload (SIGHUP) ended. */
export interface ReloadOutcome {
  /** Wall-clock milliseconds since the epoch. */
  readonly at: number;
  /** `applied`: the new config runs; `refused`: it was invalid, the old one runs on; `failed`: an unexpected error. */
  readonly result: 'applied' | 'refused' | 'failed';
  /** What it changed, or why it was refused. */
  readonly reason: string;
}

/**
 * What the daemon is doing, as one value: built by {@link Daemon.status} for
 * the SIGUSR1 report, and meant to be published as it is (a status file for
 * `asyncdemo status`).
 */
export interface StatusSnapshot {
  readonly state: 'running' | 'reloading' | 'stopping';
  /** The config file in force. */
  readonly configFile: string;
  /** When that config was loaded: wall-clock milliseconds since the epoch (the start, or the last applied reload). */
  readonly configLoadedAt: number;
  /** The tasks running now, each with the step it is at. */
  readonly tasks: readonly RunningTask[];
  /** Steps completed since the start, over all tasks. */
  readonly stepsDone: number;
  /** Undefined until the first reload. */
  readonly lastReload: ReloadOutcome | undefined;
}

/** How many tasks the one-line report names; the snapshot itself has them all. */
const LISTED_TASKS = 20;
/** A refused reload's reason can list many problems; the line keeps the start. */
const REASON_CHARS = 400;

/**
 * The snapshot as one log line:
 * `status: running; 2 tasks: operation[4] sleep 3s, operationsub[2] sleep 1s; 42 steps done;
 * config /etc/asyncdemo/config.yaml loaded 2026-11-26T09:00:00.000Z; last reload: refused at …: …`.
 */
export function formatStatus(status: StatusSnapshot): string {
  const count = status.tasks.length;
  const listed = status.tasks.slice(0, LISTED_TASKS).map((t) => `${t.name}[${t.step}] ${t.doing}`);
  if (count > LISTED_TASKS) listed.push(`and ${count - LISTED_TASKS} more`);
  const tasks = count === 0 ? 'no task running' : `${count} task${count === 1 ? '' : 's'}: ${listed.join(', ')}`;
  const reload = status.lastReload;
  const last = reload === undefined ? 'no reload yet' : `last reload: ${reload.result} at ${iso(reload.at)}: ${oneLine(reload.reason)}`;
  return `status: ${status.state}; ${tasks}; ${status.stepsDone} steps done; config ${status.configFile} loaded ${iso(status.configLoadedAt)}; ${last}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function oneLine(text: string): string {
  const line = text.replaceAll(/\s*\n\s*/g, '; ');
  return line.length <= REASON_CHARS ? line : `${line.slice(0, REASON_CHARS)}…`;
}
