import { dump } from 'js-yaml';
import type { Config } from '../config/load.js';
import { settingRows, sourceText } from '../config/sources.js';
import type { TaskDef } from '../config/tasks.js';
import { ExitCode } from '../exit-codes.js';
import { writeStep } from '../steps.js';
import { CHECKOUT_OPTION, CONFIG_OPTION, flag, JSON_OPTION, stringValue, type Command } from './command.js';
import { loadOrComplain } from './check-config.js';
import { output } from './output.js';
import { chooseConfig } from './where.js';

export const printConfig: Command = {
  name: 'print-config',
  summary: 'show the effective config: every setting, where its value came from, and the tasks',
  options: [CONFIG_OPTION, JSON_OPTION, CHECKOUT_OPTION],
  description: [
    'Prints every setting with its value and its source (default, the file, or an environment variable, naming the value in the file it overrides), then the tasks as a config writes them.',
    "Where the service is installed, it describes the service's config with the unit's Environment= (and the file that set each variable). This is the file on disk: `asyncdemo status` says whether the service runs it yet.",
  ],
  exitCodes: [[78, 'the config is invalid']],
  async run(invocation, { env, app }) {
    const choice = chooseConfig({ flag: stringValue(invocation, 'config'), env, app, checkout: flag(invocation, 'checkout') });
    const config = loadOrComplain(choice.file, choice.env, env);
    if (config === undefined) return ExitCode.config;
    return output(renderConfig(config, choice.why, flag(invocation, 'json'), choice.service?.origins));
  },
};

/**
 * The config as print-config shows it. The tasks are written as a config
 * writes them (steps.ts), so the output is a config that check-config takes.
 * @param origins where each environment variable was set (the service's unit file or drop-in), when known.
 */
export function renderConfig(config: Config, why: string, json: boolean, origins: ReadonlyMap<string, string> = new Map()): string {
  const rows = settingRows(config, origins);
  const tasks = Object.fromEntries([...config.tasks].map(([name, def]) => [name, writeTask(def)]));
  if (json) {
    return `${JSON.stringify({ file: config.file, settings: config.settings, sources: Object.fromEntries(rows.map((r) => [r.key, r.source])), tasks }, null, 2)}\n`;
  }
  const width = Math.max(...rows.map((r) => `${r.key} = ${JSON.stringify(r.value)}`.length));
  const lines = rows.map((r) => `${`${r.key} = ${JSON.stringify(r.value)}`.padEnd(width)}  # ${sourceText(r.source)}`);
  return `# ${config.file} (${why})\n${lines.join('\n')}\n\n${dump({ tasks }, { lineWidth: 120 })}`;
}

function writeTask(def: TaskDef): Record<string, unknown> {
  const { name: _name, repeat, ...rest } = def;
  return { ...rest, repeat: repeat === Infinity ? 'forever' : repeat, steps: def.steps.map(writeStep) };
}
