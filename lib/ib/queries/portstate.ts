/**
 * Port management with SMP Set(PortInfo), as ibportstate does: read
 * PortInfo, turn every state field into "no change", apply the operation,
 * write it back. A write: refused unless the port was opened with
 * { allowWrites: true } (`--write` on the CLI). Fields are set through
 * libibmad's PortInfo field table.
 */
import type { Address } from '../address.js';
import { ATTR, MGMT_CLASS, portInfoFrom, type PortInfo } from '../attributes.js';
import { BadAddressError, WriteNotAllowedError } from '../errors.js';
import { formatAddress } from '../address.js';
import type { Port, QueryOptions } from '../port.js';
import { decode, encode, getAttr, num, setAttr } from './common.js';

export type PortOperation = 'enable' | 'disable' | 'reset' | 'down' | 'arm' | 'active';

export interface PortStateChange {
  op?: PortOperation;
  /** LinkSpeedEnabled bits (1 SDR, 2 DDR, 4 QDR; 15 = all supported). */
  speed?: number;
  /** LinkSpeedExtEnabled bits (1 FDR, 2 EDR, 4 HDR, 8 NDR, 16 XDR; 31 = all supported). */
  espeed?: number;
  /** LinkWidthEnabled bits (1 1X, 2 4X, 4 8X, 8 12X, 16 2X; 255 = all supported). */
  width?: number;
}

export interface PortStateResult {
  before: PortInfo;
  /** PortInfo as the SMA returned it in the Set response. */
  after: PortInfo;
}

/** Apply an ibportstate operation to port `portNum` of the node at `addr`. */
export async function setPortState(port: Port, addr: Address, portNum: number, change: PortStateChange, opts: QueryOptions = {}): Promise<PortStateResult> {
  if (!Number.isInteger(portNum) || portNum < 0 || portNum > 254) throw new BadAddressError(`port number must be 0..254, got ${portNum}`);
  const { op, speed, espeed, width } = change;
  if (speed !== undefined && (!Number.isInteger(speed) || speed < 0 || speed > 15)) throw new RangeError(`speed must be 0..15, got ${speed}`);
  if (espeed !== undefined && (!Number.isInteger(espeed) || espeed < 0 || espeed > 31)) throw new RangeError(`espeed must be 0..31, got ${espeed}`);
  if (width !== undefined && (!Number.isInteger(width) || width < 0 || (width > 31 && width !== 255))) throw new RangeError(`width must be 0..31 or 255, got ${width}`);
  // Refuse before reading anything: nothing is sent without the opt-in.
  if (!port.allowWrites) throw new WriteNotAllowedError(`PortInfo Set (${op ?? 'speed/width'}) on port ${portNum} of ${formatAddress(addr)}`);
  const res = await getAttr(port, 'PortInfo', { ...opts, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.PortInfo, attrMod: portNum, addr });
  const data = Buffer.from(res.data.subarray(0, 64));
  const before = portInfoFrom(decode('PortInfo', data));
  const v: Record<string, number> = { LinkState: 0, PhysLinkState: 0 };
  // A default LID/SMLID (0 or 0xffff) is rejected by SMAs: use a harmless valid one, as ibportstate does.
  const lid = num(before.raw, 'Lid');
  if (!lid || lid === 0xffff) v['Lid'] = 0x1234;
  const sml = num(before.raw, 'SMLid');
  if (!sml || sml === 0xffff) v['SMLid'] = 0x1234;
  switch (op) {
    case 'enable':
    case 'reset':
      v['PhysLinkState'] = 2; // Polling
      break;
    case 'disable':
      v['PhysLinkState'] = 3; // Disabled
      break;
    case 'down':
      v['LinkState'] = 1;
      break;
    case 'arm':
      v['LinkState'] = 3;
      break;
    case 'active':
      v['LinkState'] = 4;
      break;
    case undefined:
      break;
  }
  v['LinkSpeedEnabled'] = speed ?? 0; // 0 = no change
  v['LinkSpeedExtEnabled'] = espeed ?? 0;
  v['LinkWidthEnabled'] = width ?? 0;
  encode('PortInfo', data, 0, v);
  const set = await setAttr(port, 'PortInfo', { ...opts, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.PortInfo, attrMod: portNum, addr, data });
  return { before, after: portInfoFrom(decode('PortInfo', set.data)) };
}
