import { valueAt } from './issues.js';
import type { Config, Source } from './load.js';
import { schemaKeys } from './schema.js';

/** A source, with where its environment variable was set when that is known (the service's unit files). */
type SourceWithOrigin = Source & { readonly origin?: string };

/** A setting's value and where it came from. */
interface SettingRow {
  readonly key: string;
  readonly value: unknown;
  readonly source: SourceWithOrigin;
}

/** Every setting with its value and source; `origins`: where each environment variable was set (the unit's files). */
export function settingRows(config: Config, origins: ReadonlyMap<string, string> = new Map()): SettingRow[] {
  return schemaKeys().map(({ key }) => {
    const source = config.sources.get(key) ?? { from: 'default' };
    const origin = source.from === 'environment' ? origins.get(source.variable) : undefined;
    return { key, value: valueAt(config.settings, key.split('.')).value, source: origin === undefined ? source : { ...source, origin } };
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
