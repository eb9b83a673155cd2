import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXAMPLES, MAIN, ROOT, runCli, startDaemon } from '../helpers/daemon.js';
import { configFile } from '../helpers/config-file.js';

const BROKEN = `tasks:
  operation:
    autostart: true
    steps:
      - log: start operation
      - spawn: operationsubb
      - sleep: -0.2
`;

describe('asyncdemo check-config', () => {
  it('passes the shipped default and every example', async () => {
    for (const file of [join(ROOT, 'config', 'default.yaml'), ...['scenario1-debug', 'scenario2-sleep', 'scenario3-cancel-stop'].map((n) => join(EXAMPLES, `${n}.yaml`))]) {
      const { code, stdout } = await runCli(['check-config', file]);
      assert.equal(code, 0, file);
      assert.match(stdout, /: OK \(\d+ tasks?; at boot: /);
    }
  });

  it('refuses a broken config with exit 78, the file, each key path and reason, and no stack trace', async () => {
    const path = configFile(BROKEN);
    const { code, stdout, stderr } = await runCli(['check-config', path]);
    assert.equal(code, 78);
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      `asyncdemo: invalid config ${path} (2 problems):\n` +
        `  ${path}:6: tasks.operation.steps[1].spawn: no task named "operationsubb"; the tasks are operation\n` +
        `  ${path}:7: tasks.operation.steps[2].sleep: must not be negative; got -0.2\n`,
    );
  });
});

describe('asyncdemo run with a bad config', () => {
  it('exits 78 at start with the same report, logged as fatal', async () => {
    const path = configFile(BROKEN);
    const daemon = startDaemon(['run', '--config', path]);
    assert.deepEqual(await daemon.waitExit(), { code: 78, signal: null });
    assert.equal(daemon.lines.length, 1);
    const [line] = daemon.lines;
    assert.equal(line?.level, 60);
    assert.deepEqual((line?.['problems'] as { path: string }[] | undefined)?.map((p) => p.path), ['tasks.operation.steps[1].spawn', 'tasks.operation.steps[2].sleep']);
    assert.match(line?.msg ?? '', new RegExp(`not starting: fix the config \\(asyncdemo check-config ${path}\\) and start again$`));
    assert.doesNotMatch(line?.msg ?? '', /\n\s+at /);
    assert.equal(daemon.stderr(), '');
  });

  it('refuses /dev/zero named by $ASYNCDEMO_CONFIG at once, as a device, with exit 78', async () => {
    const { code, stderr } = await runCli(['check-config'], { ASYNCDEMO_CONFIG: '/dev/zero' }, 5000);
    assert.equal(code, 78);
    assert.equal(stderr, 'asyncdemo: invalid config /dev/zero (1 problem):\n  /dev/zero: it is a character device, not a regular file; a config must be a regular file\n');
  });

  it('names the environment variable behind a bad value', async () => {
    const { code, stderr } = await runCli(['check-config', join(EXAMPLES, 'scenario2-sleep.yaml')], { ASYNCDEMO_LOG_LEVEL: 'loud' });
    assert.equal(code, 78);
    assert.match(stderr, /log\.level: must be one of trace, debug, info, warn, error, fatal; got "loud" \(from environment variable ASYNCDEMO_LOG_LEVEL\)/);
  });
});

describe('asyncdemo print-config', () => {
  it('shows every setting with its source, and warns of an environment variable overriding the file', async () => {
    const path = configFile(`log: {level: warn}\n${readFileSync(join(EXAMPLES, 'scenario2-sleep.yaml'), 'utf8')}`);
    const { code, stdout } = await runCli(['print-config', '--config', path], { ASYNCDEMO_LOG_LEVEL: 'debug' });
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^# ${path} \\(from --config\\)`));
    assert.match(stdout, /^log\.level = "debug" +# environment ASYNCDEMO_LOG_LEVEL, overriding "warn" in the file$/m);
    assert.match(stdout, /^debug\.slowStepMs = 100 +# default$/m);
    assert.match(stdout, /^ {2}operation:$/m);
    assert.match(stdout, /- sleep: 200ms/);
  });

  it('--json gives the same as data', async () => {
    const { code, stdout } = await runCli(['print-config', '--json'], { ASYNCDEMO_CONFIG: join(EXAMPLES, 'scenario3-cancel-stop.yaml'), ASYNCDEMO_DEBUG: 'yes' });
    assert.equal(code, 0);
    const data = JSON.parse(stdout) as { settings: { debug: { enabled: boolean } }; sources: Record<string, unknown>; tasks: Record<string, { steps: unknown[] }> };
    assert.equal(data.settings.debug.enabled, true);
    assert.deepEqual(data.sources['debug.enabled'], { from: 'environment', variable: 'ASYNCDEMO_DEBUG' });
    assert.equal(data.tasks['operation']?.steps.length, 9);
  });
});

describe('asyncdemo usage', () => {
  it('--help lists every command; COMMAND --help gives its usage; --version the version, the commit built and the Node.js', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const name of ['run', 'status', 'edit', 'reload', 'check-config', 'print-config', 'doctor']) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
    const run = await runCli(['run', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: asyncdemo run \[--config FILE\]$/m);
    assert.doesNotMatch(run.stdout, /^Commands:/m, 'the command\'s own help, not the list');
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    // The build's version: package.json's, the commit count and short hash, .dirtyTIME for uncommitted changes (scripts/build/version.mjs).
    const head = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
    if (head.status === 0) {
      const sha = head.stdout.trim();
      const count = spawnSync('git', ['-C', ROOT, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
      assert.match(version.stdout, new RegExp(`^asyncdemo ${pkg.version.replaceAll('.', '\\.')}\\+${count}\\.g${sha.slice(0, 7)}(\\.dirty\\d{14})? \\(commit ${sha}, Node\\.js ${process.version.replaceAll('.', '\\.')}\\)\\n$`));
    } else {
      assert.match(version.stdout, new RegExp(`^asyncdemo ${pkg.version.replaceAll('.', '\\.')} \\(commit unknown, Node\\.js ${process.version.replaceAll('.', '\\.')}\\)\\n$`));
    }
  });

  it('bad usage exits 64 with one line', async () => {
    const { code, stderr } = await runCli(['frobnicate']);
    assert.equal(code, 64);
    assert.equal(stderr, 'asyncdemo: unknown command "frobnicate"; try asyncdemo --help\n');
  });

  it('an unknown option exits 64 with one line of our own, not Node\'s parser text', async () => {
    const { code, stderr } = await runCli(['run', '--bogus']);
    assert.equal(code, 64);
    assert.equal(stderr, 'asyncdemo: unknown option --bogus for run; try asyncdemo run --help\n');
  });
});

/** Runs the CLI through a shell that applies `redirect` (`>/dev/full`, `2>&-`…); its exit code, and stderr when not redirected. */
function runRedirected(args: string[], redirect: string): { code: number | null; stderr: string } {
  const result = spawnSync('sh', ['-c', `exec "$@" ${redirect}`, 'sh', process.execPath, MAIN, ...args], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: result.status, stderr: result.stderr };
}

describe('asyncdemo output that cannot be written', () => {
  it('print-config into a full stdout exits 1 with one line saying why, not a stack', () => {
    const { code, stderr } = runRedirected(['print-config', '--config', join(EXAMPLES, 'scenario2-sleep.yaml')], '>/dev/full');
    assert.equal(code, 1);
    assert.equal(stderr, 'asyncdemo: cannot write to stdout: ENOSPC\n');
  });

  it('check-config keeps its verdict when stderr cannot take the reasons: 78 for a bad config, into a full or a closed stderr', () => {
    const path = configFile(BROKEN);
    assert.equal(runRedirected(['check-config', path], '2>/dev/full').code, 78);
    assert.equal(runRedirected(['check-config', path], '2>&-').code, 78);
  });

  it('check-config keeps its verdict when stdout is full: 0 for a good config', () => {
    assert.equal(runRedirected(['check-config', join(EXAMPLES, 'scenario2-sleep.yaml')], '>/dev/full').code, 0);
  });
});
