import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine, type Request } from '../../src/cli.js';
import { COMMANDS } from '../../src/commands/index.js';
import { chooseConfig, runConfig } from '../../src/commands/where.js';
import type { ServiceView } from '../../src/service-view.js';

/** The request as names and values, to compare. */
function read(argv: readonly string[]): unknown {
  const request: Request = parseCommandLine(argv, COMMANDS);
  switch (request.kind) {
    case 'run':
      return { command: request.command.name, values: { ...request.invocation.values }, operands: request.invocation.operands };
    case 'help':
      return { help: request.command?.name ?? 'all' };
    case 'version':
      return { version: true };
  }
}

describe('command line', () => {
  it('reads each command with its options and operands', () => {
    assert.deepEqual(read(['run']), { command: 'run', values: {}, operands: [] });
    assert.deepEqual(read(['run', '--config', 'a.yaml']), { command: 'run', values: { config: 'a.yaml' }, operands: [] });
    assert.deepEqual(read(['--config', 'a.yaml', 'run']), { command: 'run', values: { config: 'a.yaml' }, operands: [] });
    assert.deepEqual(read(['check-config', 'a.yaml']), { command: 'check-config', values: {}, operands: ['a.yaml'] });
    assert.deepEqual(read(['print-config', '--json', '--checkout']), { command: 'print-config', values: { json: true, checkout: true }, operands: [] });
    assert.deepEqual(read(['status', '--tasks']), { command: 'status', values: { tasks: true }, operands: [] });
    assert.deepEqual(read(['reload', '--pid', '42']), { command: 'reload', values: { pid: '42' }, operands: [] });
    assert.deepEqual(read(['--version']), { version: true });
    assert.deepEqual(read(['--help']), { help: 'all' });
    assert.deepEqual(read(['status', '--help']), { help: 'status' });
    assert.deepEqual(read(['help', 'edit']), { command: 'help', values: {}, operands: ['edit'] });
  });

  for (const argv of [[], ['frobnicate'], ['run', 'extra'], ['run', '--colour'], ['check-config', 'a', 'b'], ['run', '--json'], ['run', '--checkout'], ['check-config', '--checkout'], ['status', '--config', 'x']]) {
    it(`refuses ${JSON.stringify(argv)} as bad usage`, () => {
      assert.throws(() => parseCommandLine(argv, COMMANDS), { code: 'USAGE' });
    });
  }

  for (const [argv, message] of [
    [['run', '--bogus'], 'unknown option --bogus for run; try asyncdemo run --help'],
    [['run', '-x'], 'unknown option -x for run; try asyncdemo run --help'],
    [['run', '--config'], '--config needs a file'],
    [['run', '--config', '--json'], '--config needs a file, not the option --json (for a value that starts so, write --config=--json)'],
    [['print-config', '--json=yes'], '--json takes no value'],
    [['frobnicate', '--help'], 'unknown command "frobnicate"; try asyncdemo --help'],
  ] as const) {
    it(`says what is wrong with ${JSON.stringify(argv)} in its own words`, () => {
      assert.throws(() => parseCommandLine(argv, COMMANDS), { code: 'USAGE', message });
    });
  }

  it('takes a file name that starts with a dash when it is written --config=-x', () => {
    assert.deepEqual(read(['run', '--config=-x.yaml']), { command: 'run', values: { config: '-x.yaml' }, operands: [] });
  });
});

const APP = { root: '/app', shippedConfig: '/app/config/default.yaml', version: '1', commit: 'c', codeCacheDir: undefined, bindingFix: 'fix' };
const SERVICE: ServiceView = {
  unitFile: '/lib/systemd/system/asyncdemo.service',
  configFile: '/etc/asyncdemo/config.yaml',
  env: { ASYNCDEMO_LOG_LEVEL: 'debug' },
  origins: new Map(),
  workingDirectory: undefined,
  user: 'asyncdemo',
  readFrom: 'the unit files',
};

describe('which config a command means', () => {
  it('run: --config, else ASYNCDEMO_CONFIG, else the shipped default (never the service\'s)', () => {
    assert.deepEqual(runConfig('x.yaml', { ASYNCDEMO_CONFIG: 'y.yaml' }, APP), { file: 'x.yaml', why: 'from --config' });
    assert.deepEqual(runConfig(undefined, { ASYNCDEMO_CONFIG: 'y.yaml' }, APP), { file: 'y.yaml', why: 'from ASYNCDEMO_CONFIG' });
    assert.deepEqual(runConfig(undefined, {}, APP), { file: APP.shippedConfig, why: 'the shipped default' });
  });

  it("the others: where a service is installed, its config with the unit's environment; else the shipped default", () => {
    const installed = chooseConfig({ flag: undefined, env: { ASYNCDEMO_LOG_LEVEL: 'warn' }, app: APP, serviceView: () => SERVICE });
    assert.equal(installed.file, '/etc/asyncdemo/config.yaml');
    assert.deepEqual(installed.env, SERVICE.env, "read with the unit's environment, not this shell's");
    assert.match(installed.why, /^the service's config/);
    assert.equal(chooseConfig({ flag: '/etc/asyncdemo/config.yaml', env: {}, app: APP, serviceView: () => SERVICE }).service, SERVICE, 'naming the service\'s file describes the service');
    assert.deepEqual(chooseConfig({ flag: 'mine.yaml', env: {}, app: APP, serviceView: () => SERVICE }), { file: 'mine.yaml', why: 'from --config', env: {} });
    assert.equal(chooseConfig({ flag: undefined, env: {}, app: APP, checkout: true, serviceView: () => SERVICE }).file, APP.shippedConfig);
    assert.equal(chooseConfig({ flag: undefined, env: {}, app: APP, serviceView: () => undefined }).file, APP.shippedConfig);
  });
});
