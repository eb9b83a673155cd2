import { readFileSync } from 'node:fs';
import convict from 'convict';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { describe } from './duration.js';
import { SECTIONS, schema, schemaKeys, type Settings } from './schema.js';
import { formatKeyPath, readTasks, type TaskTable } from './tasks.js';
import { keyPathLines, parseConfigText } from './yaml.js';

/** Where a setting's value came from; `asyncdemo print-config` shows it for every key. */
export type Source =
  | { readonly from: 'default' }
  | { readonly from: 'file' }
  /** `fileValue`: what the file says, when the variable overrides it (the classic trap print-config points out). */
  | { readonly from: 'environment'; readonly variable: string; readonly fileValue?: unknown };

export interface Config {
  /** The file it was read from, as given (for messages). */
  readonly file: string;
  readonly settings: Settings;
  readonly tasks: TaskTable;
  /** Per dotted settings key. */
  readonly sources: ReadonlyMap<string, Source>;
}

export interface LoadOptions {
  readonly file: string;
  /** The environment whose ASYNCDEMO_* variables override the file. Passed in, never read from `process`. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads, parses and validates a config file. YAML and JSON both go through the
 * YAML parser (JSON is YAML 1.2), so both get line numbers and both refuse
 * duplicate keys, which `JSON.parse` would silently accept.
 *
 * @throws {ConfigError} listing every problem found, each with its key path.
 */
export function loadConfig({ file, env }: LoadOptions): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ path: '', reason: `cannot read the file: ${(error as Error).message}` }], { cause: error });
  }

  if (text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) {
    throw new ConfigError(file, [{ path: '', reason: 'the file is empty; it needs at least a tasks mapping' }]);
  }
  const raw = parseConfigText(text, file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const reason = raw == null ? 'the file is empty; it needs at least a tasks mapping' : `must be a mapping with a tasks key; got ${describe(raw)}`;
    throw new ConfigError(file, [{ path: '', reason }]);
  }
  const fileValues = raw as Record<string, unknown>;

  const issues: ConfigIssue[] = [];

  for (const section of SECTIONS) {
    const value = fileValues[section];
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      issues.push({ path: section, reason: `must be a mapping; got ${describe(value)}` });
      delete fileValues[section];
    }
  }

  const keys = schemaKeys();
  const envOf = new Map(keys.flatMap((k) => (k.env === undefined ? [] : [[k.key, k.env] as const])));
  const { tasks: rawTasks, ...rawSettings } = fileValues;
  const conf = convict<Settings>(schema as unknown as convict.Schema<Settings>, { args: [], env: { ...env } });
  let settings: Settings | undefined;
  try {
    conf.load(rawSettings);
    conf.validate({ allowed: 'strict' });
    settings = conf.getProperties();
  } catch (error) {
    for (const issue of convictIssues((error as Error).message)) {
      const variable = envOf.get(issue.path);
      const fromEnv = variable !== undefined && env[variable] !== undefined;
      issues.push({ ...issue, ...(fromEnv ? { env: variable } : {}) });
    }
  }

  const { tasks, issues: taskIssues } = readTasks(rawTasks);
  for (const issue of taskIssues) issues.push({ path: formatKeyPath(issue.at), reason: issue.reason });

  if (issues.length > 0 || settings === undefined) throw new ConfigError(file, locate(issues, text));

  const sources = new Map<string, Source>();
  for (const { key, env: variable } of keys) {
    const inFile = valueAt(fileValues, key.split('.'));
    if (variable !== undefined && env[variable] !== undefined) {
      sources.set(key, { from: 'environment', variable, ...(inFile.found ? { fileValue: inFile.value } : {}) });
    } else if (inFile.found) sources.set(key, { from: 'file' });
    else sources.set(key, { from: 'default' });
  }
  if (sources.get('log.file.dir')?.from === 'default' && useLogsDirectory(settings, env)) {
    sources.set('log.file.dir', { from: 'environment', variable: 'LOGS_DIRECTORY' });
  }
  return { file, settings, tasks, sources };
}

/**
 * Under systemd's `LogsDirectory=` the service is told its log directory in
 * `$LOGS_DIRECTORY`; a config that names none uses it. Returns whether it did.
 */
function useLogsDirectory(settings: Settings, env: LoadOptions['env']): boolean {
  const logsDirectory = env['LOGS_DIRECTORY']?.split(':')[0];
  if (logsDirectory === undefined || logsDirectory === '') return false;
  settings.log.file.dir = logsDirectory;
  return true;
}

/**
 * The log settings to report an unusable config with, so its error reaches
 * the log files as well as the console: the file's own `log` section when
 * that part is valid, else the defaults (with the environment, if valid).
 * Never throws.
 */
export function fallbackLogSettings({ file, env }: LoadOptions): Settings['log'] {
  let fileLog: unknown;
  try {
    const raw = parseConfigText(readFileSync(file, 'utf8'), file);
    fileLog = (raw as { log?: unknown } | null)?.log;
  } catch {
    fileLog = undefined;
  }
  const attempts: [unknown, LoadOptions['env']][] = [
    [fileLog, env],
    [undefined, env],
    [undefined, {}],
  ];
  for (const [log, environment] of attempts) {
    try {
      const conf = convict<Settings>(schema as unknown as convict.Schema<Settings>, { args: [], env: { ...environment } });
      conf.load(log === undefined ? {} : { log });
      conf.validate({ allowed: 'strict' });
      const settings = conf.getProperties();
      const fileNamesDir = typeof log === 'object' && log !== null && typeof (log as { file?: { dir?: unknown } }).file?.dir === 'string';
      if (!fileNamesDir && environment['ASYNCDEMO_LOG_DIR'] === undefined) useLogsDirectory(settings, environment);
      return settings.log;
    } catch {
      // Try the next, plainer, source.
    }
  }
  throw new Error('unreachable: the schema defaults are valid');
}

/**
 * convict reports all problems in one message, a line each:
 * `key: reason: value was …` or `configuration param 'key' not declared in the schema`.
 */
function convictIssues(message: string): { path: string; reason: string }[] {
  return message.split('\n').map((line) => {
    const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
    if (undeclared?.[1] !== undefined) return { path: undeclared[1], reason: 'unknown key' };
    const missing = /^configuration param '(.+)' missing from config/.exec(line);
    if (missing?.[1] !== undefined) return { path: missing[1], reason: 'missing' };
    const invalid = /^([\w.]+): (.*?)(?:: value was .*)?$/.exec(line);
    if (invalid?.[1] !== undefined && invalid[2] !== undefined) return { path: invalid[1], reason: invalid[2] };
    return { path: '', reason: line };
  });
}

/**
 * Adds the line of each problem (an unknown or missing key points at the
 * nearest line that exists) and sorts them in file order; problems that came
 * from the environment go last.
 */
function locate(issues: readonly ConfigIssue[], text: string): ConfigIssue[] {
  const lines = keyPathLines(text);
  const lineOf = (path: string): number | undefined => {
    for (let p = path; p !== ''; p = p.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
      const line = lines.get(p);
      if (line !== undefined) return line;
      if (!/[.[]/.test(p)) break;
    }
    return undefined;
  };
  return issues
    .map((issue) => {
      if (issue.env !== undefined || issue.line !== undefined) return issue;
      const line = lineOf(issue.path);
      return line === undefined ? issue : { ...issue, line };
    })
    .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

function valueAt(root: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  let node = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return { found: false };
    node = (node as Record<string, unknown>)[part];
  }
  return { found: true, value: node };
}
