/** Text renderings shared by the CLI (diag-tool formats). */
import type { Address } from '../address.js';
import { PORT_STATE_FIELDS, type PortInfo } from '../attributes.js';
import { formatGuid } from '../../util/format.js';
import { dumpLines } from './common.js';
import type { MulticastForwardingTable } from './smp-tables.js';

/** How smpquery names a destination in its "# ... info:" header. */
export function portidText(a: Address, selfLid: number): string {
  if (a.path) return `DR path slid ${a.lid !== undefined ? selfLid : 65535}; dlid 65535; 0${a.path.map((p) => ',' + p).join('')}`;
  return `Lid ${a.lid}`;
}

/** smpquery's `lft` block: one "LID port" line per entry. */
export function lftBlockText(block: number, ports: number[], where: string): string {
  const lines = ports.map((p, i) => `0x${(block * 64 + i).toString(16).padStart(4, '0')} ${String(p).padStart(3, '0')}`);
  return `# LinearForwardingTable block ${block}: ${where}\n${lines.join('\n')}`;
}

/** smpquery's `mft` block: one "MLID port-mask" line per entry. */
export function mftBlockText(block: number, masks: number[], where: string): string {
  const lines = masks.map((m, i) => `0x${(0xc000 + block * 32 + i).toString(16)} 0x${m.toString(16).padStart(4, '0')}`);
  return `# MulticastForwardingTable block ${block} (ports 0-15): ${where}\n${lines.join('\n')}`;
}

/** `ibroute -M`: the multicast forwarding table as a port grid. */
export function multicastRouteText(
  mft: MulticastForwardingTable,
  where: string,
  sw: { nodeGuid: bigint; description: string; multicastFdbCap: number },
  nameMap?: ReadonlyMap<bigint, string>,
): string {
  const cols = Array.from({ length: mft.numPorts + 1 }, (_, i) => i);
  return [
    `Multicast mlids [0xc000-0x${(0xc000 + sw.multicastFdbCap - 1).toString(16)}] of switch ${where} guid ${formatGuid(sw.nodeGuid)} (${nameMap?.get(sw.nodeGuid) ?? sw.description}):`,
    '     Ports: ' + cols.join(' ') + ' ',
    ' MLid',
    ...mft.entries.map((e) => '0x' + e.mlid.toString(16) + '      ' + cols.map((i) => (e.ports.includes(i) ? 'x ' : '  ')).join('')),
    `${mft.entries.length} valid mlids dumped `,
  ].join('\n');
}

/** ibaddr's line: GID and/or LID range (hex, or decimal with `decimal`). */
export function addrText(a: { gid: string; lidStart: number; lidEnd: number }, show: { gid?: boolean; lid?: boolean; decimal?: boolean } = {}): string {
  const lids = show.decimal ? `LID start ${a.lidStart} end ${a.lidEnd}` : `LID start 0x${a.lidStart.toString(16)} end 0x${a.lidEnd.toString(16)}`;
  const lid = show.lid || show.decimal;
  if (show.gid && !lid) return `GID ${a.gid} `;
  if (lid && !show.gid) return lids;
  return `GID ${a.gid} ${lids}`;
}

/** Every PortInfo field, dot-padded, indented for a record dump (saquery PIR). */
export function portInfoLines(pi: PortInfo, indent = '\t\t'): string {
  return dumpLines('PortInfo', pi.raw, 33, indent);
}

/** The PortInfo fields ibportstate shows. */
export function portStateLines(pi: PortInfo): string {
  return dumpLines('PortInfo', pi.raw, 33, '', PORT_STATE_FIELDS);
}

/** smpdump's hex: 16 bytes a line in 2-byte groups. */
export function hexDump(data: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 16) {
    const groups: string[] = [];
    for (let j = i; j < Math.min(i + 16, data.length); j += 2) groups.push(data.subarray(j, j + 2).toString('hex'));
    lines.push(groups.join(' '));
  }
  return lines.join('\n');
}
