// The cost of the console formats: lines per second through pino into
// /dev/null for JSON (pino's own line), journal and pretty (formatted from
// pino's record, src/log/console.ts). Needs the test build (npx tsc -p tsconfig.test.json).
//
//   node test/bench/console-formats.mjs [lines] [runs]
import { openSync } from 'node:fs';
import pino from 'pino';
import { createConsoleDestination } from '../../build/src/log/console.js';

const LINES = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const devNull = pino.destination({ fd: openSync('/dev/null', 'w'), sync: true });
const rows = [];
for (const style of ['json', 'journal', 'pretty']) {
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const logger = pino({ base: { pid: process.pid } }, createConsoleDestination({ style, colors: style === 'pretty', sink: devNull }));
    const task = logger.child({ task: 'operation' });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < LINES; i++) task.info({ step: i % 7 }, 'operation1');
    rates.push(LINES / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  rows.push([style, median(rates)]);
}
console.log(`${LINES} lines to /dev/null, median of ${RUNS} runs, Node ${process.version}\n`);
console.log('| console format | lines/s | vs JSON |');
console.log('| --- | ---: | ---: |');
for (const [style, rate] of rows) console.log(`| ${style} | ${Math.round(rate).toLocaleString('en')} | ${((rate / rows[0][1]) * 100).toFixed(0)} % |`);
