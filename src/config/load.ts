import { ConfigError, type ConfigIssue } from '../errors.js';
import { nodeCrypto } from '../lazy-builtins.js';
import { describeValue, formatKeyPath, isMapping, Issues, pathKey, valueAt } from './issues.js';
import { readConfigFile } from './read.js';
import { schemaKeys, type Settings } from './schema.js';
import { readSettings } from './settings.js';
import { readTasks, type TaskTable } from './tasks.js';
import { parseConfigText, type ParsedYaml } from './yaml.js';

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
  /** SHA-256 (hex) of the file as read (a UTF-8 byte order mark left out; otherwise `sha256sum`'s): which config is in force, for `asyncdemo status` and a fleet's rollout check. */
  readonly sha256: string;
}

interface LoadOptions {
  readonly file: string;
  /** The environment whose ASYNCDEMO_* variables override the file. Passed in, never read from `process`. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads, parses and validates a config file: a regular file of at most
 * 128 KiB (read.ts), YAML with bounded nesting and aliases (yaml.ts), every key
 * known and every value in range (settings.ts, tasks.ts). YAML and JSON both
 * go through the YAML parser (JSON is YAML 1.2), so both get line numbers
 * and both refuse duplicate keys, which `JSON.parse` would silently accept.
 *
 * @throws {ConfigError} listing the problems found, each with its line, key
 *   path, reason and the value as written.
 */
export function loadConfig({ file, env }: LoadOptions): Config {
  const text = readConfigFile(file);
  const parsed = parseConfigText(text, file);
  try {
    const config = check(file, env, parsed);
    let digest: string | undefined;
    // Worked out when first read (the status file, just after READY), not at every load.
    return Object.defineProperty(config, 'sha256', { enumerable: true, get: () => (digest ??= sha256(text)) }) as Config;
  } catch (error) {
    // So that the report of this error can be logged with the file's own log settings without reading the file again.
    if (error instanceof ConfigError) refusedLogSection.set(error, isMapping(parsed.value) ? parsed.value['log'] : undefined);
    throw error;
  }
}

/** SHA-256 of `text`, in hex (node:crypto loads on first use: lazy-builtins.ts). */
export function sha256(text: string): string {
  return nodeCrypto().createHash('sha256').update(text).digest('hex');
}

/** The `log` section of each file refused after it parsed, by its error. */
const refusedLogSection = new WeakMap<ConfigError, unknown>();

function check(file: string, env: LoadOptions['env'], parsed: ParsedYaml): Omit<Config, 'sha256'> {
  const raw = parsed.value;
  if (raw === undefined || raw === null) {
    throw new ConfigError(file, [{ path: '', reason: 'the file is empty; it needs at least a tasks mapping' }]);
  }
  const issues = new Issues();
  if (!isMapping(raw)) {
    issues.add({ at: [], reason: 'must be a mapping with a tasks key', got: { value: raw } });
    throw configError(file, issues, parsed);
  }
  const { tasks: rawTasks, ...fileValues } = raw;
  const settings = readSettings(fileValues, env, issues, ['tasks']);
  const { tasks } = readTasks(rawTasks, issues);
  if (issues.count > 0 || settings === undefined) throw configError(file, issues, parsed);

  const sources = new Map<string, Source>();
  for (const { key, env: variable } of schemaKeys()) {
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
 * The error for the problems found: each with the line of its key (or of the
 * nearest enclosing key the file has), the value as the file spells it, in
 * file order; problems from the environment go last.
 */
function configError(file: string, issues: Issues, parsed: ParsedYaml): ConfigError {
  const fromFile = issues.kept.filter((issue) => issue.env === undefined);
  const places = parsed.places(fromFile.map((issue) => issue.at));
  const located = issues.kept.map((issue): ConfigIssue => {
    const path = formatKeyPath(issue.at);
    if (issue.env !== undefined) {
      const got = issue.got === undefined ? '' : `; got ${describeValue(issue.env.text)}`;
      return { path, reason: `${issue.reason}${got}`, env: issue.env.name };
    }
    const exact = places.get(pathKey(issue.at));
    let line = exact?.line;
    for (let n = issue.at.length - 1; line === undefined && n > 0; n--) line = places.get(pathKey(issue.at.slice(0, n)))?.line;
    const got = issue.got === undefined ? '' : `; got ${exact?.written ?? describeValue(issue.got.value)}`;
    return { path, reason: `${issue.reason}${got}`, ...(line === undefined ? {} : { line }) };
  });
  const rank = (issue: ConfigIssue): number => (issue.env !== undefined ? Infinity : (issue.line ?? Number.MAX_SAFE_INTEGER));
  located.sort((a, b) => rank(a) - rank(b));
  return new ConfigError(file, located, { more: issues.count - issues.kept.length });
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
 * Given the error loadConfig refused the file with, it uses the section that
 * load parsed instead of reading the file again. Never throws.
 */
export function fallbackLogSettings({ file, env }: LoadOptions, refused?: ConfigError): Settings['log'] {
  let fileLog: unknown;
  if (refused !== undefined) {
    // A file that did not even parse has no log section to use.
    fileLog = refusedLogSection.get(refused);
  } else {
    try {
      const { value } = parseConfigText(readConfigFile(file), file);
      fileLog = isMapping(value) && Object.hasOwn(value, 'log') ? value['log'] : undefined;
    } catch {
      fileLog = undefined;
    }
  }
  const attempts: [Record<string, unknown>, LoadOptions['env']][] = [
    [fileLog === undefined ? {} : { log: fileLog }, env],
    [{}, env],
    [{}, {}],
  ];
  for (const [values, environment] of attempts) {
    const settings = readSettings(values, environment, new Issues());
    if (settings === undefined) continue;
    const fileNamesDir = isMapping(fileLog) && isMapping(fileLog['file']) && typeof fileLog['file']['dir'] === 'string';
    if (!fileNamesDir && environment['ASYNCDEMO_LOG_DIR'] === undefined) useLogsDirectory(settings, environment);
    return settings.log;
  }
  throw new Error('unreachable: the schema defaults are valid');
}
