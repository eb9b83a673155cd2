import { EVENT_ID, SCALAR_STYLE, constructFromEvents, getScalarValue, parseEvents, YAMLException, type Event } from 'js-yaml';
import { ConfigError } from '../errors.js';
import { pathKey, shorten, type Segment } from './issues.js';

/**
 * Deepest nesting of mappings and lists. A config needs 5
 * (`tasks.op.steps[0].sleep`); the parser recurses per level, so this is
 * also what keeps a file of a million `[` from costing seconds and memory.
 */
export const MAX_DEPTH = 32;

/**
 * Most nodes the document may hold once every alias is expanded. js-yaml
 * shares an aliased value rather than copying it, but whatever walks the
 * value (the task reader, anything added later) meets it once per alias: a
 * 400-byte "billion laughs" file expands to 387 million. A 1 MiB file holds
 * at most half a million nodes written out; aliases may double that.
 */
export const MAX_EXPANDED_NODES = 1_000_000;

/** Where a value sits in the file and how it is spelled there. */
export interface Place {
  /** 1-based line of its key (in a mapping) or of the value (in a list). */
  readonly line: number;
  /** The value as written (`.inf`, `"loud"`, `*anchor`, `a list`), shortened; undefined for a key with no value event. */
  readonly written: string | undefined;
}

/** A parsed config document, and the way back from key paths to the file. */
export interface ParsedYaml {
  /** The document's value; undefined when the file holds no document (empty, or only comments). */
  readonly value: unknown;
  /** The places of these paths (those the file has): one pass over the parser's events. */
  places(paths: readonly (readonly Segment[])[]): ReadonlyMap<string, Place>;
}

/**
 * Parses a config file's text with bounds on nesting and on alias expansion.
 * JSON goes through here too (JSON is YAML 1.2), so both refuse duplicate
 * keys, which `JSON.parse` would accept.
 *
 * @throws {ConfigError} with the line of a syntax error, a duplicate key, a
 *   second document, or the alias or nesting that goes past a bound.
 */
export function parseConfigText(text: string, file: string): ParsedYaml {
  const lines = new LineIndex(text);
  const fail = (reason: string, position: number | undefined, cause?: unknown): ConfigError =>
    new ConfigError(file, [{ path: '', reason, ...(position === undefined ? {} : { line: lines.lineOf(position) }) }], cause === undefined ? undefined : { cause });

  const parse = (source: string): Event[] => parseEvents(source, { filename: file, maxDepth: MAX_DEPTH });
  let events: Event[];
  try {
    events = parse(text);
  } catch (error) {
    throw yamlError(error, text, fail, parse);
  }
  checkOneDocument(events, text, fail);
  checkExpansion(events, text, fail);

  let value: unknown;
  try {
    [value] = constructFromEvents(events, { source: text, filename: file });
  } catch (error) {
    throw yamlError(error, text, fail);
  }
  return { value, places: (paths) => findPlaces(events, text, lines, paths) };
}

type Fail = (reason: string, position: number | undefined, cause?: unknown) => ConfigError;

function yamlError(error: unknown, text: string, fail: Fail, parse?: (source: string) => unknown): unknown {
  if (!(error instanceof YAMLException)) return error;
  const position = (error as YAMLException & { mark?: { position: number } }).mark?.position;
  const end = text.trimEnd().length;
  if (position === undefined || position < end) return fail(error.reason, position, error);
  // Out of text. The end is past the last line, so the last line that says something is blamed. And after
  // a final newline the parser reports the indentation of a line that is not there ("deficient
  // indentation"); the same text without the trailing white space says what is missing.
  let reason = error.reason;
  if (parse !== undefined && end < text.length) {
    try {
      parse(text.slice(0, end));
    } catch (again) {
      if (again instanceof YAMLException) reason = again.reason;
    }
  }
  return fail(`${reason}, at the end of the file`, Math.max(0, end - 1), error);
}

function checkOneDocument(events: readonly Event[], text: string, fail: Fail): void {
  let second = -1;
  let documents = 0;
  for (let i = 0; i < events.length && second < 0; i++) if (events[i]?.type === EVENT_ID.DOCUMENT && ++documents === 2) second = i;
  if (second < 0) return;
  // A document event has no position: the second document's first node has, or else its `---` marker.
  const first = events[second + 1];
  let position = first === undefined ? undefined : startOf(first, text);
  if (position === undefined) {
    const after = events.slice(0, second).reduce((p, e) => Math.max(p, startOf(e, text) ?? 0), 0);
    const marker = /^---/m.exec(text.slice(after));
    position = marker === null ? Math.max(0, text.trimEnd().length - 1) : after + marker.index;
  }
  throw fail('a config is one YAML document; a second one starts here (remove the --- line, or the rest)', position);
}

function checkExpansion(events: readonly Event[], text: string, fail: Fail): void {
  const sizes = new Map<string, number>();
  // One frame per open collection: its expanded size so far and its anchor.
  const open: { size: number; anchor: string | undefined }[] = [];
  let total = 0;
  const add = (size: number, position: number): void => {
    total += size;
    const top = open.at(-1);
    if (top !== undefined) top.size += size;
    if (total > MAX_EXPANDED_NODES) {
      throw fail(`the aliases here expand the document past ${MAX_EXPANDED_NODES.toLocaleString('en')} nodes (an alias bomb?); a config needs far fewer`, position);
    }
  };
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        total += 1;
        open.push({ size: 1, anchor: event.anchorStart < 0 ? undefined : text.slice(event.anchorStart, event.anchorEnd) });
        break;
      case EVENT_ID.SCALAR:
        add(1, event.valueStart);
        if (event.anchorStart >= 0) sizes.set(text.slice(event.anchorStart, event.anchorEnd), 1);
        break;
      case EVENT_ID.ALIAS:
        add(sizes.get(text.slice(event.anchorStart, event.anchorEnd)) ?? 1, event.anchorStart);
        break;
      case EVENT_ID.POP: {
        const done = open.pop();
        if (done === undefined) break;
        const parent = open.at(-1);
        if (parent !== undefined) parent.size += done.size;
        if (done.anchor !== undefined) sizes.set(done.anchor, done.size);
        break;
      }
    }
  }
}

function startOf(event: Event, _text: string): number | undefined {
  switch (event.type) {
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return event.start;
    case EVENT_ID.SCALAR:
      return event.valueStart >= 0 ? event.valueStart : event.tagStart >= 0 ? event.tagStart : event.anchorStart >= 0 ? event.anchorStart : undefined;
    case EVENT_ID.ALIAS:
      return event.anchorStart;
    default:
      return undefined;
  }
}

/** The value as the file spells it, for messages: `.inf`, `"loud"`, `!!str 5`, `*anchor`, `a list`. */
function written(event: Event, text: string): string | undefined {
  switch (event.type) {
    case EVENT_ID.MAPPING:
      return 'a mapping';
    case EVENT_ID.SEQUENCE:
      return 'a list';
    case EVENT_ID.ALIAS:
      return `*${shorten(text.slice(event.anchorStart, event.anchorEnd))}`;
    case EVENT_ID.SCALAR: {
      const tag = event.tagStart < 0 ? '' : `${text.slice(event.tagStart, event.tagEnd)} `;
      if (event.valueStart < 0) return tag === '' ? 'nothing' : tag.trimEnd();
      const raw = text.slice(event.valueStart, event.valueEnd);
      switch (event.style) {
        case SCALAR_STYLE.SINGLE_QUOTED:
          return `${tag}'${shorten(raw)}'`;
        case SCALAR_STYLE.DOUBLE_QUOTED:
          return `${tag}"${shorten(raw)}"`;
        case SCALAR_STYLE.LITERAL_BLOCK:
        case SCALAR_STYLE.FOLDED_BLOCK:
          return `${tag}a block of text`;
        default:
          return `${tag}${shorten(raw)}`;
      }
    }
    default:
      return undefined;
  }
}

/**
 * Walks the events once, following only the mappings and lists on the way to
 * the paths asked for, so a file with many problems costs one pass, not one
 * string per node.
 */
function findPlaces(events: readonly Event[], text: string, lines: LineIndex, paths: readonly (readonly Segment[])[]): ReadonlyMap<string, Place> {
  const wanted = new Set<string>();
  for (const path of paths) for (let i = 0; i <= path.length; i++) wanted.add(pathKey(path.slice(0, i)));
  const walk = new PlaceWalk(text, lines, wanted);
  for (const event of events) walk.take(event);
  return walk.places;
}

/** A mapping or list the walk is in; `skip` for one that holds nothing asked for. */
interface Frame {
  readonly kind: 'mapping' | 'sequence' | 'skip';
  readonly at: readonly Segment[];
  /** In a mapping: the key whose value comes next, or undefined when a key comes next. */
  key: string | undefined;
  /** Where that key is written. */
  keyPosition: number;
  index: number;
}

const skipFrame = (): Frame => ({ kind: 'skip', at: [], key: undefined, keyPosition: 0, index: 0 });

/** {@link findPlaces}'s walk: the mappings and lists it is in, and the places found so far. */
class PlaceWalk {
  readonly places = new Map<string, Place>();
  readonly #text: string;
  readonly #lines: LineIndex;
  readonly #wanted: ReadonlySet<string>;
  readonly #stack: Frame[] = [];
  #documents = 0;

  constructor(text: string, lines: LineIndex, wanted: ReadonlySet<string>) {
    this.#text = text;
    this.#lines = lines;
    this.#wanted = wanted;
  }

  take(event: Event): void {
    const top = this.#stack.at(-1);
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        this.#documents++;
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        this.#stack.push(this.#enter(event, top));
        break;
      case EVENT_ID.SCALAR:
      case EVENT_ID.ALIAS: {
        if (top?.kind === 'mapping' && top.key === undefined) {
          top.key = event.type === EVENT_ID.SCALAR ? getScalarValue(this.#text, event) : '\0';
          top.keyPosition = startOf(event, this.#text) ?? 0;
          break;
        }
        const path = this.#nextPath(top);
        if (path !== undefined) this.#record(path.at, path.position, event);
        break;
      }
      case EVENT_ID.POP:
        if (top !== undefined) this.#stack.pop();
        break;
    }
  }

  /** The frame of a mapping or list that starts inside `top`. */
  #enter(event: Event, top: Frame | undefined): Frame {
    if (top?.kind === 'mapping' && top.key === undefined) {
      // A mapping or list as a key: nothing of ours lives under one.
      top.key = '\0';
      return skipFrame();
    }
    const path = this.#nextPath(top);
    if (path === undefined) return skipFrame();
    this.#record(path.at, path.position, event);
    return { kind: event.type === EVENT_ID.MAPPING ? 'mapping' : 'sequence', at: path.at, key: undefined, keyPosition: 0, index: 0 };
  }

  /** The path of the value that comes next in `frame` (consuming its key or index), or undefined if it is not wanted. */
  #nextPath(frame: Frame | undefined): { at: readonly Segment[]; position: number | undefined } | undefined {
    if (frame === undefined) return this.#documents === 1 ? { at: [], position: undefined } : undefined;
    if (frame.kind === 'skip') return undefined;
    if (frame.kind === 'sequence') {
      const at = [...frame.at, frame.index++];
      return this.#wanted.has(pathKey(at)) ? { at, position: undefined } : undefined;
    }
    const key = frame.key;
    frame.key = undefined;
    if (key === undefined) return undefined;
    const at = [...frame.at, key];
    return this.#wanted.has(pathKey(at)) ? { at, position: frame.keyPosition } : undefined;
  }

  #record(at: readonly Segment[], keyPosition: number | undefined, event: Event): void {
    const position = keyPosition ?? startOf(event, this.#text);
    const k = pathKey(at);
    if (!this.places.has(k) && position !== undefined) this.places.set(k, { line: this.#lines.lineOf(position), written: written(event, this.#text) });
  }
}

/** 1-based line numbers of positions in a text. */
class LineIndex {
  readonly #starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.#starts.push(i + 1);
  }

  lineOf(position: number): number {
    const starts = this.#starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= position) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }
}
