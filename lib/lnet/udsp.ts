/**
 * UDSP rules (user-defined selection policies, Lustre 2.15+) as `lnetctl udsp`
 * handles them: NID descriptors parsed like cfs_parse_nid_parts() (`tcp1`,
 * `o2ib[0-3]`, `192.168.1.[1-8/2]@tcp`, `*@o2ib`), marshalled as
 * liblnetconfig_udsp.c does for IOC_LIBCFS_ADD_UDSP (three descriptors SRC,
 * DST, RTE: a 16-byte header {type "SRC\0", address expression count, net
 * type, net-number range count}, the net-number ranges, then per address part
 * a count and its ranges {lo, hi, stride}), and printed back as
 * lustre_lnet_nid_descr2str() does (`NA` for an absent criterion).
 */
import { InvalidArgumentError } from '../errors.js';
import { LnetSyntaxError } from './errors.js';
import { NetId } from './nid.js';

export interface UdspRange {
  lo: number;
  hi: number;
  stride: number;
}
export interface UdspDescr {
  netType: number;
  netNums: UdspRange[];
  /** one range list per address part, empty for a net-only descriptor */
  addr: UdspRange[][];
}
export const UDSP_ACTION = { none: 0, priority: 1, pref: 2 } as const;

export interface UdspRuleSpec {
  src?: string;
  dst?: string;
  rte?: string;
  /** lower is preferred; default 0 for a src-only or dst-only rule (as lnetctl) */
  priority?: number;
  /** insert before this index (default: append) */
  idx?: number;
}
export interface UdspRule {
  idx: number;
  /** `NA` when absent */
  src: string;
  dst: string;
  rte: string;
  /** the priority action (absent for other actions) */
  action: { priority?: number };
}

function parseRanges(expr: string, whole: string, at: number, max: number): UdspRange[] {
  if (expr === '*') return [{ lo: 0, hi: max, stride: 1 }];
  const inner = /^\[(.*)\]$/.exec(expr)?.[1] ?? expr;
  const out: UdspRange[] = [];
  for (const part of inner.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?:\/(\d+))?)?$/.exec(part.trim());
    if (!m) throw new LnetSyntaxError('udsp', whole, at, `bad range expression '${part}'`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    const stride = m[3] !== undefined ? Number(m[3]) : 1;
    if (hi < lo || hi > max || stride < 1) throw new LnetSyntaxError('udsp', whole, at, `range '${part}' out of bounds 0-${max}`);
    out.push({ lo, hi, stride });
  }
  return out;
}

/** cfs_parse_nid_parts(): `NET`, `NETTYPE[ranges]`, `ADDR@NET` with per-octet ranges or `*`. */
export function parseUdspDescr(s: string): UdspDescr {
  const t = s.trim();
  const atSign = t.lastIndexOf('@');
  const netPart = atSign >= 0 ? t.slice(atSign + 1) : t;
  const addrPart = atSign >= 0 ? t.slice(0, atSign) : undefined;
  let netType: number;
  let netNums: UdspRange[];
  const bracket = /^([a-z0-9]*?[a-z])(\[.*\])$/i.exec(netPart);
  if (bracket) {
    netType = NetId.parse(bracket[1]!, 'udsp net').type;
    netNums = parseRanges(bracket[2]!, t, atSign + 1, 0xffff);
  } else {
    const n = NetId.parse(netPart, 'udsp net');
    netType = n.type;
    netNums = [{ lo: n.num, hi: n.num, stride: 1 }];
  }
  const addr: UdspRange[][] = [];
  if (addrPart !== undefined) {
    if (addrPart === '*') for (let i = 0; i < 4; i++) addr.push([{ lo: 0, hi: 255, stride: 1 }]);
    else {
      const octets = addrPart.split('.');
      if (octets.length !== 4) throw new LnetSyntaxError('udsp', t, 0, 'an address has four parts (a.b.c.d, each a number, * or [ranges])');
      octets.forEach((o, i) => addr.push(parseRanges(o, t, i, 255)));
    }
  }
  return { netType, netNums, addr };
}

function rangesText(rs: UdspRange[], star: number): string {
  if (rs.length === 1 && rs[0]!.lo === 0 && rs[0]!.hi === star && rs[0]!.stride === 1 && star === 255) return '*';
  const parts = rs.map((r) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}${r.stride > 1 ? `/${r.stride}` : ''}`));
  return rs.length === 1 && rs[0]!.lo === rs[0]!.hi ? parts[0]! : `[${parts.join(',')}]`;
}
/** lustre_lnet_nid_descr2str(). */
export function udspDescrText(d: UdspDescr | undefined): string {
  if (!d) return 'NA';
  const name = new NetId(d.netType, 0).lndName ?? `<${d.netType}>`;
  const num = d.netNums.length === 1 && d.netNums[0]!.lo === d.netNums[0]!.hi ? (d.netNums[0]!.lo === 0 ? '' : `${d.netNums[0]!.lo}`) : rangesText(d.netNums, 0xffff);
  const net = `${name}${num}`;
  return d.addr.length ? `${d.addr.map((a) => rangesText(a, 255)).join('.')}@${net}` : net;
}

const TYPES = ['SRC', 'DST', 'RTE'] as const;
const typeCode = (t: string) => Buffer.from(t + '\0', 'latin1').readUInt32LE(0);

export function marshalUdsp(d: { src?: UdspDescr; dst?: UdspDescr; rte?: UdspDescr }): Buffer {
  const words: number[] = [];
  for (const t of TYPES) {
    const x = d[t.toLowerCase() as 'src' | 'dst' | 'rte'];
    if (!x) {
      words.push(typeCode(t), 0, 0, 0);
      continue;
    }
    words.push(typeCode(t), x.addr.length, x.netType, x.netNums.length);
    for (const r of x.netNums) words.push(r.lo, r.hi, r.stride);
    for (const a of x.addr) {
      words.push(a.length);
      for (const r of a) words.push(r.lo, r.hi, r.stride);
    }
  }
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return b;
}

/** lnet_udsp_demarshal(): the three descriptors of a GET_UDSP bulk. */
export function demarshalUdsp(b: Buffer): { src?: UdspDescr; dst?: UdspDescr; rte?: UdspDescr } {
  const out: { src?: UdspDescr; dst?: UdspDescr; rte?: UdspDescr } = {};
  let o = 0;
  const u = () => {
    if (o + 4 > b.length) throw new RangeError('UDSP bulk truncated');
    const v = b.readUInt32LE(o);
    o += 4;
    return v;
  };
  const ranges = (n: number) => Array.from({ length: n }, () => ({ lo: u(), hi: u(), stride: u() }));
  for (const t of TYPES) {
    u();
    const count = u();
    const netType = u();
    const netCount = u();
    if (!netType) continue;
    const netNums = ranges(netCount);
    const addr = Array.from({ length: count }, () => ranges(u()));
    out[t.toLowerCase() as 'src' | 'dst' | 'rte'] = { netType, netNums, addr };
  }
  return out;
}

/** lustre_lnet_add_udsp's checks, before anything is sent. */
export function checkUdspSpec(r: UdspRuleSpec): { src?: UdspDescr; dst?: UdspDescr; rte?: UdspDescr; priority: number } {
  if (!r.src && !r.dst && !r.rte) throw new InvalidArgumentError('udsp add: give --src, --dst or --rte');
  if (r.src && r.rte && r.dst) throw new InvalidArgumentError('udsp add: the combination of src, dst and rte is not supported');
  if (r.src && r.rte) throw new InvalidArgumentError('udsp add: src and rte cannot be combined');
  if (r.priority !== undefined && (!Number.isInteger(r.priority) || r.priority < 0 || r.priority > 0xfffffffe))
    throw new InvalidArgumentError(`udsp add: priority must be a whole number >= 0, got ${r.priority}`);
  return {
    ...(r.src ? { src: parseUdspDescr(r.src) } : {}),
    ...(r.dst ? { dst: parseUdspDescr(r.dst) } : {}),
    ...(r.rte ? { rte: parseUdspDescr(r.rte) } : {}),
    priority: r.priority ?? 0,
  };
}
