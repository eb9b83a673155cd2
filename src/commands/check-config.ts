import { loadConfig, type Config } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { count, listNames } from '../text.js';
import { CONFIG_OPTION, stringValue, type Command, type Env } from './command.js';
import { complain, writeOut } from './output.js';
import { chooseConfig } from './where.js';

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'check a config file: exit 0, or 78 with every problem',
  operands: [{ name: 'FILE', optional: true, description: 'the file to check (the same as --config FILE)', complete: 'file' }],
  options: [CONFIG_OPTION],
  description: [
    'Reads the file as the daemon would (with the environment variables that override it) and says OK, or lists every problem with its line, key path and reason, without touching a running daemon.',
    "With no file it checks the installed service's config, with the service's environment, or the shipped default where no service is installed.",
  ],
  exitCodes: [[78, 'the config is invalid (EX_CONFIG)']],
  async run(invocation, { env, app }) {
    const [operand] = invocation.operands;
    const flag = stringValue(invocation, 'config');
    if (operand !== undefined && flag !== undefined) return usage('give the file either as an argument or with --config, not both', env);
    const choice = chooseConfig({ flag: operand ?? flag, env, app });
    const config = loadOrComplain(choice.file, choice.env, env);
    if (config === undefined) return ExitCode.config;
    const tasks = [...config.tasks.values()];
    const boot = tasks.filter((t) => t.autostart).map((t) => t.name);
    // The verdict is the exit code: it stands when stdout cannot take the line (a full disk).
    writeOut(1, `${config.file}: OK (${count(tasks.length, 'task')}; at boot: ${listNames(boot)})\n`);
    return ExitCode.ok;
  },
};

function usage(message: string, env: Env): number {
  complain(message, env);
  return ExitCode.usage;
}

/**
 * Loads a config with the settings from `configEnv`, or says on stderr why
 * not (at err priority when stderr is the journal) and gives undefined.
 */
export function loadOrComplain(file: string, configEnv: Env, processEnv: Env): Config | undefined {
  try {
    return loadConfig({ file, env: configEnv });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    complain(error.message, processEnv);
    return undefined;
  }
}
