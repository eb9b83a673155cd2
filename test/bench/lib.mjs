// Plumbing for the benchmark harness (run.mjs): child processes that are always
// killed, temporary directories that are always removed, an sd_notify listener,
// readings from /proc, log-file parsing, and statistics.
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
/** The asyncdemo measured: this checkout's build, or another's (BENCH_MAIN, to compare two builds on one machine). */
export const MAIN = process.env.BENCH_MAIN ?? join(ROOT, 'dist', 'main.js');
export const PEER = join(HERE, 'peer.py');
export const BARE_PEER = join(HERE, 'bare-peer.mjs');
const LISTENER = join(HERE, 'notify-listener.py');

// ---------------------------------------------------------------- cleanup

const children = new Set();
const dirs = new Set();

/** Kills every child still running and removes every temporary directory; safe to call twice. */
export function cleanup() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

// 'exit' covers a normal end and process.exit(); the signals would otherwise end
// the harness without running it, leaving daemons with 10,000 tasks behind.
process.once('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    cleanup();
    process.exit(130);
  });
}

export function tempDir(prefix = 'asyncdemo-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

// ---------------------------------------------------------------- processes

/** CLOCK_MONOTONIC in ns: the clock the notify listener stamps datagrams with. */
export const monoNs = () => process.hrtime.bigint();
export const msSince = (startNs, endNs = monoNs()) => Number(endNs - startNs) / 1e6;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A minimal, fixed environment, as systemd gives a service: nothing from the
 * caller's shell can change what is measured. An ASYNCDEMO_* variable would
 * change the config; NODE_OPTIONS or NODE_EXTRA_CA_CERTS (which alone adds
 * some 40 ms to every Node start, measured) would skew the start figures.
 */
export function baseEnv(extra = {}) {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', ...extra };
}

/**
 * Spawns a process that the harness will always kill. `startNs` is taken just
 * before the spawn, so exec-to-something times include fork and exec, as
 * systemd's would. Output is drained and the first 64 KiB kept for reports.
 */
export function start(command, args, { env = baseEnv(), cwd = ROOT } = {}) {
  const startNs = monoNs();
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output = { stdout: '', stderr: '' };
  const outputWaiters = new Set();
  for (const name of ['stdout', 'stderr']) {
    child[name].setEncoding('utf8').on('data', (chunk) => {
      if (output[name].length < 65536) output[name] += chunk;
      for (const waiter of outputWaiters) waiter();
    });
  }
  const exited = new Promise((resolvePromise) => {
    child.once('exit', (code, signal) => {
      const atNs = monoNs();
      children.delete(child);
      resolvePromise({ code, signal, atNs });
    });
    child.once('error', (error) => {
      children.delete(child);
      resolvePromise({ code: null, signal: null, atNs: monoNs(), error });
    });
  });
  const proc = {
    child,
    pid: child.pid,
    startNs,
    exited,
    output,
    /** What it said, for an error message. */
    describe: () => `${command} ${args.join(' ')}\n${output.stderr.slice(-2000)}${output.stdout.slice(-2000)}`,
    /** Resolves with the monotonic time once stdout has a line `text`; fails if it exits or times out first. */
    waitForLine(text, timeoutMs = 120_000) {
      let waiter;
      const seen = new Promise((resolvePromise) => {
        waiter = () => output.stdout.split('\n').includes(text) && resolvePromise(monoNs());
        outputWaiters.add(waiter);
        waiter();
      });
      const died = exited.then((exit) => {
        throw new Error(`exited (${exit.code ?? exit.signal}) before printing ${text}: ${proc.describe()}`);
      });
      return withTimeout(Promise.race([seen, died]), timeoutMs, () => `no ${text} within ${timeoutMs} ms: ${proc.describe()}`).finally(() => outputWaiters.delete(waiter));
    },
    /** SIGTERM, then the time until it has exited; SIGKILL and a failure after `timeoutMs`. */
    async stop(timeoutMs = 15_000) {
      const sentNs = monoNs();
      child.kill('SIGTERM');
      const exit = await withTimeout(exited, timeoutMs, () => `${command} did not exit within ${timeoutMs} ms of SIGTERM`).catch((error) => {
        child.kill('SIGKILL');
        throw error;
      });
      return { ...exit, ms: msSince(sentNs, exit.atNs) };
    },
  };
  return proc;
}

/**
 * The Python that runs both Python peers: the first of $BENCH_PYTHON, python3
 * and /usr/bin/python3 that has uvloop (Debian's python3-uvloop), so the
 * tutorial's peer and the expert's run on the same interpreter; without one,
 * python3 runs the tutorial's peer and `expertProblem` says why the expert's
 * cannot run.
 */
export const PYTHON = findPython();
function findPython() {
  const candidates = [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import uvloop'], { stdio: 'ignore' });
      return { command: python, expertProblem: undefined };
    } catch {
      // Next.
    }
  }
  return { command: 'python3', expertProblem: 'no python3 with uvloop here (sudo apt install python3-uvloop)' };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(what())), ms);
    }),
  ]);
}

// ---------------------------------------------------------------- sd_notify

/**
 * One NOTIFY_SOCKET for the whole run. Datagrams carry the sender's pid, so
 * processes running side by side (the idle-CPU workload) are told apart.
 */
export async function listenForNotify() {
  const socket = join(tempDir('asyncdemo-bench-notify-'), 'notify.sock');
  const child = spawn('python3', [LISTENER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const messages = [];
  const waiters = new Set();
  let buffer = '';
  let onReady;
  const ready = new Promise((r) => (onReady = r));
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const record = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      if (record.ready) {
        onReady();
        continue;
      }
      const message = { pid: record.pid, text: record.text, atNs: BigInt(record.mono_ns) };
      messages.push(message);
      for (const waiter of waiters) waiter(message);
    }
  });
  await withTimeout(ready, 10_000, () => 'the notify listener did not start');
  return {
    socket,
    /** The first `field` (e.g. READY=1) datagram from `proc`, or a failure if it exits or times out first. */
    waitFor(proc, field, timeoutMs = 120_000) {
      const matches = (m) => m.pid === proc.pid && m.text.split('\n').includes(field);
      const seen = messages.find(matches);
      if (seen !== undefined) return Promise.resolve(seen);
      let waiter;
      const arrived = new Promise((r) => {
        waiter = (m) => matches(m) && r(m);
        waiters.add(waiter);
      });
      const died = proc.exited.then((exit) => {
        throw new Error(`exited (${exit.code ?? exit.signal}) before ${field}: ${proc.describe()}`);
      });
      return withTimeout(Promise.race([arrived, died]), timeoutMs, () => `no ${field} within ${timeoutMs} ms: ${proc.describe()}`).finally(() =>
        waiters.delete(waiter),
      );
    },
    /** Drops what was received so far: one listener serves hundreds of processes. */
    forget: () => (messages.length = 0),
    close: () => child.kill(),
  };
}

// ---------------------------------------------------------------- /proc

/** Resident set size in bytes. */
export function rssBytes(pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

let clockTicks;
/** User plus system CPU time in seconds, of the process itself (not its waited-for children). */
export function cpuSeconds(pid) {
  clockTicks ??= ticksPerSecond();
  // The command name in field 2 may hold spaces; the fields after its closing ')' are fixed.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state (field 3).
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

function ticksPerSecond() {
  // sysconf(_SC_CLK_TCK) without a native module; 100 on every mainstream Linux.
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

// ---------------------------------------------------------------- logs

/**
 * Every JSON line of the daemon's log files, oldest file first. `current.log`
 * is a symlink to one of them and is skipped, or its lines would count twice.
 */
export function readDaemonLogs(dir) {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.log') && lstatSync(join(dir, name)).isFile())
    // asyncdemo.<date>.<n>.log: by date, then by number.
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const lines = [];
  for (const name of files) {
    for (const text of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (text !== '') lines.push(JSON.parse(text));
    }
  }
  return lines;
}

/** Every JSON line of one file (the bare peer's pino log). */
export function readJsonLines(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((text) => text !== '')
    .map((text) => JSON.parse(text));
}

/**
 * The peer's lines (the tutorial's format with `%(created)f` after asctime):
 * `2026-11-25 09:04:44,222 1795597484.222538 peer.py:64 t17 tick` →
 * { time: ms, msg: 't17 tick' }.
 */
export function readPeerLog(file) {
  const lines = [];
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\S+ \S+ (\d+\.\d+) \S+ (.*)$/.exec(text);
    if (match !== null) lines.push({ time: Number(match[1]) * 1000, msg: match[2] });
  }
  return lines;
}

// ---------------------------------------------------------------- statistics

export function median(values) {
  const xs = values.filter((x) => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
