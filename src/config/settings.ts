import convict from 'convict';
import { isMapping, type Issues, type Segment } from './issues.js';
import { unknownKeyReason } from './keys.js';
import { FORMATS, schema, schemaKeys, type Format, type FormatName, type Settings } from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

interface SchemaLeaf {
  readonly format: FormatName;
  readonly doc: string;
}
interface SchemaSection {
  readonly [key: string]: SchemaLeaf | SchemaSection;
}

/** Every dotted key of the schema, sections and settings, for suggestions. */
const EVERY_KEY: readonly string[] = (() => {
  const keys = new Set<string>();
  for (const { key } of schemaKeys()) {
    const parts = key.split('.');
    for (let i = 1; i <= parts.length; i++) keys.add(parts.slice(0, i).join('.'));
  }
  return [...keys];
})();

/**
 * Checks the settings (everything in the file but `tasks`) and the
 * environment variables that override them, against the schema: every key
 * must be known, every value must fit its format. Problems go to `issues`,
 * each with its key path, so the report can give the line and the value as
 * written. Only when there are none does convict merge defaults, file and
 * environment: it never sees an unknown key or a bad value, whose message it
 * would build by serialising the whole value.
 *
 * @param topLevelExtras keys allowed at the top level besides the sections (`tasks`), for suggestions.
 * @returns the settings, or undefined when something was wrong.
 */
export function readSettings(fileValues: Readonly<Record<string, unknown>>, env: Env, issues: Issues, topLevelExtras: readonly string[] = []): Settings | undefined {
  const before = issues.count;
  const clean: Record<string, unknown> = {};
  checkSection(fileValues, schema as unknown as SchemaSection, [], clean, issues, topLevelExtras);

  const cleanEnv: Record<string, string> = {};
  for (const { key, env: variable, format } of schemaKeys()) {
    const text = variable === undefined ? undefined : env[variable];
    if (variable === undefined || text === undefined) continue;
    const at = key.split('.');
    const from = { name: variable, text };
    if (text === '') {
      // An empty variable is a mistake or an attempt to unset it; either way, guessing is worse.
      issues.add({ at, reason: 'is empty; give it a value, or unset the variable', env: from });
      continue;
    }
    const { coerce, check, expect }: Format = FORMATS[format];
    if (check(coerce === undefined ? text : coerce(text))) cleanEnv[variable] = text;
    else issues.add({ at, reason: `must be ${expect}`, got: { value: text }, env: from });
  }
  if (issues.count > before) return undefined;

  const conf = convict<Settings>(schema as unknown as convict.Schema<Settings>, { args: [], env: cleanEnv });
  conf.load(clean);
  // Cannot fail after the checks above; if it does, that is a bug to see, not a config problem.
  conf.validate({ allowed: 'strict' });
  return conf.getProperties();
}

function checkSection(values: Readonly<Record<string, unknown>>, section: SchemaSection, at: readonly Segment[], clean: Record<string, unknown>, issues: Issues, extras: readonly string[]): void {
  const here = [...(at.length === 0 ? extras : []), ...Object.keys(section)];
  for (const key of Object.keys(values)) {
    if (at.length === 0 && extras.includes(key)) continue;
    const path = [...at, key];
    // Own keys only: `constructor` or `__proto__` must not find Object.prototype's.
    const child = Object.hasOwn(section, key) ? section[key] : undefined;
    if (child === undefined) {
      issues.add({ at: path, reason: unknownKeyReason({ key, parent: at.join('.'), here, everywhere: EVERY_KEY }) });
      continue;
    }
    const value = values[key];
    if (isLeaf(child)) {
      const format: Format = FORMATS[child.format];
      // Strings are coerced as convict does for the file too: `enabled: yes` means true.
      const coerced = typeof value === 'string' && format.coerce !== undefined ? format.coerce(value) : value;
      if (format.check(coerced)) clean[key] = coerced;
      else issues.add({ at: path, reason: `must be ${format.expect}`, got: { value } });
    } else if (value === null) {
      // `log:` with everything under it commented out.
    } else if (isMapping(value)) {
      const inner: Record<string, unknown> = {};
      clean[key] = inner;
      checkSection(value, child, path, inner, issues, extras);
    } else {
      issues.add({ at: path, reason: `must be a mapping of ${Object.keys(child).join(', ')}`, got: { value } });
    }
  }
}

function isLeaf(node: SchemaLeaf | SchemaSection): node is SchemaLeaf {
  return typeof (node as SchemaLeaf).doc === 'string';
}
