/**
 * Slurm's compressed hostlist syntax, written: `node[001-018,020],login1`.
 *
 * Names are grouped by the text before their trailing digits (the prefix)
 * and by the width of those digits: a zero-padded number (`007`) keeps its
 * width, so `node007` and `node010` share `node[007,010]`, while `node9`
 * and `node10` (no padding) share `node[9-10]`. A number without a leading
 * zero joins the padded group of its own width when there is one
 * (`node099,node100` -> `node[099-100]`). Names without trailing digits are
 * written as they are. Expanding the result (Slurm's `scontrol show
 * hostnames`) gives back exactly the input set.
 */

interface Split {
  prefix: string;
  digits: string;
}

function splitName(name: string): Split | undefined {
  const m = /^(.*?)(\d+)$/.exec(name);
  // All-digit names are written as they are (a bare range is not a hostlist).
  return m && m[1] !== '' ? { prefix: m[1]!, digits: m[2]! } : undefined;
}

interface SortKey {
  name: string;
  prefix: string;
  num: number;
}

function sortKey(name: string): SortKey {
  const s = splitName(name);
  return s ? { name, prefix: s.prefix, num: Number(s.digits) } : { name, prefix: name, num: -1 };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.prefix !== b.prefix) return a.prefix < b.prefix ? -1 : 1;
  if (a.num !== b.num) return a.num - b.num;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Natural order: by prefix, then numerically by trailing number, then by text. */
export function compareHostnames(a: string, b: string): number {
  return compareKeys(sortKey(a), sortKey(b));
}

/** Names in natural order (a new array; each name is parsed once). */
export function sortHostnames(names: Iterable<string>): string[] {
  return [...names]
    .map(sortKey)
    .sort(compareKeys)
    .map((k) => k.name);
}

/** Ranges of consecutive integers, as `a-b` or `a`, each number padded to `width` (0: unpadded). */
function ranges(nums: number[], width: number): string[] {
  const out: string[] = [];
  const fmt = (n: number) => String(n).padStart(width, '0');
  for (let i = 0; i < nums.length; ) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
    out.push(j === i ? fmt(nums[i]!) : `${fmt(nums[i]!)}-${fmt(nums[j]!)}`);
    i = j + 1;
  }
  return out;
}

/** Compress host (or switch) names into one Slurm hostlist expression; duplicates are dropped. */
export function compressHostlist(names: Iterable<string>): string {
  const unique = [...new Set(names)];
  // Widths that are zero-padded somewhere, per prefix.
  const padded = new Map<string, Set<number>>();
  const splits = new Map<string, Split | undefined>();
  for (const n of unique) {
    const s = splitName(n);
    splits.set(n, s);
    if (s && s.digits.length > 1 && s.digits.startsWith('0')) {
      let set = padded.get(s.prefix);
      if (!set) padded.set(s.prefix, (set = new Set()));
      set.add(s.digits.length);
    }
  }
  // Groups keyed by prefix + width (0 = unpadded), in order of first appearance after sorting.
  const groups = new Map<string, { prefix: string; width: number; nums: number[] }>();
  const parts: Array<{ sortKey: string; text?: string; group?: string }> = [];
  for (const n of sortHostnames(unique)) {
    const s = splits.get(n);
    if (!s) {
      parts.push({ sortKey: n, text: n });
      continue;
    }
    const leadingZero = s.digits.length > 1 && s.digits.startsWith('0');
    const width = leadingZero || padded.get(s.prefix)?.has(s.digits.length) ? s.digits.length : 0;
    // A number too wide for Number stays as a plain name.
    if (s.digits.length > 15) {
      parts.push({ sortKey: n, text: n });
      continue;
    }
    const key = `${s.prefix}\u0000${width}`;
    let g = groups.get(key);
    if (!g) {
      groups.set(key, (g = { prefix: s.prefix, width, nums: [] }));
      parts.push({ sortKey: n, group: key });
    }
    g.nums.push(Number(s.digits));
  }
  return parts
    .map((p) => {
      if (p.text !== undefined) return p.text;
      const g = groups.get(p.group!)!;
      const nums = [...new Set(g.nums)].sort((a, b) => a - b);
      if (nums.length === 1) return g.prefix + String(nums[0]).padStart(g.width, '0');
      return `${g.prefix}[${ranges(nums, g.width).join(',')}]`;
    })
    .join(',');
}
