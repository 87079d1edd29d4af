/**
 * Performance management (class 0x04): ClassPortInfo, PortCounters,
 * PortCountersExtended, AllPortSelect (port 255) where ClassPortInfo says it
 * is supported (otherwise summed over the ports, as perfquery -a does), and
 * counter reset (a Set with a CounterSelect mask: needs allowWrites).
 * Layouts: libibmad's IB_CPI_*, IB_PC_*, IB_PC_EXT_* fields.
 */
import type { Address } from '../address.js';
import { ATTR, MGMT_CLASS } from '../attributes.js';
import { BadAddressError } from '../errors.js';
import type { FieldRecord } from '../fields.js';
import type { Port, QueryOptions } from '../port.js';
import { big, decode, dumpLines, encode, getAttr, groupFields, need, num, setAttr } from './common.js';

const PMA = MGMT_CLASS.PMA;

/** PMA ClassPortInfo CapabilityMask bits (IBA 16.1.3.1, perfquery's IB_PM_*). */
export const PM_CAP = {
  AllPortSelect: 1 << 8,
  ExtendedWidth: 1 << 9,
  ExtendedWidthNoIetf: 1 << 10,
  SamplesOnly: 1 << 11,
  PortXmitWait: 1 << 12,
  IsAdditionalPortCountersExtended: 1 << 14,
} as const;

export interface PmaClassPortInfo {
  baseVersion: number;
  classVersion: number;
  capabilityMask: number;
  capabilityMask2: number;
  respTimeValue: number;
  allPortSelect: boolean;
  extendedWidth: boolean;
  portXmitWait: boolean;
  raw: FieldRecord;
}

function lidOf(addr: Address): Address {
  if (addr.path) throw new BadAddressError('PMA queries are LID-routed: a directed route cannot be used');
  return addr;
}

export function pmaClassPortInfoFrom(data: Buffer): PmaClassPortInfo {
  const r = decode('ClassPortInfo', data);
  const cap = num(r, 'CapabilityMask');
  return {
    baseVersion: num(r, 'BaseVersion'),
    classVersion: num(r, 'ClassVersion'),
    capabilityMask: cap,
    capabilityMask2: num(r, 'CapabilityMask2'),
    respTimeValue: num(r, 'RespTimeVal'),
    allPortSelect: (cap & PM_CAP.AllPortSelect) !== 0,
    extendedWidth: (cap & (PM_CAP.ExtendedWidth | PM_CAP.ExtendedWidthNoIetf)) !== 0,
    portXmitWait: (cap & PM_CAP.PortXmitWait) !== 0,
    raw: r,
  };
}

export async function pmaClassPortInfo(port: Port, addr: Address, opts: QueryOptions = {}): Promise<PmaClassPortInfo> {
  const a = lidOf(addr);
  const res = await getAttr(port, 'PMA ClassPortInfo', { ...opts, mgmtClass: PMA, attrId: ATTR.ClassPortInfo, addr: a });
  return pmaClassPortInfoFrom(need(res, 64, 'PMA ClassPortInfo', ATTR.ClassPortInfo, a));
}

/** PortCounters (32-bit and narrower counters, as numbers). */
export interface PortCounters {
  portSelect: number;
  counterSelect: number;
  symbolErrorCounter: number;
  linkErrorRecoveryCounter: number;
  linkDownedCounter: number;
  portRcvErrors: number;
  portRcvRemotePhysicalErrors: number;
  portRcvSwitchRelayErrors: number;
  portXmitDiscards: number;
  portXmitConstraintErrors: number;
  portRcvConstraintErrors: number;
  localLinkIntegrityErrors: number;
  excessiveBufferOverrunErrors: number;
  qp1Dropped: number;
  vl15Dropped: number;
  /** In units of 4 octets, as the PMA counts. */
  portXmitData: number;
  portRcvData: number;
  portXmitPkts: number;
  portRcvPkts: number;
  portXmitWait: number;
  raw: FieldRecord;
}

const PC_NAMES: Array<[keyof PortCounters, string]> = [
  ['portSelect', 'PortSelect'],
  ['counterSelect', 'CounterSelect'],
  ['symbolErrorCounter', 'SymbolErrorCounter'],
  ['linkErrorRecoveryCounter', 'LinkErrorRecoveryCounter'],
  ['linkDownedCounter', 'LinkDownedCounter'],
  ['portRcvErrors', 'PortRcvErrors'],
  ['portRcvRemotePhysicalErrors', 'PortRcvRemotePhysicalErrors'],
  ['portRcvSwitchRelayErrors', 'PortRcvSwitchRelayErrors'],
  ['portXmitDiscards', 'PortXmitDiscards'],
  ['portXmitConstraintErrors', 'PortXmitConstraintErrors'],
  ['portRcvConstraintErrors', 'PortRcvConstraintErrors'],
  ['localLinkIntegrityErrors', 'LocalLinkIntegrityErrors'],
  ['excessiveBufferOverrunErrors', 'ExcessiveBufferOverrunErrors'],
  ['qp1Dropped', 'QP1Dropped'],
  ['vl15Dropped', 'VL15Dropped'],
  ['portXmitData', 'PortXmitData'],
  ['portRcvData', 'PortRcvData'],
  ['portXmitPkts', 'PortXmitPkts'],
  ['portRcvPkts', 'PortRcvPkts'],
  ['portXmitWait', 'PortXmitWait'],
];

export function portCountersFrom(data: Buffer): PortCounters {
  const r = { ...decode('PortCounters', data), ...decode('PortCountersQP1Drop', data) };
  const out = { raw: r } as PortCounters;
  for (const [k, n] of PC_NAMES) (out as unknown as Record<string, number>)[k] = num(r, n);
  return out;
}

/** PortCountersExtended: 64-bit counters as bigint. */
export interface PortCountersExtended {
  portSelect: number;
  counterSelect: number;
  portXmitData: bigint;
  portRcvData: bigint;
  portXmitPkts: bigint;
  portRcvPkts: bigint;
  portUnicastXmitPkts: bigint;
  portUnicastRcvPkts: bigint;
  portMulticastXmitPkts: bigint;
  portMulticastRcvPkts: bigint;
  raw: FieldRecord;
}

export function portCountersExtendedFrom(data: Buffer): PortCountersExtended {
  const r = decode('PortCountersExtended', data);
  return {
    portSelect: num(r, 'PortSelect'),
    counterSelect: num(r, 'CounterSelect'),
    portXmitData: big(r, 'PortXmitData'),
    portRcvData: big(r, 'PortRcvData'),
    portXmitPkts: big(r, 'PortXmitPkts'),
    portRcvPkts: big(r, 'PortRcvPkts'),
    portUnicastXmitPkts: big(r, 'PortUnicastXmitPkts'),
    portUnicastRcvPkts: big(r, 'PortUnicastRcvPkts'),
    portMulticastXmitPkts: big(r, 'PortMulticastXmitPkts'),
    portMulticastRcvPkts: big(r, 'PortMulticastRcvPkts'),
    raw: r,
  };
}

function checkPmaPort(p: number): number {
  if (!Number.isInteger(p) || p < 0 || p > 255) throw new BadAddressError(`PMA port select must be 0..255 (255 = all ports), got ${p}`);
  return p;
}

function selectData(group: 'PortCounters' | 'PortCountersExtended', portSelect: number, counterSelect?: number): Buffer {
  const b = Buffer.alloc(192);
  encode(group, b, 0, { PortSelect: portSelect, ...(counterSelect !== undefined ? { CounterSelect: counterSelect } : {}) });
  return b;
}

/** PortCounters of one port (255: AllPortSelect, only where ClassPortInfo advertises it). */
export async function portCounters(port: Port, addr: Address, portNum = 1, opts: QueryOptions = {}): Promise<PortCounters> {
  const a = lidOf(addr);
  checkPmaPort(portNum);
  const res = await getAttr(port, 'PortCounters', { ...opts, mgmtClass: PMA, attrId: ATTR.PortCounters, addr: a, data: selectData('PortCounters', portNum) });
  return portCountersFrom(need(res, 44, 'PortCounters', ATTR.PortCounters, a));
}

export async function portCountersExtended(port: Port, addr: Address, portNum = 1, opts: QueryOptions = {}): Promise<PortCountersExtended> {
  const a = lidOf(addr);
  checkPmaPort(portNum);
  const res = await getAttr(port, 'PortCountersExtended', {
    ...opts,
    mgmtClass: PMA,
    attrId: ATTR.PortCountersExtended,
    addr: a,
    data: selectData('PortCountersExtended', portNum),
  });
  return portCountersExtendedFrom(need(res, 72, 'PortCountersExtended', ATTR.PortCountersExtended, a));
}

export interface AggregateOptions extends QueryOptions {
  extended?: boolean;
  /** ClassPortInfo, when already known. */
  classPortInfo?: PmaClassPortInfo;
}

export interface AggregateCounters<T> {
  /** True when the node's PMA advertised AllPortSelect and port 255 was queried. */
  allPortSelect: boolean;
  /** Ports summed when AllPortSelect is not supported. */
  ports: number[];
  counters: T;
}

/**
 * Counters of all ports of a node: PortSelect 255 when ClassPortInfo
 * advertises AllPortSelect, else the sum over ports 1..NumPorts (32-bit
 * counters saturate at their width, as perfquery's emulation does).
 */
export async function aggregateCounters(port: Port, addr: Address, opts: AggregateOptions & { extended: true }): Promise<AggregateCounters<PortCountersExtended>>;
export async function aggregateCounters(port: Port, addr: Address, opts?: AggregateOptions): Promise<AggregateCounters<PortCounters>>;
export async function aggregateCounters(port: Port, addr: Address, opts: AggregateOptions = {}): Promise<AggregateCounters<PortCounters | PortCountersExtended>> {
  const { extended, classPortInfo, ...q } = opts;
  const cpi = classPortInfo ?? (await pmaClassPortInfo(port, addr, q));
  if (cpi.allPortSelect) {
    return { allPortSelect: true, ports: [], counters: extended ? await portCountersExtended(port, addr, 255, q) : await portCounters(port, addr, 255, q) };
  }
  const ni = await port.nodeInfo(lidOf(addr), q);
  const ports = Array.from({ length: ni.numPorts }, (_, i) => i + 1);
  if (extended) {
    const all = await Promise.all(ports.map((p) => portCountersExtended(port, addr, p, q)));
    return { allPortSelect: false, ports, counters: sumExtended(all) };
  }
  const all = await Promise.all(ports.map((p) => portCounters(port, addr, p, q)));
  return { allPortSelect: false, ports, counters: sumCounters(all) };
}

function sumCounters(list: PortCounters[]): PortCounters {
  // Field widths from libibmad's table: each sum saturates at its field's maximum.
  const bits = new Map([...groupFields('PortCounters'), ...groupFields('PortCountersQP1Drop')].map((d) => [d.name, d.bits]));
  const raw: FieldRecord = { CounterSelect2: 0 };
  const out = { raw } as PortCounters;
  for (const [k, n] of PC_NAMES) {
    let v: number;
    if (n === 'PortSelect') v = 255;
    else if (n === 'CounterSelect') v = 0;
    else {
      const w = bits.get(n) ?? 32;
      const max = w >= 32 ? 0xffffffff : 2 ** w - 1;
      v = Math.min(list.reduce((s, c) => s + (c[k] as number), 0), max);
    }
    (out as unknown as Record<string, number>)[k] = v;
    raw[n] = v;
  }
  return out;
}

function sumExtended(list: PortCountersExtended[]): PortCountersExtended {
  const keys = [
    'portXmitData',
    'portRcvData',
    'portXmitPkts',
    'portRcvPkts',
    'portUnicastXmitPkts',
    'portUnicastRcvPkts',
    'portMulticastXmitPkts',
    'portMulticastRcvPkts',
  ] as const;
  const out = { portSelect: 255, counterSelect: 0 } as PortCountersExtended;
  const raw: FieldRecord = { PortSelect: 255, CounterSelect: 0 };
  for (const k of keys) {
    let s = 0n;
    for (const c of list) s += c[k];
    out[k] = s & 0xffffffffffffffffn;
    raw[k[0]!.toUpperCase() + k.slice(1)] = out[k];
  }
  out.raw = raw;
  return out;
}

/** CounterSelect bits of PortCounters (IBA 16.1.3.5). */
export const COUNTER_SELECT = {
  SymbolErrorCounter: 1 << 0,
  LinkErrorRecoveryCounter: 1 << 1,
  LinkDownedCounter: 1 << 2,
  PortRcvErrors: 1 << 3,
  PortRcvRemotePhysicalErrors: 1 << 4,
  PortRcvSwitchRelayErrors: 1 << 5,
  PortXmitDiscards: 1 << 6,
  PortXmitConstraintErrors: 1 << 7,
  PortRcvConstraintErrors: 1 << 8,
  LocalLinkIntegrityErrors: 1 << 9,
  ExcessiveBufferOverrunErrors: 1 << 10,
  VL15Dropped: 1 << 11,
  PortXmitData: 1 << 12,
  PortRcvData: 1 << 13,
  PortXmitPkts: 1 << 14,
  PortRcvPkts: 1 << 15,
} as const;

export interface ResetOptions extends QueryOptions {
  /** CounterSelect mask (default 0xffff: every PortCounters counter). */
  mask?: number;
  /** Reset PortCountersExtended instead (mask default 0xff). */
  extended?: boolean;
}

/** Reset counters with a Set and a CounterSelect mask. A write: the port must allow writes. */
export async function resetCounters(port: Port, addr: Address, portNum: number, opts: ResetOptions = {}): Promise<PortCounters | PortCountersExtended> {
  const { mask, extended, ...q } = opts;
  const a = lidOf(addr);
  checkPmaPort(portNum);
  const m = mask ?? (extended ? 0xff : 0xffff);
  if (!Number.isInteger(m) || m < 0 || m > 0xffff) throw new RangeError(`counter select mask must be 0..0xffff, got ${m}`);
  const group = extended ? 'PortCountersExtended' : 'PortCounters';
  const attrId = extended ? ATTR.PortCountersExtended : ATTR.PortCounters;
  const res = await setAttr(port, group, { ...q, mgmtClass: PMA, attrId, addr: a, data: selectData(group, portNum, m) });
  return extended ? portCountersExtendedFrom(res.data) : portCountersFrom(res.data);
}

/** perfquery's text for PortCounters (libibmad's dump order: QP1Dropped before VL15Dropped). */
export function portCountersText(c: PortCounters, where: string, portNum: number, cap: number): string {
  // The PortCounters group in field order, with QP1Dropped (its own group) before VL15Dropped.
  const names = groupFields('PortCounters').map((f) => f.name);
  const vl15 = names.indexOf('VL15Dropped');
  const head = `# Port counters: ${where} port ${portNum} (CapMask: 0x${cap.toString(16).toUpperCase().padStart(4, '0')})`;
  const raw = { ...c.raw };
  raw['CounterSelect2'] ??= 0;
  return [
    head,
    dumpLines('PortCounters', raw, 33, '', names.slice(0, vl15)),
    dumpLines('PortCountersQP1Drop', raw),
    dumpLines('PortCounters', raw, 33, '', names.slice(vl15)),
  ].join('\n');
}

export function portCountersExtendedText(c: PortCountersExtended, where: string, portNum: number, cpi: PmaClassPortInfo): string {
  const head =
    `# Port extended counters: ${where} port ${portNum} (CapMask: 0x${cpi.capabilityMask.toString(16).toUpperCase().padStart(4, '0')} ` +
    `CapMask2: 0x${cpi.capabilityMask2.toString(16).padStart(7, '0')})`;
  return [head, dumpLines('PortCountersExtended', c.raw)].join('\n');
}
