/**
 * Wire format of LNet's generic-netlink interface (reference lnet.md 2.3):
 * request encoding (Lustre's YAML-over-netlink scalar attributes), message
 * and error parsing (NLMSG_ERROR / NLMSG_DONE with extack), the controller's
 * family reply, and dump replies decoded through their key tables into
 * plain nested objects. Pure functions over Buffers: no I/O here, so every
 * decoder can be fed arbitrary bytes (see test/lnet/kernel/fuzz.test.ts);
 * malformed input raises LnetProtocolError, never anything else.
 */
import { LnetError, LnetProtocolError } from './errors.js';

// --- constants ---------------------------------------------------------------

/** nlmsghdr flags. DUMP = ROOT|MATCH; REPLACE/EXCL/CREATE/APPEND are the NEW-request modifiers. */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  ATOMIC: 0x400,
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const GENL_ID_CTRL = 0x10;
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

/** `enum lnet_commands` (reference 2.2). */
export const LNET_CMD = {
  CONFIGURE: 1,
  NETS: 2,
  PEERS: 3,
  ROUTES: 4,
  CONNS: 5,
  PING: 6,
  CPT_OF_NID: 7,
  PEER_DIST: 8,
  UDSP: 9,
  PEER_FAIL: 10,
  DBG_RECOV: 11,
  FAULT: 12,
  ROUTING: 13,
  BUFFERS: 14,
  NUMA: 15,
  STATS: 16,
} as const;
export type LnetCmdName = keyof typeof LNET_CMD;

export const LNET_GENL_NAME = 'lnet';
export const LNET_GENL_VERSION = 5;

/** `enum lnet_nl_scalar_attrs`. */
export const LN_SCALAR = { LIST: 1, LIST_SIZE: 2, INDEX: 3, NLA_TYPE: 4, VALUE: 5, INT_VALUE: 6, KEY_FORMAT: 7 } as const;
/** `enum lnet_nl_key_format`. */
export const LNKF = { FLOW: 1, MAPPING: 2, SEQUENCE: 4 } as const;
/** Netlink attribute data types as carried in LN_SCALAR_ATTR_NLA_TYPE. */
export const NLA = { U8: 1, U16: 2, U32: 3, U64: 4, STRING: 5, FLAG: 6, NESTED: 8, NUL_STRING: 10, S8: 12, S16: 13, S32: 14, S64: 15 } as const;

export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;
const MAX_DEPTH = 32;

// --- attribute and message encoding (also the emulator's: lib/sim/lnet/netlink.ts) ------------

const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute: header, payload, padding to 4 bytes. */
export function nla(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute longer than 65535 bytes (${len})`);
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
/** nla_nest_start(): a nest carrying NLA_F_NESTED. */
export const nest = (type: number, children: Buffer[]): Buffer => nla(type | NLA_F_NESTED, Buffer.concat(children));
/** nla_nest_start_noflag(), as the genl controller uses. */
export const nestNoFlag = (type: number, children: Buffer[]): Buffer => nla(type, Buffer.concat(children));
/** A NUL-terminated string attribute (latin1: the kernel's bytes as they are). */
export const nlaStr = (type: number, s: string, enc: BufferEncoding = 'latin1'): Buffer => nla(type, Buffer.from(s + '\0', enc));
function fixed(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}
export const nlaU16 = (type: number, v: number): Buffer => nla(type, fixed(2, (b) => b.writeUInt16LE(v & 0xffff)));
export const nlaS16 = (type: number, v: number): Buffer => nla(type, fixed(2, (b) => b.writeInt16LE(v)));
export const nlaU32 = (type: number, v: number): Buffer => nla(type, fixed(4, (b) => b.writeUInt32LE(v >>> 0)));
export const nlaS32 = (type: number, v: number): Buffer => nla(type, fixed(4, (b) => b.writeInt32LE(v | 0)));
export const nlaU64 = (type: number, v: bigint): Buffer => nla(type, fixed(8, (b) => b.writeBigUInt64LE(BigInt.asUintN(64, v))));
export const nlaS64 = (type: number, v: bigint): Buffer => nla(type, fixed(8, (b) => b.writeBigInt64LE(BigInt.asIntN(64, v))));
export const nlaFlag = (type: number): Buffer => nla(type, Buffer.alloc(0));

/** A whole netlink message: nlmsghdr (length, type, flags, seq, port) and the payload, padded. */
export function nlmsg(type: number, flags: number, seq: number, pid: number, payload: Buffer): Buffer {
  const len = 16 + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(pid >>> 0, 12);
  payload.copy(b, 16);
  return b;
}
/** genlmsghdr (cmd, version, reserved) followed by attributes. */
export const genl = (cmd: number, version: number, attrs: Buffer[]): Buffer => Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);

// --- request encoding ------------------------------------------------------------

/** A request attribute: a string is a VALUE, a number/bigint an INT_VALUE (s64), an array a nested LIST. */
export type ReqItem = string | number | bigint | ReqItem[];

/** Encode request items as the lnetctl writer does: VALUE (5) NUL-terminated, INT_VALUE (6) s64, LIST (1|NLA_F_NESTED). */
export function encodeItems(items: ReqItem[], depth = 0): Buffer {
  if (depth > MAX_DEPTH) throw new RangeError('request nesting too deep');
  const parts: Buffer[] = [];
  for (const it of items) {
    if (Array.isArray(it)) parts.push(nest(LN_SCALAR.LIST, [encodeItems(it, depth + 1)]));
    else if (typeof it === 'string') parts.push(nlaStr(LN_SCALAR.VALUE, it, 'utf8'));
    else {
      if (typeof it === 'number' && !Number.isInteger(it)) throw new RangeError(`INT_VALUE must be an integer, got ${it}`);
      parts.push(nlaS64(LN_SCALAR.INT_VALUE, typeof it === 'bigint' ? it : BigInt(it)));
    }
  }
  return Buffer.concat(parts);
}

/** A YAML-shaped request body (what lnetctl would read from its YAML). Use a Map where key order matters and keys look numeric. */
export type YamlScalar = string | number | bigint | boolean;
export type YamlValue = YamlScalar | YamlValue[] | YamlMapping;
export type YamlMapping = { [key: string]: YamlValue } | Map<string | number, YamlValue>;

/**
 * A scalar as the lnetctl writer encodes it: quotes become spaces; text that
 * is all digits (with an optional leading '-') is an INT_VALUE; yes/true/on/y
 * and no/false/off/n are INT 1 and 0; anything else a VALUE string.
 */
export function encodeScalar(v: YamlScalar): ReqItem {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  const s = v.replace(/['"]/g, ' ').trim();
  if (/^-?[0-9]+$/.test(s)) return BigInt(s);
  if (/^(yes|true|on|y)$/i.test(s)) return 1;
  if (/^(no|false|off|n)$/i.test(s)) return 0;
  return s;
}

function isMapping(v: YamlValue): v is YamlMapping {
  return v instanceof Map || (typeof v === 'object' && v !== null && !Array.isArray(v));
}

function entries(m: YamlMapping): [string | number, YamlValue][] {
  return m instanceof Map ? [...m.entries()] : Object.entries(m);
}

function pairs(m: YamlMapping, depth: number): ReqItem[] {
  if (depth > MAX_DEPTH) throw new RangeError('request nesting too deep');
  const out: ReqItem[] = [];
  for (const [k, v] of entries(m)) {
    out.push(encodeScalar(typeof k === 'number' ? BigInt(k) : k));
    out.push(valueItem(v, depth + 1));
  }
  return out;
}

function seqList(a: YamlValue[], depth: number): ReqItem[] {
  return a.map((el) => (isMapping(el) ? pairs(el, depth + 1) : Array.isArray(el) ? seqList(el, depth + 1) : encodeScalar(el)));
}

function valueItem(v: YamlValue, depth: number): ReqItem {
  if (Array.isArray(v)) return seqList(v, depth);
  if (isMapping(v)) return pairs(v, depth);
  return encodeScalar(v);
}

/**
 * The attributes of a request whose YAML is `<group>: <body>` (the group key
 * itself is not encoded). A top-level sequence becomes LIST{ LIST{item}... };
 * a top-level mapping is inline key/value pairs; nested mappings are
 * LIST{pairs}, nested sequences LIST{ LIST{pairs}... }, flow lists of
 * scalars LIST{scalars}.
 */
export function bodyToItems(body: YamlValue | undefined): ReqItem[] {
  if (body === undefined) return [];
  if (Array.isArray(body)) return [seqList(body, 0)];
  if (isMapping(body)) return pairs(body, 0);
  return [encodeScalar(body)];
}

// --- attributes and messages --------------------------------------------------------

export interface RawAttr {
  type: number;
  nested: boolean;
  data: Buffer;
}

/** Split a buffer into netlink attributes; throws LnetProtocolError on a bad length. Types are masked with 0x3fff. */
export function parseAttrs(buf: Buffer, op = 'netlink'): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < 4 || off + len > buf.length) throw new LnetProtocolError(op, 'netlink', `attribute at offset ${off} has length ${len}, ${buf.length - off} bytes left`);
    out.push({ type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, data: buf.subarray(off + 4, off + len) });
    off += (len + 3) & ~3;
  }
  if (off < buf.length && buf.length - off >= 4) throw new LnetProtocolError(op, 'netlink', 'trailing bytes after attributes');
  return out;
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Bytes after the 16-byte nlmsghdr. */
  payload: Buffer;
}

export interface GenlMessage extends NlMessage {
  cmd: number;
  version: number;
  /** Bytes after the genlmsghdr. */
  attrs: Buffer;
}

/** Parse one whole netlink message (as nlRequest returns them). */
export function parseMessage(buf: Buffer, op = 'netlink'): NlMessage {
  if (buf.length < 16) throw new LnetProtocolError(op, 'netlink', `message of ${buf.length} bytes is shorter than nlmsghdr`);
  const len = buf.readUInt32LE(0);
  if (len < 16 || len > buf.length) throw new LnetProtocolError(op, 'netlink', `nlmsg_len ${len} does not fit the ${buf.length}-byte message`);
  return { type: buf.readUInt16LE(4), flags: buf.readUInt16LE(6), seq: buf.readUInt32LE(8), pid: buf.readUInt32LE(12), payload: buf.subarray(16, len) };
}

export function asGenl(m: NlMessage, op = 'netlink'): GenlMessage {
  if (m.payload.length < 4) throw new LnetProtocolError(op, 'netlink', 'message too short for genlmsghdr');
  return { ...m, cmd: m.payload[0]!, version: m.payload[1]!, attrs: m.payload.subarray(4) };
}

function extack(tlvs: Buffer, op: string): { msg?: string; offset?: number } {
  const out: { msg?: string; offset?: number } = {};
  let attrs: RawAttr[];
  try {
    attrs = parseAttrs(tlvs, op);
  } catch {
    return out;
  }
  for (const a of attrs) {
    if (a.type === NLMSGERR_ATTR_MSG) out.msg = cstr(a.data);
    if (a.type === NLMSGERR_ATTR_OFFS && a.data.length >= 4) out.offset = a.data.readUInt32LE(0);
  }
  return out;
}

/**
 * Check the status messages of a reply: an NLMSG_ERROR with a negative
 * errno, or an NLMSG_DONE carrying one, becomes an LnetError with the
 * kernel's extack message. Returns the data messages (neither ERROR nor DONE).
 */
export function checkReplies(raw: Buffer[], op: string): NlMessage[] {
  const data: NlMessage[] = [];
  for (const b of raw) {
    const m = parseMessage(b, op);
    if (m.type === NLMSG_ERROR) {
      if (m.payload.length < 4) throw new LnetProtocolError(op, 'netlink', 'NLMSG_ERROR without an error code');
      const err = m.payload.readInt32LE(0);
      if (err === 0) continue; // ACK
      let tlvOff = 4 + 16;
      if (m.payload.length >= 20 && !(m.flags & NLM_F.CAPPED)) {
        const inner = m.payload.readUInt32LE(4);
        tlvOff = 4 + Math.max(16, (inner + 3) & ~3);
      }
      const ex = m.flags & NLM_F.ACK_TLVS && tlvOff <= m.payload.length ? extack(m.payload.subarray(tlvOff), op) : {};
      throw LnetError.fromKernel(err, op, 'netlink', ex.msg);
    }
    if (m.type === NLMSG_DONE) {
      if (m.payload.length >= 4) {
        const err = m.payload.readInt32LE(0);
        if (err < 0) {
          const ex = m.flags & NLM_F.ACK_TLVS ? extack(m.payload.subarray(4), op) : {};
          throw LnetError.fromKernel(err, op, 'netlink', ex.msg);
        }
      }
      continue;
    }
    data.push(m);
  }
  return data;
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? b.length : z);
}

// --- controller (family lookup) -------------------------------------------------------

export const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2, VERSION: 3, HDRSIZE: 4, MAXATTR: 5, OPS: 6, MCAST_GROUPS: 7 } as const;

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  hdrsize: number;
  maxattr: number;
  /** Command numbers the family implements, with their GENL_* flags. */
  ops: { id: number; flags: number }[];
  /** Multicast groups by name. */
  groups: Record<string, number>;
}

/** The CTRL_CMD_GETFAMILY request body (CTRL_ATTR_FAMILY_NAME), as genl_ctrl_resolve() sends it. */
export function familyRequest(name: string): Buffer {
  return nlaStr(CTRL_ATTR.FAMILY_NAME, name, 'utf8');
}

export function parseFamily(m: NlMessage, op = 'CTRL_CMD_GETFAMILY'): GenlFamily {
  const g = asGenl(m, op);
  const fam: GenlFamily = { id: 0, name: '', version: 0, hdrsize: 0, maxattr: 0, ops: [], groups: {} };
  const u32 = (b: Buffer): number => (b.length >= 4 ? b.readUInt32LE(0) : b.length >= 2 ? b.readUInt16LE(0) : 0);
  for (const a of parseAttrs(g.attrs, op)) {
    switch (a.type) {
      case CTRL_ATTR.FAMILY_ID:
        if (a.data.length < 2) throw new LnetProtocolError(op, 'netlink', 'short CTRL_ATTR_FAMILY_ID');
        fam.id = a.data.readUInt16LE(0);
        break;
      case CTRL_ATTR.FAMILY_NAME:
        fam.name = cstr(a.data);
        break;
      case CTRL_ATTR.VERSION:
        fam.version = u32(a.data);
        break;
      case CTRL_ATTR.HDRSIZE:
        fam.hdrsize = u32(a.data);
        break;
      case CTRL_ATTR.MAXATTR:
        fam.maxattr = u32(a.data);
        break;
      case CTRL_ATTR.OPS:
        for (const o of parseAttrs(a.data, op)) {
          const f = parseAttrs(o.data, op);
          const id = f.find((x) => x.type === 1);
          const flags = f.find((x) => x.type === 2);
          if (id) fam.ops.push({ id: u32(id.data), flags: flags ? u32(flags.data) : 0 });
        }
        break;
      case CTRL_ATTR.MCAST_GROUPS:
        for (const grp of parseAttrs(a.data, op)) {
          const f = parseAttrs(grp.data, op);
          const nm = f.find((x) => x.type === 1);
          const id = f.find((x) => x.type === 2);
          if (nm && id) fam.groups[cstr(nm.data)] = u32(id.data);
        }
        break;
    }
  }
  if (fam.id === 0) throw new LnetProtocolError(op, 'netlink', 'family reply without CTRL_ATTR_FAMILY_ID');
  return fam;
}

// --- key tables and dump values ---------------------------------------------------------

/** One key of a key table (`struct ln_key_props` as sent by lnet_genl_send_scalar_list). */
export interface KeyEntry {
  index: number;
  name: string;
  /** NLA_* type of the value. */
  type: number;
  /** LNKF_* flags. */
  format: number;
  /** The table of a NESTED value. */
  child?: KeyTable;
}

export interface KeyTable {
  size: number;
  keys: Map<number, KeyEntry>;
}

/** Decode the LN_SCALAR_ATTR_LIST describing a key table (nests numbered 1..N, each with its own nested table). */
export function parseKeyTable(listData: Buffer, op = 'netlink', depth = 0): KeyTable {
  if (depth > MAX_DEPTH) throw new LnetProtocolError(op, 'netlink', 'key table nested too deep');
  const table: KeyTable = { size: 0, keys: new Map() };
  for (const keyNest of parseAttrs(listData, op)) {
    const e: KeyEntry = { index: keyNest.type, name: '', type: 0, format: 0 };
    for (const a of parseAttrs(keyNest.data, op)) {
      switch (a.type) {
        case LN_SCALAR.LIST_SIZE:
          table.size = u16(a.data, op, 'LIST_SIZE');
          break;
        case LN_SCALAR.INDEX:
          e.index = u16(a.data, op, 'INDEX');
          break;
        case LN_SCALAR.VALUE:
          e.name = cstr(a.data);
          break;
        case LN_SCALAR.KEY_FORMAT:
          e.format = u16(a.data, op, 'KEY_FORMAT');
          break;
        case LN_SCALAR.NLA_TYPE:
          e.type = u16(a.data, op, 'NLA_TYPE');
          break;
        case LN_SCALAR.LIST:
          e.child = parseKeyTable(a.data, op, depth + 1);
          break;
      }
    }
    table.keys.set(e.index, e);
  }
  if (table.size === 0) table.size = table.keys.size;
  return table;
}

function u16(b: Buffer, op: string, what: string): number {
  if (b.length < 2) throw new LnetProtocolError(op, 'netlink', `${what} shorter than 2 bytes`);
  return b.readUInt16LE(0);
}

/** A decoded dump value. 64-bit values beyond 2^53 stay bigint; unknown attributes are kept as Buffers under `#<index>`. */
export type DumpValue = string | number | bigint | boolean | Buffer | DumpObject | DumpValue[];
export interface DumpObject {
  [key: string]: DumpValue;
}

function big(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

function scalar(e: KeyEntry, d: Buffer, op: string): DumpValue {
  const need = (n: number): void => {
    if (d.length < n) throw new LnetProtocolError(op, 'netlink', `'${e.name}' (NLA type ${e.type}) has ${d.length} bytes, needs ${n}`);
  };
  switch (e.type) {
    case NLA.U8:
      need(1);
      return d.readUInt8(0);
    case NLA.U16:
      need(2);
      return d.readUInt16LE(0);
    case NLA.U32:
      need(4);
      return d.readUInt32LE(0);
    case NLA.U64:
      need(8);
      return big(d.readBigUInt64LE(0));
    case NLA.S8:
      need(1);
      return d.readInt8(0);
    case NLA.S16:
      need(2);
      return d.readInt16LE(0);
    case NLA.S32:
      need(4);
      return d.readInt32LE(0);
    case NLA.S64:
      need(8);
      return big(d.readBigInt64LE(0));
    case NLA.STRING:
    case NLA.NUL_STRING:
      return cstr(d);
    case NLA.FLAG:
      return true;
    default:
      return Buffer.from(d);
  }
}

/**
 * Is a NESTED value a collection (nests numbered 0, 1, ... or 1, 2, ...,
 * one per element, each holding the child table's attributes) rather than
 * the child table's attributes directly? Element nests always carry
 * NLA_F_NESTED; numbering from 0 settles it, otherwise it is a collection
 * unless every child is a nest the child table itself declares NESTED.
 */
function isCollection(children: RawAttr[], child: KeyTable | undefined): boolean {
  if (children.length === 0) return false;
  if (children[0]!.type === 0) return true;
  if (!children.every((c) => c.nested)) return false;
  return !children.every((c) => child?.keys.get(c.type)?.type === NLA.NESTED);
}

function decodeValues(attrs: RawAttr[], table: KeyTable | undefined, op: string, depth: number): DumpObject {
  if (depth > MAX_DEPTH) throw new LnetProtocolError(op, 'netlink', 'values nested too deep');
  const obj: DumpObject = {};
  for (const a of attrs) {
    const e = table?.keys.get(a.type);
    if (!e) {
      obj[`#${a.type}`] = Buffer.from(a.data);
      continue;
    }
    const name = e.name === '' ? `#${a.type}` : e.name;
    if (e.type !== NLA.NESTED) {
      obj[name] = scalar(e, a.data, op);
      continue;
    }
    const children = parseAttrs(a.data, op);
    let value: DumpValue;
    if (isCollection(children, e.child)) {
      // A collection: nests numbered 0, 1, ... each holding the child table's attrs.
      const elems = children.map((c) => decodeValues(parseAttrs(c.data, op), e.child, op, depth + 1));
      value = e.format & LNKF.SEQUENCE || elems.length !== 1 ? elems : elems[0]!;
    } else {
      value = decodeValues(children, e.child, op, depth + 1);
    }
    const prev = obj[name];
    obj[name] = Array.isArray(prev) && Array.isArray(value) ? [...prev, ...value] : value;
  }
  return obj;
}

/** The result of a dump: top-level key (the table's header key, e.g. "net") to its items, in order. */
export type DumpResult = Record<string, DumpObject[]>;

/**
 * Decodes a dump as lnetctl's yaml_parse_value_list does: a message with
 * NLM_F_CREATE carries a key table (NLM_F_CREATE|NLM_F_REPLACE replaces the
 * current one, e.g. when the LND changes), every other message carries
 * values by key index and is one item of the section named by the table's
 * header key (index 1).
 */
export class DumpParser {
  private table: KeyTable | undefined;
  readonly result: DumpResult = {};
  /** Key tables seen, in order (the first and each replacement). */
  readonly tables: KeyTable[] = [];

  constructor(private readonly op = 'netlink') {}

  feed(m: NlMessage): void {
    const g = asGenl(m, this.op);
    const attrs = parseAttrs(g.attrs, this.op);
    if (m.flags & NLM_F.CREATE) {
      const list = attrs.find((a) => a.type === LN_SCALAR.LIST);
      if (!list) throw new LnetProtocolError(this.op, 'netlink', 'key-table message without LN_SCALAR_ATTR_LIST');
      const prev = this.table;
      this.table = parseKeyTable(list.data, this.op);
      // A replacement table continues the same dump: when its header key has
      // no name (the net dump sends "" there), keep the section's name.
      const hdr = this.table.keys.get(1);
      const prevHdr = prev?.keys.get(1);
      if (m.flags & NLM_F.REPLACE && hdr && hdr.name === '' && prevHdr && prevHdr.name !== '') hdr.name = prevHdr.name;
      this.tables.push(this.table);
      return;
    }
    if (!this.table) throw new LnetProtocolError(this.op, 'netlink', 'values before any key table');
    const hdr = this.table.keys.get(1);
    const top = hdr?.name || '#1';
    // Every values message is one item of the top-level sequence. The header
    // key (index 1, "") only opens the section: lnet_net_show_dump() puts it
    // in the first message and again after a key-table replacement, not in
    // each net's message.
    const values = decodeValues(attrs.filter((a) => a.type !== 1), this.table, this.op, 0);
    (this.result[top] ??= []).push(values);
  }
}

/** Decode every data message of a dump reply. */
export function parseDump(messages: NlMessage[], op = 'netlink'): DumpResult {
  const p = new DumpParser(op);
  for (const m of messages) p.feed(m);
  return p.result;
}
