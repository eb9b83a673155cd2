import type { Time } from '../time.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** An option of a command, as parsing, help, the man page and completion see it. */
export interface OptionSpec {
  /** Long name, without the dashes. */
  readonly name: string;
  readonly short?: string;
  /** `string` takes a value (named `value` in help: FILE, SECONDS); `boolean` does not. */
  readonly type: 'string' | 'boolean';
  readonly value?: string;
  readonly description: string;
  /** What completion offers for the value. */
  readonly complete?: 'file' | 'none';
}

/** A positional argument. */
export interface OperandSpec {
  readonly name: string;
  readonly optional: boolean;
  readonly description: string;
  readonly complete?: 'file' | 'command';
}

/** What a command is handed: what the command line said. */
export interface Invocation {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly operands: readonly string[];
}

/** Where the running asyncdemo comes from. */
export interface App {
  /** The directory holding dist/, config/ (a checkout, or the installed package's). */
  readonly root: string;
  /** config/default.yaml there. */
  readonly shippedConfig: string;
  readonly version: string;
  /** The commit it was built from, or "unknown". */
  readonly commit: string;
  /** Where the build put the start-up code cache (the package's /var/cache/asyncdemo); undefined: next to the bundle, or Node's default. */
  readonly codeCacheDir: string | undefined;
  /** How to get the sd-notify binding back on this install (sd-notify.ts). */
  readonly bindingFix: string;
}

/** The signals the entry script held from its first line, until a command takes them. */
export interface EarlySignals {
  /** The signals that came since the last take, in order. */
  take(): NodeJS.Signals[];
  /** Stops holding them: from now on each has its default effect, or the command's own listener. */
  release(): void;
}

/** What every command runs with; the entry point (main.ts) makes it. */
export interface Context {
  readonly env: Env;
  readonly time: Time;
  readonly app: App;
  readonly early: EarlySignals;
  /** Ends the process now (only the daemon needs it: a forced exit). */
  readonly exit: (code: number) => never;
  /** Every command (for help). */
  readonly commands: readonly Command[];
}

/**
 * One command: its name, what it does and its options, which the parser,
 * `--help`, the man page and bash completion all read (src/commands/docs.ts),
 * so none can drift from another; and `run`, which returns the exit code.
 */
export interface Command {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  readonly operands?: readonly OperandSpec[];
  readonly options: readonly OptionSpec[];
  /** Paragraphs for `asyncdemo COMMAND --help` and the man page. */
  readonly description: readonly string[];
  /** Exit codes beyond 0, 1 and 64, with what each means here. */
  readonly exitCodes?: readonly (readonly [number, string])[];
  run(invocation: Invocation, context: Context): Promise<number>;
}

/** The --config option, as the commands that take one spell it. */
export const CONFIG_OPTION: OptionSpec = {
  name: 'config',
  short: 'c',
  type: 'string',
  value: 'FILE',
  description: 'the config file (default: $ASYNCDEMO_CONFIG, else the installed service\'s, else the shipped default)',
  complete: 'file',
};

export const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', description: 'print JSON instead of text' };

export const CHECKOUT_OPTION: OptionSpec = {
  name: 'checkout',
  type: 'boolean',
  description: "describe this checkout with this shell's environment, not the installed service",
};

/** A string option's value, if given. */
export function stringValue(invocation: Invocation, name: string): string | undefined {
  const value = invocation.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(invocation: Invocation, name: string): boolean {
  return invocation.values[name] === true;
}
