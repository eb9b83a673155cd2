import { ExitCode } from '../exit-codes.js';
import { childProcess } from '../lazy-builtins.js';
import { isJournalStream } from '../log/journal.js';
import { readServiceView } from '../service-view.js';
import { readStatusFile, STATUS_FILE_NAME, StatusUnreadableError, type ReloadOutcome, type StatusReading } from '../status.js';
import { escapeControl, oneLine } from '../text.js';
import type { Time } from '../time.js';
import { stringValue, type Command, type Context, type Env } from './command.js';
import { complain, output } from './output.js';
import { findDaemon } from './status.js';
import { ownStatusDir } from './where.js';
import { join } from 'node:path';

/** How long a reload may take before `asyncdemo reload` gives up waiting (the daemon goes on with it). */
const DEFAULT_TIMEOUT_S = 20;
/** How often the status file is looked at while waiting. */
const POLL_MS = 50;

export const reload: Command = {
  name: 'reload',
  summary: "reload the daemon's config and say what the reload did, or why it was refused",
  options: [
    { name: 'pid', type: 'string', value: 'PID', description: "signal this process and wait for its answer (the unit's ExecReload= passes $MAINPID)", complete: 'none' },
    { name: 'timeout', type: 'string', value: 'SECONDS', description: `how long to wait for the answer (default ${DEFAULT_TIMEOUT_S})`, complete: 'none' },
  ],
  description: [
    "Asks the running daemon to read its config again (SIGHUP) and waits for the daemon's own answer: what it kept, restarted, cancelled and started, or why it refused the file, in which case the old config keeps running.",
    'For the installed service it runs `systemctl reload asyncdemo` (so it needs root), whose ExecReload= is `asyncdemo reload --pid $MAINPID`: a refused config fails `systemctl reload`, its reason in the journal at err priority and in `asyncdemo status`. A daemon started with `asyncdemo run` is signalled directly.',
  ],
  exitCodes: [
    [3, 'no daemon is running'],
    [75, 'no answer within the timeout (EX_TEMPFAIL)'],
    [77, 'reloading the service needs root (EX_NOPERM)'],
    [78, 'the daemon refused the config; the old one keeps running (EX_CONFIG)'],
  ],
  async run(invocation, context) {
    const { env } = context;
    const timeoutText = stringValue(invocation, 'timeout');
    const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_S * 1000 : Number(timeoutText) * 1000;
    if (!(timeoutMs > 0 && timeoutMs <= 3_600_000)) {
      complain(`--timeout takes a number of seconds from 0 to 3600; got ${JSON.stringify(timeoutText)}`, env);
      return ExitCode.usage;
    }
    const pidText = stringValue(invocation, 'pid');
    if (pidText !== undefined) {
      const pid = Number(pidText);
      if (!Number.isSafeInteger(pid) || pid <= 1) {
        complain(`--pid takes a process number; got ${JSON.stringify(pidText)}`, env);
        return ExitCode.usage;
      }
      const place = ownStatusDir(env);
      if (place === undefined) {
        complain('no status directory to read the answer from: systemd gives one (RuntimeDirectory=), or set ASYNCDEMO_STATUS_DIR', env);
        return ExitCode.usage;
      }
      return report(await signalAndWait(pid, join(place.dir, STATUS_FILE_NAME), context.time, timeoutMs), env);
    }
    return report(await reloadRunning(context, timeoutMs), env);
  },
};

/** What became of a reload that was asked for. */
type ReloadAnswer =
  | { readonly kind: 'answered'; readonly outcome: ReloadOutcome }
  | { readonly kind: 'not running'; readonly why: string }
  | { readonly kind: 'no answer'; readonly why: string }
  | { readonly kind: 'not allowed'; readonly why: string };

/**
 * Reloads whichever daemon runs: the service through systemctl (so that
 * systemd knows of the reload, and runs ExecReload=), a foreground daemon by
 * its signal. `file`: the config the reload is for; a daemon running another
 * is not reloaded.
 */
export async function reloadRunning({ env, time }: Pick<Context, 'env' | 'time'>, timeoutMs: number, file?: string): Promise<ReloadAnswer> {
  let found;
  try {
    found = findDaemon(env);
  } catch (error) {
    if (!(error instanceof StatusUnreadableError)) throw error;
    return { kind: 'not running', why: error.message };
  }
  if (found === undefined || found.reading.liveness !== 'running') return { kind: 'not running', why: 'asyncdemo is not running: there is nothing to reload' };
  const { place, reading } = found;
  if (file !== undefined && reading.status.configFile !== file) {
    return { kind: 'not running', why: `the running daemon (pid ${reading.status.pid}) runs ${reading.status.configFile}, not ${file}: nothing reloaded` };
  }
  if (place.whose !== 'service' || readServiceView() === undefined) return signalAndWait(reading.status.pid, place.file, time, timeoutMs);
  if (process.getuid?.() !== 0) return { kind: 'not allowed', why: 'reloading the service needs root: sudo asyncdemo reload' };
  const asked = time.monotonicMs();
  const systemctl = childProcess().spawnSync('systemctl', ['reload', 'asyncdemo.service'], { encoding: 'utf8', timeout: timeoutMs + 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  // systemctl returns once ExecReload= (asyncdemo reload --pid) has its answer; the status file has it too.
  const answer = outcomeSince(place.file, asked);
  if (answer !== undefined) return { kind: 'answered', outcome: answer };
  const said = `${systemctl.stderr ?? ''}`.trim();
  return { kind: 'no answer', why: `systemctl reload asyncdemo ${systemctl.status === 0 ? 'returned' : 'failed'} without an answer from the daemon${said === '' ? '' : `: ${oneLine(said)}`}; see: journalctl -u asyncdemo -p warning` };
}

/**
 * Sends SIGHUP to `pid` and waits, bounded, for the answer of a reload that
 * began after the signal, in the status file the daemon publishes after each
 * reload. (A reload asked for while another runs follows it: that one began
 * after the signal too.)
 */
async function signalAndWait(pid: number, file: string, time: Time, timeoutMs: number): Promise<ReloadAnswer> {
  const asked = time.monotonicMs();
  try {
    process.kill(pid, 'SIGHUP');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { kind: 'not running', why: `process ${pid} is not running: there is nothing to reload` };
    if (code === 'EPERM') return { kind: 'not allowed', why: `no permission to signal process ${pid}: run as its user, or with sudo` };
    throw error;
  }
  const deadline = asked + timeoutMs;
  for (;;) {
    // One read a round: each runs the /proc checks of the writer's identity.
    let reading: StatusReading | undefined;
    try {
      reading = readStatusFile(file);
    } catch (error) {
      if (!(error instanceof StatusUnreadableError)) throw error;
      return { kind: 'no answer', why: error.message };
    }
    const answer = answerSince(reading, asked);
    if (answer !== undefined) return { kind: 'answered', outcome: answer };
    if (reading !== undefined && reading.liveness !== 'running') return { kind: 'not running', why: `process ${pid} stopped before it answered` };
    if (reading !== undefined && reading.status.state === 'stopping') return { kind: 'no answer', why: `process ${pid} is stopping: the reload was not done` };
    if (time.monotonicMs() >= deadline) return { kind: 'no answer', why: `no answer from process ${pid} within ${timeoutMs / 1000} s (it may still be reloading: asyncdemo status shows the outcome)` };
    await new Promise<void>((resolve) => time.setTimeout(resolve, POLL_MS));
  }
}

/** The outcome of a reload that began at or after `asked` (monotonic ms), if the file has one. */
function outcomeSince(file: string, asked: number): ReloadOutcome | undefined {
  return answerSince(readStatusFile(file), asked);
}

function answerSince(reading: StatusReading | undefined, asked: number): ReloadOutcome | undefined {
  const last = reading?.status.lastReload;
  return last !== null && last !== undefined && last.began >= asked ? last : undefined;
}

/**
 * Says what the reload did and gives the exit code. Under systemd
 * (ExecReload=, stdout the journal) a reload that was answered is not said
 * again: the daemon's own line is in the journal already.
 */
export function report(answer: ReloadAnswer, env: Env): number {
  const journal = isJournalStream(1, env['JOURNAL_STREAM']);
  switch (answer.kind) {
    case 'answered': {
      const { outcome } = answer;
      const reason = escapeControl(oneLine(outcome.reason));
      if (outcome.result === 'applied') return journal ? ExitCode.ok : output(`reloaded: ${reason}\n`);
      if (!journal) complain(`reload ${outcome.result}, the running config stays: ${reason}`, env);
      return outcome.result === 'refused' ? ExitCode.config : ExitCode.failure;
    }
    case 'not running':
      complain(answer.why, env);
      return ExitCode.notRunning;
    case 'not allowed':
      complain(answer.why, env);
      return ExitCode.noPermission;
    case 'no answer':
      complain(answer.why, env);
      return ExitCode.tempFail;
  }
}
