// The workloads of the benchmarks, each run through the real asyncdemo
// (dist/main.js with a config, its scheduler, its rotating log files), the
// Python peer as the tutorial writes it (peer.py), the Python peer as an expert
// would (peer.py --expert: uvloop, absolute deadlines) and a bare Node peer
// (bare-peer.mjs: setTimeout to absolute deadlines, pino to a file). Every
// function returns the figures of one run; run.mjs repeats them and takes
// medians.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BARE_PEER,
  HERE,
  MAIN,
  PEER,
  PYTHON,
  ROOT,
  baseEnv,
  cpuSeconds,
  msSince,
  percentile,
  readDaemonLogs,
  readJsonLines,
  readPeerLog,
  removeDir,
  rssBytes,
  sleep,
  start,
  tempDir,
} from './lib.mjs';

const execFileAsync = promisify(execFile);

/** The shipped default config, which the start and idle-memory figures are about. */
export const DEFAULT_CONFIG = join(ROOT, 'config', 'default.yaml');

/**
 * The settings every generated config shares: JSON on the console at warn and
 * above only (the peer writes nothing to its console either; warnings still
 * show up in a failure report), everything else at its default, so the files
 * are asyncdemo's rotating files as shipped (10m, daily, keep 5).
 */
const QUIET_CONSOLE = { console: { format: 'json', level: 'warn' } };

// ---------------------------------------------------------------- running one of each

/**
 * A config object as YAML, JSON-like, except that tasks with the same
 * definition share it through an anchor (`t2: *a`): 10,000 tasks then fit in
 * asyncdemo's 128 KiB config limit (written out in full they take 500–860 KB).
 * Each task still gets its own definition in the daemon: the loader builds one
 * per task.
 */
function configText({ tasks, ...settings }) {
  const anchors = new Map();
  const entries = Object.entries(tasks).map(([name, def]) => {
    const json = JSON.stringify(def);
    const anchor = anchors.get(json);
    if (anchor !== undefined) return `${name}: *${anchor}`;
    anchors.set(json, `a${anchors.size}`);
    return `${name}: &a${anchors.size - 1} ${json}`;
  });
  const head = Object.entries(settings).map(([key, value]) => `${key}: ${JSON.stringify(value)}\n`);
  return `${head.join('')}tasks: {${entries.join(', ')}}\n`;
}

/**
 * Starts asyncdemo on `config` (a file, or an object written out by
 * configText), logging to a fresh directory, and waits for READY=1.
 */
export async function startDaemon(notify, config, extraEnv = {}) {
  const dir = tempDir('asyncdemo-bench-');
  let file = config;
  if (typeof config !== 'string') {
    file = join(dir, 'config.yaml');
    writeFileSync(file, configText(config));
  }
  const logs = join(dir, 'logs');
  const proc = start(process.execPath, [MAIN, 'run', '--config', file], {
    env: baseEnv({ NOTIFY_SOCKET: notify.socket, ASYNCDEMO_LOG_DIR: logs, ...extraEnv }),
  });
  try {
    const ready = await notify.waitFor(proc, 'READY=1');
    return instance(proc, dir, msSince(proc.startNs, ready.atNs), () => readDaemonLogs(logs));
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

/** The four kinds every comparison runs: asyncdemo, the tutorial's Python peer, the expert's, bare Node. */
export const KINDS = ['asyncdemo', 'python', 'expert', 'node'];

/** Starts `peer.py MODE ...args` (with `expert`: --expert) and waits for its READY=1. */
export async function startPeer(notify, mode, args = [], { expert = false } = {}) {
  if (expert && PYTHON.expertProblem !== undefined) throw new Error(PYTHON.expertProblem);
  const dir = tempDir('asyncdemo-bench-peer-');
  const log = join(dir, 'peer.log');
  const flags = expert ? ['--expert'] : [];
  const proc = start(PYTHON.command, [PEER, mode, '--log', log, ...flags, ...args.map(String)], { env: baseEnv({ NOTIFY_SOCKET: notify.socket }) });
  try {
    const ready = await notify.waitFor(proc, 'READY=1');
    // The peer's lines are `NAME what`; split them into asyncdemo's {task, msg}.
    const lines = () =>
      readPeerLog(log).map(({ time, msg }) => {
        const space = msg.indexOf(' ');
        return { time, task: msg.slice(0, space), msg: msg.slice(space + 1) };
      });
    return instance(proc, dir, msSince(proc.startNs, ready.atNs), lines);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

/** Starts `bare-peer.mjs MODE ...args` and waits for its READY line. */
export async function startBare(mode, args = []) {
  const dir = tempDir('asyncdemo-bench-bare-');
  const log = join(dir, 'bare.log');
  const proc = start(process.execPath, [BARE_PEER, mode, '--log', log, ...args.map(String)]);
  try {
    const readyNs = await proc.waitForLine('READY');
    return instance(proc, dir, msSince(proc.startNs, readyNs), () => readJsonLines(log));
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

/**
 * Starts one of the KINDS on the same workload: asyncdemo on `config`, the
 * Python peers in `mode` with `args`, the bare peer in `bareMode` (default
 * `mode`) with `bareArgs` (default `args`).
 */
export function startKind(kind, notify, { config, mode, args = [], bareMode = mode, bareArgs = args, env = {} }) {
  switch (kind) {
    case 'asyncdemo':
      return startDaemon(notify, config, env);
    case 'python':
      return startPeer(notify, mode, args);
    case 'expert':
      return startPeer(notify, mode, args, { expert: true });
    case 'node':
      return startBare(bareMode, bareArgs);
    default:
      throw new Error(`no kind ${kind}`);
  }
}

/** What every start returns: the process, exec-to-READY, its lines, and a stop that cleans up. */
function instance(proc, dir, readyMs, lines) {
  return {
    proc,
    pid: proc.pid,
    readyMs,
    /** Every line of its log, as {time (epoch ms), task, msg}. */
    lines,
    /** SIGTERM; resolves with {ms, code, signal} once it has exited. Keeps the log for reading. */
    stop: (timeoutMs) => proc.stop(timeoutMs),
    /** Stops it if it still runs, and removes its directory. */
    async dispose() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) await proc.stop().catch(() => {});
      removeDir(dir);
    },
  };
}

async function withInstance(startIt, use) {
  const it = await startIt();
  try {
    return await use(it);
  } finally {
    await it.dispose();
  }
}

// ---------------------------------------------------------------- step lateness

/**
 * N tasks each repeating a log line and `sleep P`, all started at once, for
 * `steps` periods after READY. The lateness of step k of a task is its line's
 * time minus (its first line's time + k·P), over every task and every step
 * but the first. asyncdemo's `time` is pino's Date.now(), whole milliseconds;
 * the peer's `%(created)f` has microseconds.
 */
export async function lateness(notify, peer, { n, periodS, steps }) {
  const names = Array.from({ length: n }, (_, i) => `t${i}`);
  const startIt = () =>
    startKind(peer, notify, {
      config: {
        log: QUIET_CONSOLE,
        tasks: Object.fromEntries(names.map((name) => [name, { autostart: true, repeat: 'forever', steps: [{ log: 'tick' }, { sleep: periodS }] }])),
      },
      mode: 'lateness',
      args: ['--tasks', n, '--period', periodS],
    });
  return withInstance(startIt, async (it) => {
    // Half a period past the last wanted step, so the stop never races a step.
    await sleep((steps + 0.5) * periodS * 1000);
    const exit = await it.stop();
    if (exit.code !== 0) throw new Error(`${peer} exited ${exit.code ?? exit.signal} at the end of the lateness run`);
    return { ...latenessOf(it.lines(), periodS * 1000), readyMs: it.readyMs };
  });
}

function latenessOf(lines, periodMs) {
  const byTask = new Map();
  for (const line of lines) {
    if (line.msg !== 'tick' || line.task === undefined) continue;
    let times = byTask.get(line.task);
    if (times === undefined) byTask.set(line.task, (times = []));
    times.push(line.time);
  }
  const late = [];
  for (const times of byTask.values()) {
    for (let k = 1; k < times.length; k++) late.push(times[k] - (times[0] + k * periodMs));
  }
  late.sort((a, b) => a - b);
  return { tasks: byTask.size, samples: late.length, p50: percentile(late, 50), p99: percentile(late, 99), max: late.at(-1) };
}

// ---------------------------------------------------------------- drift

/**
 * One task: `count` times a line and `sleep 10 ms`, then its end. Drift is the
 * end minus the first line minus count × 10 ms. asyncdemo's end is its
 * `finished` line (debug level, so the files log debug here); the peer logs
 * `drift finished` after its loop, the tutorial's way.
 */
export async function drift(notify, peer, { count, periodMs = 10 }) {
  const startIt = () =>
    startKind(peer, notify, {
      config: {
        log: { level: 'debug', ...QUIET_CONSOLE },
        tasks: { drift: { autostart: true, repeat: count, steps: [{ log: 'tick' }, { sleep: `${periodMs}ms` }] } },
      },
      mode: 'drift',
      args: ['--count', count, '--period', periodMs / 1000],
    });
  return withInstance(startIt, async (it) => {
    const expectedMs = count * periodMs;
    await sleep(expectedMs);
    // Then poll for the end: the peer's loop may take far longer than planned.
    const deadline = Date.now() + expectedMs * 2 + 5000;
    let lines;
    for (;;) {
      lines = it.lines().filter((l) => l.task === 'drift');
      if (lines.some((l) => l.msg === 'finished')) break;
      if (Date.now() > deadline) throw new Error(`${peer}: no "finished" line for the drift task`);
      await sleep(200);
    }
    const first = lines.find((l) => l.msg === 'tick');
    const end = lines.find((l) => l.msg === 'finished');
    const ticks = lines.filter((l) => l.msg === 'tick').length;
    if (ticks !== count) throw new Error(`${peer}: ${ticks} drift lines, expected ${count}`);
    return { driftMs: end.time - first.time - expectedMs };
  });
}

// ---------------------------------------------------------------- start to READY, idle memory

/** How long after READY (or a bare node's spawn) resident memory is read: startup garbage has settled by then. */
const SETTLE_MS = 2000;

/**
 * One round of the start and idle-memory figures: asyncdemo on the shipped
 * default config, the peer on the same tasks, `node -e 0` (exec to exit) and
 * a bare waiting node. Interleaved in each round, so load from other jobs on
 * the machine falls on all of them alike.
 */
export async function startAndIdle(notify) {
  const daemon = await withInstance(
    () => startDaemon(notify, DEFAULT_CONFIG),
    async (it) => {
      await sleep(SETTLE_MS);
      return { readyMs: it.readyMs, rss: rssBytes(it.pid) };
    },
  );
  const python = await withInstance(
    () => startPeer(notify, 'demo'),
    async (it) => {
      await sleep(SETTLE_MS);
      return { readyMs: it.readyMs, rss: rssBytes(it.pid) };
    },
  );
  const expert =
    PYTHON.expertProblem === undefined
      ? await withInstance(
          () => startPeer(notify, 'demo', [], { expert: true }),
          async (it) => {
            await sleep(SETTLE_MS);
            return { readyMs: it.readyMs, rss: rssBytes(it.pid) };
          },
        )
      : undefined;
  const once = start(process.execPath, ['-e', '0']);
  const exit = await once.exited;
  const nodeExitMs = msSince(once.startNs, exit.atNs);
  const waiting = start(process.execPath, ['-e', 'setInterval(() => {}, 1e9)']);
  await sleep(SETTLE_MS);
  const nodeRss = rssBytes(waiting.pid);
  await waiting.stop();
  return { daemon, python, expert, node: { exitMs: nodeExitMs, rss: nodeRss } };
}

// ---------------------------------------------------------------- memory per task, stop

/**
 * `n` tasks asleep for an hour, in each of `kinds`: resident memory 2 s after
 * READY and again SETTLED_MS later, then SIGTERM to exit, and the count of
 * cancellation lines in the log afterwards (each task logs one; all must be in
 * the file when the process has exited). The kinds run side by side while
 * memory is read (asleep, they hardly disturb each other), and are stopped one
 * at a time, so each stop has the machine to itself.
 */
export async function sleepers(notify, kinds, n) {
  const started = [];
  try {
    const readings = [];
    for (const kind of kinds) {
      const it = await startKind(kind, notify, {
        config: { log: QUIET_CONSOLE, tasks: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { autostart: true, steps: [{ sleep: '1h' }] }])) },
        mode: 'sleepers',
        args: ['--tasks', n],
      });
      started.push({ kind, it });
      // Each read at its own READY + 2 s and + 32 s, while the next ones start.
      readings.push(
        (async () => {
          await sleep(SETTLE_MS);
          const rss = rssBytes(it.pid);
          return { rss, settledRss: await settledRssBytes(it.pid) };
        })(),
      );
    }
    const memory = await Promise.all(readings);
    const out = {};
    for (const [i, { kind, it }] of started.entries()) {
      const exit = await it.stop();
      const cancelled = it.lines().filter((l) => l.task !== undefined && l.msg.startsWith('cancelled')).length;
      out[kind] = { ...memory[i], stopMs: exit.ms, exitCode: exit.code, cancelled, readyMs: it.readyMs };
    }
    return out;
  } finally {
    await Promise.all(started.map(({ it }) => it.dispose()));
  }
}

/**
 * Resident memory once the start-up is behind: V8 keeps the young generation
 * it grew while the tasks started (tens of MB, empty) until its memory
 * reducer runs, 10 to 20 s later; RSS is flat before that, so waiting for it
 * to stop changing would not do. Read SETTLED_MS after the first reading.
 */
const SETTLED_MS = 30_000;
async function settledRssBytes(pid) {
  await sleep(SETTLED_MS);
  return rssBytes(pid);
}

// ---------------------------------------------------------------- idle CPU

/**
 * CPU time (user + system, from /proc) over `seconds` of one task sleeping
 * 10 s at a time: asyncdemo with the default config's settings and its
 * heartbeat task, under a systemd-like watchdog (WATCHDOG_USEC=10 s as in
 * deploy/asyncdemo.service, so it pings every 5 s as it would in production);
 * the peer's heartbeat; a bare waiting node. `runs` of each run side by side:
 * idle processes hardly disturb each other, and a minute each in turn would
 * triple the benchmark's length.
 */
export async function idleCpu(notify, { seconds, runs }) {
  const config = {
    led: { enabled: true, backend: 'simulated' },
    tasks: { heartbeat: { autostart: true, repeat: 'forever', led: 'none', steps: [{ sleep: '10s' }, { log: 'still here', level: 'debug' }] } },
  };
  const started = [];
  try {
    for (let r = 0; r < runs; r++) {
      started.push({ kind: 'asyncdemo', it: await startDaemon(notify, config, { WATCHDOG_USEC: '10000000' }) });
      started.push({ kind: 'python', it: await startPeer(notify, 'heartbeat') });
      if (PYTHON.expertProblem === undefined) started.push({ kind: 'expert', it: await startPeer(notify, 'heartbeat', [], { expert: true }) });
      const node = start(process.execPath, ['-e', 'setInterval(() => {}, 1e9)']);
      started.push({ kind: 'node', it: { pid: node.pid, dispose: () => node.stop().catch(() => {}) } });
    }
    await sleep(1000);
    const before = started.map(({ it }) => cpuSeconds(it.pid));
    await sleep(seconds * 1000);
    const after = started.map(({ it }) => cpuSeconds(it.pid));
    const result = { asyncdemo: [], python: [], expert: [], node: [] };
    started.forEach(({ kind }, i) => result[kind].push(after[i] - before[i]));
    return result;
  } finally {
    await Promise.all(started.map(({ it }) => it.dispose()));
  }
}

// ---------------------------------------------------------------- CPU of a busy task

/**
 * CPU time (user + system, from /proc) over `seconds` of one task that wakes
 * often: a line and a sleep of 10 ms (`logging`), or a sleep of 1 ms and
 * nothing else. `runs` processes of each kind run side by side, started
 * together and measured over the same window, so load from elsewhere falls on
 * all of them alike; a few percent of a core each.
 */
const BUSY_SETTLE_MS = 5000;

export async function busyCpu(notify, { periodMs, logging, seconds, runs, kinds }) {
  const steps = logging ? [{ log: 'tick' }, { sleep: `${periodMs}ms` }] : [{ sleep: `${periodMs}ms` }];
  const config = { log: QUIET_CONSOLE, tasks: { ticker: { autostart: true, repeat: 'forever', steps } } };
  const args = ['--period', periodMs / 1000, ...(logging ? [] : ['--quiet'])];
  const started = [];
  try {
    for (let r = 0; r < runs; r++) {
      for (const kind of kinds) started.push({ kind, it: await startKind(kind, notify, { config, mode: 'periodic', args }) });
    }
    // The steady state, not the start-up: V8 compiles the hot code in its first seconds.
    await sleep(BUSY_SETTLE_MS);
    const before = started.map(({ it }) => cpuSeconds(it.pid));
    await sleep(seconds * 1000);
    const after = started.map(({ it }) => cpuSeconds(it.pid));
    const result = Object.fromEntries(kinds.map((kind) => [kind, []]));
    started.forEach(({ kind }, i) => result[kind].push(after[i] - before[i]));
    return result;
  } finally {
    await Promise.all(started.map(({ it }) => it.dispose()));
  }
}

// ---------------------------------------------------------------- logging

export const ROLL = 'pino-roll in-process (sync, 4 KiB batches)';
export const PLAIN = 'pino to a file (sync, 4 KiB batches)';

/**
 * Lines per second: asyncdemo's file destination (pino-roll in-process,
 * synchronous 4 KiB batches) against plain pino to one file in the same mode,
 * from log-destinations.mjs; and Python's logging to a RotatingFileHandler in
 * the same bursts of 1,000 lines per loop turn, for scale.
 */
export async function logging({ lines, runs }) {
  const { stdout } = await execFileAsync(process.execPath, [join(HERE, 'log-destinations.mjs'), String(lines), String(runs), '--only', PLAIN, '--only', ROLL, '--json'], {
    cwd: ROOT,
    env: baseEnv(),
    maxBuffer: 1 << 20,
  });
  const { rows } = JSON.parse(stdout.trim().split('\n').at(-1));
  const rate = (name) => rows.find((r) => r.name === name).rate;
  const python = [];
  for (let r = 0; r < runs; r++) {
    const dir = tempDir('asyncdemo-bench-lograte-');
    try {
      const out = await execFileAsync('python3', [PEER, 'lograte', '--log', dir, '--lines', String(lines)], { env: baseEnv() });
      python.push(JSON.parse(out.stdout.trim()).rate);
    } finally {
      removeDir(dir);
    }
  }
  return { roll: rate(ROLL), plain: rate(PLAIN), python };
}
