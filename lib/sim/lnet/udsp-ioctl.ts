/**
 * UDSP ioctls of the emulated kernel (IOC_LIBCFS_ADD_UDSP 105, DEL_UDSP 106,
 * GET_UDSP_SIZE 107, GET_UDSP 108, GET_CONST_UDSP_INFO 109: every release's
 * transport for `lnetctl udsp`), with liblnetconfig_udsp.c's marshalling:
 *   struct lnet_ioctl_udsp (32 bytes) = hdr@0, u32 iou_idx@8,
 *     u32 iou_action_type@12, u32 iou_bulk_size@16, u32 iou_action.priority@20,
 *     void *iou_bulk@24; then three descriptors "SRC", "DST", "RTE":
 *   struct lnet_ioctl_udsp_descr (16 bytes) = u32 ud_descr_type ("SRC\0" as
 *     u32), u32 ud_descr_count (address expressions), u32 ud_net_type,
 *     u32 ud_net_num_expr.le_count; then le_count struct lnet_range_expr
 *     {u32 re_lo, re_hi, re_stride} for the net number, then per address
 *     expression a u32 le_count and its range_exprs. A descriptor with net
 *     type 0 is the 16-byte header alone (criterion absent).
 * GET_UDSP_SIZE answers the marshalled size in iou_idx (as lnetctl reads it);
 * GET_UDSP writes the descriptors through iou_bulk and the header fields in
 * place; both ENOENT past the last rule.
 *   struct lnet_ioctl_construct_udsp_info (2080 bytes) = hdr@0, u32 cud_peer@8,
 *     lnet_nid_t cud_nid@16, u32 cud_net_priority@24, u32 cud_nid_priority@28,
 *     lnet_nid_t cud_pref_nid[128]@32, cud_pref_rtr_nid[128]@1056.
 */
import { E, kerr, type Host } from './kernel.js';
import { addUdsp, delUdsp, priorities, udspRules, type NidDescr, type Range, type UdspRule } from './udsp.js';

export const UDSP_HDR = 32;
const DESCR = 16;
const TYPES = ['SRC', 'DST', 'RTE'] as const;
const typeCode = (t: string) => Buffer.from(t + '\0', 'latin1').readUInt32LE(0);

function readRanges(b: Buffer, off: number, n: number): { ranges: Range[]; off: number } {
  const ranges: Range[] = [];
  for (let i = 0; i < n; i++, off += 12) {
    if (off + 12 > b.length) kerr(E.EINVAL);
    ranges.push({ lo: b.readUInt32LE(off), hi: b.readUInt32LE(off + 4), stride: b.readUInt32LE(off + 8) });
  }
  return { ranges, off };
}

/** Demarshal the three descriptors (EINVAL when sizes or types do not add up, as lnet_udsp_demarshal_add). */
export function decodeDescrs(b: Buffer, off: number): { src?: NidDescr; dst?: NidDescr; rte?: NidDescr } {
  const out: { src?: NidDescr; dst?: NidDescr; rte?: NidDescr } = {};
  for (const t of TYPES) {
    if (off + DESCR > b.length) kerr(E.EINVAL);
    const type = b.readUInt32LE(off);
    const count = b.readUInt32LE(off + 4);
    const netType = b.readUInt32LE(off + 8);
    const netCount = b.readUInt32LE(off + 12);
    off += DESCR;
    if (netType === 0) continue;
    if (type !== typeCode(t) || count > 16 || netCount > 64) kerr(E.EINVAL);
    const nn = readRanges(b, off, netCount);
    off = nn.off;
    const addr: Range[][] = [];
    for (let i = 0; i < count; i++) {
      if (off + 4 > b.length) kerr(E.EINVAL);
      const n = b.readUInt32LE(off);
      if (n > 64) kerr(E.EINVAL);
      const r = readRanges(b, off + 4, n);
      addr.push(r.ranges);
      off = r.off;
    }
    out[t.toLowerCase() as 'src' | 'dst' | 'rte'] = { netType, netNums: nn.ranges, addr };
  }
  return out;
}

export function encodeDescrs(r: Pick<UdspRule, 'src' | 'dst' | 'rte'>): Buffer {
  const parts: Buffer[] = [];
  const u32s = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, i) => b.writeUInt32LE(x >>> 0, 4 * i));
    return b;
  };
  for (const t of TYPES) {
    const d = r[t.toLowerCase() as 'src' | 'dst' | 'rte'];
    if (!d) {
      parts.push(u32s(typeCode(t), 0, 0, 0));
      continue;
    }
    parts.push(u32s(typeCode(t), d.addr.length, d.netType, d.netNums.length));
    for (const x of d.netNums) parts.push(u32s(x.lo, x.hi, x.stride));
    for (const a of d.addr) {
      parts.push(u32s(a.length));
      for (const x of a) parts.push(u32s(x.lo, x.hi, x.stride));
    }
  }
  return Buffer.concat(parts);
}

export function udspIoctl(h: Host, name: string, d: Buffer, writes: Array<{ ptrOffset: number; bytes: Buffer }>): void {
  const ln = h.ln;
  switch (name) {
    case 'ADD_UDSP': {
      if (d.length < UDSP_HDR) kerr(E.EINVAL);
      const bulkSize = d.readUInt32LE(16);
      if (UDSP_HDR + bulkSize > d.length) kerr(E.EINVAL);
      const descrs = decodeDescrs(d.subarray(0, UDSP_HDR + bulkSize), UDSP_HDR);
      const action = d.readUInt32LE(12);
      if (!descrs.src && !descrs.dst && !descrs.rte) kerr(E.EINVAL);
      addUdsp(ln, { ...descrs, action, priority: d.readUInt32LE(20) }, d.readInt32LE(8));
      return;
    }
    case 'DEL_UDSP':
      if (d.length < UDSP_HDR) kerr(E.EINVAL);
      if (!delUdsp(ln, d.readInt32LE(8))) kerr(E.ENOENT);
      return;
    case 'GET_UDSP_SIZE':
    case 'GET_UDSP': {
      if (d.length < UDSP_HDR) kerr(E.EINVAL);
      const r = udspRules(ln)[d.readInt32LE(8)];
      if (!r) kerr(E.ENOENT);
      const bulk = encodeDescrs(r!);
      if (name === 'GET_UDSP_SIZE') {
        d.writeUInt32LE(UDSP_HDR + bulk.length, 8);
        return;
      }
      if (d.readUInt32LE(16) < bulk.length) kerr(E.EINVAL);
      d.writeUInt32LE(r!.idx, 8);
      d.writeUInt32LE(r!.action, 12);
      d.writeUInt32LE(r!.priority, 20);
      writes.push({ ptrOffset: 24, bytes: bulk });
      return;
    }
    case 'GET_CONST_UDSP_INFO': {
      if (d.length < 2080) kerr(E.EINVAL);
      const p = priorities(h, d.readBigUInt64LE(16), d.readUInt32LE(8) === 0);
      d.writeUInt32LE(p.net, 24);
      d.writeUInt32LE(p.ni, 28);
      d.fill(0, 32, 2080);
      return;
    }
  }
  kerr(E.EINVAL);
}
