/** How asyncdemo writes text for people: lists of names, counts. */

/** `a, b, c`, or the first ten and how many more: a config may hold thousands of tasks. */
export function listNames(names: readonly string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

/** `1 task`, `3 tasks`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
