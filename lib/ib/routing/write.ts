/**
 * LFT Set: change entries of a switch's LinearForwardingTable (to plant
 * faults in a test fabric, or to repair one entry by hand). A write: the
 * port must be opened with `allowWrites` (`--write` on the CLI), otherwise
 * WriteNotAllowedError and nothing is sent. Each affected 64-LID block is
 * read, changed and written back whole (Set(LinearForwardingTable) carries
 * a whole block), then read again to check the switch took it.
 */
import type { Address } from '../address.js';
import { formatAddress } from '../address.js';
import { ATTR, MGMT_CLASS } from '../attributes.js';
import { HpcnetError, InvalidArgumentError } from '../../errors.js';
import { WriteNotAllowedError } from '../errors.js';
import type { Port, QueryOptions } from '../port.js';
import { setAttr } from '../queries/common.js';
import { lftBlock } from '../queries/smp-tables.js';

export interface LftChange {
  lid: number;
  /** Output port (0..254), or 255 for "no route". */
  port: number;
}

export interface LftSetResult {
  address: string;
  changes: Array<LftChange & { before: number }>;
}

/** Parse "LID:PORT" items as given on the command line. */
export function parseLftChanges(items: string[]): LftChange[] {
  if (items.length === 0) throw new InvalidArgumentError('no LID:PORT entries given');
  return items.map((it) => {
    const m = /^(0x[0-9a-fA-F]+|\d+):(0x[0-9a-fA-F]+|\d+)$/.exec(it.trim());
    if (!m) throw new InvalidArgumentError(`'${it}': expected LID:PORT (e.g. 12:3)`);
    const lid = Number(m[1]);
    const port = Number(m[2]);
    if (lid < 1 || lid > 0xbfff) throw new InvalidArgumentError(`'${it}': LID must be a unicast LID 1..0xbfff`);
    if (port > 255) throw new InvalidArgumentError(`'${it}': port must be 0..254, or 255 for no route`);
    return { lid, port };
  });
}

/** Write LFT entries of the switch at `addr` (read-modify-write per block, verified by reading back). */
export async function setLftEntries(port: Port, addr: Address, changes: LftChange[], opts: QueryOptions = {}): Promise<LftSetResult> {
  const where = formatAddress(addr);
  if (!port.allowWrites) throw new WriteNotAllowedError(`LinearForwardingTable Set to ${where}`);
  const [ni, si] = await Promise.all([port.nodeInfo(addr, opts), port.switchInfo(addr, opts).catch(() => undefined)]);
  if (ni.nodeType !== 'Switch' || !si) throw new InvalidArgumentError(`${where} is a ${ni.nodeType}, not a switch: it has no forwarding table`);
  for (const c of changes) {
    if (c.port !== 255 && c.port > ni.numPorts) throw new InvalidArgumentError(`LID ${c.lid}: the switch has ${ni.numPorts} ports, not ${c.port}`);
    if (c.lid >= si.linearFdbCap) throw new InvalidArgumentError(`LID ${c.lid}: beyond the switch's LinearFDBCap ${si.linearFdbCap}`);
  }
  const blocks = new Map<number, LftChange[]>();
  for (const c of changes) {
    const b = Math.floor(c.lid / 64);
    const l = blocks.get(b);
    if (l) l.push(c);
    else blocks.set(b, [c]);
  }
  // Read every block first: nothing is written when a read fails.
  const current = new Map<number, number[]>();
  for (const b of blocks.keys()) current.set(b, await lftBlock(port, addr, b, opts));
  const out: LftSetResult = { address: where, changes: [] };
  for (const [b, list] of blocks) {
    const ports = [...current.get(b)!];
    for (const c of list) {
      out.changes.push({ ...c, before: ports[c.lid % 64]! });
      ports[c.lid % 64] = c.port;
    }
    await setAttr(port, 'LinearForwardingTable', {
      ...opts,
      mgmtClass: MGMT_CLASS.SMI,
      attrId: ATTR.LinearForwardingTable,
      attrMod: b,
      addr,
      data: Buffer.from(ports),
    });
    const back = await lftBlock(port, addr, b, opts);
    for (const c of list) {
      if (back[c.lid % 64] !== c.port) {
        throw new HpcnetError('ERR_LFT_SET', `LID ${c.lid} on ${where}: wrote port ${c.port}, the switch reads back ${back[c.lid % 64]}`);
      }
    }
  }
  return out;
}
