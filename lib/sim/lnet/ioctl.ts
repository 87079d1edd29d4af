/**
 * /dev/lnet ioctl front end of the emulated kernel: command numbers, the
 * libcfs_ioctl_data (V1) checks, DLC (V2) struct layouts and errno rules of
 * ../shared/reference/lnet.md sections 1.2-1.7, on x86_64.
 */
import { CAP } from './protocol.js';
import { E, Host, KErr, LND_DEFAULTS, NI_STATUS_UP, kerr, type Ni, type PingResult } from './kernel.js';
import { faultIoctl, pingWithFaults } from './fault.js';
import { udspIoctl } from './udsp-ioctl.js';
import { peerNiHealth, recoveryQueueIoctl, setHealthIoctl } from './health.js';
import { LND, NID_ANY, PID_ANY, PID_LUSTRE, netType, nidNet } from './nid.js';

export const IOC_VERSION1 = 0x0001000a;
export const IOC_VERSION2 = 0x0001000b;
export const IOC_DATA_MAX = 128 * 1024;
export const IOC_TYPE = 0x65; // 'e'
export const IOC_MIN_NR = 30;
export const IOC_MAX_NR = 112;

const legacy = (nr: number) => (0xc0086500 | nr) >>> 0;
const dlc = (nr: number) => (0xc0b86500 | nr) >>> 0;

export const IOC = {
  CLEAR_DEBUG: legacy(31),
  MARK_DEBUG: legacy(32),
  GET_NI: legacy(50),
  FAIL_NID: legacy(51),
  NOTIFY_ROUTER: legacy(55),
  UNCONFIGURE: legacy(56),
  LNET_DIST: legacy(58),
  CONFIGURE: legacy(59),
  TESTPROTOCOMPAT: legacy(60),
  PING: legacy(61),
  PING_PEER: legacy(62),
  LNET_FAULT: legacy(64),
  DISCOVER: legacy(77),
  ADD_ROUTE: dlc(81),
  DEL_ROUTE: dlc(82),
  GET_ROUTE: dlc(83),
  ADD_NET: dlc(84),
  DEL_NET: dlc(85),
  GET_NET: dlc(86),
  CONFIG_RTR: dlc(87),
  ADD_BUF: dlc(88),
  GET_BUF: dlc(89),
  GET_PEER_INFO: dlc(90),
  GET_LNET_STATS: dlc(91),
  ADD_PEER_NI: dlc(92),
  DEL_PEER_NI: dlc(93),
  GET_PEER_NI: dlc(94),
  ADD_LOCAL_NI: dlc(95),
  DEL_LOCAL_NI: dlc(96),
  GET_LOCAL_NI: dlc(97),
  SET_NUMA_RANGE: dlc(98),
  GET_NUMA_RANGE: dlc(99),
  GET_PEER_LIST: dlc(100),
  GET_LOCAL_NI_MSG_STATS: dlc(101),
  SET_HEALHV: dlc(102),
  GET_LOCAL_HSTATS: dlc(103),
  GET_RECOVERY_QUEUE: dlc(104),
  ADD_UDSP: dlc(105),
  DEL_UDSP: dlc(106),
  GET_UDSP_SIZE: dlc(107),
  GET_UDSP: dlc(108),
  GET_CONST_UDSP_INFO: dlc(109),
  RESET_LNET_STATS: dlc(110),
  SET_CONNS_PER_PEER: dlc(111),
  SET_PEER: dlc(112),
} as const;
const IOC_NAME = new Map<number, string>(Object.entries(IOC).map(([k, v]) => [v, k]));
export const iocName = (cmd: number): string => IOC_NAME.get(cmd >>> 0) ?? `0x${(cmd >>> 0).toString(16)}`;

/** Sizes per personality (reference 1.5). */
export const SIZES = {
  libcfs_ioctl_data: 128,
  config_data: 184,
  config_ni: 808,
  element_stats: 12,
  msg_stats: 72,
  local_ni_hstats: 64,
  ping_data: 56,
  peer_cfg: 48,
  set_value: 12,
  pool_cfg: 52,
  lnet_stats: 120,
  peer_ni_bulk: 284,
  lnd_tunables: (rel: string) => (rel === '2.15' ? 52 : 168),
};

export interface IoctlReply {
  rc: number;
  /** The argument struct to write back (undefined: nothing copied back). */
  data?: Buffer;
  /** Bytes to store through the user pointer held at `ptrOffset` in the struct. */
  writes: Array<{ ptrOffset: number; bytes: Buffer }>;
}

const r8 = (n: number) => (n + 7) & ~7;

/** lnet_ioctl_is_invalid(): V1 inline-buffer packing rules. */
export function v1Invalid(d: Buffer): boolean {
  if (d.length < 128) return true;
  const len = d.readUInt32LE(0);
  const inl1 = d.readUInt32LE(64);
  const inl2 = d.readUInt32LE(80);
  const inb1 = d.readBigUInt64LE(72);
  const inb2 = d.readBigUInt64LE(88);
  const pl1 = d.readUInt32LE(96);
  const pb1 = d.readBigUInt64LE(104);
  const pl2 = d.readUInt32LE(112);
  const pb2 = d.readBigUInt64LE(120);
  if (inl1 > 1 << 30 || inl2 > 1 << 30) return true;
  if ((inb1 && !inl1) || (inb2 && !inl2)) return true;
  if ((pb1 && !pl1) || (pb2 && !pl2) || (pl1 && !pb1) || (pl2 && !pb2)) return true;
  if (128 + r8(inl1) + r8(inl2) !== len) return true;
  if (inl1 && d[128 + inl1 - 1] !== 0) return true;
  if (inl2 && d[128 + r8(inl1) + inl2 - 1] !== 0) return true;
  return false;
}

const need = (d: Buffer, min: number) => {
  if (d.readUInt32LE(0) < min) kerr(E.EINVAL);
};
const exact = (d: Buffer, n: number) => {
  if (d.readUInt32LE(0) !== n) kerr(E.EINVAL);
};

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('latin1');
}

/**
 * Handle one ioctl on /dev/lnet of `host`. `arg` holds the caller's struct
 * (ioc_len bytes, or just the header when ioc_len is out of range).
 */
export async function lnetIoctl(host: Host, cmd: number, arg: Buffer, caps: number): Promise<IoctlReply> {
  const writes: IoctlReply['writes'] = [];
  // lnet_psdev_ioctl: capability first, then the command's type and number.
  if (!(caps & CAP.SYS_ADMIN)) return { rc: -E.EACCES, writes };
  const type = (cmd >>> 8) & 0xff;
  const nr = cmd & 0xff;
  if (type !== IOC_TYPE || nr < IOC_MIN_NR || nr > IOC_MAX_NR) return { rc: -E.EINVAL, writes };
  // lnet_ioctl_getdata()
  if (arg.length < 8) return { rc: -E.EFAULT, writes };
  const len = arg.readUInt32LE(0);
  const ver = arg.readUInt32LE(4);
  if (ver !== IOC_VERSION1 && ver !== IOC_VERSION2) return { rc: -E.EINVAL, writes };
  if (len < 8 || len > IOC_DATA_MAX) return { rc: -E.EINVAL, writes };
  if (arg.length < len) return { rc: -E.EFAULT, writes }; // copy_from_user of ioc_len bytes faulted
  const d = Buffer.from(arg.subarray(0, len));
  if (ver === IOC_VERSION1 && v1Invalid(d)) return { rc: -E.EINVAL, writes };
  try {
    // 2.15: libcfs owns /dev/lnet; without lnet.ko nobody handles LNet commands.
    if (!host.loaded('lnet')) kerr(E.EINVAL);
    host.world.fault(host, 'ioctl', `ioctl:${iocName(cmd)}`, `ioctl:${nr}`);
    const rc = await dispatch(host, cmd >>> 0, d, writes);
    return { rc, data: d, writes };
  } catch (e) {
    if (e instanceof KErr) return { rc: -e.errno, data: d, writes };
    throw e;
  }
}

async function dispatch(h: Host, cmd: number, d: Buffer, writes: IoctlReply['writes']): Promise<number> {
  // Handled by lnet_ioctl() itself.
  switch (cmd) {
    case IOC.CONFIGURE:
      need(d, SIZES.libcfs_ioctl_data);
      h.configure(d.readUInt32LE(24) !== 0);
      return 0;
    case IOC.UNCONFIGURE:
      h.unconfigure();
      return 0;
    case IOC.ADD_LOCAL_NI:
      need(d, SIZES.config_ni);
      if (!h.lnet?.niinitSelf) kerr(E.EINVAL);
      addLocalNi(h, d);
      return 0;
    case IOC.DEL_LOCAL_NI:
      need(d, SIZES.config_ni);
      if (!h.lnet?.niinitSelf) kerr(E.EINVAL);
      h.delNi(d.readBigUInt64LE(8));
      return 0;
    case IOC.ADD_NET:
    case IOC.DEL_NET:
      need(d, SIZES.config_data);
      if (!h.lnet?.niinitSelf) kerr(E.EINVAL);
      legacyNet(h, cmd === IOC.ADD_NET, d);
      return 0;
  }
  // Everything else runs under a temporary LNetNIInit(LNET_PID_ANY) reference.
  if (!h.running()) kerr(E.ENETDOWN);
  const ln = h.ln;
  switch (cmd) {
    case IOC.GET_NI: {
      const nid = h.nidAt(d.readUInt32LE(28));
      if (nid === undefined) kerr(E.ENOENT);
      d.writeBigUInt64LE(nid!, 8);
      return 0;
    }
    case IOC.GET_LOCAL_NI:
      getLocalNi(h, d);
      return 0;
    case IOC.GET_NET:
      getLegacyNet(h, d);
      return 0;
    case IOC.GET_LOCAL_NI_MSG_STATS: {
      exact(d, SIZES.msg_stats);
      const ni = h.allNis()[d.readUInt32LE(8)];
      if (!ni) kerr(E.ENOENT);
      for (const [off, c] of [
        [12, ni!.sent],
        [32, ni!.received],
        [52, ni!.dropped],
      ] as const) {
        d.writeUInt32LE(c.get, off);
        d.writeUInt32LE(c.put, off + 4);
        d.writeUInt32LE(c.reply, off + 8);
        d.writeUInt32LE(c.ack, off + 12);
        d.writeUInt32LE(c.hello, off + 16);
      }
      return 0;
    }
    case IOC.GET_LOCAL_HSTATS: {
      need(d, SIZES.local_ni_hstats);
      const ni = h.allNis().find((n) => n.nid === d.readBigUInt64LE(8));
      if (!ni) kerr(E.ENOENT);
      d.fill(0, 16, 64);
      d.writeInt32LE(ni!.health, 44);
      return 0;
    }
    case IOC.ADD_ROUTE:
      need(d, SIZES.config_data);
      h.addRoute(d.readUInt32LE(8), d.readBigUInt64LE(16), d.readUInt32LE(28), d.readUInt32LE(32), d.readUInt32LE(40));
      return 0;
    case IOC.DEL_ROUTE:
      need(d, SIZES.config_data);
      h.delRoute(d.readUInt32LE(8), d.readBigUInt64LE(16));
      return 0;
    case IOC.GET_ROUTE: {
      need(d, SIZES.config_data);
      const r = ln.routes[d.readUInt32LE(12)];
      if (!r) kerr(E.ENOENT);
      d.writeUInt32LE(r!.net, 8);
      d.writeBigUInt64LE(r!.gw, 16);
      d.writeInt32LE(r!.hops, 28);
      d.writeUInt32LE(r!.priority, 32);
      d.writeUInt32LE((h.routeAlive(r!) ? 1 : 0) | (r!.hops > 1 ? 2 : 0), 36);
      d.writeUInt32LE(r!.sensitivity, 40);
      return 0;
    }
    case IOC.CONFIG_RTR:
      need(d, SIZES.config_data);
      h.setRouting(d.readUInt32LE(28) !== 0);
      return 0;
    case IOC.ADD_BUF:
      need(d, SIZES.config_data);
      h.setBuffers(d.readInt32LE(32), d.readInt32LE(36), d.readInt32LE(40));
      return 0;
    case IOC.GET_BUF: {
      need(d, SIZES.config_data + SIZES.pool_cfg);
      const cpt = d.readUInt32LE(12);
      if (cpt >= h.ncpts || !ln.poolsAllocated) kerr(E.ENOENT);
      const pools = [
        [0, ln.buffers.tiny],
        [1, ln.buffers.small],
        [256, ln.buffers.large],
      ] as const;
      pools.forEach(([pages, total], i) => {
        const n = Math.floor(total / h.ncpts);
        const o = 180 + i * 16;
        d.writeUInt32LE(pages, o);
        d.writeUInt32LE(n, o + 4);
        d.writeUInt32LE(n, o + 8);
        d.writeUInt32LE(n, o + 12);
      });
      d.writeUInt32LE(ln.routing ? 1 : 0, 228);
      return 0;
    }
    case IOC.GET_LNET_STATS: {
      need(d, SIZES.lnet_stats);
      const c = ln.counters;
      d.fill(0, 8, SIZES.lnet_stats);
      [c.msgsAlloc, c.msgsMax, c.errors, c.send, c.recv, c.route, c.drop].forEach((v, i) => d.writeUInt32LE(v, 8 + i * 4));
      [c.sendLength, c.recvLength, c.routeLength, c.dropLength].forEach((v, i) => d.writeBigUInt64LE(v, 36 + i * 8));
      return 0;
    }
    case IOC.RESET_LNET_STATS:
      for (const k of Object.keys(ln.counters) as Array<keyof typeof ln.counters>) (ln.counters[k] as number | bigint) = typeof ln.counters[k] === 'bigint' ? 0n : 0;
      return 0;
    case IOC.SET_NUMA_RANGE:
      exact(d, SIZES.set_value);
      ln.numaRange = d.readUInt32LE(8);
      return 0;
    case IOC.GET_NUMA_RANGE:
      exact(d, SIZES.set_value);
      d.writeUInt32LE(ln.numaRange, 8);
      return 0;
    case IOC.ADD_PEER_NI:
      need(d, SIZES.peer_cfg);
      h.addPeerNi(d.readBigUInt64LE(8), d.readBigUInt64LE(16), d.readUInt32LE(28) !== 0, d.readUInt32LE(24) === 1);
      return 0;
    case IOC.DEL_PEER_NI:
      need(d, SIZES.peer_cfg);
      h.delPeerNi(d.readBigUInt64LE(8), d.readBigUInt64LE(16), d.readUInt32LE(24) === 1);
      return 0;
    case IOC.GET_PEER_LIST: {
      need(d, SIZES.peer_cfg);
      const peers = ln.peers;
      const needed = peers.length * 16;
      const size = d.readUInt32LE(36);
      d.writeUInt32LE(peers.length, 24);
      d.writeUInt32LE(needed, 36);
      if (size < needed) kerr(E.E2BIG);
      const bulk = Buffer.alloc(needed);
      peers.forEach((p, i) => {
        bulk.writeBigUInt64LE(p.primary, i * 16);
        bulk.writeUInt32LE(PID_LUSTRE, i * 16 + 8);
      });
      writes.push({ ptrOffset: 40, bytes: bulk });
      return 0;
    }
    case IOC.GET_PEER_NI: {
      need(d, SIZES.peer_cfg);
      const asked = d.readBigUInt64LE(8);
      const peer = h.findPeer(asked);
      if (!peer) kerr(E.ENOENT);
      const n = peer!.nis.length;
      d.writeBigUInt64LE(asked, 16); // prcfg_cfg_nid: the peer NI that was asked about
      const needed = n * SIZES.peer_ni_bulk;
      const size = d.readUInt32LE(36);
      d.writeBigUInt64LE(peer!.primary, 8);
      d.writeUInt32LE(n, 24);
      d.writeUInt32LE(peer!.mr ? 1 : 0, 28);
      d.writeUInt32LE(peer!.state, 32);
      d.writeUInt32LE(needed, 36);
      if (size < needed) kerr(E.E2BIG);
      const bulk = Buffer.alloc(needed);
      const isRouter = ln.routes.some((r) => peer!.nis.includes(r.gw));
      peer!.nis.forEach((nid, i) => {
        const o = i * SIZES.peer_ni_bulk;
        bulk.writeBigUInt64LE(nid, o);
        const alive = h.world.owner(nid) !== undefined && !h.world.owner(nid)!.unreachable;
        bulk.write(isRouter ? (alive ? 'up' : 'down') : 'NA', o + 8, 'latin1');
        bulk.writeUInt32LE(2, o + 8 + 128); // refcount
        const net = h.localNet(nidNet(nid));
        const credits = net?.tun.peerTxCredits ?? 8;
        bulk.writeInt32LE(credits, o + 8 + 132);
        bulk.writeInt32LE(credits, o + 8 + 136);
        bulk.writeInt32LE(credits, o + 8 + 140);
        bulk.writeUInt32LE(h.ncpts, o + 8 + 156);
        // element_stats @168, msg_stats @180 (unused hdr/idx), hstats @252
        bulk.writeInt32LE(peerNiHealth(peer!, nid), o + 252 + 16);
      });
      writes.push({ ptrOffset: 40, bytes: bulk });
      return 0;
    }
    case IOC.SET_PEER: {
      need(d, SIZES.peer_cfg);
      if (!h.findPeer(d.readBigUInt64LE(8))) kerr(E.ENOENT);
      return 0;
    }
    case IOC.PING_PEER:
    case IOC.DISCOVER:
      return ping(h, d, writes, cmd === IOC.DISCOVER);
    case IOC.PING:
      if (h.release !== '2.15') break; // removed after 2.15: falls to the LND default (EINVAL)
      return legacyPing(h, d, writes);
    case IOC.LNET_DIST: {
      // ioc_nid in; ioc_u32[0] = distance, ioc_u32[1] = order out
      const r = h.dist(d.readBigUInt64LE(8));
      if (!r) kerr(E.EHOSTUNREACH);
      d.writeUInt32LE(r!.dist, 36);
      d.writeUInt32LE(r!.order, 40);
      return 0;
    }
    case IOC.GET_RECOVERY_QUEUE:
      recoveryQueueIoctl(h, d);
      return 0;
    case IOC.SET_HEALHV:
      setHealthIoctl(h, d);
      return 0;
    case IOC.SET_CONNS_PER_PEER:
    case IOC.NOTIFY_ROUTER:
    case IOC.FAIL_NID:
    case IOC.TESTPROTOCOMPAT:
    case IOC.CLEAR_DEBUG:
    case IOC.MARK_DEBUG:
      return 0;
    case IOC.LNET_FAULT:
      faultIoctl(h, d);
      return 0;
    case IOC.GET_CONST_UDSP_INFO:
    case IOC.ADD_UDSP:
    case IOC.DEL_UDSP:
    case IOC.GET_UDSP_SIZE:
    case IOC.GET_UDSP:
      udspIoctl(h, iocName(cmd), d, writes);
      return 0;
    case IOC.GET_PEER_INFO:
      kerr(E.ENOENT);
  }
  // LNetCtl default: forwarded to the LND of the NI on ioc_net, which has no handler here.
  return kerr(E.EINVAL);
}

function addLocalNi(h: Host, d: Buffer): void {
  const len = d.readUInt32LE(0);
  const nid = d.readBigUInt64LE(8);
  const net = nidNet(nid);
  let intf = cstr(d, 16, 128);
  if (!intf) {
    const addr = Number(nid & 0xffffffffn);
    const found = h.ifaces.find((i) => i.ip.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0) === addr);
    if (!found) kerr(E.EINVAL);
    intf = found!.name;
  }
  const ncpts = d.readUInt32LE(784);
  const cpts = ncpts > 0 && ncpts <= 128 ? Array.from({ length: ncpts }, (_, i) => d.readUInt32LE(272 + i * 4)) : undefined;
  let tun: { peerTimeout?: number; peerTxCredits?: number; peerRtrCredits?: number; maxTxCredits?: number } | undefined;
  let lnd: Record<string, number> | undefined;
  // Tunables sit in lic_bulk (offset 804) when the caller sent more than the bare struct.
  if (len >= 804 + 20 && len > 808) {
    const c = 804;
    tun = { peerTimeout: d.readInt32LE(c + 4), peerTxCredits: d.readInt32LE(c + 8), peerRtrCredits: d.readInt32LE(c + 12), maxTxCredits: d.readInt32LE(c + 16) };
    const t = c + 20;
    if (netType(net) === LND.SOCKLND && len >= t + 8) {
      const cpp = d.readUInt16LE(t + 4);
      lnd = {};
      if (cpp) lnd['conns_per_peer'] = cpp;
      if (len >= t + 14 && h.release !== '2.15') {
        const to = d.readUInt32LE(t + 8);
        if (to) lnd['timeout'] = to;
        lnd['tos'] = d.readInt16LE(t + 12);
      }
    } else if (netType(net) === LND.O2IBLND && len >= t + 32) {
      // lnet_ioctl_config_o2iblnd_tunables (as fillLndTunables writes it back); 0 keeps the LND default.
      lnd = {};
      const u32 = ['peercredits_hiw', 'map_on_demand', 'concurrent_sends', 'fmr_pool_size', 'fmr_flush_trigger', 'fmr_cache'];
      u32.forEach((k, i) => {
        const v = d.readUInt32LE(t + 4 + i * 4);
        if (v) lnd![k] = v;
      });
      const cpp = d.readUInt16LE(t + 28);
      if (cpp) lnd['conns_per_peer'] = cpp;
      const ntx = d.readUInt16LE(t + 30);
      if (ntx) lnd['ntx'] = ntx;
      if (len >= t + 38 && h.release !== '2.15') {
        const to = d.readUInt32LE(t + 32);
        if (to) lnd['timeout'] = to;
        lnd['tos'] = d.readInt16LE(t + 36);
      }
    }
  }
  h.startNi(net, intf, cpts, tun, lnd);
}

function legacyNet(h: Host, add: boolean, d: Buffer): void {
  const spec = cstr(d, 28, 128);
  if (add) {
    const m = /^([a-z0-9]+)(?:\(([^)]*)\))?$/i.exec(spec.trim());
    if (!m) kerr(E.EINVAL);
    const net = d.readUInt32LE(8);
    const ifs = (m![2] ?? '').split(',').filter(Boolean);
    if (ifs.length > 1) kerr(E.EINVAL);
    const ifn = ifs[0] ?? h.ifaces[0]?.name;
    if (!ifn) kerr(E.EINVAL);
    h.startNi(net, ifn!, undefined, undefined, undefined);
  } else {
    const net = d.readUInt32LE(8);
    if (!h.localNet(net)) kerr(E.EINVAL);
    h.delNi(BigInt(net) << 32n);
  }
}

function cptsOf(h: Host, ni: Ni): number[] {
  return ni.cpts ?? Array.from({ length: h.ncpts }, (_, i) => i);
}

function fillLndTunables(h: Host, ni: Ni, d: Buffer, off: number, size: number): void {
  const type = netType(nidNet(ni.nid));
  const t = Buffer.alloc(Math.max(size, 40));
  if (type === LND.SOCKLND) {
    t.writeUInt16LE(ni.lnd['conns_per_peer'] ?? 1, 4);
    if (h.release !== '2.15') {
      t.writeUInt32LE(ni.lnd['timeout'] ?? 50, 8);
      t.writeInt16LE(ni.lnd['tos'] ?? -1, 12);
    }
  } else if (type === LND.O2IBLND) {
    const l = { ...LND_DEFAULTS[LND.O2IBLND]!, ...ni.lnd };
    t.writeUInt32LE(l['peercredits_hiw']!, 4);
    t.writeUInt32LE(l['map_on_demand']!, 8);
    t.writeUInt32LE(l['concurrent_sends']!, 12);
    t.writeUInt32LE(l['fmr_pool_size']!, 16);
    t.writeUInt32LE(l['fmr_flush_trigger']!, 20);
    t.writeUInt32LE(l['fmr_cache']!, 24);
    t.writeUInt16LE(l['conns_per_peer']!, 28);
    t.writeUInt16LE(l['ntx']!, 30);
    if (h.release !== '2.15') {
      t.writeUInt32LE(l['timeout']!, 32);
      t.writeInt16LE(l['tos']!, 36);
    }
  }
  t.copy(d, off, 0, Math.min(size, d.length - off));
}

function getLocalNi(h: Host, d: Buffer): void {
  const tunSize = SIZES.lnd_tunables(h.release);
  need(d, SIZES.config_ni + SIZES.element_stats + tunSize);
  const len = d.readUInt32LE(0);
  const ni = h.allNis()[d.readUInt32LE(792)];
  if (!ni) kerr(E.ENOENT);
  d.writeBigUInt64LE(ni!.nid, 8);
  d.fill(0, 16, 144);
  if (ni!.iface && netType(nidNet(ni!.nid)) !== LND.LOLND) d.write(ni!.iface, 16, 'latin1');
  const cpts = cptsOf(h, ni!);
  d.fill(0, 272, 784);
  cpts.slice(0, 128).forEach((c, i) => d.writeUInt32LE(c, 272 + i * 4));
  d.writeUInt32LE(cpts.length, 784);
  d.writeUInt32LE(netType(nidNet(ni!.nid)) === LND.LOLND ? NI_STATUS_UP : ni!.status, 788);
  d.writeInt32LE(ni!.devCpt, 796);
  const s = 804;
  d.writeUInt32LE(ni!.send, s);
  d.writeUInt32LE(ni!.recv, s + 4);
  d.writeUInt32LE(ni!.drop, s + 8);
  const t = s + 12;
  const net = h.localNet(nidNet(ni!.nid))!;
  d.fill(0, t, len);
  d.writeInt32LE(net.tun.peerTimeout, t + 4);
  d.writeInt32LE(net.tun.peerTxCredits, t + 8);
  d.writeInt32LE(net.tun.peerRtrCredits, t + 12);
  d.writeInt32LE(net.tun.maxTxCredits, t + 16);
  fillLndTunables(h, ni!, d, t + 20, len - (t + 20));
}

/** Deprecated GET_NET: config_data + lnet_ioctl_net_config at cfg_bulk (180). */
function getLegacyNet(h: Host, d: Buffer): void {
  need(d, SIZES.config_data + 644);
  const ni = h.allNis()[d.readUInt32LE(12)];
  if (!ni) kerr(E.ENOENT);
  const net = h.localNet(nidNet(ni!.nid))!;
  d.writeUInt32LE(nidNet(ni!.nid), 8);
  d.writeBigUInt64LE(ni!.nid, 16);
  const cpts = cptsOf(h, ni!);
  d.writeUInt32LE(cpts.length, 24);
  d.writeInt32LE(net.tun.peerTimeout, 156);
  d.writeInt32LE(net.tun.peerTxCredits, 160);
  d.writeInt32LE(net.tun.peerRtrCredits, 164);
  d.writeInt32LE(net.tun.maxTxCredits, 168);
  d.writeUInt32LE(1, 176);
  d.fill(0, 180, 180 + 644);
  if (ni!.iface) d.write(ni!.iface, 180, 'latin1');
  d.writeUInt32LE(ni!.status, 180 + 128);
  cpts.forEach((c, i) => d.writeUInt32LE(c, 180 + 132 + i * 4));
}

/**
 * lnet_ping()/discovery for the ioctl paths: waits out the timeout when nobody
 * answers, then returns the target's ids (at most `cap`) as an array of
 * 16-byte lnet_process_id for the caller's buffer.
 */
async function pingIds(h: Host, nid: bigint, timeoutMs: number, cap: number, discover: boolean): Promise<{ ok: PingResult; ids: Buffer; count: number }> {
  h.world.fault(h, 'ping');
  if (cap <= 0 || nid === NID_ANY) kerr(E.EINVAL);
  const res = pingWithFaults(h, nid, discover);
  if (res.delayMs >= timeoutMs && !('errno' in res && res.errno !== E.ETIMEDOUT)) {
    await new Promise((r) => setTimeout(r, timeoutMs));
    kerr(E.ETIMEDOUT);
  }
  if ('errno' in res) {
    if (res.errno === E.ETIMEDOUT) await new Promise((r) => setTimeout(r, timeoutMs));
    kerr(res.errno);
  }
  if (res.delayMs) await new Promise((r) => setTimeout(r, res.delayMs));
  const ok = res as PingResult;
  const ids = ok.nids.slice(0, cap);
  const buf = Buffer.alloc(ids.length * 16);
  ids.forEach((n, i) => {
    buf.writeBigUInt64LE(n, i * 16);
    buf.writeUInt32LE(PID_LUSTRE, i * 16 + 8);
  });
  return { ok, ids: buf, count: ids.length };
}

/** PING_PEER (62) and DISCOVER (77): lnet_ioctl_ping_data. */
async function ping(h: Host, d: Buffer, writes: IoctlReply['writes'], discover: boolean): Promise<number> {
  need(d, 48);
  let timeout = d.readInt32LE(8);
  if (discover || timeout <= 0 || timeout > 180_000) timeout = discover ? 3000 : 180_000;
  const cap = Math.min(d.readInt32LE(12), h.paramNum('lnet', 'lnet_interfaces_max'));
  const r = await pingIds(h, d.readBigUInt64LE(24), timeout, cap, discover);
  writes.push({ ptrOffset: 40, bytes: r.ids });
  d.writeUInt32LE(r.count, 12);
  d.writeUInt32LE(r.ok.mr ? 1 : 0, 20);
  d.writeBigUInt64LE(r.ok.primary, 24);
  if (d.readUInt32LE(32) === PID_ANY) d.writeUInt32LE(PID_LUSTRE, 32);
  return 0;
}

/**
 * IOC_LIBCFS_PING (61, 2.12/2.15): V1 data with ioc_nid = target, ioc_u32[0] = pid,
 * ioc_u32[1] = timeout (ms), ioc_pbuf1/ioc_plen1 = buffer of lnet_process_id;
 * out: ioc_count = ids written.
 */
async function legacyPing(h: Host, d: Buffer, writes: IoctlReply['writes']): Promise<number> {
  let timeout = d.readInt32LE(40);
  if (timeout <= 0 || timeout > 180_000) timeout = 180_000;
  const r = await pingIds(h, d.readBigUInt64LE(8), timeout, Math.floor(d.readUInt32LE(96) / 16), false);
  writes.push({ ptrOffset: 104, bytes: r.ids });
  d.writeUInt32LE(r.count, 28);
  return 0;
}
