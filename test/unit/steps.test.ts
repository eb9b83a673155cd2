import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dump, load } from 'js-yaml';
import { renderConfig } from '../../src/commands/print-config.js';
import { loadConfig } from '../../src/config/load.js';
import { readTasks } from '../../src/config/tasks.js';
import { STEP_KINDS, STEPS } from '../../src/steps.js';
import { configFile } from '../helpers/config-file.js';

describe('the step table', () => {
  for (const kind of STEP_KINDS) {
    it(`${kind}: its example reads, and what print-config writes of it reads back as the same step`, () => {
      const { example } = STEPS[kind] as { example: Record<string, unknown> };
      const yaml = dump({ tasks: { t: { autostart: true, steps: [{ log: 'first' }, { ...example, led: 'hold' }] }, operationsub: { steps: [{ log: 'x' }] } } });
      const config = loadConfig({ file: configFile(yaml), env: {} });
      const printed = JSON.parse(renderConfig(config, 'test', true)) as { tasks: unknown };
      const again = readTasks(load(dump(printed.tasks)));
      assert.deepEqual(again.issues, [], 'print-config writes a config check-config takes');
      assert.deepEqual(again.tasks.get('t')?.steps, config.tasks.get('t')?.steps);
      assert.equal(config.tasks.get('t')?.steps[1]?.kind, kind);
    });
  }

  it('a typo of a step kind is one problem, naming the kind meant', () => {
    const { issues } = readTasks(load('t: {autostart: true, steps: [{slep: 1}, {sleep: 1}]}'));
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0]?.reason ?? '', /^unknown key; did you mean sleep\?$/);
  });
});
