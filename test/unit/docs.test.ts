import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { schemaKeys } from '../../src/config/schema.js';
import { bashCompletion, configManPage, manPage } from '../../src/commands/docs.js';
import { commandHelp, globalHelp } from '../../src/commands/help.js';
import { COMMANDS } from '../../src/commands/index.js';
import { ExitCode } from '../../src/exit-codes.js';
import { STEP_KINDS } from '../../src/steps.js';
import { tempDir } from '../helpers/daemon.js';

/** roff's escapes undone, enough to search the text. */
const plain = (roff: string): string => roff.replaceAll('\\-', '-').replaceAll(/\\f[BIR]/g, '').replaceAll('\\e', '\\');

describe('help, man pages and completion, all from the command table', () => {
  const man = plain(manPage(COMMANDS, '1.2.3'));
  const completion = bashCompletion(COMMANDS);

  for (const command of COMMANDS) {
    it(`${command.name}: named with each of its options in its --help, the man page and the completion`, () => {
      const help = commandHelp(command);
      assert.match(globalHelp(COMMANDS), new RegExp(`^  ${command.name} `, 'm'));
      assert.match(man, new RegExp(`^\\.B ${command.name}$`, 'm'));
      assert.match(completion, new RegExp(`\\b${command.name}\\b`));
      for (const option of command.options) {
        assert.match(help, new RegExp(`--${option.name}\\b`), `--${option.name} in its help`);
        assert.match(man, new RegExp(`--${option.name}\\b`), `--${option.name} in the man page`);
        assert.match(completion, new RegExp(`--${option.name}\\b`), `--${option.name} in the completion`);
      }
    });
  }

  it('every exit code is in the man page and the global help', () => {
    for (const code of Object.values(ExitCode)) {
      assert.match(man, new RegExp(`^\\.B ${code}$`, 'm'), `exit ${code} in the man page`);
      assert.match(globalHelp(COMMANDS), new RegExp(`^  ${code} `, 'm'), `exit ${code} in --help`);
    }
  });

  it('asyncdemo.yaml(5) has every setting with its default and variable, and every step kind', () => {
    const page = plain(configManPage('1.2.3'));
    for (const key of schemaKeys()) {
      assert.match(page, new RegExp(`^\\.B ${key.key.replaceAll('.', '\\.')}$`, 'm'));
      if (key.env !== undefined) assert.ok(page.includes(`Environment: ${key.env}.`), key.key);
    }
    for (const kind of STEP_KINDS) assert.match(page, new RegExp(`^\\.B ${kind}$`, 'm'));
  });

  it('bash completes the commands, a command\'s options, and file names where a file is asked for', () => {
    const dir = tempDir();
    const script = join(dir, 'asyncdemo');
    writeFileSync(script, completion);
    writeFileSync(join(dir, 'mine.yaml'), '');
    const complete = (...words: string[]): string[] => {
      const line = `source ${script}; cd ${dir}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _asyncdemo; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const result = spawnSync('bash', ['-c', line], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(complete('asyncdemo', 'st'), ['status']);
    assert.deepEqual(complete('asyncdemo', 'status', '--'), ['--help', '--json', '--tasks']);
    assert.deepEqual(complete('asyncdemo', 'edit', '--config', 'mi'), ['mine.yaml']);
    assert.deepEqual(complete('asyncdemo', 'check-config', 'mi'), ['mine.yaml']);
    assert.deepEqual(complete('asyncdemo', 'help', 're'), ['reload']);
  });
});
