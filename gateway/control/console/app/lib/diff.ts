/**
 * A line diff of two texts (the configs of two versions, pretty-printed), as hunks with a few lines of context:
 * what `diff -u` shows. Longest common subsequence over the lines; configs are small enough (a few thousand
 * lines) for its quadratic table, and larger ones are compared by their changed middle only.
 */

export interface DiffLine {
  kind: ' ' | '-' | '+';
  text: string;
  /** Line numbers in the old and new text (1-based); 0 where the line is not in that side. */
  oldLine: number;
  newLine: number;
}

export interface Hunk {
  lines: DiffLine[];
}

/** The longest middle run the LCS table is built for; beyond it the middle is shown removed and added whole. */
const MAX_CELLS = 4_000_000;

export function diffLines(oldText: string, newText: string, context = 3): Hunk[] {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  // Common head and tail need no table.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const lines: DiffLine[] = [];
  for (let i = 0; i < head; i++) lines.push({ kind: ' ', text: a[i], oldLine: i + 1, newLine: i + 1 });
  lines.push(...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail), head));
  for (let i = tail; i > 0; i--) {
    const ai = a.length - i;
    lines.push({ kind: ' ', text: a[ai], oldLine: ai + 1, newLine: b.length - i + 1 });
  }
  return hunks(lines, context);
}

function middle(a: string[], b: string[], offset: number): DiffLine[] {
  const out: DiffLine[] = [];
  if ((a.length + 1) * (b.length + 1) > MAX_CELLS) {
    a.forEach((text, i) => out.push({ kind: '-', text, oldLine: offset + i + 1, newLine: 0 }));
    b.forEach((text, j) => out.push({ kind: '+', text, oldLine: 0, newLine: offset + j + 1 }));
    return out;
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i * width + j] =
        a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: ' ', text: a[i], oldLine: offset + i + 1, newLine: offset + j + 1 });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
      // On a tie the removal goes first, as diff -u shows a replaced line.
      out.push({ kind: '-', text: a[i], oldLine: offset + i + 1, newLine: 0 });
      i++;
    } else {
      out.push({ kind: '+', text: b[j], oldLine: 0, newLine: offset + j + 1 });
      j++;
    }
  }
  return out;
}

/** Changed lines with `context` unchanged lines around them; runs closer than twice that join one hunk. */
function hunks(lines: DiffLine[], context: number): Hunk[] {
  const changed = lines.map((l, i) => (l.kind === ' ' ? -1 : i)).filter((i) => i >= 0);
  const out: Hunk[] = [];
  let start = -1;
  let end = -1;
  for (const i of changed) {
    if (start >= 0 && i - context <= end + context) end = i;
    else {
      if (start >= 0) out.push({ lines: lines.slice(Math.max(0, start - context), end + context + 1) });
      start = i;
      end = i;
    }
  }
  if (start >= 0) out.push({ lines: lines.slice(Math.max(0, start - context), end + context + 1) });
  return out;
}

/**
 * JSON with every object's keys sorted, two spaces per level: two configs that hold the same keys in another order
 * (an edit through the API writes a service's fields in its own order) differ only where their values do.
 */
export function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  };
  return JSON.stringify(sorted(value), null, 2);
}
