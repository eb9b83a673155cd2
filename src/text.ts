/** How asyncdemo writes text for people: lists of names, counts. */

/** `a, b, c`, or the first ten and how many more: a config may hold thousands of tasks. */
export function listNames(names: readonly string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

/** `1 task`, `3 tasks`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** An ISO 8601 time for people; a value that is no time says so instead of throwing. */
export function iso(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? 'an unknown time' : date.toISOString();
}

/**
 * Text of several lines as one: `reason:\n  a\n  b` reads `reason: a; b`.
 * Cut at `maxChars` (with `…`) when given.
 */
export function oneLine(text: string, maxChars = Infinity): string {
  const line = text.replaceAll(/:\s*\n\s*/g, ': ').replaceAll(/\s*\n\s*/g, '; ');
  return line.length <= maxChars ? line : `${line.slice(0, maxChars)}…`;
}

/**
 * Control characters that would let text from a config or a file act on a
 * terminal or a log (a line break that forges a line, NUL that journald
 * splits at, ESC sequences that clear a screen or write the clipboard): the
 * C0 and C1 codes, DEL, and the Unicode line and paragraph separators.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as an escape (`\n`, `\x1b`, `\u2028`): one line, inert on a terminal. */
export function escapeControl(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`);
  });
}
