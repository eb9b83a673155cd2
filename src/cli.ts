import { parseArgs } from 'node:util';
import type { Command, Invocation, OptionSpec } from './commands/command.js';
import { HELP_OPTION } from './commands/help.js';
import { UsageError } from './errors.js';

/** What the command line asks for. */
export type Request =
  | { readonly kind: 'run'; readonly command: Command; readonly invocation: Invocation }
  | { readonly kind: 'help'; readonly command?: Command }
  | { readonly kind: 'version' };

const VERSION_OPTION: OptionSpec = { name: 'version', short: 'V', type: 'boolean', description: 'the version' };

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parseOptions(options: readonly OptionSpec[]): ParseOptions {
  return Object.fromEntries(options.map((o) => [o.name, o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }]));
}

/**
 * Reads the command line against the command table. Never touches
 * `process`: the entry point passes `argv` in.
 *
 * @throws {UsageError} saying what is wrong in asyncdemo's words (not Node's parser's).
 */
export function parseCommandLine(argv: readonly string[], commands: readonly Command[]): Request {
  // First with every command's options, so that a value (`--config run`) is not taken for the command.
  const everyOption = [...new Map([...commands.flatMap((c) => c.options), HELP_OPTION, VERSION_OPTION].map((o) => [o.name, o])).values()];
  const first = parseArgs({ args: [...argv], allowPositionals: true, strict: false, options: parseOptions(everyOption) });
  const [name] = first.positionals;
  const command = name === undefined ? undefined : commands.find((c) => c.name === name);
  if (first.values['help'] === true) {
    if (name !== undefined && command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; try asyncdemo --help`);
    return command === undefined ? { kind: 'help' } : { kind: 'help', command };
  }
  if (name === undefined) {
    if (first.values['version'] === true) return { kind: 'version' };
    throw new UsageError('which command? try asyncdemo run, or asyncdemo --help');
  }
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; try asyncdemo --help`);

  const allowed = [...command.options, HELP_OPTION];
  const hint = `try asyncdemo ${command.name} --help`;
  // Not strict: its errors are Node's prose (with a stray quote); the tokens say the same in a form to word our own.
  const parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: false, tokens: true, options: parseOptions(allowed) });
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    const option = allowed.find((o) => o.name === token.name);
    if (option === undefined) throw new UsageError(`unknown option ${token.rawName} for ${command.name}; ${hint}`);
    if (option.type === 'boolean' && token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
    if (option.type === 'string') {
      const what = option.value === undefined ? 'a value' : `a ${option.value.toLowerCase()}`;
      if (token.value === undefined || token.value === '') throw new UsageError(`${token.rawName} needs ${what}`);
      if (!token.inlineValue && token.value.startsWith('-')) {
        throw new UsageError(`${token.rawName} needs ${what}, not the option ${token.value} (for a value that starts so, write ${token.rawName}=${token.value})`);
      }
    }
  }
  const operands = parsed.positionals.slice(1);
  const most = (command.operands ?? []).length;
  if (operands.length > most) {
    throw new UsageError(most === 0 ? `${command.name} takes no arguments; got ${JSON.stringify(operands[0])}` : `${command.name} takes at most ${most} argument${most === 1 ? '' : 's'}; got ${operands.length}`);
  }
  const needed = (command.operands ?? []).filter((o) => !o.optional).length;
  if (operands.length < needed) throw new UsageError(`${command.name} needs ${(command.operands ?? []).map((o) => o.name).join(' ')}; ${hint}`);
  return { kind: 'run', command, invocation: { values: parsed.values, operands } };
}
