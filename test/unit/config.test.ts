import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDuration } from '../../src/config/duration.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import { tempDir } from '../helpers/daemon.js';

const dir = tempDir('asyncdemo-config-');
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `c${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const MINIMAL = 'tasks:\n  a:\n    autostart: true\n    steps:\n      - log: hello\n';

/** The issues a config is refused with; fails the test if it loads. */
function issuesOf(text: string, env: Record<string, string> = {}, ext = 'yaml'): ConfigIssue[] {
  const path = file(text, ext);
  try {
    loadConfig({ file: path, env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.file, path);
    assert.ok(!/\n\s+at /.test(error.message), 'no stack trace in the message');
    return [...error.issues];
  }
  assert.fail('the config loaded');
}

function onlyIssue(text: string, env: Record<string, string> = {}): ConfigIssue {
  const issues = issuesOf(text, env);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0] as ConfigIssue;
}

describe('config', () => {
  it('loads the scenario shape, with defaults for every setting', () => {
    const config = loadConfig({ file: file(MINIMAL), env: {} });
    assert.deepEqual([...config.tasks.keys()], ['a']);
    assert.deepEqual(config.tasks.get('a')?.steps, [{ kind: 'log', message: 'hello', level: 'info' }]);
    assert.equal(config.settings.debug.slowStepMs, 100);
    assert.equal(config.settings.log.level, 'info');
    assert.deepEqual(config.sources.get('debug.enabled'), { from: 'default' });
  });

  it('loads JSON too', () => {
    const config = loadConfig({
      file: file(JSON.stringify({ debug: { enabled: true }, tasks: { a: { autostart: true, steps: [{ sleep: '200ms' }, { log: 'x', level: 'warn' }] } } }), 'json'),
      env: {},
    });
    assert.equal(config.settings.debug.enabled, true);
    assert.deepEqual(config.tasks.get('a')?.steps, [{ kind: 'sleep', ms: 200 }, { kind: 'log', message: 'x', level: 'warn' }]);
  });

  it('reads sleeps as seconds, or with a unit', () => {
    assert.equal(parseDuration(0.2), 200);
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('3s'), 3000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration(30 * 86400), 30 * 86_400_000);
  });

  for (const [what, sleep, reason] of [
    ['a negative sleep', '-1', /must not be negative; got -1/],
    ['a NaN sleep', '.nan', /must be a number of seconds .*; got \.nan$/],
    ['an infinite sleep', '.inf', /^must be finite; got \.inf$/],
    ['a non-numeric sleep', 'soon', /must be a number of seconds .*; got soon$/],
    ['a quoted non-numeric sleep', '"soon"', /must be a number of seconds .*; got "soon"$/],
    ['a sleep with an unknown unit', '3 weeks', /; got 3 weeks$/],
    ['a sleep that is a list', '[1]', /got a list/],
  ] as const) {
    it(`refuses ${what} with its key path and line`, () => {
      const issue = onlyIssue(`tasks:\n  op:\n    autostart: true\n    steps:\n      - log: a\n      - sleep: ${sleep}\n`);
      assert.equal(issue.path, 'tasks.op.steps[1].sleep');
      assert.match(issue.reason, reason);
      assert.equal(issue.line, 6);
    });
  }

  it('refuses unknown keys at every level', () => {
    const issues = issuesOf(`
colour: blue
debug: {enabled: true, verbose: true}
tasks:
  a:
    autostart: true
    repaet: 3
    steps:
      - log: x
        lvl: warn
`);
    assert.deepEqual(
      issues.map((i) => [i.path, i.reason.split(';')[0], i.line]),
      [
        ['colour', 'unknown key', 2],
        ['debug.verbose', 'unknown key', 3],
        ['tasks.a.repaet', 'unknown key', 7],
        ['tasks.a.steps[0].lvl', 'unknown key', 10],
      ],
    );
  });

  it('refuses a step with no kind or with two', () => {
    const issues = issuesOf('tasks:\n  a:\n    autostart: true\n    steps:\n      - {level: warn}\n      - {log: x, sleep: 1}\n');
    assert.deepEqual(
      issues.map((i) => [i.path, i.reason]),
      [
        ['tasks.a.steps[0]', 'a step has exactly one of log, sleep, spawn, cancel, stop, busy, fail, crash; this one has none'],
        ['tasks.a.steps[1]', 'a step has exactly one of log, sleep, spawn, cancel, stop, busy, fail, crash; this one has log and sleep'],
      ],
    );
  });

  it('refuses a spawn or cancel of a task that does not exist', () => {
    const issues = issuesOf('tasks:\n  a:\n    autostart: true\n    steps: [{spawn: b}, {cancel: ghost}]\n  b: {steps: [{log: x}]}\n');
    assert.deepEqual(issues.map((i) => [i.path, i.reason]), [['tasks.a.steps[1].cancel', 'no task named "ghost"; the tasks are a, b']]);
  });

  it('refuses duplicate task names, with the line', () => {
    const issue = onlyIssue('tasks:\n  a: {autostart: true, steps: [{log: x}]}\n  a: {steps: [{log: y}]}\n');
    assert.equal(issue.reason, 'duplicated mapping key');
    assert.equal(issue.line, 3);
  });

  it('refuses duplicate keys in JSON, which JSON.parse would accept', () => {
    const issues = issuesOf('{"tasks": {"a": {"autostart": true, "steps": [{"log": "x"}]}, "a": {"steps": []}}}', {}, 'json');
    assert.equal(issues[0]?.reason, 'duplicated mapping key');
  });

  it('refuses a config with no task, or no tasks key, or nothing at all', () => {
    assert.deepEqual(onlyIssue('tasks: {}\n'), { path: 'tasks', reason: 'must define at least one task', line: 1 });
    assert.equal(onlyIssue('debug: {enabled: true}\n').reason, 'missing: a config needs a tasks mapping with at least one task');
    assert.match(onlyIssue('').reason, /the file is empty/);
  });

  it('refuses a config where nothing would ever run', () => {
    assert.match(onlyIssue('tasks:\n  a: {steps: [{log: x}]}\n').reason, /no task has autostart: true/);
  });

  it('refuses a repeating task without a sleep, which would hold the loop forever', () => {
    const issue = onlyIssue('tasks:\n  a: {autostart: true, repeat: forever, steps: [{log: x}]}\n');
    assert.equal(issue.path, 'tasks.a.repeat');
  });

  it('refuses bad values in settings with the reason', () => {
    const issues = issuesOf(`debug: {slowStepMs: -5}\nlog: {level: loud}\n${MINIMAL}`);
    assert.deepEqual(
      issues.map((i) => [i.path, i.reason, i.line]),
      [
        ['debug.slowStepMs', 'must be a whole number from 1 to 2147483647; got -5', 1],
        ['log.level', 'must be one of trace, debug, info, warn, error, fatal; got loud', 2],
      ],
    );
  });

  it('says which environment variable a bad value came from', () => {
    const issue = onlyIssue(MINIMAL, { ASYNCDEMO_LOG_LEVEL: 'chatty' });
    assert.equal(issue.path, 'log.level');
    assert.equal(issue.env, 'ASYNCDEMO_LOG_LEVEL');
    assert.equal(issue.line, undefined);
  });

  it('lets environment variables override the file, and records where each value came from', () => {
    const config = loadConfig({
      file: file(`log: {level: warn}\ndebug: {slowStepMs: 5}\n${MINIMAL}`),
      env: { ASYNCDEMO_LOG_LEVEL: 'debug', ASYNCDEMO_DEBUG: '0', ASYNCDEMO_LED_PIN: '27' },
    });
    assert.equal(config.settings.log.level, 'debug');
    assert.equal(config.settings.debug.enabled, false, '"0" is false, not a truthy string');
    assert.equal(config.settings.led.pin, 27);
    assert.deepEqual(config.sources.get('log.level'), { from: 'environment', variable: 'ASYNCDEMO_LOG_LEVEL', fileValue: 'warn' });
    assert.deepEqual(config.sources.get('debug.slowStepMs'), { from: 'file' });
    assert.deepEqual(config.sources.get('led.blinkMs'), { from: 'default' });
  });

  it('does not read process.argv behind the CLI', () => {
    const argv = process.argv;
    process.argv = [...argv, '--log.level', 'fatal'];
    try {
      assert.equal(loadConfig({ file: file(MINIMAL), env: {} }).settings.log.level, 'info');
    } finally {
      process.argv = argv;
    }
  });

  it("uses systemd's LOGS_DIRECTORY when the file names no log directory", () => {
    assert.equal(loadConfig({ file: file(MINIMAL), env: { LOGS_DIRECTORY: '/var/log/asyncdemo' } }).settings.log.file.dir, '/var/log/asyncdemo');
    const named = loadConfig({ file: file(`log: {file: {dir: /srv/logs}}\n${MINIMAL}`), env: { LOGS_DIRECTORY: '/var/log/asyncdemo' } });
    assert.equal(named.settings.log.file.dir, '/srv/logs');
  });

  it('refuses a file it cannot read, saying why', () => {
    const refused = (() => {
      try {
        loadConfig({ file: join(dir, 'missing.yaml'), env: {} });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    assert.ok(refused instanceof ConfigError && refused.code === 'CONFIG_INVALID', `a ConfigError, not ${String(refused)}`);
    assert.equal((refused.cause as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
    assert.deepEqual(refused.issues, [{ path: '', reason: 'cannot read the file: ENOENT (no such file or directory)' }]);
  });

  it('refuses an out-of-range LED pin with the valid range', () => {
    assert.deepEqual(onlyIssue(`led: {pin: 40}\n${MINIMAL}`).reason, 'must be a BCM GPIO number from 0 to 27; got 40');
  });
});
