/**
 * Generic netlink side of the emulated kernel: the controller family
 * (CTRL_CMD_GETFAMILY) and the "lnet" family (2.16 personality) with the
 * key-table encoding of ../shared/reference/lnet.md section 2.3, kernel-format
 * acks/errors with extack, and dumps packed into datagrams as the kernel's
 * netlink_dump() does (values and NLMSG_DONE in one skb).
 */
import { CAP, NLFLAG } from './protocol.js';
import { GENL_ID_CTRL, LNET_CMD, LNET_GENL_VERSION, LNKF, LN_SCALAR, NLA, NLMSG_DONE, NLMSG_ERROR, NLM_F, genl, nest, nestNoFlag, nlaFlag, nlaS16, nlaS32, nlaS64, nlaStr, nlaU16, nlaU32, nlaU64, nlmsg, parseAttrs as parseRawAttrs } from '../../lnet/kernel/netlink.js';
import { pingWithFaults } from './fault.js';
import { faultDoit, faultList } from './fault-netlink.js';
import { priorities } from './udsp.js';
import { HEALTH_TYPE, peerNiHealth, recoveryQueue, setHealth } from './health.js';
import { E, Host, KErr, LND_DEFAULTS, type Ni, kerr } from './kernel.js';
import { LND, NID_ANY, NID_LO_0, NET_ANY, lndModule, net2str, netType, nid2str, nidNet, str2net, str2nid } from './nid.js';

// ------------------------------------------------------------------ constants and encoding
// The one netlink codec of the project: lib/lnet/kernel/netlink.ts.
export {
  GENL_ID_CTRL,
  LNET_CMD,
  LNET_GENL_VERSION,
  LNKF,
  LN_SCALAR,
  NLA,
  NLA_F_NESTED,
  NLA_TYPE_MASK,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F,
  genl,
  nest,
  nestNoFlag,
  nla,
  nlaFlag,
  nlaS16,
  nlaS32,
  nlaS64,
  nlaStr,
  nlaU16,
  nlaU32,
  nlaU64,
  nlmsg,
} from '../../lnet/kernel/netlink.js';
export const LNET_FAMILY_ID = 0x1a;
export const CTRL = { CMD_NEWFAMILY: 1, CMD_GETFAMILY: 3, A_FAMILY_ID: 1, A_FAMILY_NAME: 2, A_VERSION: 3, A_HDRSIZE: 4, A_MAXATTR: 5, A_OPS: 6, A_MCAST_GROUPS: 7, A_OP_ID: 1, A_OP_FLAGS: 2, A_MCAST_GRP_NAME: 1, A_MCAST_GRP_ID: 2 } as const;
export const GENL_OP = { ADMIN_PERM: 1, CAP_DO: 2, CAP_DUMP: 4, CAP_HASPOL: 8 } as const;
export type Attr = Buffer;
const align4 = (n: number) => (n + 3) & ~3;

// ------------------------------------------------------------------ attribute parsing
export interface PAttr {
  type: number;
  nested: boolean;
  data: Buffer;
}
/** Parse a run of attributes; malformed input gives EINVAL, never a crash. */
export function parseAttrs(b: Buffer): PAttr[] {
  try {
    return parseRawAttrs(b, 'emulator');
  } catch {
    return kerr(E.EINVAL, 'malformed attribute');
  }
}
export const attrStr = (a: PAttr): string => {
  const z = a.data.indexOf(0);
  return a.data.subarray(0, z < 0 ? a.data.length : z).toString('latin1');
};
export const attrInt = (a: PAttr): bigint => (a.data.length >= 8 ? a.data.readBigInt64LE(0) : a.data.length >= 4 ? BigInt(a.data.readInt32LE(0)) : 0n);

/**
 * The YAML-like request tree Lustre's userspace writer emits: LIST nests of
 * alternating VALUE keys and VALUE/INT_VALUE/LIST values.
 */
export type YNode = string | bigint | YNode[];
export function yTree(attrs: PAttr[]): YNode[] {
  return attrs.map((a) => {
    if (a.type === LN_SCALAR.LIST) return yTree(parseAttrs(a.data));
    if (a.type === LN_SCALAR.INT_VALUE) return attrInt(a);
    return attrStr(a);
  });
}
/** Pairs of a flat key/value list ("net type" "tcp1" "local NI(s)" [...]). */
export function yPairs(items: YNode[]): Array<[string, YNode]> {
  const out: Array<[string, YNode]> = [];
  for (let i = 0; i < items.length; i++) {
    const k = items[i];
    if (typeof k !== 'string') continue;
    const v = items[i + 1];
    out.push([k, v ?? '']);
    i++;
  }
  return out;
}

// ------------------------------------------------------------------ key tables
export interface KeyProp {
  value?: string;
  format?: number;
  type: number;
}
/** A key list: index 1..n (index 0 unused, as lkl_list[0] in the kernel). */
export type KeyList = KeyProp[];
const K = (value: string | undefined, type: number, format = 0): KeyProp => ({ ...(value !== undefined ? { value } : {}), type, ...(format ? { format } : {}) });
const SM = LNKF.SEQUENCE | LNKF.MAPPING;

export const KEYS = {
  netProps: [K('net', NLA.NUL_STRING, SM), K('net type', NLA.STRING), K('local NI(s)', NLA.NESTED, SM)],
  netUpdateProps: [K('', NLA.NUL_STRING, SM), K('net type', NLA.STRING), K('local NI(s)', NLA.NESTED, SM)],
  localNi: [
    K('nid', NLA.STRING),
    K('status', NLA.STRING),
    K('interfaces', NLA.NESTED, LNKF.MAPPING),
    K('statistics', NLA.NESTED, LNKF.MAPPING),
    K('udsp info', NLA.NESTED, LNKF.MAPPING),
    K('sent_stats', NLA.NESTED, LNKF.MAPPING),
    K('received_stats', NLA.NESTED, LNKF.MAPPING),
    K('dropped_stats', NLA.NESTED, LNKF.MAPPING),
    K('health stats', NLA.NESTED, LNKF.MAPPING),
    K('tunables', NLA.NESTED, LNKF.MAPPING),
    K('lnd tunables', NLA.NESTED, LNKF.MAPPING),
    K('dev cpt', NLA.S32),
    K('CPT', NLA.STRING),
  ],
  interfaces: [K('0', NLA.STRING)],
  niStats: [K('send_count', NLA.U32), K('recv_count', NLA.U32), K('drop_count', NLA.U32)],
  udspInfo: [K('net priority', NLA.S32), K('nid priority', NLA.S32), K('Preferred gateway NIDs', NLA.NESTED, LNKF.MAPPING), K('Preferred source NIDs', NLA.NESTED, LNKF.MAPPING)],
  udspPrefNids: [K('NID-0', NLA.NUL_STRING), K('0@lo', NLA.STRING)],
  msgStats: [K('put', NLA.U32), K('get', NLA.U32), K('reply', NLA.U32), K('ack', NLA.U32), K('hello', NLA.U32)],
  niHealth: [
    K('fatal_error', NLA.S32),
    K('health value', NLA.S32),
    K('interrupts', NLA.U32),
    K('dropped', NLA.U32),
    K('aborted', NLA.U32),
    K('no route', NLA.U32),
    K('timeouts', NLA.U32),
    K('error', NLA.U32),
    K('ping_count', NLA.U32),
    K('next_ping', NLA.U64),
  ],
  tunables: [K('peer_timeout', NLA.S32), K('peer_credits', NLA.S32), K('peer_buffer_credits', NLA.S32), K('credits', NLA.S32)],
  socklnd: [K('conns_per_peer', NLA.U16), K('timeout', NLA.U32), K('tos', NLA.S16)],
  o2iblnd: [
    K('peercredits_hiw', NLA.U32),
    K('map_on_demand', NLA.U32),
    K('concurrent_sends', NLA.U32),
    K('fmr_pool_size', NLA.U32),
    K('fmr_flush_trigger', NLA.U32),
    K('fmr_cache', NLA.U32),
    K('ntx', NLA.U16),
    K('conns_per_peer', NLA.U16),
    K('timeout', NLA.U32),
    K('tos', NLA.S16),
  ],
  route: [K('route', NLA.NUL_STRING, SM), K('net', NLA.STRING), K('gateway', NLA.STRING), K('hop', NLA.S32), K('priority', NLA.U32), K('health_sensitivity', NLA.U32), K('state', NLA.STRING), K('type', NLA.STRING)],
  peer: [K('peer', NLA.NUL_STRING, SM), K('primary nid', NLA.STRING), K('Multi-Rail', NLA.FLAG), K('peer state', NLA.U32), K('peer ni', NLA.NESTED, SM)],
  peerNi: [
    K('nid', NLA.STRING),
    K('udsp info', NLA.NESTED, LNKF.MAPPING),
    K('state', NLA.STRING),
    K('max_ni_tx_credits', NLA.U32),
    K('available_tx_credits', NLA.U32),
    K('min_tx_credits', NLA.U32),
    K('tx_q_num_of_buf', NLA.U32),
    K('available_rtr_credits', NLA.U32),
    K('min_rtr_credits', NLA.U32),
    K('refcount', NLA.U32),
    K('statistics', NLA.NESTED, LNKF.MAPPING),
    K('sent_stats', NLA.NESTED, LNKF.MAPPING),
    K('received_stats', NLA.NESTED, LNKF.MAPPING),
    K('dropped_stats', NLA.NESTED, LNKF.MAPPING),
    K('health stats', NLA.NESTED, LNKF.MAPPING),
  ],
  peerHealth: [K('health value', NLA.S32), K('dropped', NLA.U32), K('timeout', NLA.U32), K('error', NLA.U32), K('network timeout', NLA.U32), K('ping_count', NLA.U32), K('next_ping', NLA.S64)],
  ping: [K('ping', NLA.NUL_STRING, SM), K('primary nid', NLA.STRING), K('errno', NLA.S16), K('Multi-Rail', NLA.FLAG), K('peer_ni', NLA.NESTED, SM)],
  pingNi: [K('nid', NLA.STRING)],
  cptOfNid: [K('cpt-of-nid', NLA.NUL_STRING, SM), K('nid', NLA.STRING), K('cpt', NLA.U32)],
  peerDist: [K('peer', NLA.NUL_STRING, SM), K('nid', NLA.STRING), K('distance', NLA.U32), K('order', NLA.U32)],
  /** enum lnet_fault_rule_attr (lib-types.h), HDR = 1 */
  fault: [
    K('fault', NLA.NUL_STRING, SM), K('rule_type', NLA.STRING), K('fa_src', NLA.STRING), K('fa_dst', NLA.STRING), K('fa_ptl_mask', NLA.U64), K('fa_msg_mask', NLA.U32),
    K('da_rate', NLA.U32), K('da_interval', NLA.U32), K('ds_dropped', NLA.U64), K('la_rate', NLA.U32), K('la_interval', NLA.U32), K('la_latency', NLA.U32), K('ls_delayed', NLA.U64),
    K('fs_count', NLA.U64), K('fs_put', NLA.U64), K('fs_ack', NLA.U64), K('fs_get', NLA.U64), K('fs_reply', NLA.U64),
  ],
} satisfies Record<string, KeyList>;

/**
 * lnet_genl_parse_list(): the key table of `all[idx]`, depth first; a nested
 * key consumes the next list of `all`. Returns [attr, next idx].
 */
function keyTable(all: Array<KeyList | null>, idx: number): [Attr | undefined, number] {
  const list = all[idx];
  if (!list) return [undefined, 0];
  const keys: Attr[] = [];
  for (let count = 1; count <= list.length; count++) {
    const p = list[count - 1]!;
    const parts: Attr[] = [];
    if (count === 1) parts.push(nlaU16(LN_SCALAR.LIST_SIZE, list.length));
    parts.push(nlaU16(LN_SCALAR.INDEX, count));
    if (p.value !== undefined) parts.push(nlaStr(LN_SCALAR.VALUE, p.value));
    if (p.format) parts.push(nlaU16(LN_SCALAR.KEY_FORMAT, p.format));
    parts.push(nlaU16(LN_SCALAR.NLA_TYPE, p.type));
    if (p.type === NLA.NESTED) {
      const [sub, next] = keyTable(all, ++idx);
      if (sub) parts.push(sub);
      idx = next;
    }
    keys.push(nest(count, parts));
  }
  return [nest(LN_SCALAR.LIST, keys), idx];
}
export function keyTableAttrs(all: Array<KeyList | null>): Attr[] {
  const [t] = keyTable(all, 0);
  return t ? [t] : [];
}

// ------------------------------------------------------------------ message context
export interface NlContext {
  host: Host;
  caps: number;
  portid: number;
  nlflags: number;
}
interface Req {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  raw: Buffer;
  cmd: number;
  version: number;
  attrs: Buffer;
}

function errMsg(ctx: NlContext, req: Req, errno: number, extack?: string): Buffer {
  const capped = errno === 0 || (ctx.nlflags & NLFLAG.CAP_ACK) !== 0;
  const withTlv = extack !== undefined && (ctx.nlflags & NLFLAG.EXT_ACK) !== 0;
  const e = Buffer.alloc(4);
  e.writeInt32LE(-errno);
  const orig = capped ? Buffer.from(req.raw.subarray(0, 16)) : Buffer.from(req.raw);
  if (capped) orig.writeUInt32LE(req.raw.readUInt32LE(0), 0);
  const parts: Buffer[] = [e, orig];
  if (withTlv) parts.push(nlaStr(1, extack!));
  return nlmsg(NLMSG_ERROR, (capped ? NLM_F.CAPPED : 0) | (withTlv ? NLM_F.ACK_TLVS : 0), req.seq, ctx.portid, Buffer.concat(parts));
}

/** netlink_dump_done(): the errno, plus the extack message (even with errno 0) when NETLINK_EXT_ACK is on. */
function doneMsg(ctx: NlContext, req: Req, errno: number, extack?: string): Buffer {
  const withTlv = extack !== undefined && (ctx.nlflags & NLFLAG.EXT_ACK) !== 0;
  const e = Buffer.alloc(4);
  e.writeInt32LE(-errno);
  return nlmsg(NLMSG_DONE, NLM_F.MULTI | (withTlv ? NLM_F.ACK_TLVS : 0), req.seq, ctx.portid, withTlv ? Buffer.concat([e, nlaStr(1, extack!)]) : e);
}

/** Pack messages into datagrams of at most 64 KiB (the dump skb size). */
function pack(msgs: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let size = 0;
  for (const m of msgs) {
    if (size + m.length > 65536 && cur.length) {
      out.push(Buffer.concat(cur));
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += m.length;
  }
  if (cur.length) out.push(Buffer.concat(cur));
  return out;
}

// ------------------------------------------------------------------ families
interface Family {
  id: number;
  name: string;
  version: number;
  maxattr: number;
  ops: Array<{ cmd: number; flags: number }>;
  groups: string[];
  groupBase: number;
}
const CTRL_FAMILY: Family = {
  id: GENL_ID_CTRL,
  name: 'nlctrl',
  version: 2,
  maxattr: 10,
  ops: [
    { cmd: CTRL.CMD_GETFAMILY, flags: GENL_OP.CAP_DO | GENL_OP.CAP_DUMP | GENL_OP.CAP_HASPOL },
    { cmd: 10, flags: GENL_OP.CAP_DUMP | GENL_OP.CAP_HASPOL },
  ],
  groups: ['notify'],
  groupBase: 0x10,
};
const LNET_GROUPS = ['ip2net', 'net', 'peer', 'route', 'ping', 'discover', 'cpt-of-nid', 'dbg-recov', 'fault'];

function lnetFamily(): Family {
  const admin = GENL_OP.ADMIN_PERM | GENL_OP.CAP_HASPOL;
  const ops = [
    { cmd: LNET_CMD.CONFIGURE, flags: admin | GENL_OP.CAP_DO },
    { cmd: LNET_CMD.NETS, flags: admin | GENL_OP.CAP_DO | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.PEERS, flags: admin | GENL_OP.CAP_DO | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.ROUTES, flags: admin | GENL_OP.CAP_DO | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.PING, flags: admin | GENL_OP.CAP_DO | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.CPT_OF_NID, flags: GENL_OP.CAP_HASPOL | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.PEER_DIST, flags: GENL_OP.CAP_HASPOL | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.PEER_FAIL, flags: admin | GENL_OP.CAP_DO },
    { cmd: LNET_CMD.DBG_RECOV, flags: admin | GENL_OP.CAP_DUMP },
    { cmd: LNET_CMD.FAULT, flags: admin | GENL_OP.CAP_DO | GENL_OP.CAP_DUMP },
  ];
  return { id: LNET_FAMILY_ID, name: 'lnet', version: LNET_GENL_VERSION, maxattr: 7, ops, groups: LNET_GROUPS, groupBase: 0x20 };
}

function families(h: Host): Family[] {
  return h.familyExists() ? [CTRL_FAMILY, lnetFamily()] : [CTRL_FAMILY];
}

function familyInfo(f: Family): Attr[] {
  const attrs: Attr[] = [nlaStr(CTRL.A_FAMILY_NAME, f.name), nlaU16(CTRL.A_FAMILY_ID, f.id), nlaU32(CTRL.A_VERSION, f.version), nlaU32(CTRL.A_HDRSIZE, 0), nlaU32(CTRL.A_MAXATTR, f.maxattr)];
  if (f.ops.length) {
    attrs.push(
      nestNoFlag(
        CTRL.A_OPS,
        f.ops.map((o, i) => nestNoFlag(i + 1, [nlaU32(CTRL.A_OP_ID, o.cmd), nlaU32(CTRL.A_OP_FLAGS, o.flags)])),
      ),
    );
  }
  if (f.groups.length) {
    attrs.push(
      nestNoFlag(
        CTRL.A_MCAST_GROUPS,
        f.groups.map((g, i) => nestNoFlag(i + 1, [nlaU32(CTRL.A_MCAST_GRP_ID, f.groupBase + i), nlaStr(CTRL.A_MCAST_GRP_NAME, g)])),
      ),
    );
  }
  return attrs;
}

// ------------------------------------------------------------------ entry point
/**
 * Handle one sendmsg() on an emulated NETLINK_GENERIC socket; returns the
 * datagrams to deliver to the socket, in order.
 */
export async function netlinkSend(ctx: NlContext, data: Buffer): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let off = 0;
  while (off + 16 <= data.length) {
    const len = data.readUInt32LE(off);
    if (len < 16 || off + len > data.length) break;
    const raw = data.subarray(off, off + len);
    off += align4(len);
    const req: Req = {
      type: raw.readUInt16LE(4),
      flags: raw.readUInt16LE(6),
      seq: raw.readUInt32LE(8),
      pid: raw.readUInt32LE(12),
      raw,
      cmd: raw.length >= 20 ? raw[16]! : 0,
      version: raw.length >= 20 ? raw[17]! : 0,
      attrs: raw.subarray(Math.min(20, raw.length)),
    };
    if (!(req.flags & NLM_F.REQUEST) || req.type < 0x10) {
      if (req.flags & NLM_F.ACK) out.push(errMsg(ctx, req, 0));
      continue;
    }
    out.push(...(await handleOne(ctx, req)));
  }
  return out;
}

async function handleOne(ctx: NlContext, req: Req): Promise<Buffer[]> {
  const fam = families(ctx.host).find((f) => f.id === req.type);
  const fail = (errno: number, extack?: string) => [errMsg(ctx, req, errno, extack)];
  if (!fam) return fail(E.ENOENT);
  if (req.raw.length < 20) return fail(E.EINVAL);
  const op = fam.ops.find((o) => o.cmd === req.cmd);
  if (!op) return fail(E.EOPNOTSUPP);
  if (op.flags & GENL_OP.ADMIN_PERM && !(ctx.caps & CAP.NET_ADMIN)) return fail(E.EPERM);
  const dump = (req.flags & NLM_F.DUMP) === NLM_F.DUMP;
  if (dump && !(op.flags & GENL_OP.CAP_DUMP)) return fail(E.EOPNOTSUPP);
  if (!dump && !(op.flags & GENL_OP.CAP_DO)) return fail(E.EOPNOTSUPP);
  try {
    if (fam.id !== GENL_ID_CTRL) {
      // netlink:CMD matches every request of a command; netlink:CMD:dump|create|delete one kind of it
      // (a dump, a do with NLM_F_CREATE as LNet's add requests, a do without it as its deletions).
      const name = `netlink:${cmdName(req.cmd)}`;
      ctx.host.world.fault(ctx.host, 'netlink', name, `${name}:${dump ? 'dump' : req.flags & NLM_F.CREATE ? 'create' : 'delete'}`);
    }
    if (fam.id === GENL_ID_CTRL) return ctrl(ctx, req, dump);
    if (dump) {
      // ->start() errors come back as NLMSG_ERROR; ->dumpit() output ends with NLMSG_DONE.
      const msgs = await lnetDump(ctx, req);
      return pack(msgs);
    }
    const replies = await lnetDoit(ctx, req);
    return [...replies, ...(req.flags & NLM_F.ACK ? [errMsg(ctx, req, 0)] : [])];
  } catch (e) {
    if (e instanceof KErr) return fail(e.errno, e.extack === 'injected fault' ? undefined : e.extack);
    throw e;
  }
}

function cmdName(cmd: number): string {
  return Object.entries(LNET_CMD).find(([, v]) => v === cmd)?.[0] ?? String(cmd);
}

function ctrl(ctx: NlContext, req: Req, dump: boolean): Buffer[] {
  const fams = families(ctx.host);
  if (dump) {
    const msgs = fams.map((f) => nlmsg(GENL_ID_CTRL, NLM_F.MULTI, req.seq, ctx.portid, genl(CTRL.CMD_NEWFAMILY, CTRL_FAMILY.version, familyInfo(f))));
    return pack([...msgs, doneMsg(ctx, req, 0)]);
  }
  const attrs = parseAttrs(req.attrs);
  const byName = attrs.find((a) => a.type === CTRL.A_FAMILY_NAME);
  const byId = attrs.find((a) => a.type === CTRL.A_FAMILY_ID);
  let f: Family | undefined;
  if (byName) f = fams.find((x) => x.name === attrStr(byName));
  else if (byId) f = fams.find((x) => x.id === byId.data.readUInt16LE(0));
  else kerr(E.EINVAL);
  if (!f) kerr(E.ENOENT);
  const reply = nlmsg(GENL_ID_CTRL, 0, req.seq, ctx.portid, genl(CTRL.CMD_NEWFAMILY, CTRL_FAMILY.version, familyInfo(f!)));
  return [reply, ...(req.flags & NLM_F.ACK ? [errMsg(ctx, req, 0)] : [])];
}

// ------------------------------------------------------------------ LNet dumps
function lmsg(ctx: NlContext, req: Req, flags: number, cmd: number, attrs: Attr[]): Buffer {
  return nlmsg(LNET_FAMILY_ID, flags, req.seq, ctx.portid, genl(cmd, LNET_GENL_VERSION, attrs));
}

async function lnetDump(ctx: NlContext, req: Req): Promise<Buffer[]> {
  const h = ctx.host;
  const ver = req.version;
  const filtered = (req.flags & NLM_F.DUMP_FILTERED) !== 0;
  const top = parseAttrs(req.attrs);
  switch (req.cmd) {
    case LNET_CMD.NETS: {
      if (!h.running()) kerr(E.ENETDOWN, 'LNet stack down');
      let netFilter = NET_ANY;
      if (top.length) {
        if (top[0]!.type !== LN_SCALAR.LIST) kerr(E.EINVAL, 'invalid configuration');
        for (const item of yTree(top)) {
          if (!Array.isArray(item)) continue;
          for (const entry of item) {
            if (!Array.isArray(entry)) continue;
            for (const [k, v] of yPairs(entry)) {
              if (k !== 'net type') continue;
              if (typeof v !== 'string') kerr(E.EINVAL, 'invalid config param');
              const n = str2net(v as string);
              if (n === undefined) kerr(E.ENOENT, 'cannot parse net');
              netFilter = n!;
            }
          }
        }
      }
      return netsDump(ctx, req, ver, filtered, netFilter);
    }
    case LNET_CMD.ROUTES: {
      if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
      return routesDump(ctx, req, ver, filtered);
    }
    case LNET_CMD.PEERS: {
      if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
      return peersDump(ctx, req, ver, top);
    }
    case LNET_CMD.PING:
      return pingDump(ctx, req, top);
    case LNET_CMD.CPT_OF_NID: {
      if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
      if (!top.length) kerr(E.ENOENT, 'Missing NID argument(s)');
      const nids: bigint[] = [];
      for (const a of top) {
        if (a.type !== LN_SCALAR.LIST) continue;
        for (const n of parseAttrs(a.data)) {
          if (n.type !== LN_SCALAR.VALUE) continue;
          const nid = str2nid(attrStr(n));
          if (nid === undefined) kerr(E.EINVAL, 'invalid NID');
          nids.push(nid!);
        }
      }
      const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.CPT_OF_NID, keyTableAttrs([KEYS.cptOfNid, null, null]))];
      nids.forEach((nid, i) => {
        const attrs = [...(i === 0 ? [nlaStr(1, '')] : []), nlaStr(2, nid2str(nid)), nlaU32(3, Number(nid % BigInt(ctx.host.ncpts)))];
        msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.CPT_OF_NID, attrs));
      });
      return [...msgs, doneMsg(ctx, req, 0)];
    }
    case LNET_CMD.PEER_DIST: {
      // lctl which_nid: NIDs in LISTs; unreachable ones are skipped
      if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
      if (!req.attrs.length) kerr(E.ENOENT, 'Missing NID argument(s)');
      const nids: bigint[] = [];
      for (const a of top) {
        if (a.type !== LN_SCALAR.LIST) continue;
        for (const n of parseAttrs(a.data)) {
          if (n.type !== LN_SCALAR.VALUE) continue;
          const nid = str2nid(attrStr(n).replace(/^\d+-/, ''));
          if (nid === undefined) kerr(E.EINVAL, 'invalid NID');
          nids.push(nid!);
        }
      }
      const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.PEER_DIST, keyTableAttrs([KEYS.peerDist, null]))];
      nids.forEach((nid, i) => {
        if (nid === NID_LO_0) return;
        const d = h.dist(nid);
        if (!d) return; // -EHOSTUNREACH: skipped
        msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.PEER_DIST, [...(i === 0 ? [nlaStr(1, '')] : []), nlaStr(2, nid2str(nid)), nlaU32(3, d.dist), nlaU32(4, d.order)]));
      });
      return [...msgs, doneMsg(ctx, req, 0)];
    }
    case LNET_CMD.DBG_RECOV: {
      // lnetctl debug recovery --local|--peer: "queue_type" INT 0 (local NIs) or 1 (peer NIs)
      if (!req.attrs.length) kerr(E.ENOMSG, 'No configuration');
      if (top[0]!.type !== LN_SCALAR.LIST && top[0]!.type !== LN_SCALAR.VALUE) kerr(E.EINVAL, 'invalid configuration');
      if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
      const qt = findKey(yPairs(yTree(top)), 'queue_type');
      if (typeof qt !== 'bigint') kerr(E.EINVAL, 'invalid queue type');
      const type = Number(qt);
      if (type !== HEALTH_TYPE.LOCAL_NI && type !== HEALTH_TYPE.PEER_NI) kerr(E.EINVAL, 'invalid queue type');
      const nids = recoveryQueue(h, type);
      if (!nids.length) kerr(E.ENOENT);
      const hdr = type === HEALTH_TYPE.LOCAL_NI ? 'Local NI recovery' : 'Peer NI recovery';
      const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.DBG_RECOV, keyTableAttrs([[{ value: hdr, type: NLA.NUL_STRING, format: SM }, { value: 'nid', type: NLA.STRING }]]))];
      nids.forEach((nid, i) => msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.DBG_RECOV, [...(i === 0 ? [nlaStr(1, '')] : []), nlaStr(2, nid2str(nid))])));
      return [...msgs, doneMsg(ctx, req, 0)];
    }
    case LNET_CMD.FAULT: {
      if (!req.attrs.length) kerr(E.ENOMSG, 'no configuration');
      const { kind, rules } = faultList(h, yTree(top));
      const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.FAULT, keyTableAttrs([KEYS.fault]))];
      for (const { attr: a, stat: s } of rules) {
        const v: Attr[] = [nlaStr(1, ''), nlaStr(2, kind), nlaStr(3, nid2str(a.src)), nlaStr(4, nid2str(a.dst)), nlaU64(5, a.ptlMask), nlaU32(6, a.msgMask)];
        if (kind === 'drop') v.push(nlaU32(7, a.rate), nlaU32(8, a.interval), nlaU64(9, s.hits));
        else v.push(nlaU32(10, a.rate), nlaU32(11, a.interval), nlaU32(12, a.latency), nlaU64(13, s.hits));
        v.push(nlaU64(14, s.count), nlaU64(15, s.put), nlaU64(16, s.ack), nlaU64(17, s.get), nlaU64(18, s.reply));
        msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.FAULT, v));
      }
      return [...msgs, doneMsg(ctx, req, 0)];
    }
  }
  return kerr(E.EOPNOTSUPP);
}

function lndKeys(type: number): KeyList | null {
  return type === LND.SOCKLND ? KEYS.socklnd : type === LND.O2IBLND ? KEYS.o2iblnd : null;
}

function netsDump(ctx: NlContext, req: Req, ver: number, filtered: boolean, netFilter: number): Buffer[] {
  const h = ctx.host;
  const msgs: Buffer[] = [];
  let idx = 0;
  let lndType: number | undefined;
  let found = false;
  for (const net of h.ln.nets) {
    if (netFilter !== NET_ANY && netFilter !== net.id) continue;
    const type = netType(net.id);
    if (filtered && type === LND.LOLND) continue;
    let sendLndKeys = false;
    if (ver && type !== LND.LOLND && lndType !== type) {
      sendLndKeys = true;
      lndType = type;
    }
    let started = false;
    if (!idx || sendLndKeys) {
      const lk = lndType !== undefined ? lndKeys(lndType) : null;
      const all: Array<KeyList | null> = [
        idx && lndType !== undefined ? KEYS.netUpdateProps : KEYS.netProps,
        KEYS.localNi,
        KEYS.interfaces,
        KEYS.niStats,
        KEYS.udspInfo,
        KEYS.udspPrefNids,
        KEYS.udspPrefNids,
        KEYS.msgStats,
        KEYS.msgStats,
        KEYS.msgStats,
        KEYS.niHealth,
        KEYS.tunables,
        lk,
        null,
      ];
      const flags = NLM_F.CREATE | NLM_F.MULTI | (idx && lndType !== undefined ? NLM_F.REPLACE : 0);
      msgs.push(lmsg(ctx, req, flags, LNET_CMD.NETS, keyTableAttrs(all)));
      started = true;
    }
    const attrs: Attr[] = [];
    if (started) attrs.push(nlaStr(1, ''));
    attrs.push(nlaStr(2, net2str(net.id)));
    const nis: Attr[] = [];
    net.nis.forEach((ni, dev) => {
      idx++;
      found = true;
      nis.push(nest(dev, niAttrs(h, ni, ver, filtered, lndType, idx - 1)));
    });
    attrs.push(nest(3, nis));
    msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.NETS, attrs));
  }
  if (!filtered && !found) {
    // nlmsg_cancel() of the last message, then the error travels in NLMSG_DONE.
    if (msgs.length) msgs.pop();
    return [...msgs, doneMsg(ctx, req, E.ESRCH, 'Network is down')];
  }
  return [...msgs, doneMsg(ctx, req, 0)];
}

function niAttrs(h: Host, ni: Ni, ver: number, filtered: boolean, lndType: number | undefined, _i: number): Attr[] {
  const a: Attr[] = [];
  const isLo = netType(nidNet(ni.nid)) === LND.LOLND;
  if (!filtered) {
    a.push(nlaStr(1, nid2str(ni.nid)));
    a.push(nlaStr(2, isLo || ni.status === 0x15aac0de ? 'up' : 'down'));
  }
  if (!isLo && ni.iface) a.push(nest(3, [nest(0, [nlaStr(1, ni.iface)])]));
  if (!ver) return a;
  const net = h.localNet(nidNet(ni.nid))!;
  if (!filtered) {
    a.push(nest(4, [nest(0, [nlaU32(1, ni.send), nlaU32(2, ni.recv), nlaU32(3, ni.drop)])]));
    if (ver >= 4) {
      const p = priorities(h, ni.nid, true);
      a.push(nest(5, [nest(0, [nlaS32(1, p.net | 0), nlaS32(2, p.ni | 0)])]));
    }
    if (ver >= 2) {
      for (const [attr, c] of [
        [6, ni.sent],
        [7, ni.received],
        [8, ni.dropped],
      ] as const) {
        a.push(nest(attr, [nest(0, [nlaU32(2, c.get), nlaU32(1, c.put), nlaU32(3, c.reply), nlaU32(4, c.ack), nlaU32(5, c.hello)])]));
      }
      a.push(nest(9, [nest(0, [nlaS32(1, 0), nlaS32(2, ni.health), nlaU32(3, 0), nlaU32(4, 0), nlaU32(5, 0), nlaU32(6, 0), nlaU32(7, 0), nlaU32(8, 0), nlaU32(9, 0), nlaU64(10, 0n)])]));
    }
  }
  a.push(nest(10, [nest(0, [nlaS32(1, net.tun.peerTimeout), nlaS32(2, net.tun.peerTxCredits), nlaS32(3, net.tun.peerRtrCredits), nlaS32(4, net.tun.maxTxCredits)])]));
  if (lndType !== undefined && !isLo) {
    const type = netType(nidNet(ni.nid));
    const l = { ...(LND_DEFAULTS[type] ?? {}), ...ni.lnd };
    const v: Attr[] =
      type === LND.SOCKLND
        ? [nlaU16(1, l['conns_per_peer']!), nlaU32(2, l['timeout']!), nlaS16(3, l['tos']!)]
        : KEYS.o2iblnd.map((k, i) => (k.type === NLA.U16 ? nlaU16(i + 1, l[k.value!]!) : k.type === NLA.S16 ? nlaS16(i + 1, l[k.value!]!) : nlaU32(i + 1, l[k.value!]!)));
    a.push(nest(11, [nest(0, v)]));
  }
  if (!filtered) a.push(nlaS32(12, ni.devCpt));
  const cpts = ni.cpts ?? Array.from({ length: h.ncpts }, (_, i) => i);
  a.push(nlaStr(13, cpts.length ? `"[${cpts.join(',')}]"` : '"]"'));
  return a;
}

function routesDump(ctx: NlContext, req: Req, ver: number, filtered: boolean): Buffer[] {
  const h = ctx.host;
  const routes = h.ln.routes;
  // An empty result is an error only when the request carried a filter.
  if (!routes.length) return [doneMsg(ctx, req, req.attrs.length ? E.ENOENT : 0, 'No routes found')];
  const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.ROUTES, keyTableAttrs([KEYS.route, null]))];
  routes.forEach((r, i) => {
    const a: Attr[] = [];
    if (i === 0) a.push(nlaStr(1, ''));
    a.push(nlaStr(2, net2str(r.net)), nlaStr(3, nid2str(r.gw)));
    // hop and priority only with version >= 1; state and type also, unless NLM_F_DUMP_FILTERED
    // (health_sensitivity is in the key table but not emitted: reference 2.4).
    if (ver) {
      a.push(nlaS32(4, r.hops), nlaU32(5, r.priority));
      if (!filtered) a.push(nlaStr(7, h.routeAlive(r) ? 'up' : 'down'), nlaStr(8, r.hops > 1 ? 'multi-hop' : 'single-hop'));
    }
    msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.ROUTES, a));
  });
  return [...msgs, doneMsg(ctx, req, 0)];
}

function peersDump(ctx: NlContext, req: Req, ver: number, top: ReturnType<typeof parseAttrs>): Buffer[] {
  const h = ctx.host;
  let peers = h.ln.peers;
  const want: bigint[] = [];
  for (const item of yTree(top)) {
    if (!Array.isArray(item)) continue;
    for (const e of item) {
      if (!Array.isArray(e)) continue;
      for (const [k, v] of yPairs(e)) if (k === 'primary nid' && typeof v === 'string') want.push(str2nid(v) ?? NID_ANY);
    }
  }
  if (want.length) peers = peers.filter((p) => want.some((n) => p.nis.includes(n)));
  if (!peers.length) return [doneMsg(ctx, req, req.attrs.length ? E.ENOENT : 0, 'No peers found')];
  const all: Array<KeyList | null> = [KEYS.peer, KEYS.peerNi, KEYS.udspInfo, KEYS.udspPrefNids, KEYS.udspPrefNids, KEYS.niStats, KEYS.msgStats, KEYS.msgStats, KEYS.msgStats, KEYS.peerHealth, null];
  const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.PEERS, keyTableAttrs(all))];
  const filtered = (req.flags & NLM_F.DUMP_FILTERED) !== 0;
  peers.forEach((p, i) => {
    const a: Attr[] = [];
    if (i === 0) a.push(nlaStr(1, ''));
    a.push(nlaStr(2, nid2str(p.primary)));
    if (p.mr) a.push(nlaFlag(3));
    if (ver >= 3) a.push(nlaU32(4, p.state));
    const isRouter = h.ln.routes.some((r) => p.nis.includes(r.gw));
    const nis = p.nis.map((nid, count) => {
      const n: Attr[] = [nlaStr(1, nid2str(nid))];
      if (ver >= 4) {
        const pr = priorities(h, nid, false);
        n.push(nest(2, [nest(0, [nlaS32(1, pr.net | 0), nlaS32(2, pr.ni | 0)])]));
      }
      if (!filtered) {
        const o = h.world.owner(nid);
        n.push(nlaStr(3, isRouter ? (o && !o.unreachable ? 'up' : 'down') : 'NA'));
      }
      if (ver) {
        const credits = h.localNet(nidNet(nid))?.tun.peerTxCredits ?? 0;
        n.push(nlaU32(4, credits), nlaU32(5, credits), nlaU32(6, credits), nlaU32(7, 0), nlaU32(8, 0), nlaU32(9, 0), nlaU32(10, 2));
        n.push(nest(11, [nest(0, [nlaU32(1, 0), nlaU32(2, 0), nlaU32(3, 0)])]));
        if (ver >= 2) {
          for (const attr of [12, 13, 14]) n.push(nest(attr, [nest(0, [nlaU32(1, 0), nlaU32(2, 0), nlaU32(3, 0), nlaU32(4, 0), nlaU32(5, 0)])]));
          n.push(nest(15, [nest(0, [nlaS32(1, peerNiHealth(p, nid)), nlaU32(2, 0), nlaU32(3, 0), nlaU32(4, 0), nlaU32(5, 0), nlaU32(6, 0), nlaS64(7, 0n)])]));
        }
      }
      return nest(count + 1, n); // peer NI nests are numbered from 1
    });
    a.push(nest(5, nis));
    msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.PEERS, a));
  });
  return [...msgs, doneMsg(ctx, req, 0)];
}

interface PingOutcome {
  s: string;
  nid?: bigint;
  ok?: { primary: bigint; mr: boolean; nids: bigint[] };
  errno?: number;
}

/** NID strings of a ping/discover request: every VALUE inside top-level LISTs ("nids" is just a label). */
function pingTargets(top: PAttr[]): { nids: string[]; timeoutMs: number } {
  let timeoutMs = 180_000;
  const nids: string[] = [];
  for (let i = 0; i < top.length; i++) {
    const a = top[i]!;
    if (a.type === LN_SCALAR.VALUE && attrStr(a) === 'timeout') {
      const next = top[++i];
      if (next?.type !== LN_SCALAR.INT_VALUE) kerr(E.EINVAL, 'invalid timeout param');
      const t = Number(attrInt(next!));
      if (t > 0 && t < 180_000) timeoutMs = t; // milliseconds; otherwise the 3 minute default
    } else if (a.type === LN_SCALAR.VALUE && attrStr(a) === 'source') {
      const next = top[++i];
      if (next?.type !== LN_SCALAR.VALUE) kerr(E.EINVAL, 'invalid source param');
      if (str2nid(attrStr(next!)) === undefined) kerr(E.EINVAL, 'invalid source nid');
    } else if (a.type === LN_SCALAR.LIST) {
      for (const n of parseAttrs(a.data)) if (n.type === LN_SCALAR.VALUE) nids.push(attrStr(n).trim());
    }
  }
  return { nids, timeoutMs };
}

async function pingAll(h: Host, targets: string[], timeoutMs: number, discover: boolean): Promise<PingOutcome[]> {
  const out: PingOutcome[] = [];
  let waited = false;
  for (const s of targets) {
    const nid = str2nid(s.replace(/^\d+-/, ''));
    if (nid === undefined) {
      out.push({ s, errno: E.EINVAL });
      continue;
    }
    const r = pingWithFaults(h, nid, discover);
    const wait = discover ? Math.min(timeoutMs, 3000) : timeoutMs;
    if (r.delayMs && r.delayMs < wait && !('errno' in r)) await new Promise((res) => setTimeout(res, r.delayMs));
    if ('errno' in r || r.delayMs >= wait) {
      const errno = 'errno' in r ? r.errno : E.ETIMEDOUT;
      if (errno === E.ETIMEDOUT && !waited) {
        await new Promise((res) => setTimeout(res, discover ? Math.min(timeoutMs, 3000) : timeoutMs));
        waited = true;
      }
      out.push({ s, nid, errno });
      continue;
    }
    // primary NID and Multi-Rail as the local peer table sees the target after the ping
    const peer = h.findPeer(nid);
    out.push({ s, nid, ok: { primary: peer?.primary ?? NID_ANY, mr: peer?.mr ?? false, nids: r.nids } });
  }
  return out;
}

/** Value message of one successful ping/discover; peer_ni nests numbered by position in the id list (lo skipped). */
function pingValues(o: PingOutcome, first: boolean): Attr[] {
  const a: Attr[] = [];
  if (first) a.push(nlaStr(1, ''));
  a.push(nlaStr(2, nid2str(o.ok!.primary)));
  if (o.ok!.mr) a.push(nlaFlag(4));
  const nis: Attr[] = [];
  o.ok!.nids.forEach((n, i) => {
    if (n === NID_LO_0) return;
    nis.push(nest(i + 1, [nlaStr(1, nid2str(n))]));
  });
  a.push(nest(5, nis));
  return a;
}

const ERR_KEYS = (type: string): KeyList => [K('manage', NLA.NUL_STRING, SM), K(type, NLA.STRING), K('errno', NLA.S16), K('descr', NLA.STRING)];

function failureMsgs(ctx: NlContext, req: Req, fails: PingOutcome[], type: 'ping' | 'discover'): Buffer[] {
  if (!fails.length) return [];
  const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.REPLACE | NLM_F.MULTI, LNET_CMD.PING, keyTableAttrs([ERR_KEYS(type), null]))];
  fails.forEach((f, i) => {
    const descr = f.nid === undefined ? `cannot parse NID '${f.s}'` : `failed to ${type} ${nid2str(f.nid)}`;
    msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.PING, [...(i === 0 ? [nlaStr(1, '')] : []), nlaStr(2, '\n'), nlaS16(3, -(f.errno ?? E.EIO)), nlaStr(4, descr)]));
  });
  return msgs;
}

/** lnet_ping_show_start/dump: "timeout" (ms), "source", NIDs in LISTs. */
async function pingDump(ctx: NlContext, req: Req, top: PAttr[]): Promise<Buffer[]> {
  const h = ctx.host;
  if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
  if (!req.attrs.length) kerr(E.ENOENT, 'Ping needs NID targets');
  const { nids, timeoutMs } = pingTargets(top);
  for (const s of nids) if (str2nid(s.replace(/^\d+-/, '')) === undefined) kerr(E.EINVAL, 'cannot parse NID');
  h.world.fault(h, 'ping');
  const results = await pingAll(h, nids, timeoutMs, false);
  const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.PING, keyTableAttrs([KEYS.ping, KEYS.pingNi, null]))];
  let i = 0;
  for (const r of results) if (r.ok) msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.PING, pingValues(r, i++ === 0)));
  msgs.push(...failureMsgs(ctx, req, results.filter((r) => !r.ok), 'ping'));
  return [...msgs, doneMsg(ctx, req, 0)];
}

/** lnet_ping_cmd (discover): one reply datagram ending with a payload-less NLMSG_DONE, then the ack. */
async function discoverCmd(ctx: NlContext, req: Req, top: PAttr[]): Promise<Buffer[]> {
  const h = ctx.host;
  if (!req.attrs.length) kerr(E.ENOMSG, 'no configuration');
  if (!(req.flags & NLM_F.CREATE)) kerr(E.EINVAL, 'only NLM_F_CREATE setting is allowed');
  if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
  h.world.fault(h, 'ping');
  const { nids } = pingTargets(top);
  const results = await pingAll(h, nids, 3000, true);
  const discoverKeys: KeyList = [K('discover', NLA.NUL_STRING, SM), ...KEYS.ping.slice(1)];
  const msgs = [lmsg(ctx, req, NLM_F.CREATE | NLM_F.MULTI, LNET_CMD.PING, keyTableAttrs([discoverKeys, KEYS.pingNi, null]))];
  let first = true;
  for (const r of results) {
    if (!r.ok) continue;
    msgs.push(lmsg(ctx, req, NLM_F.MULTI, LNET_CMD.PING, pingValues(r, first)));
    first = false;
  }
  msgs.push(...failureMsgs(ctx, req, results.filter((r) => !r.ok), 'discover'));
  msgs.push(nlmsg(NLMSG_DONE, NLM_F.MULTI, req.seq, ctx.portid, Buffer.alloc(0)));
  return [Buffer.concat(msgs)];
}

// ------------------------------------------------------------------ LNet doit
async function lnetDoit(ctx: NlContext, req: Req): Promise<Buffer[]> {
  const h = ctx.host;
  const top = parseAttrs(req.attrs);
  switch (req.cmd) {
    case LNET_CMD.CONFIGURE:
      if (req.flags & NLM_F.CREATE) {
        try {
          h.configure(req.flags & NLM_F.EXCL ? true : undefined);
        } catch (e) {
          if (e instanceof KErr) {
            const m = e.errno === E.ENETDOWN ? 'Network is down' : e.errno === E.ENODEV ? 'LNET is currently not loaded' : e.errno === E.EBUSY ? 'LNET busy' : undefined;
            throw new KErr(e.errno, m);
          }
          throw e;
        }
      } else {
        try {
          h.unconfigure();
        } catch (e) {
          if (e instanceof KErr) throw new KErr(e.errno); // unconfigure sets no extack
          throw e;
        }
      }
      return [];
    case LNET_CMD.NETS:
      netCmd(h, req, top);
      return [];
    case LNET_CMD.ROUTES:
      routeCmd(h, req, top);
      return [];
    case LNET_CMD.PEERS:
      peerCmd(h, req, top);
      return [];
    case LNET_CMD.PING:
      return discoverCmd(ctx, req, top);
    case LNET_CMD.PEER_FAIL: {
      if (!req.attrs.length) kerr(E.ENOMSG, 'no configuration');
      if (top[0]!.type !== LN_SCALAR.LIST) kerr(E.EINVAL, 'invalid configuration');
      for (const e of entries(top)) {
        const n = e.find(([k]) => k === 'nid')?.[1];
        if (n === undefined) kerr(E.EINVAL, 'peer NID missing');
        if (typeof n !== 'string') kerr(E.EINVAL, 'Invalid type for attribute');
        if (str2nid(n as string) === undefined) kerr(E.EINVAL, 'invalid peer NID');
      }
      return [];
    }
    case LNET_CMD.FAULT:
      if (!req.attrs.length) kerr(E.ENOMSG, 'no configuration');
      faultDoit(h, yTree(top));
      return [];
  }
  return kerr(E.EOPNOTSUPP);
}

function needConfig(h: Host, top: PAttr[]): void {
  if (!h.running()) kerr(E.ENETDOWN, 'Network is down');
  if (!top.length) kerr(E.ENOMSG, 'no configuration');
  if (top[0]!.type !== LN_SCALAR.LIST) kerr(E.EINVAL, 'invalid configuration');
}

function entries(top: PAttr[]): Array<Array<[string, YNode]>> {
  const out: Array<Array<[string, YNode]>> = [];
  for (const item of yTree(top)) {
    if (!Array.isArray(item)) continue;
    for (const e of item) if (Array.isArray(e)) out.push(yPairs(e));
  }
  return out;
}

/** lnet_net_cmd(): no running-state or self-configured check of its own (lnet_dyn_add/del_ni have ESHUTDOWN). */
function netCmd(h: Host, req: Req, top: PAttr[]): void {
  if (!req.attrs.length) kerr(E.ENOMSG, 'no configuration');
  if (top[0]!.type !== LN_SCALAR.LIST) kerr(E.EINVAL, 'invalid configuration');
  const create = (req.flags & NLM_F.CREATE) !== 0;
  const replace = (req.flags & NLM_F.REPLACE) !== 0;
  for (const e of entries(top)) {
    let net = NET_ANY;
    const nt = e.find(([k]) => k === 'net type')?.[1];
    if (nt !== undefined) {
      if (typeof nt !== 'string') kerr(E.EINVAL, 'net type has invalid key');
      const n = str2net(nt as string);
      if (n === undefined) kerr(E.ENODEV, 'cannot parse net');
      if (netType(n!) === LND.LOLND) kerr(E.ENODEV, 'setting @lo not allowed');
      net = n!;
    }
    const locals = e.find(([k]) => k === 'local NI(s)')?.[1];
    const niSpecs: Array<Array<[string, YNode]>> = [];
    if (Array.isArray(locals)) for (const l of locals) if (Array.isArray(l)) niSpecs.push(yPairs(l));
    let niList = false;
    for (const spec of niSpecs) {
      // lnet_genl_parse_local_ni()
      if (net !== NET_ANY && !lndModule(netType(net))) kerr(E.ENOENT, 'LND type not supported');
      let intf = '';
      let nid: bigint | undefined;
      let cpts: number[] | undefined;
      const tun: Record<string, number> = {};
      const lnd: Record<string, number> = {};
      let health: number | undefined;
      for (const [k, v] of spec) {
        if (k === 'health stats' && Array.isArray(v)) {
          const hv = yPairs(v as YNode[]).find(([x]) => x === 'health value')?.[1];
          if (typeof hv !== 'bigint') kerr(E.EINVAL, 'invalid health value');
          health = Number(hv);
        } else if (k === 'interfaces') {
          if (!Array.isArray(v)) kerr(E.EINVAL, 'invalid interfaces');
          const vals = (v as YNode[]).filter((x) => typeof x === 'string') as string[];
          intf = vals[vals.length - 1] ?? '';
          niList = true;
        } else if (k === 'nid' && net !== NET_ANY) {
          if (typeof v !== 'string') kerr(E.EINVAL, 'cannot parse NID');
          nid = str2nid(v as string);
          if (nid === undefined) kerr(E.EINVAL, 'unsupported NID');
          if (!replace && nid === NID_ANY) kerr(E.EINVAL, 'any NID not supported');
          niList = true;
        } else if (k === 'tunables') {
          if (!Array.isArray(v)) kerr(E.EINVAL, 'invalid tunables');
          for (const [tk, tv] of yPairs(v as YNode[])) {
            if (typeof tv !== 'bigint') kerr(E.EINVAL, 'failed to parse tunables');
            tun[tk] = Number(tv);
          }
        } else if (k === 'lnd tunables') {
          if (!Array.isArray(v)) kerr(E.EINVAL, 'lnd tunables should be list\n');
          for (const [tk, tv] of yPairs(v as YNode[])) if (typeof tv === 'bigint') lnd[tk] = Number(tv);
        } else if (k === 'CPT') {
          if (!Array.isArray(v)) kerr(E.EINVAL, 'CPT should be list');
          cpts = [];
          for (const c of v as YNode[]) {
            if (typeof c !== 'bigint') kerr(E.EINVAL, 'invalid CPT config');
            if (Number(c) >= h.ncpts) kerr(E.ERANGE, 'invalid CPT value');
            cpts.push(Number(c));
          }
        }
      }
      if (create) {
        if (nid === undefined && !intf) return; // "interface / NID is missing", with rc still 0 (kernel quirk)
        if (!intf) {
          const addr = Number(nid! & 0xffffffffn);
          intf = h.ifaces.find((i) => i.ip.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0) === addr)?.name ?? '';
        }
        const t = {
          ...(tun['peer_timeout'] !== undefined && tun['peer_timeout'] >= 0 ? { peerTimeout: tun['peer_timeout'] } : {}),
          ...(tun['peer_credits'] !== undefined && tun['peer_credits'] > 0 ? { peerTxCredits: tun['peer_credits'] } : {}),
          ...(tun['peer_buffer_credits'] !== undefined && tun['peer_buffer_credits'] > 0 ? { peerRtrCredits: tun['peer_buffer_credits'] } : {}),
          ...(tun['credits'] !== undefined && tun['credits'] > 0 ? { maxTxCredits: tun['credits'] } : {}),
        };
        try {
          if (!h.running()) kerr(E.ESHUTDOWN);
          h.startNi(net, intf, cpts, t, lnd);
        } catch (err) {
          if (!(err instanceof KErr)) throw err;
          throw new KErr(err.errno, err.errno === E.ENOENT ? 'cannot parse net' : err.errno === E.ERANGE ? 'invalid CPT set' : 'cannot add LNet NI');
        }
      } else if (replace) {
        // lnetctl net set --health: one NI by NID, or every NI (NID_ANY / no NID)
        if (health !== undefined) {
          const one = nid !== undefined && nid !== NID_ANY ? nid : intf ? h.localNet(net)?.nis.find((n) => n.iface === intf)?.nid : undefined;
          setHealth(h, HEALTH_TYPE.LOCAL_NI, one === undefined, one ?? NID_ANY, health);
        }
      } else {
        // delete one NI, by NID or by interface
        if (!intf && nid === undefined) kerr(E.ENODEV, 'interface / NID is missing');
        try {
          if (!h.running()) kerr(E.ESHUTDOWN);
          if (nid !== undefined) h.delNi(nid);
          else {
            const ni = h.localNet(net)?.nis.find((n) => n.iface === intf);
            if (!ni) kerr(E.ENODEV);
            h.delNi(ni!.nid);
          }
        } catch (err) {
          if (err instanceof KErr) throw new KErr(err.errno, 'cannot del LNet NI');
          throw err;
        }
      }
    }
    if (!create && !replace && !niList) {
      // lnet_dyn_del_net()
      if (!h.running()) kerr(E.ESHUTDOWN, 'cannot del network');
      if (!h.localNet(net) || netType(net) === LND.LOLND) kerr(E.EINVAL, 'cannot del network');
      h.delNi(BigInt(net) << 32n);
    }
  }
}

function routeCmd(h: Host, req: Req, top: PAttr[]): void {
  needConfig(h, top);
  for (const e of entries(top)) {
    let net = NET_ANY;
    let gw = NID_ANY;
    let hops = -1;
    let prio = 0;
    let sens = 1;
    for (const [k, v] of e) {
      if (k === 'net') {
        if (typeof v !== 'string') kerr(E.EINVAL, 'net is invalid key');
        const n = str2net(v as string);
        if (n === undefined) kerr(E.ENODEV, 'cannot parse remote net');
        if (netType(n!) === LND.LOLND) kerr(E.EACCES, 'setting @lo not allowed');
        net = n!;
      } else if (k === 'gateway') {
        if (typeof v !== 'string') kerr(E.EINVAL, 'gateway is invalid key');
        const g = str2nid(v as string);
        if (g === undefined) kerr(E.ENODEV, 'cannot parse gateway');
        gw = g!;
      } else if (k === 'hop') {
        if (typeof v !== 'bigint') kerr(E.EINVAL, 'hop has invalid key');
        hops = Number(v);
        if ((hops < 1 || hops > 255) && hops !== -1) kerr(E.EINVAL, 'invalid hop count must be between 1 and 255');
      } else if (k === 'priority') {
        if (typeof v !== 'bigint') kerr(E.EINVAL, 'priority has invalid key');
        if ((v as bigint) < 0n) kerr(E.EINVAL, 'invalid priority, must not be negative');
        prio = Number(v);
      } else if (k === 'health_sensitivity') {
        if (typeof v !== 'bigint') kerr(E.EINVAL, 'sensitivity has invalid key');
        if ((v as bigint) < 1n) kerr(E.EINVAL, 'invalid health sensitivity, must be 1 or greater');
        sens = Number(v);
      }
    }
    if (net === NET_ANY) kerr(E.ENODEV, 'missing mandatory parameter: network');
    if (gw === NID_ANY) kerr(E.ENODEV, 'missing mandatory parameter: gateway');
    if (req.flags & NLM_F.REPLACE) continue;
    if (req.flags & NLM_F.CREATE) {
      try {
        h.addRoute(net, gw, hops === -1 ? 0xffffffff : hops, prio, sens);
      } catch (err) {
        if (!(err instanceof KErr)) throw err;
        const m: Record<number, string> = {
          [E.EINVAL]: 'invalid settings for route creation',
          [E.EHOSTUNREACH]: 'No interface configured on the same net as gateway',
          [E.ESHUTDOWN]: 'Network is down',
          [E.EEXIST]: 'Route already exists or the specified network is local',
        };
        throw new KErr(err.errno, m[err.errno] ?? 'failed to create route');
      }
    } else {
      try {
        h.delRoute(net, gw);
      } catch (err) {
        if (err instanceof KErr) throw new KErr(err.errno, 'failed to delete route');
        throw err;
      }
    }
  }
}

function findKey(pairs: Array<[string, YNode]>, key: string): YNode | undefined {
  for (const [k, v] of pairs) {
    if (k === key) return v;
    if (Array.isArray(v)) {
      const inner = findKey(yPairs(v), key) ?? v.map((x) => (Array.isArray(x) ? findKey(yPairs(x), key) : undefined)).find((x) => x !== undefined);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

function peerCmd(h: Host, req: Req, top: PAttr[]): void {
  needConfig(h, top);
  for (const e of entries(top)) {
    const p = e.find(([k]) => k === 'primary nid')?.[1];
    const prim = typeof p === 'string' ? str2nid(p) : undefined;
    if (prim === undefined) kerr(E.EINVAL, 'invalid primary nid');
    const mrv = e.find(([k]) => k === 'Multi-Rail')?.[1];
    const mr = mrv === undefined ? true : typeof mrv === 'bigint' ? mrv !== 0n : !/^(false|no|off|n|0)$/i.test(String(mrv));
    const list = e.find(([k]) => k === 'peer ni')?.[1];
    const nids: bigint[] = [];
    if (Array.isArray(list)) {
      for (const item of list) {
        if (!Array.isArray(item)) continue;
        for (const [k, v] of yPairs(item)) {
          if (k !== 'nid' || typeof v !== 'string') continue;
          const n = str2nid(v);
          if (n === undefined) kerr(E.EINVAL, 'invalid peer nid');
          nids.push(n!);
        }
      }
    }
    if (req.flags & NLM_F.REPLACE) {
      // lnetctl peer set --health: the listed peer NIs (or all with the ANY primary)
      const hv = findKey(e, 'health value');
      if (hv === undefined) {
        if (!h.findPeer(prim!)) kerr(E.ENOENT, 'peer not found');
        continue;
      }
      if (typeof hv !== 'bigint') kerr(E.EINVAL, 'invalid health value');
      if (prim === NID_ANY) setHealth(h, HEALTH_TYPE.PEER_NI, true, NID_ANY, Number(hv));
      else for (const n of nids.length ? nids : [prim!]) setHealth(h, HEALTH_TYPE.PEER_NI, false, n, Number(hv));
      continue;
    }
    if (req.flags & NLM_F.CREATE) {
      const lock = (req.flags & NLM_F.EXCL) !== 0;
      // The primary first (a router or discovered peer becomes configured), then its other NIDs.
      if (!h.findPeer(prim!)?.configured) h.addPeerNi(prim!, NID_ANY, mr, lock);
      for (const n of nids) if (n !== prim) h.addPeerNi(prim!, n, mr, lock);
    } else {
      const force = (req.flags & NLM_F.EXCL) !== 0;
      if (!nids.length) h.delPeerNi(prim!, NID_ANY, force);
      for (const n of nids) h.delPeerNi(prim!, n, force);
    }
  }
}
