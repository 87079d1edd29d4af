/** Text renderings shared by the CLI (diag-tool formats). */
import type { PortInfo } from '../attributes.js';
import { dumpLines } from './common.js';

/** Every PortInfo field, dot-padded, indented for a record dump (saquery PIR). */
export function portInfoLines(pi: PortInfo, indent = '\t\t'): string {
  return dumpLines('PortInfo', pi.raw, 33, indent);
}

/** The PortInfo fields ibportstate shows. */
export function portStateLines(pi: PortInfo): string {
  return dumpLines('PortInfo', pi.raw, 33, '', [
    'LinkState',
    'PhysLinkState',
    'Lid',
    'SMLid',
    'LMC',
    'LinkWidthSupported',
    'LinkWidthEnabled',
    'LinkWidthActive',
    'LinkSpeedSupported',
    'LinkSpeedEnabled',
    'LinkSpeedActive',
    'LinkSpeedExtSupported',
    'LinkSpeedExtEnabled',
    'LinkSpeedExtActive',
  ]);
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
