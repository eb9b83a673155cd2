// The bare Node peer of the benchmarks: the same workloads with nothing but
// Node's timers and pino, as one would write them without asyncdemo. Each task
// is an async function that logs with pino to a file and sleeps with
// setTimeout to absolute deadlines on performance.now() (a task that wakes
// more than a whole period late starts a new schedule from now, as in
// asyncdemo). No config, no scheduler, no AbortSignal per task, no console
// logger, no systemd notifications.
//
// pino writes synchronously (pino.destination({sync: true})): one write per
// line, no worker thread, no buffering to flush at exit. Measured here, that is
// the cheapest of pino's file modes for a few lines a second (the async mode
// costs a thread-pool round trip per line).
//
//   node bare-peer.mjs MODE --log FILE [--tasks N] [--period S] [--count N] [--quiet]
//
// Modes: lateness (N tasks, a line and a sleep of P, forever), drift (one task,
// COUNT lines and sleeps of P, then `finished`), sleepers (N tasks asleep for an
// hour), periodic (one task, a line and a sleep of P, forever; --quiet: the
// sleep only). Prints READY on stdout once its tasks have started (it cannot
// send sd_notify datagrams: Node has no AF_UNIX datagram sockets), and on
// SIGTERM logs `cancelled` for each task still asleep and exits 0.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'));
const pino = require('pino');

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    log: { type: 'string' },
    tasks: { type: 'string', default: '1' },
    period: { type: 'string', default: '1' },
    count: { type: 'string', default: '1000' },
    quiet: { type: 'boolean', default: false },
  },
});
const mode = positionals[0];
const periodMs = Number(values.period) * 1000;
const destination = pino.destination({ dest: values.log, sync: true });
const log = pino({ base: { pid: process.pid } }, destination);

/** Tasks asleep now, each with the function that wakes it early (SIGTERM). */
const asleep = new Map();

function sleepUntil(name, deadline) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      asleep.delete(name);
      resolve(true);
    }, deadline - performance.now());
    asleep.set(name, () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** A line (unless quiet) and a sleep of P, `count` times; false when cancelled. */
async function ticker(name, count, quiet = false) {
  let deadline = performance.now();
  for (let i = 0; i < count; i++) {
    if (!quiet) log.info({ task: name }, 'tick');
    deadline += periodMs;
    const now = performance.now();
    if (now - deadline > periodMs) deadline = now + periodMs;
    if (!(await sleepUntil(name, deadline))) {
      log.info({ task: name }, 'cancelled');
      return;
    }
  }
  log.info({ task: name }, 'finished');
}

async function sleeper(name) {
  if (!(await sleepUntil(name, performance.now() + 3_600_000))) log.info({ task: name }, 'cancelled');
}

const names = Array.from({ length: Number(values.tasks) }, (_, i) => i);
switch (mode) {
  case 'lateness':
    for (const i of names) void ticker(`t${i}`, Infinity);
    break;
  case 'drift':
    void ticker('drift', Number(values.count));
    break;
  case 'sleepers':
    for (const i of names) void sleeper(`s${i}`);
    break;
  case 'periodic':
    void ticker('t0', Infinity, values.quiet);
    break;
  default:
    process.stderr.write(`bare-peer: no mode ${mode}\n`);
    process.exit(64);
}

process.once('SIGTERM', () => {
  for (const wake of asleep.values()) wake();
  // The cancelled tasks log on their next microtask turn; then exit.
  setImmediate(() => {
    destination.flushSync();
    process.exit(0);
  });
});
process.stdout.write('READY\n');
