/**
 * Hostile and clumsy configs (issue 12), each through `check-config`, `run`
 * and a SIGHUP reload of a running daemon. Every case asserts the exit code,
 * the problem as reported (file, line, key, reason), that no stack trace is
 * shown, and the child's own CPU time and peak memory; a reload case also
 * asserts that the old config keeps running after the refusal.
 *
 * Time is bounded by the child's CPU time (reported from inside it by
 * report-usage.cjs), which a loaded machine does not inflate the way it does
 * wall time; each wait also has a wall-clock bound of a few seconds. The
 * alias bomb this catches took 9 s of CPU and 1.4 GB before.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MAX_REPORTED_ISSUES } from '../../src/config/issues.js';
import { CONFIG_MAX_BYTES } from '../../src/config/read.js';
import { MAX_DEPTH } from '../../src/config/yaml.js';
import { ROOT, startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';

const CORPUS = join(ROOT, 'test', 'fixtures', 'config-corpus');
const REPORT_USAGE = join(CORPUS, 'report-usage.cjs');

/** The issue's bounds for refusing any of these: under a second (of CPU) and 100 MB (peak RSS). */
const MAX_CPU_MS = 1000;
const MAX_RSS_MIB = 100;
/** Wall-clock bound of each wait: generous for a loaded 2-core machine, far below what a hang or the bomb takes. */
const WALL_MS = 5000;

/** What every fixture wraps or replaces, and what a reload case starts from: a task that ticks every 50 ms. */
const GOOD = 'tasks:\n  tick:\n    autostart: true\n    repeat: forever\n    steps:\n      - log: tick\n      - sleep: 50ms\n';

/** One problem the report must hold: the line it names (undefined: the file as a whole), and what it says after `file:line: `. */
type Problem = readonly [line: number | undefined, says: RegExp];

interface Case {
  readonly name: string;
  /** Puts the hostile config at `path`: a file, a link to a device, a FIFO, a directory. */
  readonly make: (path: string) => void;
  readonly problems: readonly Problem[];
  /** Set for environment variables: they cannot change under a running daemon, so there is no reload case. */
  readonly env?: Readonly<Record<string, string>>;
}

const fixture =
  (name: string) =>
  (path: string): void =>
    copyFileSync(join(CORPUS, name), path);
const text =
  (make: () => string) =>
  (path: string): void =>
    writeFileSync(path, make());
const linkTo =
  (target: string) =>
  (path: string): void =>
    symlinkSync(target, path);

/** `k0: 1`, `k1: 1`… then the good tasks, up to the size limit: a problem on every line but the last few. */
const UNKNOWN_KEYS = ((): { text: string; count: number } => {
  const lines: string[] = [];
  let size = GOOD.length;
  for (let i = 0; ; i++) {
    const line = `k${i}: 1\n`;
    if (size + line.length > CONFIG_MAX_BYTES) break;
    lines.push(line);
    size += line.length;
  }
  return { text: `${lines.join('')}${GOOD}`, count: lines.length };
})();

const CASES: readonly Case[] = [
  // Not regular files: refused from a stat, before anything is read or waited for.
  { name: 'a FIFO', make: (path) => execFileSync('mkfifo', [path]), problems: [[undefined, /^it is a FIFO \(named pipe\), not a regular file; a config must be a regular file$/]] },
  { name: 'a link to /dev/zero', make: linkTo('/dev/zero'), problems: [[undefined, /^it is a character device, not a regular file/]] },
  { name: 'a link to /dev/urandom', make: linkTo('/dev/urandom'), problems: [[undefined, /^it is a character device, not a regular file/]] },
  { name: 'a directory', make: (path) => mkdirSync(path), problems: [[undefined, /^it is a directory, not a regular file/]] },
  // Too big: refused from the size, before a byte is read (sparse: it costs the test no disk).
  {
    name: 'a 50 MB file',
    make: (path) => {
      writeFileSync(path, GOOD);
      truncateSync(path, 50 * 1024 * 1024);
    },
    problems: [[undefined, new RegExp(`^the file is too big \\(52428800 bytes\\); a config may be at most ${CONFIG_MAX_BYTES / 1024} KiB \\(${CONFIG_MAX_BYTES} bytes\\)$`)]],
  },
  {
    name: 'a file one byte over the size limit',
    make: text(() => `${GOOD}#${'x'.repeat(CONFIG_MAX_BYTES - GOOD.length - 1)}\n`),
    problems: [[undefined, new RegExp(`^the file is too big \\(${CONFIG_MAX_BYTES + 1} bytes\\)`)]],
  },
  // Within the size limit, costly to parse.
  { name: 'an alias bomb (nine levels of nine aliases)', make: fixture('alias-bomb.yaml'), problems: [[7, /^the aliases here expand the document past 1,000,000 nodes/]] },
  {
    name: 'nesting as deep as the size limit allows',
    make: text(() => `tasks: ${'['.repeat(CONFIG_MAX_BYTES - 10)}\n`),
    problems: [[1, new RegExp(`^nesting exceeded maxDepth \\(${MAX_DEPTH}\\)$`)]],
  },
  {
    name: 'a list of numbers as long as the size limit allows',
    make: text(() => `tasks: [${'1,'.repeat((CONFIG_MAX_BYTES - 20) / 2)}1]\n`),
    problems: [[1, /^tasks: must be a mapping of task names to tasks; got a list$/]],
  },
  {
    name: 'an unknown key on every line up to the size limit',
    make: text(() => UNKNOWN_KEYS.text),
    problems: [
      [1, /^k0: unknown key; the top level has tasks, debug, log, led, shutdown$/],
      [undefined, new RegExp(`^… and ${UNKNOWN_KEYS.count - MAX_REPORTED_ISSUES} more problems$`)],
    ],
  },
  // Keys that used to be ignored silently, or refused without a line.
  {
    name: 'a dotted key at the top level',
    make: fixture('dotted-top-level.yaml'),
    problems: [[1, /^"log\.level": unknown key; a dotted name is not a path: write log\.level nested, as log: \{level: …\}$/]],
  },
  {
    name: 'a dotted key in a section',
    make: fixture('dotted-nested.yaml'),
    problems: [[1, /^log\."file\.size": unknown key; a dotted name is not a path: write log\.file\.size nested, as log: \{file: \{size: …\}\}$/]],
  },
  {
    name: '__proto__ at the top level, under log and under log.file',
    make: fixture('proto-keys.yaml'),
    problems: [
      [1, /^"__proto__": unknown key; the top level has tasks, debug, log, led, shutdown$/],
      [3, /^log\."__proto__": unknown key; log has level, console, file$/],
      [5, /^log\.file\."__proto__": unknown key; log\.file has enabled, dir, level, size, frequency, keep$/],
    ],
  },
  { name: 'a misspelt setting', make: fixture('typo-key.yaml'), problems: [[2, /^log\.levl: unknown key; did you mean log\.level\?$/]] },
  // Values described as written, and ranges the code can honour.
  { name: 'repeat: .inf', make: fixture('repeat-inf.yaml'), problems: [[4, /^tasks\.tick\.repeat: must be a whole number of times \(1 or more\) or "forever"; got \.inf$/]] },
  {
    name: 'sleep: 0 in a task that repeats forever',
    make: fixture('sleep-zero-forever.yaml'),
    problems: [[4, /^tasks\.tick\.repeat: a task that repeats must sleep at least 1ms per round in all, or it keeps a core busy; its sleeps add up to 0ms$/]],
  },
  {
    name: 'shutdown.timeoutMs past the longest timer',
    make: fixture('timeout-overflow.yaml'),
    problems: [[2, /^shutdown\.timeoutMs: must be a whole number from 1 to 2147483647; got 2147483648$/]],
  },
  // Syntax and encoding: the right line, never past the end of the file.
  {
    name: 'a one-line file missing its closing brace',
    make: fixture('unclosed-brace.yaml'),
    problems: [[1, /^unexpected end of the stream within a flow collection, at the end of the file$/]],
  },
  { name: 'a second document', make: fixture('second-document.yaml'), problems: [[9, /^a config is one YAML document; a second one starts here/]] },
  { name: 'UTF-16 (little-endian, with a byte order mark)', make: fixture('utf16le-bom.yaml'), problems: [[undefined, /^the file's encoding is UTF-16 \(little-endian\), not UTF-8; save it as UTF-8/]] },
  { name: 'UTF-16 (big-endian, with a byte order mark)', make: fixture('utf16be-bom.yaml'), problems: [[undefined, /^the file's encoding is UTF-16 \(big-endian\), not UTF-8/]] },
  { name: 'UTF-16 without a byte order mark', make: fixture('utf16le-no-bom.yaml'), problems: [[1, /^the file holds a NUL byte: it is binary, or UTF-16 without a byte order mark, not UTF-8 text/]] },
  { name: 'Latin-1 text', make: fixture('latin1.yaml'), problems: [[6, /^the file's encoding is not UTF-8: byte 0xe9 is not valid UTF-8/]] },
  // The environment.
  {
    name: 'ASYNCDEMO_LED_PIN=abc',
    make: text(() => GOOD),
    env: { ASYNCDEMO_LED_PIN: 'abc' },
    problems: [[undefined, /^led\.pin: must be a BCM GPIO number from 0 to 27; got "abc" \(from environment variable ASYNCDEMO_LED_PIN\)$/]],
  },
  {
    name: 'an empty ASYNCDEMO_LED_PIN',
    make: text(() => GOOD),
    env: { ASYNCDEMO_LED_PIN: '' },
    problems: [[undefined, /^led\.pin: is empty; give it a value, or unset the variable \(from environment variable ASYNCDEMO_LED_PIN\)$/]],
  },
  {
    name: 'ASYNCDEMO_SHUTDOWN_TIMEOUT_MS past the longest timer',
    make: text(() => GOOD),
    env: { ASYNCDEMO_SHUTDOWN_TIMEOUT_MS: '99999999999' },
    problems: [[undefined, /^shutdown\.timeoutMs: must be a whole number from 1 to 2147483647; got "99999999999" \(from environment variable ASYNCDEMO_SHUTDOWN_TIMEOUT_MS\)$/]],
  },
];

/** A problem as a log line's `problems` field has it (the console line has them all on one line). */
interface LoggedProblem {
  readonly path: string;
  readonly reason: string;
  readonly line?: number;
  readonly env?: string;
}

/** Asserts that a log line (its one-line message, and its `problems` for the files) names each problem of `c` for `file`. */
function assertLoggedReport(record: { msg: string; problems?: unknown }, file: string, c: Case): void {
  assert.ok(record.msg.includes(`invalid config ${file} (`), `the line names the file:\n${record.msg}`);
  assert.doesNotMatch(record.msg, /\n/, 'one line');
  const problems = (record.problems ?? []) as LoggedProblem[];
  for (const [line, says] of c.problems) {
    if (says.source.startsWith('^… and')) continue;
    const found = problems.some((p) => p.line === line && says.test(`${p.path === '' ? '' : `${p.path}: `}${p.reason}${p.env === undefined ? '' : ` (from environment variable ${p.env})`}`));
    assert.ok(found, `a problem at line ${line} matching ${says}; the problems: ${JSON.stringify(problems)}`);
  }
}

/** Asserts that `report` (a ConfigError's message, as check-config prints it) names each problem of `c` for `file`, and shows no stack. */
function assertReport(report: string, file: string, c: Case): void {
  assert.doesNotMatch(report, /\n\s+at /, 'no stack trace');
  assert.ok(report.includes(`invalid config ${file} (`), `the report names the file:\n${report}`);
  const lines = report.split('\n');
  for (const [line, says] of c.problems) {
    const prefix = line === undefined ? `  ${file}: ` : `  ${file}:${line}: `;
    const found = says.source.startsWith('^… and') ? lines.some((l) => says.test(l.trim())) : lines.some((l) => l.startsWith(prefix) && says.test(l.slice(prefix.length)));
    assert.ok(found, `a problem line ${JSON.stringify(prefix)} matching ${says}; the report:\n${report}`);
  }
}

/** Asserts the child's own CPU time and peak memory, as report-usage.cjs wrote them at its exit. */
function assertBounded(t: TestContext, usageFile: string, what: string): void {
  let usage: { maxRssKiB: number; cpuMs: number };
  try {
    usage = JSON.parse(readFileSync(usageFile, 'utf8')) as typeof usage;
  } catch (error) {
    assert.fail(`${what}: no usage figures (did it exit normally?): ${(error as Error).message}`);
  }
  const rssMiB = usage.maxRssKiB / 1024;
  t.diagnostic(`${what}: ${usage.cpuMs.toFixed(0)} ms CPU, peak RSS ${rssMiB.toFixed(1)} MiB`);
  assert.ok(usage.cpuMs < MAX_CPU_MS, `${what}: ${usage.cpuMs.toFixed(0)} ms of CPU (bound ${MAX_CPU_MS} ms)`);
  assert.ok(rssMiB < MAX_RSS_MIB, `${what}: peak RSS ${rssMiB.toFixed(1)} MiB (bound ${MAX_RSS_MIB} MiB)`);
}

/** A fresh directory with the case's config at `config.yaml`, and where the child reports its usage. */
function setUp(c: Case): { path: string; usageFile: string; env: Record<string, string> } {
  const dir = tempDir('asyncdemo-corpus-');
  const path = join(dir, 'config.yaml');
  c.make(path);
  const usageFile = join(dir, 'usage.json');
  return { path, usageFile, env: { ...c.env, ASYNCDEMO_TEST_USAGE_FILE: usageFile } };
}

function start(args: string[], env: Record<string, string>): RunningDaemon {
  return startDaemon(args, env, { nodeArgs: ['--require', REPORT_USAGE] });
}

describe('hostile configs: check-config', () => {
  for (const c of CASES) {
    it(`refuses ${c.name} with exit 78, the reason and line, within the time and memory bounds`, async (t) => {
      const { path, usageFile, env } = setUp(c);
      const cli = start(['check-config', path], env);
      assert.deepEqual(await cli.waitExit(WALL_MS), { code: 78, signal: null });
      assert.deepEqual(cli.stray, [], 'nothing on stdout');
      assert.ok(cli.stderr().startsWith(`asyncdemo: invalid config ${path} (`), cli.stderr());
      assertReport(cli.stderr(), path, c);
      assertBounded(t, usageFile, 'check-config');
    });
  }
});

describe('hostile configs: run', () => {
  for (const c of CASES) {
    it(`does not start on ${c.name}: exit 78, the reason logged as fatal, within the time and memory bounds`, async (t) => {
      const { path, usageFile, env } = setUp(c);
      const daemon = start(['run', '--config', path], env);
      assert.deepEqual(await daemon.waitExit(WALL_MS), { code: 78, signal: null });
      const fatal = daemon.lines.find((l) => l.level === 60);
      assert.ok(fatal !== undefined, `a fatal line; got ${daemon.texts().join('\n')}`);
      assertLoggedReport(fatal, path, c);
      assert.match(fatal.msg, /not starting: fix the config/);
      assert.equal(daemon.stderr(), '');
      assertBounded(t, usageFile, 'run');
    });
  }
});

describe('hostile configs: SIGHUP reload of a running daemon', () => {
  for (const c of CASES.filter((x) => x.env === undefined)) {
    it(`refuses ${c.name} and keeps the old config running, within the time and memory bounds`, async (t) => {
      const dir = tempDir('asyncdemo-corpus-');
      const path = join(dir, 'config.yaml');
      const usageFile = join(dir, 'usage.json');
      writeFileSync(path, GOOD);
      const daemon = start(['run', '--config', path], { ASYNCDEMO_TEST_USAGE_FILE: usageFile });
      try {
        await daemon.waitFor((l) => l.msg === 'tick', WALL_MS, 'a tick of the old config');
        rmSync(path, { recursive: true, force: true });
        c.make(path);
        daemon.child.kill('SIGHUP');
        const refused = await daemon.waitFor((l) => l.msg.startsWith('reload refused, the running config stays: '), WALL_MS, 'the refusal');
        assertLoggedReport(refused, path, c);
        const at = daemon.lines.indexOf(refused);
        await daemon.waitFor((l) => l.msg === 'tick' && daemon.lines.indexOf(l) > at, WALL_MS, 'a tick of the old config after the refused reload');
        daemon.child.kill('SIGTERM');
        assert.deepEqual(await daemon.waitExit(WALL_MS), { code: 0, signal: null });
      } finally {
        // A failed assertion must not leave the daemon running (and the test file waiting for it).
        if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
      }
      assertBounded(t, usageFile, 'the daemon, start to stop');
    });
  }
});
