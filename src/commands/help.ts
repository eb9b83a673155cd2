import { ExitCode } from '../exit-codes.js';
import type { Command, OptionSpec } from './command.js';
import { complain, output } from './output.js';

/** Options every command takes. */
export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: "this command's help" };

/** Exit codes every command may give. */
export const COMMON_EXIT_CODES: readonly (readonly [number, string])[] = [
  [0, 'success (for run: stopped cleanly)'],
  [1, 'a failure; for run, a crash, a stop past shutdown.timeoutMs, or a second stop signal while stopping'],
  [64, 'bad command line (EX_USAGE)'],
];

export const SIGNALS: readonly (readonly [string, string])[] = [
  ['SIGTERM, SIGINT', 'stop: every task is cancelled, the LED goes off, the log files are finished, exit 0; a second one while stopping exits 1 at once'],
  ['SIGHUP', 'read the config again and apply it; a bad one is refused and the old one keeps running (asyncdemo reload says which)'],
  ['SIGUSR1', 'log a status line (it never opens the inspector)'],
  ['SIGUSR2, SIGALRM', 'logged and ignored'],
];

const WIDTH = 80;

/** `text` wrapped at {@link WIDTH} columns, each line starting with `indent`. */
function wrap(text: string, indent = ''): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines.join('\n');
}

/** `-c, --config FILE`. */
function optionLabel(option: OptionSpec): string {
  const long = `--${option.name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  return option.short === undefined ? long : `-${option.short}, ${long}`;
}

/** `asyncdemo check-config [FILE] [--config FILE]`. */
export function synopsis(command: Command): string {
  const operands = (command.operands ?? []).map((o) => (o.optional ? `[${o.name}]` : o.name));
  const options = command.options.map((o) => `[--${o.name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}]`);
  return ['asyncdemo', command.name, ...operands, ...options].join(' ');
}

function table(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.min(24, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows
    .map(([left, right]) => {
      const text = wrap(right, ' '.repeat(indent.length + width)).trimStart();
      return left.length + 2 > width ? `${indent}${left}\n${' '.repeat(indent.length + width)}${text}` : `${indent}${left.padEnd(width)}${text}`;
    })
    .join('\n');
}

/** `asyncdemo --help`. */
export function globalHelp(commands: readonly Command[]): string {
  const exitCodes = new Map<number, string>(COMMON_EXIT_CODES.map(([code, text]) => [code, text]));
  for (const command of commands) for (const [code, text] of command.exitCodes ?? []) if (!exitCodes.has(code)) exitCodes.set(code, `${command.name}: ${text}`);
  return [
    'asyncdemo: asyncio-style worker tasks from a config file, as a systemd service',
    '',
    'Usage: asyncdemo COMMAND [OPTIONS]',
    '',
    'Commands:',
    table(commands.map((c) => [c.name, c.summary])),
    '',
    "'asyncdemo COMMAND --help' shows a command's options; man asyncdemo has everything, man asyncdemo.yaml the config.",
    '',
    'Signals to the daemon:',
    table(SIGNALS),
    '',
    'Exit codes:',
    table([...exitCodes].sort((a, b) => a[0] - b[0]).map(([code, text]) => [String(code), text])),
    '',
  ].join('\n');
}

/** `asyncdemo COMMAND --help`. */
export function commandHelp(command: Command): string {
  const options = [...command.options, HELP_OPTION];
  const parts = [`Usage: ${synopsis(command)}`, '', wrap(`${command.summary[0]?.toUpperCase() ?? ''}${command.summary.slice(1)}.`), ''];
  for (const paragraph of command.description) parts.push(wrap(paragraph), '');
  if ((command.operands ?? []).length > 0) parts.push('Arguments:', table((command.operands ?? []).map((o) => [o.name, o.description])), '');
  parts.push('Options:', table(options.map((o) => [optionLabel(o), o.description])), '');
  if ((command.exitCodes ?? []).length > 0) parts.push('Exit codes (besides 0, 1 and 64):', table((command.exitCodes ?? []).map(([code, text]) => [String(code), text])), '');
  return parts.join('\n');
}

export const help: Command = {
  name: 'help',
  summary: "a command's help, or this list",
  operands: [{ name: 'COMMAND', optional: true, description: 'the command to explain', complete: 'command' }],
  options: [],
  description: ['The same as asyncdemo --help, or asyncdemo COMMAND --help.'],
  async run(invocation, { commands, env }) {
    const [name] = invocation.operands;
    if (name === undefined) return output(globalHelp(commands));
    const command = commands.find((c) => c.name === name);
    if (command === undefined) {
      complain(`no command ${JSON.stringify(name)}; the commands are ${commands.map((c) => c.name).join(', ')}`, env);
      return ExitCode.usage;
    }
    return output(commandHelp(command));
  },
};

export const version: Command = {
  name: 'version',
  summary: 'the version and the commit it was built from',
  options: [],
  description: ['The same as asyncdemo --version: the package version, the commit it was built from, and the Node.js that runs it.'],
  async run(_invocation, { app }) {
    return output(`asyncdemo ${app.version} (commit ${app.commit}, Node.js ${process.version})\n`);
  },
};
