import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine, resolveConfigPath } from '../../src/cli.js';
import { UsageError } from '../../src/errors.js';

describe('command line', () => {
  it('reads the commands', () => {
    assert.deepEqual(parseCommandLine(['run']), { name: 'run', config: undefined });
    assert.deepEqual(parseCommandLine(['run', '--config', 'a.yaml']), { name: 'run', config: 'a.yaml' });
    assert.deepEqual(parseCommandLine(['check-config', 'a.yaml']), { name: 'check-config', config: 'a.yaml' });
    assert.deepEqual(parseCommandLine(['check-config']), { name: 'check-config', config: undefined });
    assert.deepEqual(parseCommandLine(['print-config', '--json']), { name: 'print-config', config: undefined, json: true });
    assert.deepEqual(parseCommandLine(['--version']), { name: 'version' });
    assert.deepEqual(parseCommandLine(['run', '--help']), { name: 'help' });
  });

  for (const argv of [[], ['frobnicate'], ['run', 'extra'], ['run', '--colour'], ['check-config', 'a', 'b'], ['run', '--json'], ['check-config', 'a', '--config', 'b']]) {
    it(`refuses ${JSON.stringify(argv)} as bad usage`, () => {
      assert.throws(() => parseCommandLine(argv), UsageError);
    });
  }

  for (const [argv, message] of [
    [['run', '--bogus'], 'unknown option --bogus; try asyncdemo --help'],
    [['run', '-x'], 'unknown option -x; try asyncdemo --help'],
    [['run', '--config'], '--config needs a file name'],
    [['run', '--config', '--json'], '--config needs a file name, not the option --json (for a file named so, write --config=--json)'],
    [['print-config', '--json=yes'], '--json takes no value'],
  ] as const) {
    it(`says what is wrong with ${JSON.stringify(argv)} in its own words`, () => {
      assert.throws(() => parseCommandLine(argv), (error: Error) => error instanceof UsageError && error.message === message);
    });
  }

  it('takes a file name that starts with a dash when it is written --config=-x', () => {
    assert.deepEqual(parseCommandLine(['run', '--config=-x.yaml']), { name: 'run', config: '-x.yaml' });
  });

  it('finds the config: --config, else ASYNCDEMO_CONFIG, else the shipped default', () => {
    assert.deepEqual(resolveConfigPath('x.yaml', { ASYNCDEMO_CONFIG: 'y.yaml' }, 'd.yaml'), { file: 'x.yaml', why: 'from --config' });
    assert.deepEqual(resolveConfigPath(undefined, { ASYNCDEMO_CONFIG: 'y.yaml' }, 'd.yaml'), { file: 'y.yaml', why: 'from ASYNCDEMO_CONFIG' });
    assert.deepEqual(resolveConfigPath(undefined, {}, 'd.yaml'), { file: 'd.yaml', why: 'the shipped default' });
  });
});
