/**
 * LNet network ids and NIDs (reference lnet.md section 3): parse and format
 * `<addr>@<net>` in the kernel's rules (`libcfs_str2net`, `libcfs_str2nid`,
 * `libcfs_nid2str`), NID4 (64-bit) conversion, large (IPv6) NIDs, NID ranges
 * (`192.168.0.[1-10]@tcp`) and process ids (`12345-nid`).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { LnetSyntaxError } from './errors.js';
import { formatIpv6 } from '../util/format.js';

/** LND type numbers (nidstr.h) with their net names, modules and address syntax. */
export const LND = {
  SOCKLND: 2,
  O2IBLND: 5,
  LOLND: 9,
  GNILND: 13,
  GNIIPLND: 14,
  PTL4LND: 15,
  KFILND: 16,
  EFALND: 18,
  BXI3LND: 19,
} as const;

type AddrKind = 'ip' | 'num' | 'lo';
interface LndInfo {
  type: number;
  name: string;
  module: string | undefined;
  addr: AddrKind;
}

const LNDS: LndInfo[] = [
  { type: 2, name: 'tcp', module: 'ksocklnd', addr: 'ip' },
  { type: 5, name: 'o2ib', module: 'ko2iblnd', addr: 'ip' },
  { type: 9, name: 'lo', module: undefined, addr: 'lo' },
  { type: 13, name: 'gni', module: 'kgnilnd', addr: 'num' },
  { type: 14, name: 'gip', module: 'kgnilnd', addr: 'ip' },
  { type: 15, name: 'ptlf', module: 'kptl4lnd', addr: 'num' },
  { type: 16, name: 'kfi', module: 'kkfilnd', addr: 'num' },
  { type: 18, name: 'efa', module: 'kefalnd', addr: 'ip' },
  { type: 19, name: 'bxi3f', module: 'kbxi3lnd', addr: 'num' },
];

function lndByType(type: number): LndInfo | undefined {
  return LNDS.find((l) => l.type === type);
}

/** The kernel module of an LND (`libcfs_lnd2modname`), e.g. 'ksocklnd' for tcp; undefined for lo. */
export function lndModule(type: number): string | undefined {
  return lndByType(type)?.module;
}

/** An LNet network: LND type and net number. `tcp0` and `tcp` are the same net. */
export class NetId {
  readonly type: number;
  readonly num: number;
  constructor(type: number, num: number) {
    if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`LND type out of range: ${type}`);
    if (!Number.isInteger(num) || num < 0 || num > 0xffff) throw new RangeError(`net number out of range: ${num}`);
    this.type = type;
    this.num = num;
  }
  /** LNET_MKNET(type, num). */
  get value(): number {
    return (this.type << 16) | this.num;
  }
  get lndName(): string | undefined {
    return lndByType(this.type)?.name;
  }
  get isLo(): boolean {
    return this.type === LND.LOLND;
  }
  equals(o: NetId): boolean {
    return o.type === this.type && o.num === this.num;
  }
  /** As libcfs_net2str: number 0 is not printed (`tcp`, `o2ib1`); unknown LNDs print `<type:num>`. */
  toString(): string {
    const l = lndByType(this.type);
    if (!l) return `<${this.type}:${this.num}>`;
    return this.num === 0 ? l.name : `${l.name}${this.num}`;
  }
  toJSON(): string {
    return this.toString();
  }
  static fromValue(v: number): NetId {
    return new NetId((v >>> 16) & 0xff, v & 0xffff);
  }
  /** Parse a net name (`tcp`, `tcp0`, `o2ib1`, `lo`); throws LnetSyntaxError. */
  static parse(s: string, what = 'net'): NetId {
    const r = parseNetAt(s, 0, s.length, what);
    return r;
  }
}

function parseNetAt(src: string, start: number, end: number, what: string): NetId {
  const s = src.slice(start, end);
  if (s.length === 0) throw new LnetSyntaxError(what, src, start, 'missing net name');
  // Name matching by prefix against the table, then an optional number that must consume the rest.
  const l = [...LNDS].sort((a, b) => b.name.length - a.name.length).find((x) => s.startsWith(x.name));
  if (!l) throw new LnetSyntaxError(what, src, start, `unknown network type '${s}'`);
  const rest = s.slice(l.name.length);
  if (rest === '') return new NetId(l.type, 0);
  if (l.type === LND.LOLND) throw new LnetSyntaxError(what, src, start + l.name.length, "the 'lo' net takes no number");
  const bad = rest.search(/[^0-9]/);
  if (bad >= 0) throw new LnetSyntaxError(what, src, start + l.name.length + bad, `invalid net number in '${s}'`);
  const num = Number(rest);
  if (num > 0xffff) throw new LnetSyntaxError(what, src, start + l.name.length, `net number ${rest} is out of range (0-65535)`);
  return new NetId(l.type, num);
}

function ipv4ToInt(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIpv4(v: number): string {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
}

function ipv6ToBytes(s: string): Uint8Array {
  // Expand '::' and an embedded IPv4 tail.
  let str = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(str);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    str = str.slice(0, v4.index) + ((n >>> 16) & 0xffff).toString(16) + ':' + (n & 0xffff).toString(16);
  }
  const [head, tail] = str.includes('::') ? str.split('::') : [str, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/**
 * A NID. `addr` holds the address bytes in network order: 4 bytes for IPv4
 * and numeric addresses (a NID4), 16 for IPv6 (a large NID).
 */
export class Nid {
  readonly net: NetId;
  readonly addr: Uint8Array;
  private constructor(net: NetId, addr: Uint8Array) {
    this.net = net;
    this.addr = addr;
  }
  static of(net: NetId, addr: Uint8Array | number): Nid {
    if (typeof addr === 'number') {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, addr >>> 0);
      return new Nid(net, b);
    }
    if (addr.length !== 4 && addr.length !== 16) throw new RangeError('NID address must be 4 or 16 bytes');
    return new Nid(net, Uint8Array.from(addr));
  }
  /** The loopback NID, `0@lo`. */
  static readonly LO = Nid.of(new NetId(LND.LOLND, 0), 0);

  /** True for IPv6 (non 4-byte) addresses, which only the netlink interface carries. */
  get isLarge(): boolean {
    return this.addr.length !== 4;
  }
  /** The 4-byte address as a host-order number (throws for a large NID). */
  get addr4(): number {
    if (this.isLarge) throw new RangeError(`${this.toString()} is a large NID`);
    return new DataView(this.addr.buffer, this.addr.byteOffset, 4).getUint32(0);
  }
  get isLo(): boolean {
    return this.net.isLo;
  }
  /** The 64-bit lnet_nid_t: LNET_MKNID(net, addr). Throws for large NIDs. */
  toNid4(): bigint {
    return (BigInt(this.net.value) << 32n) | BigInt(this.addr4);
  }
  static fromNid4(v: bigint): Nid {
    const net = NetId.fromValue(Number((v >> 32n) & 0xffffffffn));
    return Nid.of(net, Number(v & 0xffffffffn));
  }
  /** The 20-byte packed `struct lnet_nid` (size, type, be16 num, be32 addr[4]). */
  toLargeBytes(): Uint8Array {
    const b = new Uint8Array(20);
    const dv = new DataView(b.buffer);
    b[0] = this.addr.length - 4;
    b[1] = this.net.type;
    dv.setUint16(2, this.net.num);
    b.set(this.addr, 4);
    return b;
  }
  static fromLargeBytes(b: Uint8Array): Nid {
    if (b.length < 8) throw new RangeError('struct lnet_nid needs at least 8 bytes');
    const size = b[0]! + 4;
    if (size !== 4 && size !== 16) throw new RangeError(`unsupported NID address size ${size}`);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    return Nid.of(new NetId(b[1]!, dv.getUint16(2)), b.slice(4, 4 + size));
  }
  equals(o: Nid): boolean {
    return this.net.equals(o.net) && this.addr.length === o.addr.length && this.addr.every((x, i) => x === o.addr[i]);
  }
  /** As libcfs_nid2str: `192.168.1.1@tcp`, `0@lo`, `5@gni`, `fd00::2@tcp`; unknown LNDs `%x@<type:num>`. */
  toString(): string {
    const l = lndByType(this.net.type);
    if (this.isLarge) return `${formatIpv6(this.addr)}@${this.net.toString()}`;
    const a = this.addr4;
    if (!l) return `${a.toString(16)}@${this.net.toString()}`;
    if (l.addr === 'ip') return `${intToIpv4(a)}@${this.net.toString()}`;
    return `${a >>> 0}@${this.net.toString()}`;
  }
  toJSON(): string {
    return this.toString();
  }
  /**
   * Parse `<addr>[@<net>]` (no `@net` means `@tcp`). IPv4 dotted quads and
   * IPv6 (a large NID; loopback and link-local are refused as the kernel's
   * large-NID parser does). Host names are not resolved: give an address.
   */
  static parse(s: string, what = 'NID'): Nid {
    return parseNidAt(s, 0, s.length, what);
  }
}

function parseNidAt(src: string, start: number, end: number, what: string): Nid {
  const s = src.slice(start, end);
  if (s.trim() !== s) throw new LnetSyntaxError(what, src, start + (s.length - s.trimStart().length || s.trimEnd().length), 'unexpected whitespace');
  const at = s.lastIndexOf('@');
  const addrStr = at < 0 ? s : s.slice(0, at);
  const net = at < 0 ? new NetId(LND.SOCKLND, 0) : parseNetAt(src, start + at + 1, end, what);
  if (addrStr === '') throw new LnetSyntaxError(what, src, start, 'missing address before @');
  const l = lndByType(net.type);
  if (net.isLo) {
    if (addrStr !== '0') throw new LnetSyntaxError(what, src, start, "the address on 'lo' must be 0");
    return Nid.LO;
  }
  if (!l || l.addr === 'num') {
    const bad = addrStr.search(/[^0-9]/);
    if (bad >= 0) throw new LnetSyntaxError(what, src, start + bad, `'${addrStr}' is not a decimal address`);
    const v = Number(addrStr);
    if (v > 0xffffffff) throw new LnetSyntaxError(what, src, start, `address ${addrStr} is out of range`);
    return Nid.of(net, v);
  }
  if (isIPv4(addrStr)) return Nid.of(net, ipv4ToInt(addrStr));
  if (isIPv6(addrStr)) {
    const bytes = ipv6ToBytes(addrStr);
    if (bytes.every((x, i) => (i === 15 ? x === 1 : x === 0))) throw new LnetSyntaxError(what, src, start, 'the IPv6 loopback address cannot be a NID');
    if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) throw new LnetSyntaxError(what, src, start, 'IPv6 link-local addresses cannot be NIDs');
    return Nid.of(net, bytes);
  }
  // Point at the first character that cannot belong to a dotted quad.
  const parts = addrStr.split('.');
  let off = 0;
  for (const [i, p] of parts.entries()) {
    const bad = p.search(/[^0-9]/);
    if (bad >= 0) throw new LnetSyntaxError(what, src, start + off + bad, `'${addrStr}' is not an IP address (host names are not resolved)`);
    if (p === '' || Number(p) > 255 || i > 3) throw new LnetSyntaxError(what, src, start + off, `'${addrStr}' is not an IP address`);
    off += p.length + 1;
  }
  throw new LnetSyntaxError(what, src, start + addrStr.length, `'${addrStr}' is not an IP address (needs 4 octets)`);
}

/** Parse a NID, or pass an already parsed one through. */
export function toNid(n: Nid | string, what = 'NID'): Nid {
  return typeof n === 'string' ? Nid.parse(n, what) : n;
}

/** Format as the kernel does and compare: `tcp0` and `tcp` are equal, `192.168.1.1` is `192.168.1.1@tcp`. */
export function sameNid(a: Nid | string, b: Nid | string): boolean {
  return toNid(a).equals(toNid(b));
}

/** Canonical text of a NID (`1.2.3.4@tcp0` gives `1.2.3.4@tcp`). */
export function normalizeNid(s: string, what = 'NID'): string {
  return Nid.parse(s, what).toString();
}

/** Canonical text of a net name (`tcp0` gives `tcp`). */
export function normalizeNet(s: string, what = 'net'): string {
  return NetId.parse(s, what).toString();
}

// ---------------------------------------------------------------------------
// Process ids

export const LNET_PID_LUSTRE = 12345;
export const LNET_PID_ANY = 0xffffffff;
export const LNET_PID_USERFLAG = 0x80000000;

/** A process id `<pid>-<nid>` as libcfs_id2str prints it. */
export interface ProcessId {
  pid: number;
  nid: Nid;
}

export function formatProcessId(id: ProcessId): string {
  if (id.pid === LNET_PID_ANY) return `LNET_PID_ANY-${id.nid.toString()}`;
  if (id.pid & LNET_PID_USERFLAG) return `U${(id.pid & ~LNET_PID_USERFLAG) >>> 0}-${id.nid.toString()}`;
  return `${id.pid}-${id.nid.toString()}`;
}

/** Parse `12345-192.168.1.1@tcp`, `U12345-nid`, `LNET_PID_ANY-nid`, or a bare NID (pid LNET_PID_ANY). */
export function parseProcessId(s: string, what = 'process id'): ProcessId {
  const m = /^(LNET_PID_ANY|U?\d+)-/.exec(s);
  if (!m) return { pid: LNET_PID_ANY, nid: parseNidAt(s, 0, s.length, what) };
  const p = m[1]!;
  let pid: number;
  if (p === 'LNET_PID_ANY') pid = LNET_PID_ANY;
  else if (p.startsWith('U')) pid = (Number(p.slice(1)) | LNET_PID_USERFLAG) >>> 0;
  else pid = Number(p);
  if (pid > 0xffffffff) throw new LnetSyntaxError(what, s, 0, `pid ${p} is out of range`);
  return { pid, nid: parseNidAt(s, m[0].length, s.length, what) };
}

// ---------------------------------------------------------------------------
// Range expressions: `[a-b/stride,c]`, numbers, `*`

/** One bracket or number expression: the list of (lo, hi, stride) ranges. */
export interface RangeExpr {
  ranges: { lo: number; hi: number; stride: number }[];
  /** `*`: any value (only where the syntax allows it). */
  any?: boolean;
}

export function rangeExprMatches(e: RangeExpr, v: number): boolean {
  if (e.any) return true;
  return e.ranges.some((r) => v >= r.lo && v <= r.hi && (v - r.lo) % r.stride === 0);
}

export function rangeExprValues(e: RangeExpr): number[] {
  const out: number[] = [];
  for (const r of e.ranges) for (let v = r.lo; v <= r.hi; v += r.stride) out.push(v);
  return out;
}

/**
 * Parse one range expression at src[start, end): a number, `*` (when allowAny),
 * or `[a-b/s,c,...]`. `max` is the largest allowed value.
 */
export function parseRangeExpr(src: string, start: number, end: number, what: string, max: number, allowAny = false): RangeExpr {
  const s = src.slice(start, end);
  if (s === '*') {
    if (!allowAny) throw new LnetSyntaxError(what, src, start, "'*' is not allowed here");
    return { ranges: [{ lo: 0, hi: max, stride: 1 }], any: true };
  }
  const num = (a: number, b: number): number => {
    const t = src.slice(a, b);
    if (t === '') throw new LnetSyntaxError(what, src, a, 'expected a number');
    const bad = t.search(/[^0-9]/);
    if (bad >= 0) throw new LnetSyntaxError(what, src, a + bad, `unexpected '${t[bad]}'`);
    const v = Number(t);
    if (v > max) throw new LnetSyntaxError(what, src, a, `${v} is out of range (0-${max})`);
    return v;
  };
  if (!s.startsWith('[')) return { ranges: [{ lo: num(start, end), hi: num(start, end), stride: 1 }] };
  if (!s.endsWith(']')) throw new LnetSyntaxError(what, src, end, "missing ']'");
  const ranges: RangeExpr['ranges'] = [];
  let p = start + 1;
  const close = end - 1;
  if (p === close) throw new LnetSyntaxError(what, src, p, 'empty range');
  while (p <= close) {
    let q = src.indexOf(',', p);
    if (q < 0 || q > close) q = close;
    const item = src.slice(p, q);
    const dash = item.indexOf('-');
    const slash = item.indexOf('/');
    if (dash < 0) {
      if (slash >= 0) throw new LnetSyntaxError(what, src, p + slash, 'a stride needs a range (a-b/stride)');
      const v = num(p, q);
      ranges.push({ lo: v, hi: v, stride: 1 });
    } else {
      const lo = num(p, p + dash);
      const hiEnd = slash >= 0 ? p + slash : q;
      const hi = num(p + dash + 1, hiEnd);
      const stride = slash >= 0 ? num(p + slash + 1, q) : 1;
      if (hi < lo) throw new LnetSyntaxError(what, src, p, `range ${lo}-${hi} is reversed`);
      if (stride === 0) throw new LnetSyntaxError(what, src, p + slash + 1, 'stride must be at least 1');
      ranges.push({ lo, hi, stride });
    }
    p = q + 1;
  }
  return { ranges };
}

/** Split `s[start,end)` on `sep` outside brackets; returns [start, end) pairs. */
function splitOutside(src: string, start: number, end: number, sep: string): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let from = start;
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === sep && depth === 0) {
      out.push([from, i]);
      from = i + 1;
    }
  }
  out.push([from, end]);
  return out;
}

/** A comma-separated list of NIDs or NID ranges, split outside brackets (`1.2.3.[1,2]@tcp,5@gni`); blanks dropped. */
export function splitNidList(s: string): string[] {
  return splitOutside(s, 0, s.length, ',')
    .map(([a, b]) => s.slice(a, b).trim())
    .filter(Boolean);
}

/** A NID range such as `192.168.0.[1-10]@tcp` or `[22-25]@gni` (used by peer add, route add). */
export interface NidRange {
  net: NetId;
  /** For IP nets: four octet expressions; for numeric nets: one expression. */
  parts: RangeExpr[];
  text: string;
}

const MAX_RANGE_EXPANSION = 65536;

/** Parse a NID range; a plain NID is a range of one. */
export function parseNidRange(s: string, what = 'NID range'): NidRange {
  const at = s.lastIndexOf('@');
  const net = at < 0 ? new NetId(LND.SOCKLND, 0) : parseNetAt(s, at + 1, s.length, what);
  const addrEnd = at < 0 ? s.length : at;
  if (!s.includes('[')) {
    const nid = parseNidAt(s, 0, s.length, what);
    if (nid.isLarge) return { net, parts: [], text: nid.toString() };
    const l = lndByType(net.type);
    const parts = l?.addr === 'ip' ? [...nid.addr].map((v) => ({ ranges: [{ lo: v, hi: v, stride: 1 }] })) : [{ ranges: [{ lo: nid.addr4, hi: nid.addr4, stride: 1 }] }];
    return { net, parts, text: nid.toString() };
  }
  const l = lndByType(net.type);
  if (net.isLo) throw new LnetSyntaxError(what, s, 0, "'lo' NIDs have no ranges");
  if (l?.addr === 'ip') {
    const octets = splitOutside(s, 0, addrEnd, '.');
    if (octets.length !== 4) throw new LnetSyntaxError(what, s, octets.length > 4 ? octets[4]![0] - 1 : addrEnd, 'an IPv4 range needs four octet expressions');
    return { net, parts: octets.map(([a, b]) => parseRangeExpr(s, a, b, what, 255)), text: s };
  }
  return { net, parts: [parseRangeExpr(s, 0, addrEnd, what, 0xffffffff)], text: s };
}

/** All NIDs of a range, in order (throws if it has more than 65536). */
export function expandNidRange(r: NidRange | string, what = 'NID range'): Nid[] {
  const range = typeof r === 'string' ? parseNidRange(r, what) : r;
  if (range.parts.length === 0) return [Nid.parse(range.text, what)];
  const lists = range.parts.map(rangeExprValues);
  const total = lists.reduce((n, l) => n * l.length, 1);
  if (total > MAX_RANGE_EXPANSION) throw new LnetSyntaxError(what, range.text, 0, `range expands to ${total} NIDs (limit ${MAX_RANGE_EXPANSION})`);
  if (lists.length === 1) return lists[0]!.map((v) => Nid.of(range.net, v));
  const out: Nid[] = [];
  for (const a of lists[0]!) for (const b of lists[1]!) for (const c of lists[2]!) for (const d of lists[3]!) out.push(Nid.of(range.net, Uint8Array.of(a, b, c, d)));
  return out;
}

/** Does a NID fall in a range? */
export function nidInRange(r: NidRange, nid: Nid): boolean {
  if (!r.net.equals(nid.net)) return false;
  if (r.parts.length === 0) return Nid.parse(r.text).equals(nid);
  if (nid.isLarge) return false;
  if (r.parts.length === 1) return rangeExprMatches(r.parts[0]!, nid.addr4);
  return r.parts.every((p, i) => rangeExprMatches(p, nid.addr[i]!));
}

export { splitOutside as _splitOutside, parseNetAt as _parseNetAt, parseNidAt as _parseNidAt };
