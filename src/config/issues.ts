/** One step of a key path: a mapping key, or a list index. */
export type Segment = string | number;

/** A problem found in a config, before it is located in the file. */
export interface Issue {
  readonly at: readonly Segment[];
  /** What is wrong, e.g. `must not be negative`. */
  readonly reason: string;
  /**
   * Set when the reason goes on with the value it refuses (`; got …`): the
   * value at `at`, described as the file spells it where the file has it.
   */
  readonly got?: { readonly value: unknown };
  /** The environment variable the value came from; its text is described instead. */
  readonly env?: { readonly name: string; readonly text: string };
}

/** How many problems are kept to report; the rest are counted. A hostile file can hold a hundred thousand. */
export const MAX_REPORTED_ISSUES = 25;

/**
 * Collects problems, keeping the first {@link MAX_REPORTED_ISSUES} and
 * counting the rest, so a file of errors costs no more than a few.
 */
export class Issues {
  readonly kept: Issue[] = [];
  #count = 0;

  /** Every problem added, kept or not: compare it before and after a check to see if that check found one. */
  get count(): number {
    return this.#count;
  }

  add(issue: Issue): void {
    this.#count++;
    if (this.kept.length < MAX_REPORTED_ISSUES) this.kept.push(issue);
  }
}

const PLAIN_SEGMENT = /^[A-Za-z_][\w-]*$/;

/**
 * `['tasks', 'op', 'steps', 3, 'sleep']` → `tasks.op.steps[3].sleep`. A key
 * that a dotted path would misread (`"log.level"`, `__proto__`…) is quoted;
 * a very long one is shortened.
 */
export function formatKeyPath(at: readonly Segment[]): string {
  let path = '';
  for (const segment of at) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else {
      const name = PLAIN_SEGMENT.test(segment) && segment !== '__proto__' ? shorten(segment) : JSON.stringify(shorten(segment));
      path += path === '' ? name : `.${name}`;
    }
  }
  return path;
}

/** The same path as a map key, exact for every key (dots, quotes and all). */
export function pathKey(at: readonly Segment[]): string {
  return JSON.stringify(at);
}

const SHORT = 40;

/** At most one line of 40 characters, and `…` when cut. */
export function shorten(text: string): string {
  const newline = text.indexOf('\n');
  const line = newline >= 0 ? text.slice(0, newline) : text;
  return line.length > SHORT ? `${line.slice(0, SHORT)}…` : newline >= 0 ? `${line}…` : line;
}

/**
 * A value described from its JavaScript form, for values that have no
 * spelling in a file (the environment's are quoted text; tests build values).
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(shorten(value));
  return String(value);
}

/** A YAML mapping (a plain object): not null, not a list. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path of keys in nested mappings, and whether it is there (own keys only: `__proto__` finds nothing). */
export function valueAt(root: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  let node = root;
  for (const part of path) {
    if (!isMapping(node) || !Object.hasOwn(node, part)) return { found: false };
    node = node[part];
  }
  return { found: true, value: node };
}
