/** Formatting helpers shared by the JSON and text outputs. */

/** A GUID as `0x` plus 16 hex digits. */
export function formatGuid(guid: bigint): string {
  return '0x' + guid.toString(16).padStart(16, '0');
}

/** A 128-bit GID (prefix, interface id) in IPv6 notation, as the kernel prints `gids/N`. */
export function formatGid(prefix: bigint, guid: bigint): string {
  const hex = prefix.toString(16).padStart(16, '0') + guid.toString(16).padStart(16, '0');
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
  return groups.join(':');
}

/** 16 bytes as IPv6 text the way inet_ntop writes it: lower-case hex, the longest run (2 or more) of zero groups as '::'. */
export function formatIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(':');
  return bestLen < 2 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Left-aligned text table. */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
