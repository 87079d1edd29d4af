/**
 * Plumbing shared by the issue-4 query modules: libibmad field groups added
 * in native/ib/mad_port.cc Groups(), Get/Set helpers with status checks and
 * the write opt-in, and small formatting helpers the diag tools' text uses.
 */
import { formatAddress, type Address } from '../address.js';
import { METHOD } from '../attributes.js';
import { MadStatusError, MalformedReplyError, WriteNotAllowedError } from '../errors.js';
import { decodeGroup, dumpField, encodeGroup, fieldGroup, type FieldGroupName, type FieldRecord, type FieldValue } from '../fields.js';
import type { MadRequest, MadResponse, Port, QueryOptions } from '../port.js';
import { formatIpv6 } from '../../util/format.js';

/** Field groups of the native Groups() table. */
export type QueryGroup = FieldGroupName;

export function decode(group: QueryGroup, buf: Buffer, offset = 0): FieldRecord {
  return decodeGroup(group, buf, offset);
}
export function encode(group: QueryGroup, buf: Buffer, offset: number, values: Record<string, number | bigint>): void {
  encodeGroup(group, buf, offset, values);
}
export function dumpValue(group: QueryGroup, name: string, value: FieldValue): string {
  return dumpField(group, name, value);
}
export function groupFields(group: QueryGroup): Array<{ id: number; name: string; bits: number }> {
  return fieldGroup(group);
}
/** Dot-padded "Name:.....value" lines (libibmad's dumper format) for the given fields, padded to `width` (M_Keys are not displayed, as the diag tools do). */
export function dumpLines(group: QueryGroup, rec: FieldRecord, width = 33, indent = '', names?: readonly string[]): string {
  const list = names ?? groupFields(group).map((d) => d.name);
  return list
    .filter((n) => n in rec)
    .map((n) => indent + `${n}:`.padEnd(width, '.') + (n === 'Mkey' ? '<not displayed>' : dumpValue(group, n, rec[n]!)))
    .join('\n');
}

export const num = (r: FieldRecord, k: string): number => {
  const v = r[k];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
};
export const big = (r: FieldRecord, k: string): bigint => {
  const v = r[k];
  return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : 0n;
};
export const bytes = (r: FieldRecord, k: string): Buffer => {
  const v = r[k];
  return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
};

/** Send a Get (or other read method) and return the reply, throwing MadStatusError on a non-zero status. */
export async function getAttr(port: Port, what: string, req: Omit<MadRequest, 'method'> & { method?: number }): Promise<MadResponse> {
  const res = await port.mad({ method: METHOD.Get, ...req });
  if (res.status !== 0) throw new MadStatusError({ attribute: what, attrId: req.attrId, address: formatAddress(req.addr) }, res.statusDecoded);
  return res;
}

/** A Set: refused unless the port was opened with allowWrites. */
export async function setAttr(port: Port, what: string, req: Omit<MadRequest, 'method'>): Promise<MadResponse> {
  if (!port.allowWrites) throw new WriteNotAllowedError(`${what} Set to ${formatAddress(req.addr)}`);
  const res = await port.mad({ ...req, method: METHOD.Set });
  if (res.status !== 0) throw new MadStatusError({ attribute: what, attrId: req.attrId, address: formatAddress(req.addr) }, res.statusDecoded);
  return res;
}

/** The attribute payload must be at least `need` bytes. */
export function need(res: { data: Buffer }, need: number, what: string, attrId: number, addr: Address): Buffer {
  if (res.data.length < need) {
    throw new MalformedReplyError({ attribute: what, attrId, address: formatAddress(addr) }, `payload ${res.data.length} bytes, need ${need}`);
  }
  return res.data;
}

export type { QueryOptions };

/** Compressed IPv6 text of a GID (as inet_ntop and so saquery/ibaddr print it). */
export function gidText(gid: Buffer | bigint, guid?: bigint): string {
  let b: Buffer;
  if (typeof gid === 'bigint') {
    b = Buffer.alloc(16);
    b.writeBigUInt64BE(gid & 0xffffffffffffffffn, 0);
    b.writeBigUInt64BE((guid ?? 0n) & 0xffffffffffffffffn, 8);
  } else {
    b = Buffer.alloc(16);
    gid.copy(b, 0, 0, Math.min(16, gid.length));
  }
  return formatIpv6(b);
}

/** A GID as a 16-byte buffer from IPv6 text ("fe80::10:1"). */
export function parseGid(text: string): Buffer {
  const t = text.trim();
  const halves = t.split('::');
  if (halves.length > 2) throw new RangeError(`'${text}' is not a GID (IPv6 notation)`);
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<string>(fill).fill('0'), ...tail];
  if (all.length !== 8 || all.some((w) => !/^[0-9a-f]{1,4}$/i.test(w))) throw new RangeError(`'${text}' is not a GID (IPv6 notation)`);
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), i * 2));
  return b;
}

export function hex(n: number, digits: number): string {
  return '0x' + n.toString(16).padStart(digits, '0');
}
