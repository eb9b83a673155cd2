import { statSync } from 'node:fs';
import { sha256 } from '../config/load.js';
import { readConfigFile } from '../config/read.js';
import { ConfigError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { parseProperties, readServiceView, systemctlShow } from '../service-view.js';
import { readStatusFile, StatusUnreadableError, type StatusFile, type StatusReading, type TaskStatus } from '../status.js';
import { escapeControl, iso, oneLine } from '../text.js';
import { flag, JSON_OPTION, type Command, type Env } from './command.js';
import { complain, output } from './output.js';
import { statusPlaces, type StatusPlace } from './where.js';

export const status: Command = {
  name: 'status',
  summary: 'what the daemon is doing now: tasks and their steps, the config in force, the last reload (no root needed)',
  options: [
    JSON_OPTION,
    { name: 'tasks', type: 'boolean', description: "each running task's steps with their timings, and where it is in them" },
  ],
  description: [
    'Shows the running daemon as it sees itself: state, PID, uptime, the config in force and when it was loaded, whether the file on disk has been edited since (and how to apply it), the last reload and its reason, the tasks and the step each is at, steps done, the log directory, the LED, and every setting with its source.',
    "It reads the status file the daemon publishes: the service's in /run/asyncdemo, else that of a daemon this user runs in the foreground ($XDG_RUNTIME_DIR/asyncdemo), or $ASYNCDEMO_STATUS_DIR's. A stopped daemon's last run is shown with its end and exit code.",
    '--json always prints JSON: the status file as the daemon wrote it, with "running" and "configOnDisk" added, also when nothing runs.',
  ],
  exitCodes: [
    [3, 'the daemon is not running (as LSB status commands say)'],
    [4, 'the status file cannot be read, or is not one asyncdemo wrote'],
  ],
  async run(invocation, { env, time }) {
    const json = flag(invocation, 'json');
    let found: { place: StatusPlace; reading: StatusReading } | undefined;
    try {
      found = findDaemon(env);
    } catch (error) {
      if (!(error instanceof StatusUnreadableError)) throw error;
      if (json) output(`${JSON.stringify({ state: 'unknown', running: false, reason: error.message }, null, 2)}\n`);
      else complain(error.message, env);
      return ExitCode.statusUnknown;
    }
    if (found === undefined) {
      const reason = notRunning(env);
      if (json) return exitAfter(output(`${JSON.stringify({ state: 'not running', running: false, reason }, null, 2)}\n`), ExitCode.notRunning);
      return exitAfter(output(`${reason}\n`), ExitCode.notRunning);
    }
    const { place, reading } = found;
    const onDisk = configOnDisk(reading.status);
    if (json) {
      const state = reading.liveness === 'gone' ? 'gone' : reading.status.state;
      const code = output(`${JSON.stringify({ ...reading.status, state, running: reading.liveness === 'running', configOnDisk: onDisk }, null, 2)}\n`);
      return exitAfter(code, reading.liveness === 'running' ? ExitCode.ok : ExitCode.notRunning);
    }
    const text = reading.liveness === 'running' ? describeRunning(reading.status, place, onDisk, time.monotonicMs(), flag(invocation, 'tasks')) : describeEnded(reading, place);
    // Text from the file (names, reasons, paths) is data: it must not act on a terminal.
    const code = output(escapeLines(text));
    return exitAfter(code, reading.liveness === 'running' ? ExitCode.ok : ExitCode.notRunning);
  },
};

/** Output that could not be written is the failure to report; otherwise the command's own code. */
function exitAfter(outputCode: number, code: number): number {
  return outputCode === ExitCode.ok ? code : outputCode;
}

/** The daemon to show: the first place whose writer runs, else the first with a status at all (its last run). */
export function findDaemon(env: Env): { place: StatusPlace; reading: StatusReading } | undefined {
  let ended: { place: StatusPlace; reading: StatusReading } | undefined;
  for (const place of statusPlaces(env)) {
    const reading = readStatusFile(place.file);
    if (reading === undefined) continue;
    if (reading.liveness === 'running') return { place, reading };
    ended ??= { place, reading };
  }
  return ended;
}

function notRunning(env: Env): string {
  const places = statusPlaces(env);
  const where = places.map((p) => p.file.replace(/\/status\.json$/, '')).join(' or ');
  const installed = readServiceView() !== undefined;
  // A daemon in the foreground publishes where this shell would look only with a runtime directory (a login session's) or ASYNCDEMO_STATUS_DIR.
  const foreground = places.some((p) => p.whose !== 'service') ? '' : '; a daemon run in the foreground is found with ASYNCDEMO_STATUS_DIR set for both (or in a login session, through $XDG_RUNTIME_DIR)';
  return `asyncdemo is not running (no status in ${where}); start it with: ${installed ? 'sudo systemctl start asyncdemo' : 'asyncdemo run'}${foreground}`;
}

/** The config file on disk against the one in force. */
interface ConfigOnDisk {
  readonly sha256: string | null;
  readonly modifiedAt: number | null;
  /** Whether the file on disk is the config in force; null when it cannot be read. */
  readonly applied: boolean | null;
  readonly problem?: string;
}

function configOnDisk(status: StatusFile): ConfigOnDisk {
  let text: string;
  let modifiedAt: number;
  try {
    text = readConfigFile(status.configFile);
    modifiedAt = statSync(status.configFile).mtimeMs;
  } catch (error) {
    const problem = error instanceof ConfigError ? (error.issues[0]?.reason ?? error.message) : ((error as NodeJS.ErrnoException).code ?? String(error));
    return { sha256: null, modifiedAt: null, applied: null, problem };
  }
  // As the loader hashed it: the text as read (a UTF-8 byte order mark left out).
  const hash = sha256(text);
  return { sha256: hash, modifiedAt, applied: hash === status.configSha256 };
}

function describeRunning(status: StatusFile, place: StatusPlace, onDisk: ConfigOnDisk, nowMonotonicMs: number, withSteps: boolean): string {
  const lines: string[] = [];
  const field = (name: string, value: string): void => {
    lines.push(`${`${name}:`.padEnd(13)}${value}`);
  };
  const whose = place.whose === 'foreground' ? ' in the foreground (asyncdemo run)' : '';
  field('asyncdemo', `${status.state} (pid ${status.pid})${whose}, up ${duration(nowMonotonicMs - status.startedMonotonicMs)}, since ${iso(status.startedAt)}`);
  field('version', `${status.version} (commit ${status.commit})`);
  field('config', `${status.configFile}, loaded ${iso(status.configLoadedAt)} (sha256 ${status.configSha256.slice(0, 12)}…)`);
  if (onDisk.applied === false) {
    const apply = place.whose === 'service' ? 'sudo systemctl reload asyncdemo (or: sudo asyncdemo edit)' : 'asyncdemo reload';
    lines.push(`${''.padEnd(13)}edited at ${onDisk.modifiedAt === null ? 'an unknown time' : iso(onDisk.modifiedAt)}, not applied: ${apply}`);
  } else if (onDisk.applied === null) {
    lines.push(`${''.padEnd(13)}cannot tell whether the file was edited since: ${onDisk.problem ?? 'it cannot be read'}`);
  }
  const reload = status.lastReload;
  field('last reload', reload === null ? 'none since the start' : `${reload.result} at ${iso(reload.at)}: ${oneLine(reload.reason)}`);
  const total = status.tasks.length + status.moreTasks;
  field('tasks', total === 0 ? 'none running' : `${total} running`);
  for (const task of status.tasks) lines.push(...describeTask(task, nowMonotonicMs, withSteps));
  if (status.moreTasks > 0) lines.push(`  and ${status.moreTasks} more`);
  field('steps done', String(status.stepsDone));
  field('log files', status.logDir ?? 'off (console only)');
  field('LED', status.led.pin === null ? status.led.backend : `${status.led.backend}, BCM ${status.led.pin}`);
  lines.push(`settings (as the ${place.whose === 'service' ? 'service' : 'daemon'} sees them, with where each came from):`);
  const width = Math.max(0, ...status.settings.map((s) => `${s.key} = ${JSON.stringify(s.value)}`.length));
  for (const s of status.settings) lines.push(`  ${`${s.key} = ${JSON.stringify(s.value)}`.padEnd(width)}  # ${s.source}`);
  lines.push(`(as of ${iso(status.publishedAt)}, ${duration(nowMonotonicMs - status.publishedMonotonicMs, true)} ago)`);
  return `${lines.join('\n')}\n`;
}

/** `operation[5] sleep 3s (1.2 s left)`, and with `withSteps` every step, the current one marked. */
function describeTask(task: TaskStatus, nowMonotonicMs: number, withSteps: boolean): string[] {
  const when = timing(task, nowMonotonicMs);
  if (!withSteps) return [`  ${task.name}[${task.step}] ${task.doing}${when}`];
  return [`  ${task.name}:`, ...task.steps.map((step, index) => `  ${index === task.step ? '▶' : ' '} ${String(index).padStart(3)}  ${step}${index === task.step ? when : ''}`)];
}

function timing(task: TaskStatus, nowMonotonicMs: number): string {
  if (task.since === null) return ' (about to start)';
  const since = `since ${duration(nowMonotonicMs - task.since, true)}`;
  if (task.wakeAt === null) return ` (${since})`;
  const left = task.wakeAt - nowMonotonicMs;
  return left > 0 ? ` (${since}, ${duration(left, true)} left)` : ` (${since}, due)`;
}

function describeEnded({ status, liveness }: StatusReading, place: StatusPlace): string {
  const what = place.whose === 'service' ? 'the service' : 'the daemon';
  if (liveness === 'stopped' && status.stopped !== null) {
    return `asyncdemo is not running: ${what}'s last run (pid ${status.pid}, started ${iso(status.startedAt)}) stopped at ${iso(status.stopped.at)} with exit ${status.stopped.exitCode}${status.stopped.exitCode === 0 ? '' : ' (a failure)'}\n`;
  }
  const systemd = place.whose === 'service' ? systemdSays() : undefined;
  return `asyncdemo is not running: process ${status.pid}, which wrote ${place.file} at ${iso(status.publishedAt)}, ended without a clean stop (killed, or the power was cut)${systemd === undefined ? '' : `; systemd says: ${systemd}`}\n`;
}

/** `failed (signal)`, from `systemctl show`; undefined when systemctl does not answer. */
function systemdSays(): string | undefined {
  const shown = systemctlShow(['ActiveState', 'Result']);
  if (shown === undefined) return undefined;
  const properties = parseProperties(shown);
  const state = properties.get('ActiveState');
  const result = properties.get('Result');
  return state === undefined ? undefined : `${state}${result === undefined || result === 'success' ? '' : ` (${result})`}`;
}

/** `2d 3h 4m 5s`; `short`: `1.2 s` below a minute. */
function duration(ms: number, short = false): string {
  if (short && Math.abs(ms) < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
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

/** Every line of `text` with its control characters escaped (the line breaks between lines stay). */
function escapeLines(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeControl(line))
    .join('\n');
}
