// The benchmark of asyncdemo against three peers in the same run: the Python
// asyncio peer as the tutorial writes it (peer.py), the same written as an
// expert would (peer.py --expert: uvloop, absolute deadlines on loop.time()),
// and a bare Node peer (bare-peer.mjs: setTimeout to absolute deadlines, pino
// to a file), or a bare `node` where that is the yardstick. Step lateness by
// task count, drift, start to READY, idle memory, memory per task, stop, CPU
// of a busy task and of an idle one, and logging throughput. Prints one table
// and writes it, with a lateness chart, to test/bench/results/latest.md and
// lateness.svg (raw figures to results/raw/).
//
//   npm run bench                      the full run (about 25 minutes on 2 cores)
//   node test/bench/run.mjs --quick    a smoke run in about a minute: fewer runs, N up to 1,000,
//                                      shorter durations; writes to results/raw/quick/ instead
//   node test/bench/run.mjs --only lateness,drift    just those workloads (to results/raw/partial/)
//   node test/bench/run.mjs --out DIR  write the report somewhere else
//
//   BENCH_QUICK=1         the same as --quick
//   BENCH_IDLE_SECONDS=N  the CPU windows, idle and busy (default 60; 5 in a quick run)
//   BENCH_PYTHON=PATH     the python3 for both Python peers (default: the first with uvloop)
//   BENCH_MAIN=PATH       another build's dist/main.js in asyncdemo's place (to compare two builds)
//
// It measures dist/main.js as built; `npm run bench` builds it first. Run it
// on an otherwise quiet machine: every figure is timing-sensitive.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { latenessChart } from './chart.mjs';
import { HERE, MAIN, PYTHON, ROOT, cleanup, listenForNotify, median } from './lib.mjs';
import * as work from './workloads.mjs';

const WORKLOADS = ['logging', 'start', 'sleepers', 'drift', 'lateness', 'cpu', 'busy', 'wake'];
/** The kinds compared; without a python3 that has uvloop, the expert's peer sits out (and the report says why). */
const KINDS = work.KINDS.filter((kind) => kind !== 'expert' || PYTHON.expertProblem === undefined);
const LABEL = { asyncdemo: 'asyncdemo', python: 'Python peer', expert: 'Python expert', node: 'bare node' };

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

// The full run takes about 25 minutes on a 2-core machine; most of it is the
// lateness runs (3 runs × 4 N × 4 kinds × ~12 s), memory per task (3 runs ×
// 2 × ~40 s) and the three CPU minutes.
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
      busyRuns: 1,
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
      busyRuns: 3,
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
          `expert ${round.expert?.readyMs.toFixed(1) ?? '—'} ms, node -e 0 ${round.node.exitMs.toFixed(1)} ms; ` +
          `RSS ${mib(round.daemon.rss)} / ${mib(round.python.rss)} / ${round.expert === undefined ? '—' : mib(round.expert.rss)} / ${mib(round.node.rss)} MiB`,
      );
      notify.forget();
    }
    const m = (f) => median(rounds.map(f));
    return {
      runs: rounds.length,
      readyMs: { asyncdemo: m((r) => r.daemon.readyMs), python: m((r) => r.python.readyMs), expert: m((r) => r.expert?.readyMs), node: m((r) => r.node.exitMs) },
      rss: { asyncdemo: m((r) => r.daemon.rss), python: m((r) => r.python.rss), expert: m((r) => r.expert?.rss), node: m((r) => r.node.rss) },
    };
  },

  async sleepers() {
    const out = { n: PLAN.sleepers, runs: PLAN.sleeperRuns };
    const one = Object.fromEntries(KINDS.map((k) => [k, []]));
    const full = Object.fromEntries(KINDS.map((k) => [k, []]));
    for (let i = 0; i < PLAN.sleeperRuns; i++) {
      const small = await work.sleepers(notify, KINDS, 1);
      notify.forget();
      const big = await work.sleepers(notify, KINDS, PLAN.sleepers);
      notify.forget();
      for (const kind of KINDS) {
        one[kind].push(small[kind]);
        full[kind].push(big[kind]);
        progress(
          `sleepers ${kind} ${i + 1}/${PLAN.sleeperRuns}: RSS ${mib(small[kind].rss)} MiB with 1 task, ${mib(big[kind].rss)} MiB with ${PLAN.sleepers.toLocaleString('en')} ` +
            `(settled: ${mib(small[kind].settledRss)} / ${mib(big[kind].settledRss)} MiB); ` +
            `stop ${big[kind].stopMs.toFixed(1)} ms, exit ${big[kind].exitCode}, ${big[kind].cancelled} cancellation lines`,
        );
      }
    }
    for (const kind of KINDS) {
      const f = full[kind];
      const o = one[kind];
      out[kind] = {
        perTaskBytes: (median(f.map((r) => r.rss)) - median(o.map((r) => r.rss))) / (PLAN.sleepers - 1),
        settledPerTaskBytes: (median(f.map((r) => r.settledRss)) - median(o.map((r) => r.settledRss))) / (PLAN.sleepers - 1),
        stopMs: median(f.map((r) => r.stopMs)),
        // The worst run, not the median: one run losing lines is a failure.
        cancelledMin: Math.min(...f.map((r) => r.cancelled)),
        allExitedOk: f.every((r) => r.exitCode === 0),
        readyMs: median(f.map((r) => r.readyMs)),
      };
    }
    return out;
  },

  async drift() {
    const out = { count: PLAN.driftCount, runs: PLAN.runs };
    const runs = Object.fromEntries(KINDS.map((k) => [k, []]));
    // Alternating kinds run by run, so a burst of load elsewhere hits them all.
    for (let i = 0; i < PLAN.runs; i++) {
      for (const kind of KINDS) {
        runs[kind].push((await work.drift(notify, kind, { count: PLAN.driftCount })).driftMs);
        progress(`drift ${kind} ${i + 1}/${PLAN.runs}: ${runs[kind].at(-1).toFixed(1)} ms`);
        notify.forget();
      }
    }
    for (const kind of KINDS) out[kind] = median(runs[kind]);
    return out;
  },

  async lateness() {
    const { ns, periodS, steps } = PLAN.lateness;
    const rows = [];
    for (const n of ns) {
      const row = { n };
      const runs = Object.fromEntries(KINDS.map((k) => [k, []]));
      for (let i = 0; i < PLAN.runs; i++) {
        for (const kind of KINDS) {
          const r = await work.lateness(notify, kind, { n, periodS, steps });
          runs[kind].push(r);
          progress(
            `lateness N=${n.toLocaleString('en')} ${kind} ${i + 1}/${PLAN.runs}: p50 ${r.p50?.toFixed(2)} p99 ${r.p99?.toFixed(2)} max ${r.max?.toFixed(2)} ms ` +
              `(${r.samples.toLocaleString('en')} steps of ${r.tasks.toLocaleString('en')} tasks)`,
          );
          notify.forget();
        }
      }
      for (const kind of KINDS) {
        const m = (f) => median(runs[kind].map(f));
        row[kind] = { p50: m((r) => r.p50), p99: m((r) => r.p99), max: m((r) => r.max), samples: m((r) => r.samples) };
      }
      rows.push(row);
    }
    return { periodS, steps, runs: PLAN.runs, rows };
  },

  async cpu() {
    progress(`idle CPU: ${PLAN.idleSeconds} s, ${PLAN.idleRuns} of each side by side`);
    const r = await work.idleCpu(notify, { seconds: PLAN.idleSeconds, runs: PLAN.idleRuns });
    progress(`idle CPU: asyncdemo ${r.asyncdemo.join(', ')} s; peer ${r.python.join(', ')} s; expert ${r.expert.join(', ')} s; node ${r.node.join(', ')} s`);
    return { seconds: PLAN.idleSeconds, runs: PLAN.idleRuns, asyncdemo: median(r.asyncdemo), python: median(r.python), expert: median(r.expert), node: median(r.node) };
  },

  /**
   * The wake path alone: one task that sleeps 10 ms for ever and does nothing
   * else (nothing logged at warn), asyncdemo against the bare Node loop with
   * the same absolute deadlines and the Python peer, side by side.
   */
  async wake() {
    progress(`wake CPU (sleep 10 ms, nothing else): ${PLAN.idleSeconds} s, ${PLAN.busyRuns} of each side by side`);
    const r = await work.busyCpu(notify, { periodMs: 10, logging: false, seconds: PLAN.idleSeconds, runs: PLAN.busyRuns, kinds: KINDS });
    progress(`wake CPU: ${KINDS.map((k) => `${k} ${r[k].map((x) => x.toFixed(3)).join(', ')} s`).join('; ')}`);
    notify.forget();
    return { seconds: PLAN.idleSeconds, runs: PLAN.busyRuns, ...Object.fromEntries(KINDS.map((k) => [k, median(r[k])])), all: r };
  },

  async busy() {
    const out = { seconds: PLAN.idleSeconds, runs: PLAN.busyRuns };
    for (const [name, periodMs, logging] of [
      ['log10', 10, true],
      ['sleep1', 1, false],
    ]) {
      progress(`busy CPU (${logging ? 'a line and ' : ''}sleep ${periodMs} ms): ${PLAN.idleSeconds} s, ${PLAN.busyRuns} of each side by side`);
      const r = await work.busyCpu(notify, { periodMs, logging, seconds: PLAN.idleSeconds, runs: PLAN.busyRuns, kinds: KINDS });
      progress(`busy CPU ${name}: ${KINDS.map((k) => `${k} ${r[k].map((x) => x.toFixed(2)).join(', ')} s`).join('; ')}`);
      out[name] = Object.fromEntries(KINDS.map((k) => [k, median(r[k])]));
      out[name].all = r;
      notify.forget();
    }
    return out;
  },
};

// ================================================================ the report

function buildReport(r) {
  const rows = [];
  const failed = (name) => (r.errors[name] === undefined ? undefined : `failed: ${r.errors[name].split('\n')[0].replaceAll('|', '\\|')}`);
  /** Cells: asyncdemo, Python peer, Python expert, bare node, target, met. */
  const row = (figure, name, make) => {
    if (!only.includes(name)) return;
    const problem = failed(name);
    rows.push(problem !== undefined ? [figure, problem, '', '', '', '', '**no**'] : [figure, ...make(r[name])]);
  };
  const yes = (ok) => (ok ? 'yes' : '**no**');
  const cells = (f) => ['asyncdemo', 'python', 'expert', 'node'].map((kind) => (KINDS.includes(kind) ? f(kind) : '—'));

  const lat = r.lateness;
  const top = lat?.rows.at(-1);
  row(`step lateness p50 / p99 / max, N = ${top?.n.toLocaleString('en') ?? '—'}`, 'lateness', () => [
    ...cells((k) => triple(top[k])),
    `p99 ≤ ⅓ of the peer's (${ms(top.python.p99 / 3)})`,
    yes(top.asyncdemo.p99 <= top.python.p99 / 3),
  ]);
  row(`drift: ${r.drift?.count.toLocaleString('en') ?? ''} × sleep 10 ms, end − ${((r.drift?.count ?? 0) / 100).toString()} s`, 'drift', (d) => [
    ...cells((k) => ms(d[k])),
    '< 2 ms',
    yes(Math.abs(d.asyncdemo) < 2),
  ]);
  const busyRow = (name, what) =>
    row(`CPU: user + system over ${r.busy?.seconds ?? PLAN.idleSeconds} s, one task ${what}`, 'busy', (b) => [
      ...cells((k) => `${b[name][k].toFixed(2)} s`),
      `≤ the peer's (${b[name].python.toFixed(2)} s)`,
      yes(b[name].asyncdemo <= b[name].python),
    ]);
  busyRow('log10', 'logging a line and sleeping 10 ms, forever');
  busyRow('sleep1', 'sleeping 1 ms, forever');
  row(`CPU of the wake path: user + system over ${r.wake?.seconds ?? PLAN.idleSeconds} s, one task sleeping 10 ms, forever, nothing logged`, 'wake', (w) => [
    ...cells((k) => `${w[k].toFixed(3)} s`),
    `≤ 1.10 × bare node (${(1.1 * w.node).toFixed(3)} s)`,
    yes(w.asyncdemo <= 1.1 * w.node),
  ]);
  row('start: exec to READY=1, default config (bare node: exec to exit of `node -e 0`)', 'start', (s) => [
    ...cells((k) => ms(s.readyMs[k])),
    `≤ 2 × bare node (${ms(2 * s.readyMs.node)})`,
    yes(s.readyMs.asyncdemo <= 2 * s.readyMs.node),
  ]);
  row('idle memory: RSS 2 s after READY, default config (bare node: a waiting `node`)', 'start', (s) => [
    ...cells((k) => `${mib(s.rss[k])} MiB`),
    `≤ 1.35 × bare node (${mib(1.35 * s.rss.node)} MiB)`,
    yes(s.rss.asyncdemo <= 1.35 * s.rss.node),
  ]);
  row(`memory per task: RSS growth with ${r.sleepers?.n.toLocaleString('en') ?? ''} tasks asleep, per task, 2 s after READY`, 'sleepers', (s) => [
    ...cells((k) => kib(s[k].perTaskBytes)),
    "≤ the peer's",
    yes(s.asyncdemo.perTaskBytes <= s.python.perTaskBytes),
  ]);
  row(`memory per task, 32 s after READY (V8 has given back its start-up young generation)`, 'sleepers', (s) => [
    ...cells((k) => kib(s[k].settledPerTaskBytes)),
    "≤ the peer's",
    yes(s.asyncdemo.settledPerTaskBytes <= s.python.settledPerTaskBytes),
  ]);
  row(`stop: SIGTERM to exit with ${r.sleepers?.n.toLocaleString('en') ?? ''} tasks asleep (cancellation lines in the file)`, 'sleepers', (s) => [
    ...cells((k) => stopCell(s[k], s.n)),
    '< 250 ms, every line flushed, exit 0',
    yes(s.asyncdemo.stopMs < 250 && s.asyncdemo.cancelledMin === s.n && s.asyncdemo.allExitedOk),
  ]);
  row(`idle CPU: user + system over ${r.cpu?.seconds ?? PLAN.idleSeconds} s, one task sleeping 10 s at a time (bare node: a waiting \`node\`)`, 'cpu', (c) => [
    ...cells((k) => `${c[k].toFixed(2)} s`),
    '< 0.1 s',
    yes(c.asyncdemo < 0.1),
  ]);
  row('logging: lines/s to rotating files (Python: the tutorial\'s logging; bare node: plain pino to one file, same mode)', 'logging', (l) => [
    `${rate(l.roll)} (${pct(l.roll / l.plain)})`,
    rate(l.python),
    '—',
    rate(l.plain),
    '≥ 90 % of plain pino',
    yes(l.roll >= 0.9 * l.plain),
  ]);

  // Where the expert's peer does better than asyncdemo: every figure here is lower-is-better but logging.
  const wins = [];
  const lower = (figure, a, e, unit) => {
    if (a === undefined || e === undefined || !(e < a)) return;
    wins.push(`${figure}: expert ${e.toFixed(2)} ${unit} against asyncdemo's ${a.toFixed(2)} ${unit} (${pct((a - e) / a)} less)`);
  };
  if (KINDS.includes('expert')) {
    if (top !== undefined) lower(`step lateness p99, N = ${top.n.toLocaleString('en')}`, top.asyncdemo.p99, top.expert.p99, 'ms');
    if (r.drift !== undefined) lower('drift', Math.abs(r.drift.asyncdemo), Math.abs(r.drift.expert), 'ms');
    if (r.busy !== undefined) {
      lower('CPU, a line and sleep 10 ms', r.busy.log10.asyncdemo, r.busy.log10.expert, 's');
      lower('CPU, sleep 1 ms', r.busy.sleep1.asyncdemo, r.busy.sleep1.expert, 's');
    }
    if (r.start !== undefined) {
      lower('start to READY', r.start.readyMs.asyncdemo, r.start.readyMs.expert, 'ms');
      lower('idle memory', r.start.rss.asyncdemo / 2 ** 20, r.start.rss.expert / 2 ** 20, 'MiB');
    }
    if (r.sleepers !== undefined) {
      lower('memory per task (settled)', r.sleepers.asyncdemo.settledPerTaskBytes / 1024, r.sleepers.expert.settledPerTaskBytes / 1024, 'KiB');
      lower('stop with 10,000 tasks', r.sleepers.asyncdemo.stopMs, r.sleepers.expert.stopMs, 'ms');
    }
    if (r.cpu !== undefined) lower('idle CPU', r.cpu.asyncdemo, r.cpu.expert, 's');
  }

  const md = [];
  md.push(`# asyncdemo benchmarks${r.quick ? ' (quick run: not the published figures)' : ''}`);
  md.push('');
  md.push(`${r.machine.line}.`);
  md.push(`${r.machine.build} ${new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${r.minutes.toFixed(1)} min; load average at the start ${r.machine.load}.`);
  const p = r.plan;
  md.push(
    `Produced by \`npm run bench\` (test/bench/run.mjs). Each figure is a median: of ${plural(p.runs, 'run')} for lateness and drift, ` +
      `${plural(p.startRuns, 'run')} for start and idle memory, ${plural(p.sleeperRuns, 'run')} for memory per task and stop, ` +
      `${plural(p.logRuns, 'run')} for logging, and of ${plural(p.idleRuns, 'process', 'processes')} of each side by side for idle CPU, ${plural(p.busyRuns, 'process', 'processes')} for busy CPU.`,
  );
  md.push('');
  md.push('| figure | asyncdemo | Python peer | Python expert | bare node | target | met? |');
  md.push('| --- | ---: | ---: | ---: | ---: | --- | --- |');
  for (const cells of rows) md.push(`| ${cells.join(' | ')} |`);
  const met = rows.filter((c) => c[6] === 'yes').length;
  md.push('');
  md.push(`Targets met: ${met} of ${rows.length}.`);
  if (!KINDS.includes('expert')) md.push(`The expert's Python peer did not run: ${PYTHON.expertProblem}.`);
  if (wins.length > 0) {
    md.push('');
    md.push("Where the expert's Python peer does better than asyncdemo (test/README.md, Benchmarks, says why):");
    md.push('');
    md.push(...wins.map((w) => `- ${w}`));
  }

  let chart;
  if (lat !== undefined) {
    md.push('');
    md.push(`## Step lateness by task count`);
    md.push('');
    md.push(
      `N tasks each repeating a log line and \`sleep ${lat.periodS} s\`, started together, for ${lat.steps} periods; ` +
        `lateness of step k = its line's time − (the task's first line + k × ${lat.periodS} s), over all tasks and steps but the first; ` +
        `median of ${plural(lat.runs, 'run')}. asyncdemo's and bare node's times are pino's, in whole milliseconds; the Python peers' have microseconds.`,
    );
    md.push('');
    md.push(`| N | steps | ${KINDS.map((k) => `${LABEL[k]} p50 / p99 / max`).join(' | ')} |`);
    md.push(`| ---: | ---: | ${KINDS.map(() => '---:').join(' | ')} |`);
    for (const x of lat.rows) {
      md.push(`| ${x.n.toLocaleString('en')} | ${x.asyncdemo.samples.toLocaleString('en')} | ${KINDS.map((k) => triple(x[k])).join(' | ')} |`);
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
  'The Python expert is the same file with `--expert`: the same coroutines on uvloop (Debian\'s python3-uvloop), sleeping to absolute deadlines on `loop.time()` (a task more than a period late starts a new schedule, as in asyncdemo). Both Python peers run on the same interpreter, the first python3 with uvloop.',
  'The bare Node peer, `test/bench/bare-peer.mjs`: async functions that log with pino to one file (synchronous writes) and sleep with `setTimeout` to absolute deadlines on `performance.now()`; no config, scheduler, AbortSignal per task, console logger or systemd. It says READY on stdout (Node cannot send sd_notify datagrams), so its start is not timed; the start row\'s bare node is `node -e 0`.',
  'asyncdemo and the Python peers say READY=1 on a NOTIFY_SOCKET once their tasks have started (asyncdemo through its sd-notify binding). A Python listener stamps each datagram on CLOCK_MONOTONIC; exec is stamped just before the spawn.',
  'Drift: one task, a line and `sleep 10 ms` repeated; the end is asyncdemo\'s `finished` line (debug level) or the peers\' line after their loop. The tutorial\'s loop sleeps after the work, which adds each wake-up\'s lateness; asyncdemo, the expert and bare node sleep to absolute deadlines.',
  'Memory: VmRSS from /proc 2 s after READY, and again 30 s later, once V8 has given back the young generation it grew during the start. Per task: (RSS with N tasks asleep − RSS with one) / (N − 1), medians of each. The four kinds run side by side while they sleep, and are stopped one at a time.',
  'Stop: SIGTERM to the exit as the harness sees it; the cancellation lines are counted in the log file afterwards (the worst run).',
  'Busy CPU: utime + stime from /proc over the window, starting 5 s after the last READY (the steady state: not the start-up, nor V8 compiling the hot code), of processes running side by side, each one task: a line and a 10 ms sleep, or a 1 ms sleep alone. Each kind logs to a file as it does everywhere else (asyncdemo to its rotating files).',
  'Idle CPU: the same over the window, for one task sleeping 10 s at a time; asyncdemo runs with WATCHDOG_USEC=10 s, as under deploy/asyncdemo.service, so it pings the watchdog and refreshes its status every 5 s.',
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
  const python = `${run(PYTHON.command, ['--version']).replace(/^Python /, '')} (${PYTHON.command})`;
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
