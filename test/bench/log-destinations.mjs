// Logging destinations compared, for the choice in src/log/files.ts (what asyncdemo
// uses is pino-roll in-process, sync, 4 KiB batches):
// lines per second and peak RSS of one process writing N lines through pino,
// for plain pino to a file, pino-roll in-process (async and sync), and
// pino-roll as a pino transport (worker thread). Each variant runs in a fresh
// child process; the figure is the median of RUNS runs.
//
//   node test/bench/log-destinations.mjs [lines] [runs] [--only NAME]... [--json]
//
// --only runs just the named variants (repeatable); --json prints the rows as
// JSON instead of the table, for run.mjs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.flatMap((arg, i) => (args[i - 1] === '--only' ? [arg] : []));
const json = args.includes('--json');
const positional = args.filter((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--only');
const LINES = Number(positional[0] ?? 200_000);
const RUNS = Number(positional[1] ?? 5);
const BATCH = 1000; // lines per event-loop turn, as a busy daemon logs: a burst per timer wake

const variants = {
  'pino to a file (async)': `const dest = pino.destination({ dest: join(dir, 'plain.log'), sync: false }); const done = () => new Promise((r) => { dest.flushSync(); r(); });`,
  'pino to a file (sync)': `const dest = pino.destination({ dest: join(dir, 'plain.log'), sync: true }); const done = async () => {};`,
  'pino to a file (sync, 4 KiB batches)': `const dest = pino.destination({ dest: join(dir, 'plain.log'), sync: true, minLength: 4096 }); const done = async () => { dest.flushSync(); };`,
  'pino-roll in-process (async)': `const dest = await roll({ file: join(dir, 'app'), extension: '.log', size: '10m', symlink: true, limit: { count: 6, removeOtherLogFiles: true } }); const done = () => new Promise((r) => { dest.end(); dest.once('close', r); });`,
  'pino-roll in-process (sync, 4 KiB batches)': `const dest = await roll({ file: join(dir, 'app'), extension: '.log', size: '10m', symlink: true, limit: { count: 6, removeOtherLogFiles: true }, sync: true, minLength: 4096 }); const done = () => new Promise((r) => { dest.end(); dest.once('close', r); });`,
  // asyncdemo's own file destination (src/log/files.ts: pino-roll underneath); needs the test build (npx tsc -p tsconfig.test.json).
  'asyncdemo file destination': `const { openLogFiles } = await import(${JSON.stringify(new URL('../../build/src/log/files.js', import.meta.url).href)}); const dest = await openLogFiles({ enabled: true, dir, level: null, size: '10m', frequency: null, keep: 5 }); const done = () => dest.close();`,
  'pino-roll transport (worker thread)': `const dest = pino.transport({ target: 'pino-roll', options: { file: join(dir, 'app'), extension: '.log', size: '10m', symlink: true, limit: { count: 6, removeOtherLogFiles: true } } }); await new Promise((r) => dest.once('ready', r)); const done = () => new Promise((r) => { const keep = setInterval(() => {}, 1000); dest.once('close', () => { clearInterval(keep); r(); }); dest.end(); });`,
};

/** RSS of a process that set the destination up, logged a few lines and sits idle: what the daemon pays at rest. */
function idleRss(setup, dir) {
  const script = `
    import pino from 'pino'; import roll from 'pino-roll'; import { join } from 'node:path';
    const dir = ${JSON.stringify(dir)};
    ${setup}
    const logger = pino({ base: { pid: process.pid } }, dest);
    for (let i = 0; i < 10; i++) logger.info('idle line ' + i);
    setTimeout(async () => { const rss = process.memoryUsage.rss(); await done(); console.log(JSON.stringify({ idleMb: rss / 2 ** 20 })); }, 1000);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)).idleMb;
}

function runVariant(setup, dir) {
  const script = `
    import pino from 'pino'; import roll from 'pino-roll'; import { join } from 'node:path';
    const dir = ${JSON.stringify(dir)};
    ${setup}
    const logger = pino({ base: { pid: process.pid } }, dest);
    const task = logger.child({ task: 'operation' });
    let peak = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ${LINES}; i += ${BATCH}) {
      for (let j = i; j < i + ${BATCH}; j++) task.info({ step: j % 7 }, 'operation1 line ' + j);
      peak = Math.max(peak, process.memoryUsage.rss());
      await new Promise((r) => setImmediate(r));
    }
    await done();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    peak = Math.max(peak, process.memoryUsage.rss());
    console.log(JSON.stringify({ rate: ${LINES} / seconds, peakMb: peak / 2 ** 20 }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const unknown = only.filter((name) => !(name in variants));
if (unknown.length > 0) throw new Error(`no variant ${unknown.join(', ')}; the variants are: ${Object.keys(variants).join('; ')}`);
// Runs alternate between the variants, so load from other jobs on a shared
// machine falls on each alike rather than on whichever ran during it.
const chosen = Object.entries(variants).filter(([name]) => only.length === 0 || only.includes(name));
const results = new Map(chosen.map(([name]) => [name, []]));
for (let r = 0; r < RUNS; r++) {
  for (const [name, setup] of chosen) {
    const dir = mkdtempSync(join(tmpdir(), 'asyncdemo-logbench-'));
    results.get(name).push({ ...runVariant(setup, dir), idleMb: idleRss(setup, dir) });
    rmSync(dir, { recursive: true, force: true });
  }
}
const rows = chosen.map(([name]) => {
  const runs = results.get(name);
  return { name, rate: median(runs.map((x) => x.rate)), peakMb: median(runs.map((x) => x.peakMb)), idleMb: median(runs.map((x) => x.idleMb)) };
});
if (json) {
  console.log(JSON.stringify({ lines: LINES, runs: RUNS, batch: BATCH, rows }));
  process.exit(0);
}
const base = rows[0].rate;
console.log(`${LINES} lines in batches of ${BATCH} per event-loop turn, median of ${RUNS} runs, Node ${process.version}\n`);
console.log('| destination | lines/s | vs plain pino (async) | peak RSS under load | idle RSS |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.name} | ${Math.round(r.rate).toLocaleString('en')} | ${((r.rate / base) * 100).toFixed(0)} % | ${r.peakMb.toFixed(1)} MB | ${r.idleMb.toFixed(1)} MB |`);
}
