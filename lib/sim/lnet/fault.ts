/**
 * LNet fault injection in the emulated kernel (lnet/lnet/net_fault.c):
 * drop and delay rules, reached through IOC_LIBCFS_LNET_FAULT (lctl
 * net_drop_* / net_delay_*) and, from 2.16, the `lnet` family's
 * LNET_CMD_FAULT (lnetctl fault ...). Rules live as long as lnet.ko is
 * loaded (lnet_fault_init/fini run at module init/exit); they act on the
 * messages the emulator exchanges between hosts (a ping is a GET and its
 * REPLY): a dropped message makes the ping time out, a delayed one makes it
 * slower (and time out when the latency exceeds the ping's timeout).
 *
 * Layouts (lnetctl.h, x86_64): struct lnet_fault_attr (104 bytes) = fa_src@0,
 * fa_dst@8, fa_local_nid@16 (lnet_nid_t), fa_ptl_mask@24 (u64), fa_msg_mask@32
 * (u32), union@40 { drop: da_rate@40, da_interval@44, da_health_error_mask@48,
 * da_random@52 (bool), da_drop_all@53 (bool); delay: la_rate@40,
 * la_interval@44, la_latency@48; u64 space[8] }; struct lnet_fault_stat (104
 * bytes) = fs_count@0, fs_put@8, fs_ack@16, fs_get@24, fs_reply@32, union@40
 * { ds_dropped | ls_delayed; u64 space[8] }.
 */
import { E, kerr, type Host, type Lnet, type PingResult } from './kernel.js';
import { NID_ANY, nidAddr, nidNet } from './nid.js';
import { peerCandidates, selectPath } from './udsp.js';

export const FAULT_ATTR_SIZE = 104;
export const FAULT_STAT_SIZE = 104;
/** enum of lnetctl.h: the operation in ioc_flags. */
export const LNET_CTL = { DROP_ADD: 0, DROP_DEL: 1, DROP_RESET: 2, DROP_LIST: 3, DELAY_ADD: 4, DELAY_DEL: 5, DELAY_RESET: 6, DELAY_LIST: 7 } as const;
/** Message-type bits (fa_msg_mask). */
export const MSG_BIT = { ACK: 1, PUT: 2, GET: 4, REPLY: 8 } as const;
const MSG_MASK_ALL = 0xf;

export type FaultKind = 'drop' | 'delay';
export type MsgType = keyof typeof MSG_BIT;

export interface FaultAttr {
  src: bigint;
  dst: bigint;
  localNid: bigint;
  ptlMask: bigint;
  msgMask: number;
  rate: number;
  interval: number;
  /** drop only */
  healthErrorMask: number;
  random: boolean;
  dropAll: boolean;
  /** delay only: seconds */
  latency: number;
}
export interface FaultStat {
  count: bigint;
  put: bigint;
  ack: bigint;
  get: bigint;
  reply: bigint;
  /** ds_dropped / ls_delayed */
  hits: bigint;
}
interface Rule {
  kind: FaultKind;
  attr: FaultAttr;
  stat: FaultStat;
  /** rate rules: index (in fs_count) of the message to hit in the current window */
  hitAt: bigint;
  /** interval rules: time (ms) from which the next message is hit */
  hitTime: number;
}

const zeroStat = (): FaultStat => ({ count: 0n, put: 0n, ack: 0n, get: 0n, reply: 0n, hits: 0n });
const rnd = (n: number): bigint => BigInt(Math.floor(Math.random() * n));

const tables = new WeakMap<Lnet, Rule[]>();
function rules(h: Host): Rule[] {
  const ln = h.ln;
  let t = tables.get(ln);
  if (!t) {
    t = [];
    tables.set(ln, t);
  }
  return t;
}

export function decodeAttr(b: Buffer, off = 0): FaultAttr {
  return {
    src: b.readBigUInt64LE(off),
    dst: b.readBigUInt64LE(off + 8),
    localNid: b.readBigUInt64LE(off + 16),
    ptlMask: b.readBigUInt64LE(off + 24),
    msgMask: b.readUInt32LE(off + 32),
    rate: b.readUInt32LE(off + 40),
    interval: b.readUInt32LE(off + 44),
    healthErrorMask: b.readUInt32LE(off + 48),
    random: b[off + 52] !== 0,
    dropAll: b[off + 53] !== 0,
    latency: b.readUInt32LE(off + 48),
  };
}
export function encodeAttr(kind: FaultKind, a: FaultAttr, b: Buffer, off = 0): void {
  b.fill(0, off, off + FAULT_ATTR_SIZE);
  b.writeBigUInt64LE(a.src, off);
  b.writeBigUInt64LE(a.dst, off + 8);
  b.writeBigUInt64LE(a.localNid, off + 16);
  b.writeBigUInt64LE(a.ptlMask, off + 24);
  b.writeUInt32LE(a.msgMask, off + 32);
  b.writeUInt32LE(a.rate, off + 40);
  b.writeUInt32LE(a.interval, off + 44);
  if (kind === 'drop') {
    b.writeUInt32LE(a.healthErrorMask, off + 48);
    b[off + 52] = a.random ? 1 : 0;
    b[off + 53] = a.dropAll ? 1 : 0;
  } else b.writeUInt32LE(a.latency, off + 48);
}
export function encodeStat(s: FaultStat, b: Buffer, off = 0): void {
  b.fill(0, off, off + FAULT_STAT_SIZE);
  [s.count, s.put, s.ack, s.get, s.reply, s.hits].forEach((v, i) => b.writeBigUInt64LE(v, off + i * 8));
}

/** lnet_fault_attr_validate() plus the add-time checks of lnet_drop_rule_add/lnet_delay_rule_add. */
function validate(kind: FaultKind, a: FaultAttr): FaultAttr {
  const out = { ...a };
  if ((out.rate === 0) === (out.interval === 0)) kerr(E.EINVAL, 'rate and interval are exclusive, one is required');
  if (kind === 'delay' && out.latency === 0) kerr(E.EINVAL, 'latency cannot be zero');
  if (kind === 'drop' && out.random && out.interval === 0) kerr(E.EINVAL, 'random needs an interval');
  if (out.msgMask === 0) out.msgMask = MSG_MASK_ALL;
  if (out.ptlMask !== 0n) {
    // with a portal filter only PUT and GET can be matched
    out.msgMask &= MSG_BIT.GET | MSG_BIT.PUT;
    if (out.msgMask === 0) kerr(E.EINVAL, 'no valid message type bits');
  }
  return out;
}

export function addRule(h: Host, kind: FaultKind, attr: FaultAttr): void {
  const a = validate(kind, attr);
  const r: Rule = { kind, attr: a, stat: zeroStat(), hitAt: 0n, hitTime: 0 };
  if (a.rate) r.hitAt = rnd(a.rate);
  else r.hitTime = Date.now() + (a.random ? Math.random() : 1) * a.interval * 1000;
  rules(h).push(r);
}

/** Rules deleted (src/dst 0 = every rule of the kind, as `-a`). */
export function delRules(h: Host, kind: FaultKind, src: bigint, dst: bigint): number {
  const t = rules(h);
  let n = 0;
  for (let i = t.length - 1; i >= 0; i--) {
    const r = t[i]!;
    if (r.kind !== kind) continue;
    if (src && r.attr.src !== src) continue;
    if (dst && r.attr.dst !== dst) continue;
    t.splice(i, 1);
    n++;
  }
  return n;
}

/** *_RESET: statistics back to zero, rules kept. */
export function resetRules(h: Host, kind: FaultKind): void {
  for (const r of rules(h)) {
    if (r.kind !== kind) continue;
    r.stat = zeroStat();
    if (r.attr.rate) r.hitAt = rnd(r.attr.rate);
  }
}

/** The pos-th rule of a kind (ENOENT past the end: how lctl's list loop ends). */
export function ruleAt(h: Host, kind: FaultKind, pos: number): { attr: FaultAttr; stat: FaultStat } {
  const r = rules(h).filter((x) => x.kind === kind)[pos];
  if (!r) kerr(E.ENOENT);
  return { attr: r!.attr, stat: r!.stat };
}
export function listRules(h: Host, kind: FaultKind): Array<{ attr: FaultAttr; stat: FaultStat }> {
  return h.lnet ? rules(h).filter((x) => x.kind === kind).map((r) => ({ attr: r.attr, stat: r.stat })) : [];
}

/** lnet_fault_nid_match(): ANY, a whole net (address 255.255.255.255), or the NID itself. */
export function nidMatch(rule: bigint, nid: bigint): boolean {
  if (rule === NID_ANY) return true;
  if (nidNet(rule) !== nidNet(nid)) return false;
  return nidAddr(rule) === 0xffffffff || rule === nid;
}

function hit(r: Rule): boolean {
  const a = r.attr;
  if (a.rate) {
    const idx = r.stat.count - 1n;
    const yes = idx === r.hitAt;
    if (r.stat.count % BigInt(a.rate) === 0n) r.hitAt = r.stat.count + rnd(a.rate);
    return yes;
  }
  const now = Date.now();
  if (now < r.hitTime) return false;
  r.hitTime = now + (a.random ? Math.random() : 1) * a.interval * 1000;
  return true;
}

/**
 * One message of type `type` from `src` to `dst`, seen by host `h` (received
 * on, or sent from, its NI `local`). Returns whether a drop rule takes it and
 * the delay (ms) delay rules add.
 */
export function filterMessage(h: Host, src: bigint, dst: bigint, local: bigint, type: MsgType, receiving: boolean): { drop: boolean; delayMs: number } {
  const out = { drop: false, delayMs: 0 };
  if (!h.lnet) return out;
  const t = tables.get(h.lnet);
  if (!t) return out;
  const bit = MSG_BIT[type];
  for (const r of t) {
    const a = r.attr;
    if (!nidMatch(a.src, src) || !nidMatch(a.dst, dst)) continue;
    if (a.localNid !== 0n && !nidMatch(a.localNid, local)) continue;
    if (!(a.msgMask & bit)) continue;
    if (r.kind === 'delay' && !receiving) continue; // delay rules act in lnet_parse (receive side)
    r.stat.count++;
    if (r.kind === 'drop' && out.drop) continue;
    if (!(r.kind === 'drop' && a.dropAll) && !hit(r)) continue;
    r.stat.hits++;
    const k = type.toLowerCase() as 'put' | 'ack' | 'get' | 'reply';
    r.stat[k]++;
    if (r.kind === 'drop') out.drop = true;
    else out.delayMs += a.latency * 1000;
  }
  return out;
}

/**
 * IOC_LIBCFS_LNET_FAULT (lnet_fault_ctl): V1 data, operation in ioc_flags,
 * lnet_fault_attr in inline buffer 1, for *_LIST the index in ioc_count and
 * the lnet_fault_stat in inline buffer 2. Rewrites `d` in place.
 */
export function faultIoctl(h: Host, d: Buffer): void {
  const opc = d.readUInt32LE(24);
  const inl1 = d.readUInt32LE(64);
  const inl2 = d.readUInt32LE(80);
  const a1 = 128;
  const a2 = 128 + ((inl1 + 7) & ~7);
  const attr = () => {
    if (inl1 < FAULT_ATTR_SIZE) kerr(E.EINVAL);
    return decodeAttr(d, a1);
  };
  switch (opc) {
    case LNET_CTL.DROP_ADD:
    case LNET_CTL.DELAY_ADD:
      addRule(h, opc === LNET_CTL.DROP_ADD ? 'drop' : 'delay', attr());
      return;
    case LNET_CTL.DROP_DEL:
    case LNET_CTL.DELAY_DEL: {
      const a = attr();
      d.writeUInt32LE(delRules(h, opc === LNET_CTL.DROP_DEL ? 'drop' : 'delay', a.src, a.dst), 28);
      return;
    }
    case LNET_CTL.DROP_RESET:
    case LNET_CTL.DELAY_RESET:
      resetRules(h, opc === LNET_CTL.DROP_RESET ? 'drop' : 'delay');
      return;
    case LNET_CTL.DROP_LIST:
    case LNET_CTL.DELAY_LIST: {
      attr();
      if (inl2 < FAULT_STAT_SIZE) kerr(E.EINVAL);
      const kind = opc === LNET_CTL.DROP_LIST ? 'drop' : 'delay';
      const r = ruleAt(h, kind, d.readUInt32LE(28));
      encodeAttr(kind, r.attr, d, a1);
      encodeStat(r.stat, d, a2);
      return;
    }
  }
  kerr(E.EINVAL);
}

/**
 * world.ping() through the fault rules: the GET from `src` to `nid` and the
 * REPLY back, each checked by drop rules on the host that sends it and the
 * host that receives it, and by delay rules on the receiving host. A drop
 * gives ETIMEDOUT (nobody answers); delays add up in `delayMs`.
 */
export function pingWithFaults(src: Host, nid: bigint, discover: boolean): (PingResult & { delayMs: number }) | { errno: number; delayMs: number } {
  const w = src.world;
  const r = w.resolve(src, nid);
  let delayMs = 0;
  if (!('errno' in r) && r.host !== src) {
    const t = r.host;
    const path = selectPath(src, nid, peerCandidates(src, nid));
    const srcNid = path?.local ?? (src.allNis().find((n) => nidNet(n.nid) === nidNet(nid)) ?? src.allNis()[0])?.nid ?? NID_ANY;
    const dstNid = path?.remote ?? nid;
    const legs: Array<[Host, Host, bigint, bigint, MsgType]> = [
      [src, t, srcNid, dstNid, 'GET'],
      [t, src, dstNid, srcNid, 'REPLY'],
    ];
    for (const [from, to, s, d, type] of legs) {
      const out = filterMessage(from, s, d, s, type, false);
      const inn = filterMessage(to, s, d, d, type, true);
      delayMs += inn.delayMs;
      if (out.drop || inn.drop) {
        src.ln.counters.drop++;
        return { errno: E.ETIMEDOUT, delayMs };
      }
    }
  }
  const res = w.ping(src, nid, discover);
  return { ...res, delayMs };
}
