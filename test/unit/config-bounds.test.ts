import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { editDistance, nearest, unknownKeyReason } from '../../src/config/keys.js';
import { fallbackLogSettings, loadConfig } from '../../src/config/load.js';
import { CONFIG_MAX_BYTES, readConfigFile } from '../../src/config/read.js';
import { APPLIED_AT_RELOAD, NEED_RESTART, settingsNeedingRestart } from '../../src/config/restart.js';
import { FORMATS, schemaKeys } from '../../src/config/schema.js';
import { MAX_TIMER_DELAY_MS } from '../../src/time.js';
import { MAX_EXPANDED_NODES, parseConfigText } from '../../src/config/yaml.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import { tempDir } from '../helpers/daemon.js';

const dir = tempDir('asyncdemo-config-bounds-');
let n = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, content);
  return path;
}

const MINIMAL = 'tasks:\n  a:\n    autostart: true\n    steps:\n      - log: hello\n';

function refusal(content: string | Buffer, env: Record<string, string> = {}): ConfigError {
  try {
    loadConfig({ file: file(content), env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    return error;
  }
  assert.fail('the config loaded');
}

function issues(content: string, env: Record<string, string> = {}): [string, string, number | undefined][] {
  return refusal(content, env).issues.map((i: ConfigIssue) => [i.path, i.reason, i.line]);
}

describe('config reading: only a regular UTF-8 file, bounded', () => {
  it('reads a file whose size the kernel reports as 0, to its end (the bytes read decide, not the stat)', () => {
    // /proc files are regular files of size 0 with content.
    assert.match(readConfigFile('/proc/self/status'), /^Name:/);
  });

  it('refuses a FIFO at once, though no writer ever comes', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readConfigFile(fifo), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && e.issues[0]?.path === '' && /^it is a FIFO/.test(e.issues[0].reason));
  });

  it('accepts a file of exactly the size limit, and refuses one byte more', () => {
    const fits = `${MINIMAL}#${'x'.repeat(CONFIG_MAX_BYTES - MINIMAL.length - 2)}\n`;
    assert.equal(Buffer.byteLength(fits), CONFIG_MAX_BYTES);
    assert.equal(loadConfig({ file: file(fits), env: {} }).tasks.size, 1);
    assert.match(refusal(`${fits} `).issues[0]?.reason ?? '', /too big/);
  });

  it('drops a UTF-8 byte order mark', () => {
    assert.equal(loadConfig({ file: file(`\uFEFF${MINIMAL}`), env: {} }).tasks.size, 1);
  });

  it('names the line of the first byte that is not UTF-8, past a U+FFFD that the file really holds', () => {
    const text = Buffer.concat([Buffer.from(`# \uFFFD is fine\n${MINIMAL}`), Buffer.from([0x23, 0x20, 0xc3, 0x28, 0x0a])]);
    const [issue] = refusal(text).issues;
    assert.equal(issue?.line, 7);
    assert.match(issue?.reason ?? '', /not UTF-8: byte 0xc3 is not valid UTF-8/);
  });

  it('says a UTF-32 file is UTF-32 (its mark starts like UTF-16 little-endian)', () => {
    assert.match(refusal(Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0])).issues[0]?.reason ?? '', /UTF-32 \(little-endian\)/);
  });
});

describe('config parsing: bounded, and lines that exist', () => {
  it('accepts aliases that expand moderately: tasks sharing their steps', () => {
    const rest = Array.from({ length: 200 }, (_, i) => `  t${i + 1}: {autostart: true, steps: *steps}`).join('\n');
    const config = loadConfig({ file: file(`tasks:\n  t0: {autostart: true, steps: &steps [{log: a}, {sleep: 1s}]}\n${rest}\n`), env: {} });
    assert.equal(config.tasks.size, 201);
    assert.deepEqual(config.tasks.get('t200')?.steps, [{ kind: 'log', message: 'a', level: 'info' }, { kind: 'sleep', ms: 1000 }]);
  });

  it(`refuses aliases that expand past ${MAX_EXPANDED_NODES} nodes, at the alias that crosses it`, () => {
    // a: 1,000 nodes; b: 1,000 aliases of it = 1,000,001 nodes once expanded.
    const a = `a: &a [${Array(999).fill('1').join(',')}]`;
    const b = `b: [${Array(1000).fill('*a').join(',')}]`;
    assert.throws(
      () => parseConfigText(`${a}\n${b}\n`, 'x.yaml'),
      (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && e.issues[0]?.line === 2 && /expand the document past 1,000,000 nodes/.test(e.issues[0].reason),
    );
    assert.doesNotThrow(() => parseConfigText(`${a}\nb: [${Array(998).fill('*a').join(',')}]\n`, 'x.yaml'));
  });

  it('blames the last line with text for an error at the end, never a line past it', () => {
    const [issue] = refusal('tasks:\n  a: {autostart: true\n\n\n').issues;
    assert.equal(issue?.line, 2);
    assert.match(issue?.reason ?? '', /^unexpected end of the stream within a flow collection, at the end of the file$/);
  });

  it('gives an empty second document the line of its ---', () => {
    assert.deepEqual(issues(`${MINIMAL}---\n`), [['', 'a config is one YAML document; a second one starts here (remove the --- line, or the rest)', 6]]);
  });

  it('describes a refused value as written: plain, quoted, tagged, an alias, a block, nothing', () => {
    const got = (value: string): string => {
      const [issue] = refusal(`x: &x [1]\ntasks:\n  a:\n    autostart: true\n    repeat: ${value}\n    steps: [{log: a}, {sleep: 1}]\n`).issues.filter((i) => i.path === 'tasks.a.repeat');
      return issue?.reason.replace(/^.*; got /, '') ?? 'no issue';
    };
    assert.equal(got('.inf'), '.inf');
    assert.equal(got('0.5'), '0.5');
    assert.equal(got('"often"'), '"often"');
    assert.equal(got("'often'"), "'often'");
    assert.equal(got('!!str 5'), '!!str 5');
    assert.equal(got('*x'), '*x');
    assert.equal(got('|\n      three\n      times'), 'a block of text');
    assert.equal(got(`${'y'.repeat(100)}`), `${'y'.repeat(40)}…`);
    assert.deepEqual(issues('tasks:\n  a:\n    autostart: true\n    steps:\n'), [['tasks.a.steps', 'must be a non-empty list of steps; got nothing', 4]]);
  });

  it('names the line of a key with a dot in it, and of __proto__, and quotes them in the path', () => {
    assert.deepEqual(
      issues(`${MINIMAL}log:\n  "file.size": 1k\n  __proto__: {}\n`).map(([path, , line]) => [path, line]),
      [
        ['log."file.size"', 7],
        ['log."__proto__"', 8],
      ],
    );
  });

  it('reports a file full of problems by its first 25, and counts the rest', () => {
    const error = refusal(`${Array.from({ length: 100 }, (_, i) => `k${i}: 1`).join('\n')}\n${MINIMAL}`);
    assert.equal(error.issues.length, 25);
    assert.equal(error.more, 75);
    assert.match(error.message, /^invalid config .* \(100 problems\):\n/);
    assert.match(error.message, /\n {2}… and 75 more problems$/);
  });
});

describe('settings: every value checked, every number bounded', () => {
  it('gives every number in the schema a lower and an upper bound', () => {
    for (const { key, format } of schemaKeys()) {
      const { check, coerce } = FORMATS[format] as { check: (v: unknown) => boolean; coerce?: (t: string) => unknown };
      assert.equal(check(-1), false, `${key} refuses -1`);
      assert.equal(check(Number.MAX_SAFE_INTEGER), false, `${key} refuses 2^53-1`);
      assert.equal(check(Infinity), false, `${key} refuses Infinity`);
      if (coerce !== undefined) assert.equal(check(coerce('')), false, `${key} refuses ""`);
      if (/Ms$/.test(key)) assert.equal(check(MAX_TIMER_DELAY_MS + 1), false, `${key}: a timer takes at most ${MAX_TIMER_DELAY_MS} ms`);
    }
  });

  it('refuses a log size that would never rotate or rotate on every line', () => {
    const [tooSmall] = issues(`log: {file: {size: 0k}}\n${MINIMAL}`);
    assert.equal(tooSmall?.[0], 'log.file.size');
    assert.match(tooSmall?.[1] ?? '', /from 1k to 1024g; got 0k/);
    assert.deepEqual(issues(`log: {file: {size: 1025g}}\n${MINIMAL}`).map(([path]) => path), ['log.file.size']);
    assert.equal(loadConfig({ file: file(`log: {file: {size: 1k}}\n${MINIMAL}`), env: {} }).settings.log.file.size, '1k');
  });

  it('refuses every empty environment variable', () => {
    for (const { key, env: variable } of schemaKeys()) {
      if (variable === undefined) continue;
      const [issue] = refusal(MINIMAL, { [variable]: '' }).issues;
      assert.equal(issue?.path, key);
      assert.equal(issue?.env, variable);
      assert.equal(issue?.reason, 'is empty; give it a value, or unset the variable');
    }
  });

  it('describes a bad environment value as its text', () => {
    assert.deepEqual(refusal(MINIMAL, { ASYNCDEMO_LED_PIN: 'abc' }).issues, [
      { path: 'led.pin', reason: 'must be a BCM GPIO number from 0 to 27; got "abc"', env: 'ASYNCDEMO_LED_PIN' },
    ]);
    assert.match(refusal(MINIMAL, { ASYNCDEMO_LED_PIN: '0x1f' }).issues[0]?.reason ?? '', /got "0x1f"/);
  });

  it('still reads yes/no in the file and 1/0 in the environment as booleans', () => {
    const config = loadConfig({ file: file(`debug: {enabled: yes}\nled: {activeLow: "off"}\n${MINIMAL}`), env: { ASYNCDEMO_LED_ENABLED: '1' } });
    assert.equal(config.settings.debug.enabled, true);
    assert.equal(config.settings.led.activeLow, false);
    assert.equal(config.settings.led.enabled, true);
  });

  it('refuses a repeating task whose sleeps add up to less than 1ms per round', () => {
    const [tooBusy] = issues('tasks:\n  a: {autostart: true, repeat: 3, steps: [{sleep: 0}, {sleep: 0.0005}]}\n');
    assert.equal(tooBusy?.[0], 'tasks.a.repeat');
    assert.match(tooBusy?.[1] ?? '', /must sleep at least 1ms per round in all.*add up to 0\.5ms$/);
    assert.equal(loadConfig({ file: file('tasks:\n  a: {autostart: true, repeat: forever, steps: [{sleep: 0}, {sleep: 1ms}]}\n'), env: {} }).tasks.size, 1);
  });

  it('suggests the task a spawn misspells, and refuses a task name too long to log', () => {
    assert.match(issues('tasks:\n  worker: {steps: [{log: a}]}\n  a: {autostart: true, steps: [{spawn: wokrer}]}\n')[0]?.[1] ?? '', /^no task named "wokrer"; did you mean worker\?$/);
    assert.deepEqual(
      issues(`tasks:\n  a${'b'.repeat(64)}: {autostart: true, steps: [{log: a}]}\n`).map(([path]) => path),
      [`tasks.a${'b'.repeat(39)}…`],
      'the name refused, shortened in the path',
    );
  });

  it("logs a refused config's error with the file's own log settings, without reading the file again", () => {
    const path = file(`log: {level: warn}\ntasks: {}\n`);
    let refused: ConfigError | undefined;
    try {
      loadConfig({ file: path, env: {} });
    } catch (error) {
      refused = error as ConfigError;
    }
    writeFileSync(path, 'log: {level: error}\n');
    assert.equal(fallbackLogSettings({ file: path, env: {} }, refused).level, 'warn');
  });
});

describe('reload: which settings need a restart', () => {
  it('puts every setting in exactly one of: applied at reload, needs a restart', () => {
    const keys = schemaKeys().map((k) => k.key);
    assert.deepEqual([...APPLIED_AT_RELOAD, ...NEED_RESTART].sort(), [...keys].sort());
  });

  it('names the changed settings that a reload cannot apply, against the settings the daemon started with', () => {
    const start = loadConfig({ file: file(MINIMAL), env: {} }).settings;
    const next = loadConfig({ file: file(`log: {level: debug, console: {format: json}, file: {dir: /srv/x, keep: 2}}\nled: {pin: 4}\n${MINIMAL}`), env: {} }).settings;
    assert.deepEqual(settingsNeedingRestart(start, next), ['log.console.format', 'log.file.dir', 'log.file.keep']);
    assert.deepEqual(settingsNeedingRestart(start, start), []);
  });
});

describe('keys: the nearest known one', () => {
  it('counts a swap of two neighbours as one edit', () => {
    assert.equal(editDistance('repaet', 'repeat'), 1);
    assert.equal(editDistance('levl', 'level'), 1);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('suggests only what is close', () => {
    assert.equal(nearest('taks', ['tasks', 'debug', 'log']), 'tasks');
    assert.equal(nearest('colour', ['tasks', 'debug', 'log', 'led', 'shutdown']), undefined);
    assert.equal(nearest('x'.repeat(1000), ['log']), undefined);
  });

  it('finds a key put under the wrong section', () => {
    assert.equal(unknownKeyReason({ key: 'level', parent: 'debug', here: ['enabled', 'slowStepMs'], everywhere: ['debug', 'log', 'log.level'] }), 'unknown key; did you mean log.level?');
  });
});
