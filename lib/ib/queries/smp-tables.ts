/**
 * SMP Get of the table attributes (GUIDInfo, P_KeyTable, LinearForwardingTable,
 * MulticastForwardingTable, SLtoVLMappingTable, VLArbitrationTable) and
 * SMInfo, decoded with libibmad's field table (IB_GI_GUIDn_F,
 * IB_LINEAR_FORW_TBL_F, IB_MULTICAST_FORW_TBL_F, IB_SLTOVL_MAPPING_TABLE_F,
 * IB_VL_ARBITRATION_TABLE_F, IB_SMINFO_*). libibmad exposes the array
 * attributes only as whole-array fields; the entries inside them are split
 * by the IBA layout (14.2.5.x): LFT 64 one-byte ports, MFT 32 16-bit port
 * masks, SL2VL 16 4-bit VLs, VLArb 32 (VL, weight) byte pairs. P_KeyTable
 * has no libibmad field: 32 big-endian 16-bit P_Keys (IBA 14.2.5.7).
 */
import type { Address } from '../address.js';
import { ATTR, MGMT_CLASS } from '../attributes.js';
import { BadAddressError } from '../errors.js';
import type { Port, QueryOptions } from '../port.js';
import { big, bytes, decode, getAttr, need, num } from './common.js';

const SMI = MGMT_CLASS.SMI;

function checkPort(p: number, what = 'port number'): number {
  if (!Number.isInteger(p) || p < 0 || p > 254) throw new BadAddressError(`${what} must be 0..254, got ${p}`);
  return p;
}
function checkBlock(b: number, max: number, what: string): number {
  if (!Number.isInteger(b) || b < 0 || b > max) throw new RangeError(`${what} block must be 0..${max}, got ${b}`);
  return b;
}

// ---------------------------------------------------------------------------
// GUIDInfo

export interface GuidInfoBlock {
  block: number;
  /** 8 GUIDs (index block*8 + i). */
  guids: bigint[];
}

/** GUIDInfo block (8 GUIDs); attribute modifier = block number. */
export async function guidInfo(port: Port, addr: Address, block = 0, opts: QueryOptions = {}): Promise<GuidInfoBlock> {
  checkBlock(block, 31, 'GUIDInfo');
  const res = await getAttr(port, 'GUIDInfo', { ...opts, mgmtClass: SMI, attrId: ATTR.GUIDInfo, attrMod: block, addr });
  return guidInfoFrom(need(res, 64, 'GUIDInfo', ATTR.GUIDInfo, addr), block);
}

export function guidInfoFrom(data: Buffer, block = 0): GuidInfoBlock {
  const r = decode('GUIDInfo', data);
  return { block, guids: Array.from({ length: 8 }, (_, i) => big(r, `GUID${i}`)) };
}

export interface GuidTable {
  /** GuidCap of the port (how many entries smpquery prints). */
  capacity: number;
  guids: bigint[];
}

/** The whole GUID table of the port an SMP reaches (capacity from PortInfo GuidCap), like `smpquery guids`. */
export async function guidTable(port: Port, addr: Address, opts: QueryOptions = {}): Promise<GuidTable> {
  const pi = await port.portInfo(addr, 0, opts);
  const cap = pi.guidCap;
  const blocks = await Promise.all(Array.from({ length: Math.ceil(cap / 8) }, (_, b) => guidInfo(port, addr, b, opts)));
  return { capacity: cap, guids: blocks.flatMap((b) => b.guids).slice(0, Math.max(cap, 0)) };
}

/** smpquery's GUIDInfo text: two GUIDs a line, then the capacity. */
export function guidTableText(t: GuidTable): string {
  const lines: string[] = [];
  const g = [...t.guids];
  for (let i = 0; i < t.capacity; i += 2) {
    lines.push(`${String(i).padStart(4)}: ${fmt64(g[i]!)} ${fmt64(g[i + 1] ?? 0n)}`);
  }
  lines.push(`${t.capacity} guids capacity for this port`);
  return lines.join('\n');
}
const fmt64 = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');

// ---------------------------------------------------------------------------
// P_KeyTable

/** P_KeyTable block of 32 P_Keys; attrMod = block | (switch port << 16). */
export async function pkeyBlock(port: Port, addr: Address, portNum: number, block: number, opts: QueryOptions = {}): Promise<number[]> {
  checkPort(portNum);
  checkBlock(block, 2047, 'P_KeyTable');
  const res = await getAttr(port, 'P_KeyTable', { ...opts, mgmtClass: SMI, attrId: ATTR.PKeyTable, attrMod: ((portNum << 16) | block) >>> 0, addr });
  return pkeysFrom(need(res, 64, 'P_KeyTable', ATTR.PKeyTable, addr));
}

export function pkeysFrom(data: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) out.push(i * 2 + 2 <= data.length ? data.readUInt16BE(i * 2) : 0);
  return out;
}

export interface PkeyTable {
  portNum: number;
  /** PartitionCap (CA, switch port 0) or PartitionEnforcementCap (switch external port). */
  capacity: number;
  pkeys: number[];
}

/** The whole P_Key table of a port, like `smpquery pkeys`. */
export async function pkeyTable(port: Port, addr: Address, portNum = 0, opts: QueryOptions = {}): Promise<PkeyTable> {
  checkPort(portNum);
  const ni = await port.nodeInfo(addr, opts);
  if (portNum > ni.numPorts) throw new BadAddressError(`port ${portNum} does not exist (the node has ${ni.numPorts} ports)`);
  let cap = ni.partitionCap;
  if (ni.nodeType === 'Switch' && portNum !== 0) cap = (await port.switchInfo(addr, opts)).partitionEnforcementCap;
  const blocks = await Promise.all(Array.from({ length: Math.ceil(cap / 32) }, (_, b) => pkeyBlock(port, addr, portNum, b, opts)));
  return { portNum, capacity: cap, pkeys: blocks.flat().slice(0, cap) };
}

export function pkeyTableText(t: PkeyTable): string {
  const lines: string[] = [];
  for (let i = 0; i < t.pkeys.length; i += 8) {
    lines.push(`${String(i).padStart(4)}:` + t.pkeys.slice(i, i + 8).map((k) => ' 0x' + k.toString(16).padStart(4, '0')).join(''));
  }
  lines.push(`${t.capacity} pkeys capacity for this port`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// LinearForwardingTable

/** One LFT block: 64 output ports for LIDs block*64 .. block*64+63 (255 = no route). */
export async function lftBlock(port: Port, addr: Address, block: number, opts: QueryOptions = {}): Promise<number[]> {
  checkBlock(block, 767, 'LinearForwardingTable');
  const res = await getAttr(port, 'LinearForwardingTable', { ...opts, mgmtClass: SMI, attrId: ATTR.LinearForwardingTable, attrMod: block, addr });
  return lftFrom(need(res, 64, 'LinearForwardingTable', ATTR.LinearForwardingTable, addr));
}

export function lftFrom(data: Buffer): number[] {
  const tbl = bytes(decode('LinearForwardingTable', data), 'LinearForwTbl');
  return Array.from({ length: 64 }, (_, i) => tbl[i] ?? 0xff);
}

export interface LinearForwardingTable {
  /** SwitchInfo LinearFDBTop: the highest LID the table covers. */
  top: number;
  /** Output port per LID, index = LID (0..top). */
  ports: number[];
}

/** The whole LFT of a switch (blocks 0..top/64, top from SwitchInfo), like `ibroute`. */
export async function linearForwardingTable(port: Port, addr: Address, opts: QueryOptions = {}): Promise<LinearForwardingTable> {
  const si = await port.switchInfo(addr, opts);
  const top = si.linearFdbTop;
  const nblocks = Math.floor(top / 64) + 1;
  if (top > 0xbfff) throw new RangeError(`LinearFDBTop ${top} is beyond the unicast LID range`);
  const blocks = await Promise.all(Array.from({ length: nblocks }, (_, b) => lftBlock(port, addr, b, opts)));
  return { top, ports: blocks.flat().slice(0, top + 1) };
}

// ---------------------------------------------------------------------------
// MulticastForwardingTable

/**
 * One MFT block: 32 port masks (bit p = port p) for MLIDs 0xC000 + block*32 ..,
 * for ports position*16 .. position*16+15. attrMod = (position << 28) | block.
 */
export async function mftBlock(port: Port, addr: Address, block: number, position = 0, opts: QueryOptions = {}): Promise<number[]> {
  checkBlock(block, 511, 'MulticastForwardingTable');
  if (!Number.isInteger(position) || position < 0 || position > 15) throw new RangeError(`MFT position must be 0..15, got ${position}`);
  const res = await getAttr(port, 'MulticastForwardingTable', {
    ...opts,
    mgmtClass: SMI,
    attrId: ATTR.MulticastForwardingTable,
    attrMod: ((position << 28) | block) >>> 0,
    addr,
  });
  return mftFrom(need(res, 64, 'MulticastForwardingTable', ATTR.MulticastForwardingTable, addr));
}

export function mftFrom(data: Buffer): number[] {
  const tbl = bytes(decode('MulticastForwardingTable', data), 'MulticastForwTbl');
  return Array.from({ length: 32 }, (_, i) => (i * 2 + 2 <= tbl.length ? tbl.readUInt16BE(i * 2) : 0));
}

export interface MulticastForwardingTable {
  /** SwitchInfo MulticastFDBTop (0 or < 0xC000: empty). */
  top: number;
  numPorts: number;
  /** MLID -> ports that forward it (only MLIDs with at least one port). */
  entries: Array<{ mlid: number; ports: number[] }>;
}

/** The whole MFT of a switch (MLIDs 0xC000..MulticastFDBTop, every port position), like `ibroute -M`. */
export async function multicastForwardingTable(port: Port, addr: Address, opts: QueryOptions = {}): Promise<MulticastForwardingTable> {
  const [si, ni] = await Promise.all([port.switchInfo(addr, opts), port.nodeInfo(addr, opts)]);
  const top = si.multicastFdbTop;
  const cap = si.multicastFdbCap;
  // MulticastFDBTop bounds the table when set (>= 0xC000); otherwise read the whole capacity, as ibroute does.
  const last = top >= 0xc000 ? Math.min(top, 0xc000 + cap - 1) : 0xc000 + cap - 1;
  const entries: Array<{ mlid: number; ports: number[] }> = [];
  if (last >= 0xc000) {
    const nblocks = Math.floor((last - 0xc000) / 32) + 1;
    const npos = Math.floor(ni.numPorts / 16) + 1;
    const masks = new Map<number, number[]>();
    await Promise.all(
      Array.from({ length: nblocks * npos }, async (_, k) => {
        const b = k % nblocks;
        const pos = Math.floor(k / nblocks);
        const m = await mftBlock(port, addr, b, pos, opts);
        m.forEach((mask, i) => {
          const mlid = 0xc000 + b * 32 + i;
          for (let bit = 0; bit < 16; bit++) {
            if (mask & (1 << bit)) {
              const p = pos * 16 + bit;
              if (p > ni.numPorts) continue;
              const list = masks.get(mlid) ?? [];
              list.push(p);
              masks.set(mlid, list);
            }
          }
        });
      }),
    );
    for (const [mlid, ports] of [...masks].sort((a, b) => a[0] - b[0])) if (mlid <= last) entries.push({ mlid, ports: ports.sort((a, b) => a - b) });
  }
  return { top, numPorts: ni.numPorts, entries };
}

// ---------------------------------------------------------------------------
// SLtoVLMappingTable

/** VL for each SL 0..15. attrMod = (inPort << 8) | outPort on switches, 0 on CAs. */
export async function slToVl(port: Port, addr: Address, inPort = 0, outPort = 0, opts: QueryOptions = {}): Promise<number[]> {
  checkPort(inPort, 'input port');
  checkPort(outPort, 'output port');
  const res = await getAttr(port, 'SLtoVLMappingTable', {
    ...opts,
    mgmtClass: SMI,
    attrId: ATTR.SLtoVLMappingTable,
    attrMod: (inPort << 8) | outPort,
    addr,
  });
  return slToVlFrom(need(res, 8, 'SLtoVLMappingTable', ATTR.SLtoVLMappingTable, addr));
}

export function slToVlFrom(data: Buffer): number[] {
  const v = decode('SLtoVLMappingTable', data)['SLToVLMap'];
  const x = typeof v === 'bigint' ? v : 0n;
  return Array.from({ length: 16 }, (_, sl) => Number((x >> BigInt(60 - sl * 4)) & 0xfn));
}

export interface SlToVlTables {
  /** One row per (in, out) port pair: for a switch every input port to `outPort`; for a CA one row. */
  rows: Array<{ inPort: number; outPort: number; vls: number[] }>;
}

/** Like `smpquery sl2vl <addr> [port]`: on a switch, every input port (0..N) to output port `portNum`. */
export async function slToVlTables(port: Port, addr: Address, portNum = 0, opts: QueryOptions = {}): Promise<SlToVlTables> {
  checkPort(portNum);
  const ni = await port.nodeInfo(addr, opts);
  if (ni.nodeType !== 'Switch') return { rows: [{ inPort: 0, outPort: 0, vls: await slToVl(port, addr, 0, 0, opts) }] };
  const ins = Array.from({ length: ni.numPorts + 1 }, (_, i) => i);
  const rows = await Promise.all(ins.map(async (i) => ({ inPort: i, outPort: portNum, vls: await slToVl(port, addr, i, portNum, opts) })));
  return { rows };
}

export function slToVlText(t: SlToVlTables, where: string): string {
  const lines = [`# SL2VL table: ${where}`, '#                 SL: |' + Array.from({ length: 16 }, (_, i) => String(i).padStart(2)).join('|') + '|'];
  for (const r of t.rows) {
    lines.push(`ports: in ${String(r.inPort).padStart(2)}, out ${String(r.outPort).padStart(2)}: |` + r.vls.map((v) => String(v).padStart(2)).join('|') + '|');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// VLArbitrationTable

export interface VlArbEntry {
  vl: number;
  weight: number;
}

/**
 * One VLArbitration block of 32 entries. `block`: 1 low-priority entries 0..31,
 * 2 low 32..63, 3 high 0..31, 4 high 32..63. attrMod = (block << 16) | port.
 */
export async function vlArbBlock(port: Port, addr: Address, portNum: number, block: 1 | 2 | 3 | 4, opts: QueryOptions = {}): Promise<VlArbEntry[]> {
  checkPort(portNum);
  if (![1, 2, 3, 4].includes(block)) throw new RangeError(`VLArbitration block must be 1..4, got ${block}`);
  const res = await getAttr(port, 'VLArbitrationTable', {
    ...opts,
    mgmtClass: SMI,
    attrId: ATTR.VLArbitrationTable,
    attrMod: ((block << 16) | portNum) >>> 0,
    addr,
  });
  return vlArbFrom(need(res, 64, 'VLArbitrationTable', ATTR.VLArbitrationTable, addr));
}

export function vlArbFrom(data: Buffer): VlArbEntry[] {
  const tbl = bytes(decode('VLArbitrationTable', data), 'VLArbTbl');
  return Array.from({ length: 32 }, (_, i) => ({ vl: (tbl[i * 2] ?? 0) & 0xf, weight: tbl[i * 2 + 1] ?? 0 }));
}

export interface VlArbitration {
  portNum: number;
  lowCap: number;
  highCap: number;
  low: VlArbEntry[];
  high: VlArbEntry[];
}

/** Both VL arbitration tables of a port, sized by PortInfo VLArbLowCap/HighCap (like `smpquery vlarb`). */
export async function vlArbitration(port: Port, addr: Address, portNum = 0, opts: QueryOptions = {}): Promise<VlArbitration> {
  const pi = await port.portInfo(addr, portNum, opts);
  const lowCap = num(pi.raw, 'VLArbLowCap');
  const highCap = num(pi.raw, 'VLArbHighCap');
  const read = async (cap: number, first: 1 | 3) => {
    if (cap === 0) return [];
    const a = await vlArbBlock(port, addr, portNum, first, opts);
    const b = cap > 32 ? await vlArbBlock(port, addr, portNum, (first + 1) as 2 | 4, opts) : [];
    return [...a, ...b].slice(0, cap);
  };
  return { portNum, lowCap, highCap, low: await read(lowCap, 1), high: await read(highCap, 3) };
}

export function vlArbText(t: VlArbitration, where: string): string {
  const lines = [`# VLArbitration tables: ${where} port ${t.portNum} LowCap ${t.lowCap} HighCap ${t.highCap}`];
  const table = (name: string, e: VlArbEntry[]) => {
    if (e.length === 0) return;
    lines.push(`# ${name} priority VL Arbitration Table:`);
    lines.push('VL    : |' + e.map((x) => ('0x' + x.vl.toString(16).toUpperCase()).padEnd(4)).join('|') + '|');
    lines.push('WEIGHT: |' + e.map((x) => ('0x' + x.weight.toString(16).toUpperCase()).padEnd(4)).join('|') + '|');
  };
  table('Low', t.low);
  table('High', t.high);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// SMInfo

export type SmState = 'NotActive' | 'Discovering' | 'Standby' | 'Master' | 'Unknown';
const SM_STATES: SmState[] = ['NotActive', 'Discovering', 'Standby', 'Master'];

export interface SmInfo {
  guid: bigint;
  smKey: bigint;
  actCount: number;
  priority: number;
  state: SmState;
  stateCode: number;
}

export function smInfoFrom(data: Buffer): SmInfo {
  const r = decode('SMInfo', data);
  const code = num(r, 'SmState');
  return { guid: big(r, 'SmInfoGuid'), smKey: big(r, 'SmInfoKey'), actCount: num(r, 'SmActivity'), priority: num(r, 'SmPriority'), state: SM_STATES[code] ?? 'Unknown', stateCode: code };
}

/** SMInfo of the SM at `addr` (default: the SM LID the local port knows). */
export async function smInfo(port: Port, addr?: Address, opts: QueryOptions = {}): Promise<SmInfo & { smLid: number }> {
  const a: Address = addr ?? { lid: port.smLid };
  const res = await getAttr(port, 'SMInfo', { ...opts, mgmtClass: SMI, attrId: ATTR.SMInfo, addr: a });
  return { ...smInfoFrom(need(res, 24, 'SMInfo', ATTR.SMInfo, a)), smLid: a.path ? 0 : (a.lid ?? 0) };
}

/** sminfo's one line. */
export function smInfoText(s: SmInfo & { smLid: number }): string {
  const names = ['SMINFO_NOTACT', 'SMINFO_DISCOVER', 'SMINFO_STANDBY', 'SMINFO_MASTER'];
  return `sminfo: sm lid ${s.smLid} sm guid 0x${s.guid.toString(16)}, activity count ${s.actCount} priority ${s.priority} state ${s.stateCode} ${names[s.stateCode] ?? 'UNKNOWN'}`;
}
