/**
 * What to say about a key the config does not know, so a typo is fixed in one
 * go: the nearest known key (`did you mean log.level?`), the nesting that a
 * dotted name meant, or the keys that are allowed there.
 */
export function unknownKeyReason({ key, parent, here, everywhere, hereName }: {
  /** The unknown key as written. */
  readonly key: string;
  /** Dotted path of the mapping it is in ('' at the top level). */
  readonly parent: string;
  /** The keys allowed in that mapping. */
  readonly here: readonly string[];
  /** Every known dotted key (sections and settings), for a dotted name or a key put under the wrong section. */
  readonly everywhere?: readonly string[];
  /** How to name the mapping in `… has a, b, c` (default: its path, or "the top level"). */
  readonly hereName?: string;
}): string {
  const full = parent === '' ? key : `${parent}.${key}`;
  if (key.includes('.') && everywhere?.includes(full)) {
    return `unknown key; a dotted name is not a path: write ${full} nested, as ${nested(full.split('.'))}`;
  }
  const near = nearest(key, here);
  if (near !== undefined) return `unknown key; did you mean ${parent === '' ? near : `${parent}.${near}`}?`;
  const elsewhere = everywhere?.find((known) => known.endsWith(`.${key}`) || known === key);
  if (elsewhere !== undefined) return `unknown key; did you mean ${elsewhere}?`;
  return `unknown key; ${hereName ?? (parent === '' ? 'the top level' : parent)} has ${here.join(', ')}`;
}

function nested(parts: readonly string[]): string {
  return parts.reduceRight((inner, part) => `{${part}: ${inner}}`, '…').slice(1, -1);
}

/** The known key closest to `key` in spelling, if it is close enough to be a typo of it. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  // Past this length a key is no typo of ours, and the distance would cost time on a hostile file.
  if (key.length > 40) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    // A third of the shorter name: `levl` is `level`, `operationsubb` is not `operation`.
    const allowed = Math.max(1, Math.floor(Math.min(key.length, candidate.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`: optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
