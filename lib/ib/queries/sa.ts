/**
 * Subnet administration (class 0x03) records with component-mask filters.
 *
 * Every query is a SubnAdmGetTable to the SM LID. A reply longer than one
 * MAD arrives through the kernel's RMPP (the SA agent is registered with
 * RMPP; the engine grows its buffer on ENOSPC): the reassembled buffer is
 * the first segment's headers followed by every segment's data, so records
 * are cut from offset 56 at AttributeOffset × 8 bytes each. Under umad2sim
 * there is no RMPP: the reply is the first segment only, which the parser
 * reports as `truncated` (RMPP PayloadLength says more data was sent).
 *
 * Layouts: libibmad fields where it has them (IB_SA_NR_*, IB_SA_PR_*,
 * IB_SA_MCM_*, IB_SA_SR_*, IB_SA_GIR_*, the SA/RMPP header fields, PortInfo
 * and SMInfo fields for the embedded attributes). libibmad has no fields for
 * the record keys of PortInfoRecord, LinkRecord and SMInfoRecord, nor for
 * PathRecord beyond GIDs/LIDs/NumbPath/SL: those few come from the IBA
 * record layouts (15.2.5.3, .13, .16, .12), in RECORD_KEYS below.
 */
import { ATTR, METHOD, MGMT_CLASS, nodeDescriptionFrom, nodeInfoFrom, portInfoFrom, type NodeInfo, type PortInfo } from '../attributes.js';
import { MalformedReplyError } from '../errors.js';
import { decodeGroup, type FieldRecord } from '../fields.js';
import type { Port, QueryOptions } from '../port.js';
import { HpcnetError } from '../../errors.js';
import { big, bytes, decode, encode, getAttr, gidText, num, parseGid } from './common.js';
import { smInfoFrom, type SmInfo } from './smp-tables.js';

export const SA_ATTR = {
  ClassPortInfo: 0x0001,
  NodeRecord: 0x0011,
  PortInfoRecord: 0x0012,
  SMInfoRecord: 0x0018,
  LinkRecord: 0x0020,
  GUIDInfoRecord: 0x0030,
  ServiceRecord: 0x0031,
  PathRecord: 0x0035,
  MCMemberRecord: 0x0038,
} as const;
export type SaRecordName = Exclude<keyof typeof SA_ATTR, 'ClassPortInfo'>;

/** SA MAD status, class-specific part (IBA 15.2.1.2). */
const SA_STATUS: Record<number, string> = {
  1: 'ERR_NO_RESOURCES',
  2: 'ERR_REQ_INVALID',
  3: 'ERR_NO_RECORDS',
  4: 'ERR_TOO_MANY_RECORDS',
  5: 'ERR_REQ_INVALID_GID',
  6: 'ERR_REQ_INSUFFICIENT_COMPONENTS',
  7: 'ERR_REQ_DENIED',
};

/** The SA answered with an error status (no records, invalid request, ...). */
export class SaStatusError extends HpcnetError {
  readonly status: number;
  constructor(what: string, status: number) {
    const cls = (status >> 8) & 0x7f;
    super('ESASTATUS', `SA ${what}: status 0x${status.toString(16).padStart(4, '0')} (${SA_STATUS[cls] ?? (cls ? `class-specific ${cls}` : 'invalid field')})`);
    this.status = status;
  }
}

// ---------------------------------------------------------------------------
// Reply parsing

export interface SaTable {
  attrId: number;
  /** Bytes per record (AttributeOffset × 8); 0 when no records. */
  recordSize: number;
  records: Buffer[];
  /** RMPP said more data was sent than this buffer holds (the simulator cuts replies to one MAD). */
  truncated: boolean;
  /** Records the SA sent according to the RMPP PayloadLength, when known. */
  sentRecords?: number;
}

const SA_DATA_OFFSET = 56;
const SA_HEADER_BYTES = 20; // SM_Key, AttributeOffset, reserved, ComponentMask: counted in RMPP PayloadLength
const RMPP_ACTIVE = 1;

/**
 * Cut an SA reply MAD (one MAD or a kernel-reassembled RMPP reply) into
 * records. Never reads past the buffer; a malformed header gives
 * MalformedReplyError.
 */
export function parseSaReply(mad: Buffer): SaTable {
  const ctx = { attribute: 'SA record', attrId: mad.length >= 18 ? mad.readUInt16BE(16) : 0, address: 'SA' };
  if (mad.length < SA_DATA_OFFSET) throw new MalformedReplyError(ctx, `${mad.length} bytes, shorter than the SA header`);
  const h = decode('SAHeader', mad);
  const attrOffs = num(h, 'SaAttrOffs');
  const recordSize = attrOffs * 8;
  const data = mad.subarray(SA_DATA_OFFSET);
  if (recordSize === 0) return { attrId: ctx.attrId, recordSize: 0, records: [], truncated: false };
  let count = Math.floor(data.length / recordSize);
  let truncated = false;
  let sentRecords: number | undefined;
  if ((num(h, 'RmppFlags') & RMPP_ACTIVE) !== 0) {
    const payload = num(h, 'RmppPayload');
    if (payload >= SA_HEADER_BYTES) {
      const sent = payload - SA_HEADER_BYTES;
      sentRecords = Math.floor(sent / recordSize);
      if (sent > data.length) truncated = true;
      count = Math.min(count, sentRecords);
    } else if (mad.length === 256 && data.length % recordSize !== 0) {
      // No PayloadLength (the sender left segmentation to its kernel) and a
      // full MAD ending in a partial record: the rest was cut off (umad2sim).
      truncated = true;
    }
  }
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) records.push(data.subarray(i * recordSize, (i + 1) * recordSize));
  return { attrId: ctx.attrId, recordSize, records, truncated, ...(sentRecords !== undefined ? { sentRecords } : {}) };
}

/** Send a GetTable for `attrId` with a record template and component mask; the table of records. */
export async function saGetTable(port: Port, attrId: number, template: Buffer, componentMask: bigint, opts: QueryOptions = {}): Promise<SaTable> {
  const smLid = port.smLid;
  const name = Object.entries(SA_ATTR).find(([, v]) => v === attrId)?.[0] ?? `attribute 0x${attrId.toString(16)}`;
  if (!smLid) throw new SaStatusError(`${name}: the local port knows no SM LID (is a subnet manager running?)`, 0);
  const res = await port.mad({ ...opts, mgmtClass: MGMT_CLASS.SA, method: METHOD.GetTable, attrId, addr: { lid: smLid }, data: template, componentMask });
  if (res.status !== 0) {
    // An empty table is not an error.
    if (((res.status >> 8) & 0x7f) === 3) return { attrId, recordSize: 0, records: [], truncated: false };
    throw new SaStatusError(name, res.status);
  }
  return parseSaReply(res.mad);
}

// ---------------------------------------------------------------------------
// Record layouts not in libibmad (IBA 1.3 chapter 15): byte offsets of record keys.

const RECORD_KEYS = {
  /** PortInfoRecord (15.2.5.3): EndportLID, PortNum, Options, then PortInfo. */
  PortInfoRecord: { lid: 0, portNum: 2, options: 3, portInfo: 4 },
  /** LinkRecord (15.2.5.13). */
  LinkRecord: { fromLid: 0, fromPort: 2, toPort: 3, toLid: 4 },
  /** SMInfoRecord (15.2.5.12): LID, reserved, then SMInfo. */
  SMInfoRecord: { lid: 0, smInfo: 4 },
  /** MCMemberRecord (15.2.5.17) bytes with selectors, hop limit and scope, which libibmad has no field for. */
  MCMemberRecord: { mtu: 38, rate: 42, pktLife: 43, hopLimit: 47, scopeJoin: 48 },
  /** PathRecord (15.2.5.16) bytes libibmad has no field for. */
  PathRecord: { serviceId: 0, flowHop: 44, tclass: 48, revNumb: 49, pkey: 50, qosSl: 52, mtu: 54, rate: 55, pktLife: 56, preference: 57, reserved2: 58 },
} as const;

const u16 = (b: Buffer, o: number) => (o + 2 <= b.length ? b.readUInt16BE(o) : 0);
const u8 = (b: Buffer, o: number) => b[o] ?? 0;

// ---------------------------------------------------------------------------
// Typed records

export interface NodeRecord {
  lid: number;
  nodeInfo: NodeInfo;
  nodeDescription: string;
}
export function nodeRecordFrom(rec: Buffer): NodeRecord {
  const r = decode('NodeRecord', rec);
  return { lid: num(r, 'Lid'), nodeInfo: nodeInfoFrom(r), nodeDescription: nodeDescriptionFrom(r) };
}

export interface PortInfoRecord {
  lid: number;
  portNum: number;
  options: number;
  portInfo: PortInfo;
}
export function portInfoRecordFrom(rec: Buffer): PortInfoRecord {
  const k = RECORD_KEYS.PortInfoRecord;
  return { lid: u16(rec, k.lid), portNum: u8(rec, k.portNum), options: u8(rec, k.options), portInfo: portInfoFrom(decodeGroup('PortInfo', rec, k.portInfo)) };
}

export interface LinkRecord {
  fromLid: number;
  fromPort: number;
  toPort: number;
  toLid: number;
}
export function linkRecordFrom(rec: Buffer): LinkRecord {
  const k = RECORD_KEYS.LinkRecord;
  return { fromLid: u16(rec, k.fromLid), fromPort: u8(rec, k.fromPort), toPort: u8(rec, k.toPort), toLid: u16(rec, k.toLid) };
}

export interface SmInfoRecord {
  lid: number;
  smInfo: SmInfo;
}
export function smInfoRecordFrom(rec: Buffer): SmInfoRecord {
  const k = RECORD_KEYS.SMInfoRecord;
  return { lid: u16(rec, k.lid), smInfo: smInfoFrom(rec.subarray(Math.min(k.smInfo, rec.length))) };
}

export interface PathRecord {
  serviceId: bigint;
  dgid: string;
  sgid: string;
  dlid: number;
  slid: number;
  rawTraffic: boolean;
  flowLabel: number;
  hopLimit: number;
  tclass: number;
  reversible: boolean;
  numbPath: number;
  pkey: number;
  qosClass: number;
  sl: number;
  mtuSelector: number;
  mtu: number;
  rateSelector: number;
  rate: number;
  pktLifeSelector: number;
  pktLife: number;
  preference: number;
  /** The 48 reserved bits at the end of the record. */
  reserved2: bigint;
  /** The raw bytes saquery prints as hop_flow_raw, num_path_revers, mtu, rate, pkt_life. */
  raw: { hopFlow: number; numPathRevers: number; mtu: number; rate: number; pktLife: number };
}
export function pathRecordFrom(rec: Buffer): PathRecord {
  const r = decode('PathRecord', rec);
  const k = RECORD_KEYS.PathRecord;
  const hopFlow = rec.length >= k.flowHop + 4 ? rec.readUInt32BE(k.flowHop) : 0;
  const rn = u8(rec, k.revNumb);
  const qs = u16(rec, k.qosSl);
  const mtu = u8(rec, k.mtu);
  const rate = u8(rec, k.rate);
  const life = u8(rec, k.pktLife);
  return {
    serviceId: rec.length >= 8 ? rec.readBigUInt64BE(k.serviceId) : 0n,
    dgid: gidText(bytes(r, 'PathRecDGid')),
    sgid: gidText(bytes(r, 'PathRecSGid')),
    dlid: num(r, 'PathRecDLid'),
    slid: num(r, 'PathRecSLid'),
    rawTraffic: (hopFlow >>> 31) === 1,
    flowLabel: (hopFlow >>> 8) & 0xfffff,
    hopLimit: hopFlow & 0xff,
    tclass: u8(rec, k.tclass),
    reversible: (rn & 0x80) !== 0,
    numbPath: num(r, 'PathRecNumPath'),
    pkey: u16(rec, k.pkey),
    qosClass: qs >> 4,
    sl: num(r, 'PathRecSL'),
    mtuSelector: mtu >> 6,
    mtu: mtu & 0x3f,
    rateSelector: rate >> 6,
    rate: rate & 0x3f,
    pktLifeSelector: life >> 6,
    pktLife: life & 0x3f,
    preference: u8(rec, k.preference),
    reserved2: rec.length >= k.reserved2 + 6 ? BigInt('0x' + rec.subarray(k.reserved2, k.reserved2 + 6).toString('hex')) : 0n,
    raw: { hopFlow, numPathRevers: rn, mtu, rate, pktLife: life },
  };
}

export interface McMemberRecord {
  mgid: string;
  portGid: string;
  qkey: number;
  mlid: number;
  sl: number;
  mtuSelector: number;
  mtu: number;
  rateSelector: number;
  rate: number;
  pktLifeSelector: number;
  pktLife: number;
  tclass: number;
  pkey: number;
  flowLabel: number;
  hopLimit: number;
  scope: number;
  joinState: number;
  proxyJoin: boolean;
  /** The bytes saquery prints with their selectors: mtu, rate, pkt_life. */
  raw: { mtu: number; rate: number; pktLife: number };
}
export function mcMemberRecordFrom(rec: Buffer): McMemberRecord {
  const r = decode('MCMemberRecord', rec);
  const k = RECORD_KEYS.MCMemberRecord;
  const mtu = u8(rec, k.mtu);
  const rate = u8(rec, k.rate);
  const life = u8(rec, k.pktLife);
  return {
    mtuSelector: mtu >> 6,
    rateSelector: rate >> 6,
    pktLifeSelector: life >> 6,
    pktLife: life & 0x3f,
    hopLimit: u8(rec, k.hopLimit),
    scope: u8(rec, k.scopeJoin) >> 4,
    raw: { mtu, rate, pktLife: life },
    mgid: gidText(bytes(r, 'McastMemMGid')),
    portGid: gidText(bytes(r, 'McastMemPortGid')),
    qkey: num(r, 'McastMemQkey'),
    mlid: num(r, 'McastMemMLid'),
    sl: num(r, 'McastMemSL'),
    mtu: num(r, 'McastMemMTU'),
    rate: num(r, 'McastMemRate'),
    tclass: num(r, 'McastMemTClass'),
    pkey: num(r, 'McastMemPkey'),
    flowLabel: num(r, 'McastMemFlowLbl'),
    joinState: num(r, 'McastMemJoinState'),
    proxyJoin: num(r, 'McastMemProxyJoin') !== 0,
  };
}

export interface ServiceRecord {
  id: bigint;
  gid: string;
  pkey: number;
  lease: number;
  key: string;
  name: string;
  data: Buffer;
}
export function serviceRecordFrom(rec: Buffer): ServiceRecord {
  const r = decode('ServiceRecord', rec);
  return {
    id: big(r, 'ServRecID'),
    gid: gidText(bytes(r, 'ServRecGid')),
    pkey: num(r, 'ServRecPkey'),
    lease: num(r, 'ServRecLease'),
    key: bytes(r, 'ServRecKey').toString('hex'),
    name: nodeDescriptionFrom({ NodeDesc: bytes(r, 'ServRecName') }), // the same NUL-padded text decoding
    data: bytes(r, 'ServRecData'),
  };
}

export interface GuidInfoRecord {
  lid: number;
  blockNum: number;
  guids: bigint[];
}
export function guidInfoRecordFrom(rec: Buffer): GuidInfoRecord {
  const r = decode('GUIDInfoRecord', rec);
  return { lid: num(r, 'Lid'), blockNum: num(r, 'BlockNum'), guids: Array.from({ length: 8 }, (_, i) => big(r, `Guid${i}`)) };
}

// ---------------------------------------------------------------------------
// Queries with filters

export interface SaResult<T> {
  records: T[];
  truncated: boolean;
}

function bit(n: number): bigint {
  return 1n << BigInt(n);
}

function template(size = 200): Buffer {
  return Buffer.alloc(size);
}

async function table<T>(port: Port, attrId: number, tpl: Buffer, mask: bigint, from: (b: Buffer) => T, opts: QueryOptions): Promise<SaResult<T>> {
  const t = await saGetTable(port, attrId, tpl, mask, opts);
  return { records: t.records.map(from), truncated: t.truncated };
}

export interface NodeRecordFilter {
  lid?: number;
  nodeGuid?: bigint;
  portGuid?: bigint;
  nodeDescription?: string;
}

export async function nodeRecords(port: Port, f: NodeRecordFilter = {}, opts: QueryOptions = {}): Promise<SaResult<NodeRecord>> {
  const tpl = template();
  let mask = 0n;
  const v: Record<string, number | bigint> = {};
  if (f.lid !== undefined) ((v['Lid'] = f.lid), (mask |= bit(0)));
  if (f.nodeGuid !== undefined) ((v['Guid'] = f.nodeGuid), (mask |= bit(7)));
  if (f.portGuid !== undefined) ((v['PortGuid'] = f.portGuid), (mask |= bit(8)));
  encode('NodeRecord', tpl, 0, v);
  if (f.nodeDescription !== undefined) {
    const d = Buffer.from(f.nodeDescription, 'utf8');
    if (d.length > 64) throw new RangeError('a node description has at most 64 bytes');
    d.copy(tpl, 44); // NodeRecord.NodeDescription: after LID, reserved and the 40-byte NodeInfo
    mask |= bit(14);
  }
  return table(port, SA_ATTR.NodeRecord, tpl, mask, nodeRecordFrom, opts);
}

export interface PortInfoRecordFilter {
  lid?: number;
  portNum?: number;
}
export async function portInfoRecords(port: Port, f: PortInfoRecordFilter = {}, opts: QueryOptions = {}): Promise<SaResult<PortInfoRecord>> {
  const tpl = template();
  const k = RECORD_KEYS.PortInfoRecord;
  let mask = 0n;
  if (f.lid !== undefined) (tpl.writeUInt16BE(f.lid, k.lid), (mask |= bit(0)));
  if (f.portNum !== undefined) ((tpl[k.portNum] = f.portNum), (mask |= bit(1)));
  return table(port, SA_ATTR.PortInfoRecord, tpl, mask, portInfoRecordFrom, opts);
}

export interface LinkRecordFilter {
  fromLid?: number;
  fromPort?: number;
  toLid?: number;
  toPort?: number;
}
export async function linkRecords(port: Port, f: LinkRecordFilter = {}, opts: QueryOptions = {}): Promise<SaResult<LinkRecord>> {
  const tpl = template();
  const k = RECORD_KEYS.LinkRecord;
  let mask = 0n;
  if (f.fromLid !== undefined) (tpl.writeUInt16BE(f.fromLid, k.fromLid), (mask |= bit(0)));
  if (f.fromPort !== undefined) ((tpl[k.fromPort] = f.fromPort), (mask |= bit(1)));
  if (f.toPort !== undefined) ((tpl[k.toPort] = f.toPort), (mask |= bit(2)));
  if (f.toLid !== undefined) (tpl.writeUInt16BE(f.toLid, k.toLid), (mask |= bit(3)));
  return table(port, SA_ATTR.LinkRecord, tpl, mask, linkRecordFrom, opts);
}

export async function smInfoRecords(port: Port, f: { lid?: number } = {}, opts: QueryOptions = {}): Promise<SaResult<SmInfoRecord>> {
  const tpl = template();
  let mask = 0n;
  if (f.lid !== undefined) (tpl.writeUInt16BE(f.lid, RECORD_KEYS.SMInfoRecord.lid), (mask |= bit(0)));
  return table(port, SA_ATTR.SMInfoRecord, tpl, mask, smInfoRecordFrom, opts);
}

export interface PathRecordFilter {
  slid?: number;
  dlid?: number;
  sgid?: string;
  dgid?: string;
  numbPath?: number;
}
export async function pathRecords(port: Port, f: PathRecordFilter = {}, opts: QueryOptions = {}): Promise<SaResult<PathRecord>> {
  const tpl = template();
  let mask = 0n;
  const v: Record<string, number> = {};
  if (f.dlid !== undefined) ((v['PathRecDLid'] = f.dlid), (mask |= bit(4)));
  if (f.slid !== undefined) ((v['PathRecSLid'] = f.slid), (mask |= bit(5)));
  if (f.numbPath !== undefined) ((v['PathRecNumPath'] = f.numbPath), (mask |= bit(12)));
  encode('PathRecord', tpl, 0, v);
  if (f.dgid !== undefined) (parseGid(f.dgid).copy(tpl, 8), (mask |= bit(2)));
  if (f.sgid !== undefined) (parseGid(f.sgid).copy(tpl, 24), (mask |= bit(3)));
  return table(port, SA_ATTR.PathRecord, tpl, mask, pathRecordFrom, opts);
}

export interface McMemberFilter {
  mlid?: number;
  mgid?: string;
  portGid?: string;
}
export async function mcMemberRecords(port: Port, f: McMemberFilter = {}, opts: QueryOptions = {}): Promise<SaResult<McMemberRecord>> {
  const tpl = template();
  let mask = 0n;
  if (f.mlid !== undefined) (encode('MCMemberRecord', tpl, 0, { McastMemMLid: f.mlid }), (mask |= bit(3)));
  if (f.mgid !== undefined) (parseGid(f.mgid).copy(tpl, 0), (mask |= bit(0)));
  if (f.portGid !== undefined) (parseGid(f.portGid).copy(tpl, 16), (mask |= bit(1)));
  return table(port, SA_ATTR.MCMemberRecord, tpl, mask, mcMemberRecordFrom, opts);
}

export async function serviceRecords(port: Port, f: { id?: bigint } = {}, opts: QueryOptions = {}): Promise<SaResult<ServiceRecord>> {
  const tpl = template();
  let mask = 0n;
  if (f.id !== undefined) (encode('ServiceRecord', tpl, 0, { ServRecID: f.id }), (mask |= bit(0)));
  return table(port, SA_ATTR.ServiceRecord, tpl, mask, serviceRecordFrom, opts);
}

export async function guidInfoRecords(port: Port, f: { lid?: number; blockNum?: number } = {}, opts: QueryOptions = {}): Promise<SaResult<GuidInfoRecord>> {
  const tpl = template();
  let mask = 0n;
  const v: Record<string, number> = {};
  if (f.lid !== undefined) ((v['Lid'] = f.lid), (mask |= bit(0)));
  if (f.blockNum !== undefined) ((v['BlockNum'] = f.blockNum), (mask |= bit(1)));
  encode('GUIDInfoRecord', tpl, 0, v);
  return table(port, SA_ATTR.GUIDInfoRecord, tpl, mask, guidInfoRecordFrom, opts);
}

/** The SA's ClassPortInfo (Get, not a table). */
export async function saClassPortInfo(port: Port, opts: QueryOptions = {}): Promise<FieldRecord> {
  const res = await getAttr(port, 'SA ClassPortInfo', { ...opts, mgmtClass: MGMT_CLASS.SA, attrId: ATTR.ClassPortInfo, addr: { lid: port.smLid } });
  return decodeGroup('ClassPortInfo', res.data);
}
