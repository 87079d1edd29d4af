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

/** Left-aligned text table. */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
