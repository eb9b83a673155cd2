import { EVENT_ID, getScalarValue, load, parseEvents, YAMLException, type Event } from 'js-yaml';
import { ConfigError } from '../errors.js';

/**
 * Parses a config file's text. JSON goes through here too (JSON is YAML
 * 1.2), so both refuse duplicate keys, which `JSON.parse` would accept.
 *
 * @throws {ConfigError} with the line of a syntax error or a duplicate key.
 */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return load(text, { filename: file });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    const { mark } = error as YAMLException & { mark?: { line: number } };
    throw new ConfigError(file, [{ path: '', reason: error.reason, ...(mark === undefined ? {} : { line: mark.line + 1 }) }], { cause: error });
  }
}

/**
 * The 1-based line of every key path in a YAML text (`tasks.op.steps[3].sleep`),
 * read from the parser's event stream. Only needed to point at problems, so
 * it runs only when there are some.
 */
export function keyPathLines(text: string): ReadonlyMap<string, number> {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineAt = (position: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= position) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };

  interface Frame {
    readonly kind: 'document' | 'mapping' | 'sequence';
    readonly path: string;
    /** In a mapping: the key whose value comes next, or undefined when a key comes next. */
    key: string | undefined;
    index: number;
  }
  const lines = new Map<string, number>();
  const stack: Frame[] = [];
  /** The path of the next value in `frame`, which it consumes. */
  const next = (frame: Frame | undefined): string => {
    if (frame === undefined || frame.kind === 'document') return '';
    if (frame.kind === 'sequence') return `${frame.path}[${frame.index++}]`;
    const path = frame.path === '' ? (frame.key ?? '') : `${frame.path}.${frame.key ?? ''}`;
    frame.key = undefined;
    return path;
  };
  const record = (path: string, position: number): void => {
    if (!lines.has(path)) lines.set(path, lineAt(position));
  };

  let events: Event[];
  try {
    events = parseEvents(text, {});
  } catch {
    return lines;
  }
  for (const event of events) {
    const top = stack.at(-1);
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        stack.push({ kind: 'document', path: '', key: undefined, index: 0 });
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const isKey = top?.kind === 'mapping' && top.key === undefined;
        if (isKey) top.key = '?'; // a complex key: nothing of ours lives under one
        const path = isKey ? '?' : next(top);
        record(path, event.start);
        stack.push({ kind: event.type === EVENT_ID.MAPPING ? 'mapping' : 'sequence', path, key: undefined, index: 0 });
        break;
      }
      case EVENT_ID.SCALAR:
      case EVENT_ID.ALIAS: {
        const position = event.type === EVENT_ID.SCALAR ? event.valueStart : 0;
        if (top?.kind === 'mapping' && top.key === undefined) {
          top.key = event.type === EVENT_ID.SCALAR ? getScalarValue(text, event) : '*';
          record(top.path === '' ? top.key : `${top.path}.${top.key}`, position);
        } else {
          record(next(top), position);
        }
        break;
      }
      case EVENT_ID.POP:
        stack.pop();
        break;
    }
  }
  return lines;
}
