/**
 * User-defined selection policies (UDSP, lnet/lnet/udsp.c) of the emulated
 * kernel: the rule table and what the rules do to NI and peer-NI selection.
 * Only type imports from kernel.ts (the kernel's ping path calls
 * selectPath()); the ioctl marshalling is in udsp-ioctl.ts.
 *
 * A rule has up to three NID descriptors (src: local NIs, dst: peer NIs,
 * rte: routers), each a net type, net-number ranges and per-octet address
 * ranges (an empty list matches anything), and an action: a priority (lower
 * is preferred; unset priorities are LNET_MAX_SELECTION_PRIORITY, shown as
 * -1) or a preferred-NID list. A src-only (dst-only) rule gives the matching
 * local (peer) NIs its priority, or their net when the descriptor has no
 * address part. Selection then prefers, among the pairs of a local NI and a
 * peer NI on the same net, the lowest local net priority, local NI priority,
 * peer NI priority, in that order.
 */
import type { Host, Lnet } from './kernel.js';
import { nidAddr, nidNet, netType } from './nid.js';
import { UDSP_ACTION, type UdspDescr as NidDescr, type UdspRange as Range } from '../../lnet/udsp.js';

const netNum = (net: number): number => net & 0xffff;

/** The descriptor shapes and action codes are the library's (lib/lnet/udsp.ts): one definition for both sides of the ioctl. */
export type { UdspRange as Range, UdspDescr as NidDescr } from '../../lnet/udsp.js';
export interface UdspRule {
  idx: number;
  src?: NidDescr;
  dst?: NidDescr;
  rte?: NidDescr;
  action: number;
  priority: number;
}
/** LNET_MAX_SELECTION_PRIORITY */
export const NO_PRIORITY = 0xffffffff;

const tables = new WeakMap<Lnet, UdspRule[]>();
export function udspRules(ln: Lnet): UdspRule[] {
  let t = tables.get(ln);
  if (!t) {
    t = [];
    tables.set(ln, t);
  }
  return t;
}

/** lnet_udsp_add_policy: idx -1 or past the end appends; otherwise inserts before that rule. */
export function addUdsp(ln: Lnet, rule: Omit<UdspRule, 'idx'>, idx: number): void {
  const t = udspRules(ln);
  const at = idx < 0 || idx >= t.length ? t.length : idx;
  t.splice(at, 0, { ...rule, idx: at });
  t.forEach((r, i) => (r.idx = i));
}
/** lnet_udsp_del_policy: -1 deletes all; false when there is no such index. */
export function delUdsp(ln: Lnet, idx: number): boolean {
  const t = udspRules(ln);
  if (idx === -1) {
    t.length = 0;
    return true;
  }
  if (idx < 0 || idx >= t.length) return false;
  t.splice(idx, 1);
  t.forEach((r, i) => (r.idx = i));
  return true;
}

const inRanges = (v: number, rs: Range[]) => rs.length === 0 || rs.some((r) => v >= r.lo && v <= r.hi && (v - r.lo) % Math.max(1, r.stride) === 0);
export function descrMatches(d: NidDescr, nid: bigint): boolean {
  const net = nidNet(nid);
  if (netType(net) !== d.netType || !inRanges(netNum(net), d.netNums)) return false;
  if (!d.addr.length) return true;
  const a = nidAddr(nid);
  const parts = d.addr.length === 4 ? [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255] : [a];
  return d.addr.every((rs, i) => inRanges(parts[i] ?? 0, rs));
}

/** Priorities the rules give: local net, local NI, peer net, peer NI (NO_PRIORITY when none). */
export function priorities(h: Host, nid: bigint, local: boolean): { net: number; ni: number } {
  const out = { net: NO_PRIORITY, ni: NO_PRIORITY };
  if (!h.lnet) return out;
  for (const r of udspRules(h.lnet)) {
    if (r.action !== UDSP_ACTION.priority || r.rte) continue;
    const d = local ? (r.dst ? undefined : r.src) : r.src ? undefined : r.dst;
    if (!d || !descrMatches(d, nid)) continue;
    if (d.addr.length) out.ni = Math.min(out.ni, r.priority);
    else out.net = Math.min(out.net, r.priority);
  }
  return out;
}

/** The NIDs a message to `nid` may use: every NID of a Multi-Rail peer (discovery on), else `nid` only. */
export function peerCandidates(src: Host, nid: bigint): bigint[] {
  const p = src.lnet?.peers.find((x) => x.nis.includes(nid));
  if (!p || !p.mr || src.param('lnet', 'lnet_peer_discovery_disabled')?.trim() === '1') return [nid];
  return p.nis;
}

/**
 * lnet_select_pathway for a message from `src` to `nid`: the local NI and the
 * peer NI it goes through. A Multi-Rail peer can be reached through any of
 * its NIDs on a local net; the UDSP priorities decide, then the asked NID's
 * own net. Undefined when no local NI shares a net with any candidate.
 */
export function selectPath(src: Host, nid: bigint, peerNids: bigint[]): { local: bigint; remote: bigint } | undefined {
  const cands = peerNids.length ? peerNids : [nid];
  let best: { local: bigint; remote: bigint; key: number[] } | undefined;
  const cmp = (x: number[], y: number[]) => {
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return 0;
  };
  for (const remote of cands) {
    for (const ni of src.allNis()) {
      if (nidNet(ni.nid) !== nidNet(remote)) continue;
      const l = priorities(src, ni.nid, true);
      const p = priorities(src, remote, false);
      const key = [l.net, l.ni, p.net, p.ni, remote === nid ? 0 : 1, -ni.health];
      if (!best || cmp(key, best.key) < 0) best = { local: ni.nid, remote, key };
    }
  }
  return best && { local: best.local, remote: best.remote };
}
