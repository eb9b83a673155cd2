import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dump } from 'js-yaml';
import type { Config, Source } from './config/load.js';
import { schemaKeys } from './config/schema.js';
import { listNames, type TaskDef } from './config/tasks.js';
import { UsageError } from './errors.js';

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'version' }
  | { readonly name: 'run'; readonly config: string | undefined }
  | { readonly name: 'check-config'; readonly config: string | undefined }
  | { readonly name: 'print-config'; readonly config: string | undefined; readonly json: boolean; readonly checkout: boolean }
  | { readonly name: 'doctor'; readonly config: string | undefined; readonly checkout: boolean }
  | { readonly name: 'status'; readonly json: boolean };

export const HELP = `asyncdemo: asyncio-style worker tasks from a config file, as a systemd service

Usage:
  asyncdemo run [--config FILE]            run the daemon in the foreground
  asyncdemo check-config [FILE]            validate a config; exit 0, or 78 with every problem
  asyncdemo print-config [--config FILE] [--json] [--checkout]
                                           the effective config, and where each value came from
  asyncdemo doctor [--config FILE] [--checkout]
                                           check GPIO, permissions, log directory, systemd, Node
  asyncdemo status [--json]                what the running service is doing (no root needed);
                                           exit 0 running, 3 not running
  asyncdemo --help | --version

The config file is --config FILE, else $ASYNCDEMO_CONFIG, else the shipped config/default.yaml.
Where the asyncdemo package installed the service, print-config and doctor describe the service:
its config file, its unit's Environment= and its log directory. --checkout (or --config with
another file) describes this checkout with this shell's environment instead.
Signals: SIGTERM or SIGINT stop (exit 0), SIGHUP reloads the config.
Exit codes: 0 stopped cleanly, 1 crashed, 3 not running (status), 64 bad usage, 78 invalid config.
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  checkout: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Reads the command line. Never touches `process`: the entry point passes `argv` in. */
export function parseCommandLine(argv: readonly string[]): Command {
  // Not strict: its errors are Node's prose (with a stray quote); the tokens say the same in a form to word our own.
  const parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: false, tokens: true, options: OPTIONS });
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(OPTIONS, token.name) ? OPTIONS[token.name as keyof typeof OPTIONS] : undefined;
    if (option === undefined) throw new UsageError(`unknown option ${token.rawName}; try asyncdemo --help`);
    if (option.type === 'boolean' && token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
    if (option.type === 'string') {
      if (token.value === undefined || token.value === '') throw new UsageError(`${token.rawName} needs a file name`);
      if (!token.inlineValue && token.value.startsWith('-')) {
        throw new UsageError(`${token.rawName} needs a file name, not the option ${token.value} (for a file named so, write ${token.rawName}=${token.value})`);
      }
    }
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { name: 'help' };
  if (values.version === true) return { name: 'version' };
  const [name, ...rest] = positionals;
  const config = typeof values.config === 'string' ? values.config : undefined;
  const noMore = (): void => {
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])} after ${name}`);
  };
  const noJson = (): void => {
    if (values.json === true) throw new UsageError('--json goes with print-config and status only');
  };
  const noCheckout = (): void => {
    if (values.checkout === true) throw new UsageError('--checkout goes with print-config and doctor only');
  };
  const checkout = values.checkout === true;
  switch (name) {
    case undefined:
      throw new UsageError('which command? try asyncdemo run, or asyncdemo --help');
    case 'help':
      return { name: 'help' };
    case 'version':
      return { name: 'version' };
    case 'run':
      noMore();
      noJson();
      noCheckout();
      return { name, config };
    case 'doctor':
      noMore();
      noJson();
      return { name, config, checkout };
    case 'status':
      noMore();
      noCheckout();
      if (config !== undefined) throw new UsageError('status shows the running service, whose config it names; --config does not go with it');
      return { name, json: values.json === true };
    case 'print-config':
      noMore();
      return { name, config, json: values.json === true, checkout };
    case 'check-config': {
      noJson();
      noCheckout();
      if (rest.length > 1) throw new UsageError(`check-config takes one file; got ${rest.length}`);
      if (rest[0] !== undefined && config !== undefined) throw new UsageError('give the file either as an argument or with --config, not both');
      return { name, config: rest[0] ?? config };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}; try asyncdemo --help`);
  }
}

/** Which file to read, and why that one: the flag, the environment, or the shipped default. */
export function resolveConfigPath(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, shipped: string): { file: string; why: string } {
  if (flag !== undefined) return { file: flag, why: 'from --config' };
  const fromEnv = env['ASYNCDEMO_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { file: fromEnv, why: 'from ASYNCDEMO_CONFIG' };
  return { file: shipped, why: 'the shipped default' };
}

/**
 * Writes all of `text` to a file descriptor, synchronously, and says why it
 * could not (ENOSPC on a full disk, EPIPE when the reader left, EBADF when
 * it is closed) instead of an 'error' event with a stack trace. A stream
 * would also build a net.Socket or tty for fd 1, which costs start-up time.
 */
export function writeOut(fd: number, text: string): string | undefined {
  const bytes = Buffer.from(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') return code ?? String(error);
      // A non-blocking pipe that is full: wait for the reader as a blocking write would.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  return undefined;
}

/** `check-config`'s report on a config that loaded. */
export function describeValidConfig(config: Config): string {
  const tasks = [...config.tasks.values()];
  const boot = tasks.filter((t) => t.autostart).map((t) => t.name);
  return `${config.file}: OK (${tasks.length} task${tasks.length === 1 ? '' : 's'}; at boot: ${listNames(boot)})\n`;
}

/**
 * `print-config`: every setting with its value and where it came from, then the tasks.
 * @param origins where each environment variable was set (the service's unit file or drop-in), when known.
 */
export function printConfig(config: Config, why: string, json: boolean, origins: ReadonlyMap<string, string> = new Map()): string {
  const rows = settingRows(config, origins);
  const tasks = Object.fromEntries([...config.tasks].map(([name, def]) => [name, taskForPrint(def)]));
  if (json) {
    return `${JSON.stringify({ file: config.file, settings: config.settings, sources: Object.fromEntries(rows.map((r) => [r.key, r.source])), tasks }, null, 2)}\n`;
  }
  const width = Math.max(...rows.map((r) => `${r.key} = ${JSON.stringify(r.value)}`.length));
  const lines = rows.map((r) => `${`${r.key} = ${JSON.stringify(r.value)}`.padEnd(width)}  # ${sourceText(r.source)}`);
  return `# ${config.file} (${why})\n${lines.join('\n')}\n\n${dump({ tasks }, { lineWidth: 120 })}`;
}

type SourceWithOrigin = Source & { readonly origin?: string };

/** Every setting with its value and source; `origins`: where each environment variable was set (the unit's files). */
export function settingRows(config: Config, origins: ReadonlyMap<string, string> = new Map()): { key: string; value: unknown; source: SourceWithOrigin }[] {
  const settings = config.settings as unknown as Record<string, Record<string, unknown>>;
  return schemaKeys().map(({ key }) => {
    const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], settings);
    const source = config.sources.get(key) ?? { from: 'default' };
    const origin = source.from === 'environment' ? origins.get(source.variable) : undefined;
    return { key, value, source: origin === undefined ? source : { ...source, origin } };
  });
}

/** `default`, `file`, `environment ASYNCDEMO_DEBUG, overriding false in the file`. */
export function sourceText(source: SourceWithOrigin): string {
  switch (source.from) {
    case 'default':
      return 'default';
    case 'file':
      return 'file';
    case 'environment': {
      const variable = source.origin === undefined ? source.variable : `${source.variable} (${source.origin})`;
      return source.fileValue === undefined ? `environment ${variable}` : `environment ${variable}, overriding ${JSON.stringify(source.fileValue)} in the file`;
    }
  }
}

function taskForPrint(def: TaskDef): Record<string, unknown> {
  const { name: _name, repeat, ...rest } = def;
  return { ...rest, repeat: repeat === Infinity ? 'forever' : repeat, steps: def.steps.map(({ kind, ...step }) => ({ [kind]: kindValue(step), ...stripValue(step) })) };
}

function kindValue(step: Record<string, unknown>): unknown {
  return step['message'] ?? step['task'] ?? (step['ms'] === undefined ? true : `${step['ms'] as number}ms`);
}

function stripValue(step: Record<string, unknown>): Record<string, unknown> {
  const { message: _m, task: _t, ms: _ms, ...rest } = step;
  return rest;
}
