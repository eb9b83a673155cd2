import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { childProcess } from './lazy-builtins.js';

/**
 * The installed service as `print-config` and `doctor` describe it: the
 * config file its ExecStart= names, the environment its unit gives it, its
 * working directory and user. Read from `systemctl show` when that answers
 * (it is what systemd loaded), else from the unit file and its drop-ins, so
 * that a user without root and without D-Bus gets the same answer.
 */
export interface ServiceView {
  /** The unit file (its fragment) that marks this machine as installed. */
  readonly unitFile: string;
  /** The config file the service runs on. */
  readonly configFile: string;
  /** The unit's Environment=, as the service's process gets it. */
  readonly env: Readonly<Record<string, string>>;
  /** Per variable, where it was set: "unit Environment= in FILE". */
  readonly origins: ReadonlyMap<string, string>;
  readonly workingDirectory: string | undefined;
  readonly user: string | undefined;
  /** How the environment was read: "systemctl show" or "the unit files". */
  readonly readFrom: string;
}

const UNIT_NAME = 'asyncdemo.service';
const DEFAULT_CONFIG = '/etc/asyncdemo/config.yaml';
/** Unit files are small; anything bigger is not one we wrote, and is not read. */
const UNIT_MAX_BYTES = 64 * 1024;

/** Where systemd looks for the unit and its drop-ins, most important first. */
const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

interface ServiceViewOptions {
  /** Prefix for every path read (tests); '' on a real machine. */
  readonly root?: string;
  /** `systemctl show` of the given properties, or undefined when it does not answer. */
  readonly systemctlShow?: (properties: readonly string[]) => string | undefined;
}

/**
 * The installed service, or undefined when this machine has none (a
 * checkout). The unit file is the mark: the package installs it, and `apt remove`
 * removes it (and keeps the config, which then belongs to no service).
 */
export function readServiceView(options: ServiceViewOptions = {}): ServiceView | undefined {
  const root = options.root ?? '';
  const unitFile = UNIT_DIRS.map((dir) => join(dir, UNIT_NAME)).find((file) => isFile(root + file));
  if (unitFile === undefined) return undefined;
  const fromFiles = parseUnitFiles(root, unitFile);
  const shown = (options.systemctlShow ?? systemctlShow)(['LoadState', 'Environment']);
  const properties = shown === undefined ? undefined : parseProperties(shown);
  const service = fromFiles.service;
  const execStart = lastValue(service, 'ExecStart');
  const configFile = (execStart === undefined ? undefined : configFlag(execStart)) ?? DEFAULT_CONFIG;
  const common = { unitFile, configFile, workingDirectory: lastValue(service, 'WorkingDirectory'), user: lastValue(service, 'User') };
  if (properties?.get('LoadState') === 'loaded') {
    const env = parseEnvironment([properties.get('Environment') ?? '']);
    const origins = new Map<string, string>();
    for (const [name, value] of Object.entries(env)) {
      const file = fromFiles.envFiles.get(name);
      // The file says where, when it says the same as systemd: a file edited since daemon-reload does not.
      origins.set(name, file !== undefined && fromFiles.env[name] === value ? `unit Environment= in ${file}` : 'unit Environment=');
    }
    return { ...common, env, origins, readFrom: 'systemctl show' };
  }
  const origins = new Map([...fromFiles.envFiles].map(([name, file]) => [name, `unit Environment= in ${file}`]));
  return { ...common, env: fromFiles.env, origins, readFrom: 'the unit files' };
}

interface UnitFiles {
  /** [Service] settings, each with its values in order (a later one wins, an empty one resets lists). */
  readonly service: Map<string, string[]>;
  readonly env: Record<string, string>;
  readonly envFiles: Map<string, string>;
}

/** The unit file, then its drop-ins in name order (a name in a more important directory hides the same name elsewhere), as systemd reads them. */
function parseUnitFiles(root: string, fragment: string): UnitFiles {
  const dropIns = new Map<string, string>();
  for (const dir of UNIT_DIRS) {
    const d = join(dir, `${UNIT_NAME}.d`);
    let names: string[];
    try {
      names = readdirSync(root + d);
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith('.conf') && !dropIns.has(name)) dropIns.set(name, join(d, name));
  }
  const files = [fragment, ...[...dropIns.keys()].sort().map((name) => dropIns.get(name) ?? '')];
  const service = new Map<string, string[]>();
  const env: Record<string, string> = {};
  const envFiles = new Map<string, string>();
  for (const file of files) {
    const text = readSmallFile(root + file);
    if (text === undefined) continue;
    for (const [key, value] of serviceEntries(text)) {
      if (key === 'Environment') {
        if (value.trim() === '') {
          for (const name of Object.keys(env)) delete env[name];
          envFiles.clear();
        }
        for (const [name, v] of Object.entries(parseEnvironment([value]))) {
          env[name] = v;
          envFiles.set(name, file);
        }
      }
      service.set(key, [...(service.get(key) ?? []), value]);
    }
  }
  return { service, env, envFiles };
}

/** The key=value lines of a unit file's [Service] section, with continuation lines joined. */
function serviceEntries(text: string): [string, string][] {
  const entries: [string, string][] = [];
  let section = '';
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending === '' ? raw.trim() : `${pending} ${raw.trim()}`;
    if (pending === '' && (line.startsWith('#') || line.startsWith(';'))) continue;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1).trimEnd();
      continue;
    }
    pending = '';
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line.slice(1, -1);
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 1) continue;
    entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return entries;
}

/**
 * Environment= values (as in a unit file, or as `systemctl show` prints
 * them): words split at spaces, with "…" or '…' quoting and backslash
 * escapes; each word NAME=value, a later one winning.
 */
export function parseEnvironment(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    for (const word of splitWords(value)) {
      const eq = word.indexOf('=');
      if (eq < 1) continue;
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", ' ': ' ', s: ' ' };

function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length) {
      const next = text[++i] ?? '';
      word = (word ?? '') + (ESCAPES[next] ?? next);
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The file after `--config` (or `-c`) in an ExecStart= command line. */
function configFlag(execStart: string): string | undefined {
  const words = splitWords(execStart);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word.startsWith('--config=')) return word.slice('--config='.length);
    if (word === '--config' || word === '-c') return words[i + 1];
  }
  return undefined;
}

function lastValue(entries: ReadonlyMap<string, readonly string[]>, key: string): string | undefined {
  const values = entries.get(key);
  const value = values?.[values.length - 1];
  return value === undefined || value === '' ? undefined : value;
}

export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) properties.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return properties;
}

/** systemctl needs D-Bus or root (its private socket); without either it fails, fast: the files answer then. */
export function systemctlShow(properties: readonly string[]): string | undefined {
  const result = childProcess().spawnSync('systemctl', ['show', UNIT_NAME, ...properties.flatMap((p) => ['-p', p])], {
    encoding: 'utf8',
    timeout: 5000,
    maxBuffer: UNIT_MAX_BYTES,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return result.status === 0 ? result.stdout : undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A regular file of at most UNIT_MAX_BYTES, or undefined. */
function readSmallFile(path: string): string | undefined {
  try {
    const stats = statSync(path);
    if (!stats.isFile() || stats.size > UNIT_MAX_BYTES) return undefined;
    return readFileSync(path, 'utf8').slice(0, UNIT_MAX_BYTES);
  } catch {
    return undefined;
  }
}

/** The directory a relative path in the config means for the service: its WorkingDirectory= (without systemd's "-" prefix). */
export function serviceDirectory(view: ServiceView): string {
  const dir = view.workingDirectory?.replace(/^-/, '');
  return dir === undefined || !dir.startsWith('/') ? '/' : dir;
}
