/**
 * Builds strings that match (or just miss) a Smithy `@pattern`, for the conformance test. Handles the
 * regex subset the model uses: anchors, literals, escapes, character classes and quantifiers
 * (`* + ? {n} {n,} {n,m}`). Character classes are interpreted by the JS engine itself: each candidate
 * character is tested against the class's own source.
 */

interface Atom {
  readonly source: string;
  readonly min: number;
  readonly max: number;
  readonly char: string;
}

const PREFERRED = ['a', 'A', '0', ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\n'];
const VIOLATORS = ['~', '>', '!', 'é', '\n', ' ', '{', '#', '-', ':', 'a', 'A', '0'];

/** Splits an anchored pattern into single-character atoms with repetition bounds; `undefined` if unsupported. */
export function atomsOf(pattern: string): Atom[] | undefined {
  let body = pattern;
  if (body.startsWith('^')) body = body.slice(1);
  if (body.endsWith('$') && !body.endsWith('\\$')) body = body.slice(0, -1);
  const atoms: Atom[] = [];
  let i = 0;
  while (i < body.length) {
    let source: string;
    const c = body[i]!;
    if (c === '[') {
      let j = i + 1;
      while (j < body.length && body[j] !== ']') j += body[j] === '\\' ? 2 : 1;
      source = body.slice(i, j + 1);
      i = j + 1;
    } else if (c === '\\') {
      source = body.slice(i, i + 2);
      i += 2;
    } else if ('()|'.includes(c)) {
      return undefined;
    } else {
      source = c;
      i += 1;
    }
    let min = 1;
    let max = 1;
    const q = body[i];
    if (q === '*' || q === '+' || q === '?') {
      [min, max] =
        q === '*' ? [0, Number.POSITIVE_INFINITY] : q === '+' ? [1, Number.POSITIVE_INFINITY] : [0, 1];
      i += 1;
    } else if (q === '{') {
      const close = body.indexOf('}', i);
      const [lo, hi] = body.slice(i + 1, close).split(',');
      min = Number(lo);
      max = hi === undefined ? min : hi === '' ? Number.POSITIVE_INFINITY : Number(hi);
      i = close + 1;
    }
    const re = new RegExp(`^${source}$`);
    const char = PREFERRED.find((candidate) => re.test(candidate));
    if (char === undefined) return undefined;
    atoms.push({ source, min, max, char });
  }
  return atoms;
}

/**
 * A string matching `pattern` with exactly `length` code points (or the shortest match when `length`
 * is undefined); `undefined` when the pattern cannot produce that length.
 */
export function matchingString(pattern: string, length?: number): string | undefined {
  const atoms = atomsOf(pattern);
  if (!atoms) return undefined;
  const reps = atoms.map((a) => a.min);
  const base = reps.reduce((s, n) => s + n, 0);
  if (length !== undefined) {
    let extra = length - base;
    if (extra < 0) return undefined;
    // Pad the last atoms first: for ARN-like patterns that keeps the fixed prefix intact.
    for (let k = atoms.length - 1; k >= 0 && extra > 0; k--) {
      const room = Math.min(extra, atoms[k]!.max - reps[k]!);
      reps[k]! += room;
      extra -= room;
    }
    if (extra > 0) return undefined;
  }
  const text = atoms.map((a, k) => a.char.repeat(reps[k]!)).join('');
  return new RegExp(pattern).test(text) ? text : undefined;
}

/**
 * A string that fails `pattern` while keeping the length of a matching example within
 * `[minLength, maxLength]`; `undefined` when no such string exists (e.g. `^[\s\S]*$`).
 */
export function violatingString(
  pattern: string,
  minLength = 0,
  maxLength = Number.POSITIVE_INFINITY,
): string | undefined {
  const re = new RegExp(pattern);
  const inBounds = (s: string) => [...s].length >= minLength && [...s].length <= maxLength;
  if (inBounds('') && !re.test('')) return '';
  const example = matchingString(pattern, Math.max(minLength, 1)) ?? matchingString(pattern);
  if (example === undefined) return undefined;
  const chars = [...example];
  for (let position = 0; position < chars.length; position++) {
    for (const replacement of VIOLATORS) {
      const candidate = [...chars.slice(0, position), replacement, ...chars.slice(position + 1)].join('');
      if (inBounds(candidate) && !re.test(candidate)) return candidate;
    }
  }
  return undefined;
}
