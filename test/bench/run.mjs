// The benchmark of asyncdemo against the Python asyncio peer of the tutorial
// (peer.py) and a bare `node`: step lateness by task count, drift, start to
// READY, idle memory, memory per task, stop, idle CPU and logging throughput.
// Prints one table and writes it, with a lateness chart, to
// test/bench/results/latest.md and lateness.svg (raw figures to results/raw/).
//
//   npm run bench                      the full run (about 10 minutes on 2 cores)
//   node test/bench/run.mjs --quick    a smoke run in about a minute: fewer runs, N up to 1,000,
//                                      shorter durations; writes to results/raw/quick/ instead
//   node test/bench/run.mjs --only lateness,drift    just those workloads (to results/raw/partial/)
//   node test/bench/run.mjs --out DIR  write the report somewhere else
//
//   BENCH_QUICK=1         the same as --quick
//   BENCH_IDLE_SECONDS=N  the idle-CPU window (default 60; 5 in a quick run)
//
// It measures dist/main.js as built; `npm run bench` builds it first. Run it
// on an otherwise quiet machine: every figure is timing-sensitive.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { latenessChart } from './chart.mjs';
import { HERE, MAIN, ROOT, cleanup, listenForNotify, median } from './lib.mjs';
import * as work from './workloads.mjs';

const WORKLOADS = ['logging', 'start', 'sleepers', 'drift', 'lateness', 'cpu'];

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = options.quick;
const only = options.only === undefined ? WORKLOADS : options.only.split(',');
for (const name of only) {
  if (!WORKLOADS.includes(name)) {
    console.error(`--only: no workload ${name}; they are ${WORKLOADS.join(', ')}`);
    process.exit(64);
  }
}
// Only a full run of every workload replaces the published results; a quick or
// partial run goes under results/raw/, which git ignores.
const PUBLISHED = join(HERE, 'results');
const outDir = options.out ?? (quick ? join(PUBLISHED, 'raw', 'quick') : options.only !== undefined ? join(PUBLISHED, 'raw', 'partial') : PUBLISHED);
const rawFile = outDir === PUBLISHED ? join(PUBLISHED, 'raw', 'latest.json') : join(outDir, 'results.json');

// The full run takes about 10 minutes on a 2-core machine; most of it is the
// lateness runs (3 runs × 4 N × 2 peers × ~12 s) and the idle-CPU minute.
const PLAN = quick
  ? {
      runs: 1,
      startRuns: 3,
      sleeperRuns: 1,
      lateness: { ns: [1, 100, 1000], periodS: 1, steps: 3 },
      driftCount: 300,
      sleepers: 1000,
      logLines: 50_000,
      logRuns: 1,
      idleSeconds: 5,
      idleRuns: 1,
    }
  : {
      runs: 3,
      startRuns: 10,
      sleeperRuns: 3,
      lateness: { ns: [1, 100, 1000, 10_000], periodS: 1, steps: 10 },
      driftCount: 1000,
      sleepers: 10_000,
      logLines: 200_000,
      logRuns: 5,
      idleSeconds: 60,
      idleRuns: 3,
    };
if (process.env.BENCH_IDLE_SECONDS !== undefined) PLAN.idleSeconds = Number(process.env.BENCH_IDLE_SECONDS);

if (!existsSync(MAIN)) {
  console.error(`no ${relative(ROOT, MAIN)}: build it first (npm run build, or node scripts/build/bundle.mjs)`);
  process.exit(1);
}

// ================================================================ the runs

const RUNNERS = {
  async logging() {
    progress(`logging: ${PLAN.logLines.toLocaleString('en')} lines, ${PLAN.logRuns} run(s) each`);
    const r = await work.logging({ lines: PLAN.logLines, runs: PLAN.logRuns });
    return { roll: r.roll, plain: r.plain, python: median(r.python) };
  },

  async start() {
    const rounds = [];
    for (let i = 0; i < PLAN.startRuns; i++) {
      const round = await work.startAndIdle(notify);
      rounds.push(round);
      progress(
        `start ${i + 1}/${PLAN.startRuns}: READY asyncdemo ${round.daemon.readyMs.toFixed(1)} ms, peer ${round.python.readyMs.toFixed(1)} ms, ` +
          `node -e 0 ${round.node.exitMs.toFixed(1)} ms; RSS ${mib(round.daemon.rss)} / ${mib(round.python.rss)} / ${mib(round.node.rss)} MiB`,
      );
      notify.forget();
    }
    const m = (f) => median(rounds.map(f));
    return {
      runs: rounds.length,
      readyMs: { asyncdemo: m((r) => r.daemon.readyMs), python: m((r) => r.python.readyMs), node: m((r) => r.node.exitMs) },
      rss: { asyncdemo: m((r) => r.daemon.rss), python: m((r) => r.python.rss), node: m((r) => r.node.rss) },
    };
  },

  async sleepers() {
    const out = { n: PLAN.sleepers, runs: PLAN.sleeperRuns };
    for (const peer of ['asyncdemo', 'python']) {
      const full = [];
      const one = [];
      for (let i = 0; i < PLAN.sleeperRuns; i++) {
        one.push(await work.sleepers(notify, peer, 1));
        const r = await work.sleepers(notify, peer, PLAN.sleepers);
        full.push(r);
        progress(
          `sleepers ${peer} ${i + 1}/${PLAN.sleeperRuns}: RSS ${mib(one.at(-1).rss)} MiB with 1 task, ${mib(r.rss)} MiB with ${PLAN.sleepers.toLocaleString('en')} ` +
            `(settled: ${mib(one.at(-1).settledRss)} / ${mib(r.settledRss)} MiB); ` +
            `stop ${r.stopMs.toFixed(1)} ms, exit ${r.exitCode}, ${r.cancelled} cancellation lines`,
        );
        notify.forget();
      }
      out[peer] = {
        perTaskBytes: (median(full.map((r) => r.rss)) - median(one.map((r) => r.rss))) / (PLAN.sleepers - 1),
        settledPerTaskBytes: (median(full.map((r) => r.settledRss)) - median(one.map((r) => r.settledRss))) / (PLAN.sleepers - 1),
        stopMs: median(full.map((r) => r.stopMs)),
        // The worst run, not the median: one run losing lines is a failure.
        cancelledMin: Math.min(...full.map((r) => r.cancelled)),
        allExitedOk: full.every((r) => r.exitCode === 0),
        readyMs: median(full.map((r) => r.readyMs)),
      };
    }
    return out;
  },

  async drift() {
    const out = { count: PLAN.driftCount, runs: PLAN.runs };
    for (const peer of ['asyncdemo', 'python']) {
      const runs = [];
      for (let i = 0; i < PLAN.runs; i++) {
        runs.push((await work.drift(notify, peer, { count: PLAN.driftCount })).driftMs);
        progress(`drift ${peer} ${i + 1}/${PLAN.runs}: ${runs.at(-1).toFixed(1)} ms`);
        notify.forget();
      }
      out[peer] = median(runs);
    }
    return out;
  },

  async lateness() {
    const { ns, periodS, steps } = PLAN.lateness;
    const rows = [];
    for (const n of ns) {
      const row = { n };
      // Alternating peers run by run, so a burst of load elsewhere hits both.
      const runs = { asyncdemo: [], python: [] };
      for (let i = 0; i < PLAN.runs; i++) {
        for (const peer of ['asyncdemo', 'python']) {
          const r = await work.lateness(notify, peer, { n, periodS, steps });
          runs[peer].push(r);
          progress(
            `lateness N=${n.toLocaleString('en')} ${peer} ${i + 1}/${PLAN.runs}: p50 ${r.p50?.toFixed(2)} p99 ${r.p99?.toFixed(2)} max ${r.max?.toFixed(2)} ms ` +
              `(${r.samples.toLocaleString('en')} steps of ${r.tasks.toLocaleString('en')} tasks)`,
          );
          notify.forget();
        }
      }
      for (const peer of ['asyncdemo', 'python']) {
        const m = (f) => median(runs[peer].map(f));
        row[peer] = { p50: m((r) => r.p50), p99: m((r) => r.p99), max: m((r) => r.max), samples: m((r) => r.samples) };
      }
      rows.push(row);
    }
    return { periodS, steps, runs: PLAN.runs, rows };
  },

  async cpu() {
    progress(`idle CPU: ${PLAN.idleSeconds} s, ${PLAN.idleRuns} of each side by side`);
    const r = await work.idleCpu(notify, { seconds: PLAN.idleSeconds, runs: PLAN.idleRuns });
    progress(`idle CPU: asyncdemo ${r.asyncdemo.join(', ')} s; peer ${r.python.join(', ')} s; node ${r.node.join(', ')} s`);
    return { seconds: PLAN.idleSeconds, runs: PLAN.idleRuns, asyncdemo: median(r.asyncdemo), python: median(r.python), node: median(r.node) };
  },
};

// ================================================================ the report

function buildReport(r) {
  const rows = [];
  const failed = (name) => (r.errors[name] === undefined ? undefined : `failed: ${r.errors[name].split('\n')[0].replaceAll('|', '\\|')}`);
  const row = (figure, name, make) => {
    if (!only.includes(name)) return;
    const problem = failed(name);
    rows.push(problem !== undefined ? [figure, problem, '', '', '', '**no**'] : [figure, ...make(r[name])]);
  };
  const yes = (ok) => (ok ? 'yes' : '**no**');

  const lat = r.lateness;
  const top = lat?.rows.at(-1);
  row(`step lateness p50 / p99 / max, N = ${top?.n.toLocaleString('en') ?? '—'}`, 'lateness', () => {
    const a = top.asyncdemo;
    const p = top.python;
    return [triple(a), triple(p), '—', `p99 ≤ ⅓ of the peer's (${ms(p.p99 / 3)})`, yes(a.p99 <= p.p99 / 3)];
  });
  row(`drift: ${r.drift?.count.toLocaleString('en') ?? ''} × sleep 10 ms, end − ${((r.drift?.count ?? 0) / 100).toString()} s`, 'drift', (d) => [
    ms(d.asyncdemo),
    ms(d.python),
    '—',
    '< 2 ms',
    yes(Math.abs(d.asyncdemo) < 2),
  ]);
  row('start: exec to READY=1, default config (bare node: exec to exit of `node -e 0`)', 'start', (s) => [
    ms(s.readyMs.asyncdemo),
    ms(s.readyMs.python),
    ms(s.readyMs.node),
    `≤ 2 × bare node (${ms(2 * s.readyMs.node)})`,
    yes(s.readyMs.asyncdemo <= 2 * s.readyMs.node),
  ]);
  row('idle memory: RSS 2 s after READY, default config (bare node: a waiting `node`)', 'start', (s) => [
    `${mib(s.rss.asyncdemo)} MiB`,
    `${mib(s.rss.python)} MiB`,
    `${mib(s.rss.node)} MiB`,
    `≤ 1.35 × bare node (${mib(1.35 * s.rss.node)} MiB)`,
    yes(s.rss.asyncdemo <= 1.35 * s.rss.node),
  ]);
  row(`memory per task: RSS growth with ${r.sleepers?.n.toLocaleString('en') ?? ''} tasks asleep, per task, 2 s after READY`, 'sleepers', (s) => [
    kib(s.asyncdemo.perTaskBytes),
    kib(s.python.perTaskBytes),
    '—',
    "≤ the peer's",
    yes(s.asyncdemo.perTaskBytes <= s.python.perTaskBytes),
  ]);
  row(`memory per task, 32 s after READY (V8 has given back its start-up young generation)`, 'sleepers', (s) => [
    kib(s.asyncdemo.settledPerTaskBytes),
    kib(s.python.settledPerTaskBytes),
    '—',
    "≤ the peer's",
    yes(s.asyncdemo.settledPerTaskBytes <= s.python.settledPerTaskBytes),
  ]);
  row(`stop: SIGTERM to exit with ${r.sleepers?.n.toLocaleString('en') ?? ''} tasks asleep (cancellation lines in the file)`, 'sleepers', (s) => [
    stopCell(s.asyncdemo, s.n),
    stopCell(s.python, s.n),
    '—',
    '< 250 ms, every line flushed, exit 0',
    yes(s.asyncdemo.stopMs < 250 && s.asyncdemo.cancelledMin === s.n && s.asyncdemo.allExitedOk),
  ]);
  row(`idle CPU: user + system over ${r.cpu?.seconds ?? PLAN.idleSeconds} s, one task sleeping 10 s at a time`, 'cpu', (c) => [
    `${c.asyncdemo.toFixed(2)} s`,
    `${c.python.toFixed(2)} s`,
    `${c.node.toFixed(2)} s`,
    '< 0.1 s',
    yes(c.asyncdemo < 0.1),
  ]);
  row('logging: lines/s to rotating files (bare node: plain pino to one file, same mode)', 'logging', (l) => [
    `${rate(l.roll)} (${pct(l.roll / l.plain)})`,
    `${rate(l.python)}`,
    rate(l.plain),
    '≥ 90 % of plain pino',
    yes(l.roll >= 0.9 * l.plain),
  ]);

  const md = [];
  md.push(`# asyncdemo benchmarks${r.quick ? ' (quick run: not the published figures)' : ''}`);
  md.push('');
  md.push(`${r.machine.line}.`);
  md.push(`${r.machine.build} ${new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${r.minutes.toFixed(1)} min; load average at the start ${r.machine.load}.`);
  const p = r.plan;
  md.push(
    `Produced by \`npm run bench\` (test/bench/run.mjs). Each figure is a median: of ${plural(p.runs, 'run')} for lateness and drift, ` +
      `${plural(p.startRuns, 'run')} for start and idle memory, ${plural(p.sleeperRuns, 'run')} for memory per task and stop, ` +
      `${plural(p.logRuns, 'run')} for logging, and of ${plural(p.idleRuns, 'process', 'processes')} side by side for idle CPU.`,
  );
  md.push('');
  md.push('| figure | asyncdemo | Python peer | bare node | target | met? |');
  md.push('| --- | ---: | ---: | ---: | --- | --- |');
  for (const cells of rows) md.push(`| ${cells.join(' | ')} |`);
  const met = rows.filter((c) => c[5] === 'yes').length;
  md.push('');
  md.push(`Targets met: ${met} of ${rows.length}.`);

  let chart;
  if (lat !== undefined) {
    md.push('');
    md.push(`## Step lateness by task count`);
    md.push('');
    md.push(
      `N tasks each repeating a log line and \`sleep ${lat.periodS} s\`, started together, for ${lat.steps} periods; ` +
        `lateness of step k = its line's time − (the task's first line + k × ${lat.periodS} s), over all tasks and steps but the first; ` +
        `median of ${plural(lat.runs, 'run')}. asyncdemo's times are pino's, in whole milliseconds; the peer's have microseconds.`,
    );
    md.push('');
    md.push('| N | steps | asyncdemo p50 | p99 | max | Python peer p50 | p99 | max |');
    md.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const x of lat.rows) {
      md.push(
        `| ${x.n.toLocaleString('en')} | ${x.asyncdemo.samples.toLocaleString('en')} | ${ms(x.asyncdemo.p50)} | ${ms(x.asyncdemo.p99)} | ${ms(x.asyncdemo.max)} | ` +
          `${ms(x.python.p50)} | ${ms(x.python.p99)} | ${ms(x.python.max)} |`,
      );
    }
    md.push('');
    md.push('![Step lateness by task count](lateness.svg)');
    chart = latenessChart(lat.rows, `Step lateness by task count (sleep ${lat.periodS} s, median of ${lat.runs})`);
  }

  md.push('');
  md.push('## How it was measured');
  md.push('');
  md.push(...NOTES.map((n) => `- ${n}`));
  if (Object.keys(r.errors).length > 0) {
    md.push('');
    md.push('## Failures');
    md.push('');
    for (const [name, message] of Object.entries(r.errors)) md.push(`- ${name}: \`${message.split('\n')[0]}\``);
  }
  return { markdown: md.join('\n') + '\n', chart };
}

const NOTES = [
  'asyncdemo is `node dist/main.js run --config FILE`: its config loader, scheduler and rotating pino-roll files, with console lines at warn and above only (the shipped default config for start and idle memory). The Python peer, `test/bench/peer.py`, runs the same tasks as the tutorial writes them: coroutines that `LOG.info(...)` and `await asyncio.sleep(P)`, started with `ensure_future` on a loop that runs forever, `logging.basicConfig` to a file with the tutorial\'s format.',
  'Both say READY=1 on a NOTIFY_SOCKET once their tasks have started (asyncdemo through its sd-notify binding). A Python listener stamps each datagram on CLOCK_MONOTONIC; exec is stamped just before the spawn.',
  'Drift: one task, a line and `sleep 10 ms` repeated; the end is asyncdemo\'s `finished` line (debug level) or the peer\'s line after its loop. The peer\'s loop is the tutorial\'s (sleep after the work), which adds each wake-up\'s lateness; asyncdemo sleeps to absolute deadlines.',
  'Memory: VmRSS from /proc 2 s after READY, and again 30 s later, once V8 has given back the young generation it grew during the start. Per task: (RSS with N tasks asleep − RSS with one) / (N − 1), medians of each.',
  'Stop: SIGTERM to the exit as the harness sees it; the cancellation lines are counted in the log file afterwards (the worst run).',
  'Idle CPU: utime + stime from /proc over the window, starting 1 s after READY; asyncdemo runs with WATCHDOG_USEC=10 s, as under deploy/asyncdemo.service, so it pings the watchdog and refreshes its status every 5 s.',
  'Logging: `test/bench/log-destinations.mjs`, lines in bursts of 1,000 per event-loop turn; the Python figure is `logging` to a RotatingFileHandler (10 MiB, 5 kept) in the same bursts, for scale.',
];

// ================================================================ formatting and machine

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
function triple(x) {
  return `${ms(x.p50, '')} / ${ms(x.p99, '')} / ${ms(x.max)}`;
}
function ms(value, unit = ' ms') {
  if (value === undefined || Number.isNaN(value)) return '—';
  return `${value.toFixed(Math.abs(value) >= 100 ? 0 : 1)}${unit}`;
}
function mib(bytes) {
  return (bytes / 2 ** 20).toFixed(1);
}
function kib(bytes) {
  return `${(bytes / 1024).toFixed(2)} KiB`;
}
function rate(x) {
  return Math.round(x).toLocaleString('en');
}
function pct(x) {
  return `${(x * 100).toFixed(0)} %`;
}
function stopCell(s, n) {
  const lines = `${s.cancelledMin.toLocaleString('en')}/${n.toLocaleString('en')} lines`;
  return `${ms(s.stopMs)} (${lines}${s.allExitedOk ? '' : ', exit ≠ 0'})`;
}

function describeMachine() {
  const cores = cpus();
  const python = run('python3', ['--version']).replace(/^Python /, '');
  const commit = run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']) !== '';
  const built = statSync(MAIN).mtime.toISOString().slice(0, 16).replace('T', ' ');
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  return {
    line:
      `Machine: ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `Linux ${release()}, Node ${process.version}, Python ${python}`,
    build: `asyncdemo ${version} at ${commit}${dirty ? ' (src/ has uncommitted changes)' : ''}, dist/main.js built ${built} UTC; run`,
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

// ================================================================ main

const startedAt = Date.now();
const machine = describeMachine();
const results = { quick, plan: PLAN, machine, errors: {} };
const progress = (text) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${text}`);
progress(`${machine.line}`);

const notify = await listenForNotify();
try {
  for (const name of only) {
    try {
      results[name] = await RUNNERS[name]();
    } catch (error) {
      results.errors[name] = error instanceof Error ? error.message : String(error);
      progress(`${name} FAILED: ${results.errors[name]}`);
    }
    notify.forget();
  }
} finally {
  notify.close();
}
results.minutes = (Date.now() - startedAt) / 60_000;

const report = buildReport(results);
mkdirSync(join(rawFile, '..'), { recursive: true });
writeFileSync(join(outDir, 'latest.md'), report.markdown);
if (report.chart !== undefined) writeFileSync(join(outDir, 'lateness.svg'), report.chart);
writeFileSync(rawFile, JSON.stringify(results, null, 2) + '\n');
console.log(`\n${report.markdown}`);
console.log(`written to ${relative(ROOT, join(outDir, 'latest.md'))}${report.chart === undefined ? '' : ` and lateness.svg`}`);
cleanup();
process.exit(Object.keys(results.errors).length === 0 ? 0 : 1);
