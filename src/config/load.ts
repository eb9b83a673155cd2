import { readFileSync } from 'node:fs';
import convict from 'convict';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { describe } from './duration.js';
import { SECTIONS, schema, schemaKeys, type Settings } from './schema.js';
import { formatKeyPath, readTasks, type TaskTable } from './tasks.js';

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

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '', reason: e.message.split('\n')[0] ?? e.message, line: lineCounter.linePos(e.pos[0]).line })),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const reason = raw == null ? 'the file is empty; it needs at least a tasks mapping' : `must be a mapping with a tasks key; got ${describe(raw)}`;
    throw new ConfigError(file, [{ path: '', reason }]);
  }
  const fileValues = raw as Record<string, unknown>;

  const issues: ConfigIssue[] = [];
  const where = (at: readonly (string | number)[]): { line?: number } => lineOf(doc, lineCounter, at);

  for (const section of SECTIONS) {
    const value = fileValues[section];
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      issues.push({ path: section, reason: `must be a mapping; got ${describe(value)}`, ...where([section]) });
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
      issues.push({ ...issue, ...(fromEnv ? { env: variable } : where(issue.path.split('.'))) });
    }
  }

  const { tasks, issues: taskIssues } = readTasks(rawTasks);
  for (const issue of taskIssues) issues.push({ path: formatKeyPath(issue.at), reason: issue.reason, ...where(issue.at) });

  // In file order, so the report reads top to bottom; environment problems last.
  issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  if (issues.length > 0 || settings === undefined) throw new ConfigError(file, issues);

  const sources = new Map<string, Source>();
  for (const { key, env: variable } of keys) {
    const path = key.split('.');
    if (variable !== undefined && env[variable] !== undefined) {
      sources.set(key, { from: 'environment', variable, ...(doc.hasIn(path) ? { fileValue: doc.getIn(path) } : {}) });
    } else if (doc.hasIn(path)) sources.set(key, { from: 'file' });
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
    const raw: unknown = parseDocument(readFileSync(file, 'utf8')).toJS();
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

function lineOf(doc: Document, counter: LineCounter, at: readonly (string | number)[]): { line?: number } {
  // Walk up until a node exists: an unknown or missing key points at its parent.
  for (let depth = at.length; depth > 0; depth--) {
    const node: unknown = doc.getIn(at.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range !== undefined) return { line: counter.linePos(range[0]).line };
  }
  return {};
}
