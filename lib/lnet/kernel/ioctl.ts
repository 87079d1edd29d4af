/**
 * The /dev/lnet ioctl transport (reference lnet.md 1.2-1.7): one method per
 * IOC_LIBCFS_* operation, packing the V1 `libcfs_ioctl_data` or the V2 DLC
 * struct by the layout compiled into the addon for the running release, and
 * decoding the reply into a typed record. Errors are LnetError with the
 * kernel's errno and the IOC_LIBCFS_* name as `op`.
 */
import type { LnetNativeHandle } from '../../native/loader.js';
import { NetId, Nid } from '../nid.js';
import { StructBuf, dlc, ioctlNumber, packV1, struct, type AbiRelease } from './abi.js';
import { LnetError, LnetProtocolError } from './errors.js';

export const LNET_NID_ANY = 0xffffffffffffffffn;
export const LNET_PID_ANY = 0xffffffff;
export const LNET_UNDEFINED_HOPS = 0xffffffff;
export const LNET_NI_STATUS_UP = 0x15aac0de;
export const LNET_NI_STATUS_DOWN = 0xdeadface;
/** What lnetctl sends as ping capacity (LNET_INTERFACES_MAX_DEFAULT). */
export const PING_CAPACITY_DEFAULT = 4096;

export type NidInput = string | bigint | Nid;

export function nid4(n: NidInput, what = 'NID'): bigint {
  if (typeof n === 'bigint') return n;
  return (typeof n === 'string' ? Nid.parse(n, what) : n).toNid4();
}

export function nidString(v: bigint): string {
  if (v === LNET_NID_ANY) return '<?>';
  return Nid.fromNid4(v).toString();
}

export function netValue(net: string | number): number {
  return typeof net === 'number' ? net : NetId.parse(net).value;
}

/** LND tunables of a local NI, by LND (fields named as in the struct, without the `lnd_` prefix). */
export type LndTunables =
  | { lnd: 'socklnd'; conns_per_peer?: number; timeout?: number; tos?: number }
  | {
      lnd: 'o2iblnd';
      peercredits_hiw?: number;
      map_on_demand?: number;
      concurrent_sends?: number;
      fmr_pool_size?: number;
      fmr_flush_trigger?: number;
      fmr_cache?: number;
      conns_per_peer?: number;
      ntx?: number;
      timeout?: number;
      tos?: number;
    };

/** Common tunables (lnet_ioctl_config_lnd_cmn_tunables); -1 or absent means "kernel default". */
export interface CommonTunables {
  peer_timeout?: number;
  peer_credits?: number;
  peer_buffer_credits?: number;
  credits?: number;
}

export interface AddLocalNiSpec {
  /** The NI's NID (userspace resolves the interface address itself, as lnetctl does). */
  nid: NidInput;
  interface?: string;
  /** `lic_legacy_ip2nets`, for the --ip2net form. */
  ip2nets?: string;
  cpts?: number[];
  /** Send the tunables block (lnetctl always does, with -1 for unset common fields). Default true. */
  withTunables?: boolean;
  tunables?: CommonTunables;
  lndTunables?: LndTunables;
}

export interface LocalNiRecord {
  nid: string;
  nid4: bigint;
  status: 'up' | 'down' | number;
  interface: string;
  devCpt: number;
  cpts: number[];
  stats: { send_count: number; recv_count: number; drop_count: number };
  tunables: Required<CommonTunables>;
  /** LND tunables decoded for the NI's LND type (raw bytes kept under `raw`). */
  lndTunables: Record<string, number> & { raw?: never };
  lndTunablesRaw: Buffer;
}

export interface MsgCounts {
  get: number;
  put: number;
  reply: number;
  ack: number;
  hello: number;
}

export interface RouteRecord {
  net: string;
  gateway: string;
  /** -1 when undefined (LNET_UNDEFINED_HOPS). */
  hops: number;
  priority: number;
  flags: number;
  alive: boolean;
  multiHop: boolean;
}

export interface PoolRecord {
  npages: number;
  nbuffers: number;
  credits: number;
  mincredits: number;
}

export interface PeerNiRecord {
  nid: string;
  aliveness: string;
  refcount: number;
  ni_peer_tx_credits: number;
  peer_tx_credits: number;
  peer_min_tx_credits: number;
  peer_tx_qnob: number;
  peer_rtr_credits: number;
  peer_min_rtr_credits: number;
  ncpt: number;
  stats: { send_count: number; recv_count: number; drop_count: number };
  sent: MsgCounts;
  received: MsgCounts;
  dropped: MsgCounts;
  health: { dropped: number; timeout: number; error: number; network_timeout: number; health_value: number; ping_count: number; next_ping: bigint };
}

export interface PeerRecord {
  primaryNid: string;
  multiRail: boolean;
  cfgNid: string;
  state: number;
  nis: PeerNiRecord[];
}

export interface PingRecord {
  /** Primary NID of the peer (ping_id.nid on return). */
  primaryNid: string;
  multiRail: boolean;
  /** Process ids in the order the kernel wrote them (0@lo first). */
  ids: { nid: string; pid: number }[];
}

/** Global counters (lnet_counters) with the kernel's field names. */
export type LnetCounters = Record<string, number>;

const COMMON_COUNTERS = ['msgs_alloc', 'msgs_max', 'errors', 'send_count', 'recv_count', 'route_count', 'drop_count'];
const COMMON_LENGTHS = ['send_length', 'recv_length', 'route_length', 'drop_length'];
const HEALTH_COUNTERS = [
  'rst_alloc',
  'resend_count',
  'response_timeout_count',
  'local_interrupt_count',
  'local_dropped_count',
  'local_aborted_count',
  'local_no_route_count',
  'local_timeout_count',
  'local_error_count',
  'remote_dropped_count',
  'remote_error_count',
  'remote_timeout_count',
  'network_timeout_count',
  'failed_resends',
  'successful_resends',
];

export class IoctlTransport {
  constructor(
    private readonly handle: () => LnetNativeHandle,
    /** The layout family of the running kernel (decides tunables and stats sizes). */
    private readonly release: () => Promise<AbiRelease>,
  ) {}

  /** Any IOC_LIBCFS_<name> with a caller-built argument (features.ts); the argument is updated in place. */
  raw(name: string, arg: StructBuf | Buffer, patches: [number, number, number][] = [], aux: Buffer[] = []): Promise<{ arg: Buffer; aux: Buffer[] }> {
    return this.call(name, arg, patches, aux);
  }

  private async call(name: string, arg: StructBuf | Buffer, patches: [number, number, number][] = [], aux: Buffer[] = []): Promise<{ arg: Buffer; aux: Buffer[] }> {
    const op = `IOC_LIBCFS_${name}`;
    const buf = arg instanceof StructBuf ? arg.buf : arg;
    let r;
    try {
      r = await this.handle().ioctl(op, ioctlNumber(name), buf, patches, aux);
    } catch (e) {
      throw LnetError.fromNative(e, op, 'ioctl');
    }
    r.arg.copy(buf);
    if (r.errno !== 0) throw LnetError.fromKernel(-r.errno, op, 'ioctl');
    return r;
  }

  // --- V1 ---------------------------------------------------------------------

  /** IOC_LIBCFS_CONFIGURE. `loadModParams` true also brings up NIs from networks=/ip2nets=/routes= (ioc_flags 0). */
  async configure(opts: { loadModParams: boolean }): Promise<void> {
    const { arg } = packV1({ flags: opts.loadModParams ? 0 : 1 });
    await this.call('CONFIGURE', arg);
  }

  /** IOC_LIBCFS_UNCONFIGURE: EBUSY while others (Lustre) hold LNet. */
  async unconfigure(): Promise<void> {
    const { arg } = packV1({});
    await this.call('UNCONFIGURE', arg);
  }

  /** IOC_LIBCFS_GET_NI: the NID at `index` (lo first); ENOENT past the end. */
  async getNi(index: number): Promise<bigint> {
    const { arg } = packV1({ count: index });
    await this.call('GET_NI', arg);
    return arg.u64('ioc_nid');
  }

  /** Every NID (as `lctl list_nids all`): GET_NI from 0 until ENOENT. */
  async listNids(): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; ; i++) {
      try {
        out.push(nidString(await this.getNi(i)));
      } catch (e) {
        if (e instanceof LnetError && e.code === 'ENOENT' && e.isKernelRefusal) return out;
        throw e;
      }
    }
  }

  // --- local NIs ------------------------------------------------------------------

  private async tunablesLayout(): Promise<{ rel: AbiRelease; full: number }> {
    const rel = await this.release();
    return { rel, full: struct('lnet_ioctl_config_lnd_tunables', rel).size };
  }

  /** IOC_LIBCFS_ADD_LOCAL_NI: lnet_ioctl_config_ni + lnet_ioctl_config_lnd_tunables in lic_bulk. */
  async addLocalNi(spec: AddLocalNiSpec): Promise<void> {
    const { rel, full } = await this.tunablesLayout();
    const withTun = spec.withTunables ?? true;
    const ni = dlc('lnet_ioctl_config_ni', undefined, withTun ? full : 0);
    ni.u64('lic_nid', nid4(spec.nid));
    if (spec.interface !== undefined) ni.str('lic_ni_intf', 128, spec.interface);
    if (spec.ip2nets !== undefined) ni.str('lic_legacy_ip2nets', 128, spec.ip2nets);
    const cpts = spec.cpts ?? [];
    if (cpts.length > 128) throw new RangeError('at most 128 CPTs');
    cpts.forEach((c, i) => ni.buf.writeUInt32LE(c >>> 0, ni.off('lic_cpts') + 4 * i));
    ni.u32('lic_ncpts', cpts.length);
    if (withTun) this.packTunables(ni.buf, ni.off('lic_bulk'), rel, spec.tunables ?? {}, spec.lndTunables, nid4(spec.nid));
    await this.call('ADD_LOCAL_NI', ni);
  }

  private packTunables(buf: Buffer, base: number, rel: AbiRelease, cmn: CommonTunables, lnd: LndTunables | undefined, nid: bigint): void {
    const c = new StructBuf(struct('lnet_ioctl_config_lnd_cmn_tunables'), base, buf);
    c.s32('lct_peer_timeout', cmn.peer_timeout ?? -1);
    c.s32('lct_peer_tx_credits', cmn.peer_credits ?? -1);
    c.s32('lct_peer_rtr_credits', cmn.peer_buffer_credits ?? -1);
    c.s32('lct_max_tx_credits', cmn.credits ?? -1);
    const tunBase = base + struct('lnet_ioctl_config_lnd_tunables', rel).fields['lt_tun']!;
    const lndType = Number((nid >> 48n) & 0xffn);
    const kind = lnd?.lnd ?? (lndType === 2 ? 'socklnd' : lndType === 5 ? 'o2iblnd' : undefined);
    if (kind === 'socklnd') {
      const t = lnd?.lnd === 'socklnd' ? lnd : { lnd: 'socklnd' as const };
      const s = new StructBuf(struct('lnet_ioctl_config_socklnd_tunables', rel), tunBase, buf);
      s.u16('lnd_conns_per_peer', t.conns_per_peer ?? 0);
      if (s.layout.fields['lnd_timeout'] !== undefined) {
        s.u32('lnd_timeout', t.timeout ?? 0);
        s.s16('lnd_tos', t.tos ?? -1);
      }
    } else if (kind === 'o2iblnd') {
      const t = lnd?.lnd === 'o2iblnd' ? lnd : { lnd: 'o2iblnd' as const };
      const o = new StructBuf(struct('lnet_ioctl_config_o2iblnd_tunables', rel), tunBase, buf);
      o.u32('lnd_peercredits_hiw', t.peercredits_hiw ?? 0);
      o.u32('lnd_map_on_demand', t.map_on_demand ?? 0);
      o.u32('lnd_concurrent_sends', t.concurrent_sends ?? 0);
      o.u32('lnd_fmr_pool_size', t.fmr_pool_size ?? 0);
      o.u32('lnd_fmr_flush_trigger', t.fmr_flush_trigger ?? 0);
      o.u32('lnd_fmr_cache', t.fmr_cache ?? 0);
      o.u16('lnd_conns_per_peer', t.conns_per_peer ?? 0);
      o.u16('lnd_ntx', t.ntx ?? 0);
      if (o.layout.fields['lnd_timeout'] !== undefined) {
        o.u32('lnd_timeout', t.timeout ?? 0);
        o.s16('lnd_tos', t.tos ?? -1);
      }
    }
  }

  /** IOC_LIBCFS_DEL_LOCAL_NI: a whole net (pass the net, e.g. 'tcp1') or one NI (pass its NID). */
  async delLocalNi(target: { net: string } | { nid: NidInput }): Promise<void> {
    const ni = dlc('lnet_ioctl_config_ni');
    ni.u64('lic_nid', 'net' in target ? BigInt(netValue(target.net)) << 32n : nid4(target.nid));
    await this.call('DEL_LOCAL_NI', ni);
  }

  /** IOC_LIBCFS_GET_LOCAL_NI: the NI at global index `index`; ENOENT past the end. */
  async getLocalNi(index: number): Promise<LocalNiRecord> {
    const { rel, full } = await this.tunablesLayout();
    const stats = struct('lnet_ioctl_element_stats');
    const ni = dlc('lnet_ioctl_config_ni', undefined, stats.size + full);
    ni.u32('lic_idx', index);
    await this.call('GET_LOCAL_NI', ni);
    const bulk = ni.off('lic_bulk');
    const st = new StructBuf(stats, bulk, ni.buf);
    const tb = bulk + stats.size;
    const c = new StructBuf(struct('lnet_ioctl_config_lnd_cmn_tunables'), tb, ni.buf);
    const v = ni.u64('lic_nid');
    const ncpts = Math.min(ni.u32('lic_ncpts'), 128);
    const cpts: number[] = [];
    for (let i = 0; i < ncpts; i++) cpts.push(ni.buf.readUInt32LE(ni.off('lic_cpts') + 4 * i));
    const status = ni.u32('lic_status');
    const tunBase = tb + struct('lnet_ioctl_config_lnd_tunables', rel).fields['lt_tun']!;
    const tunSize = full - struct('lnet_ioctl_config_lnd_tunables', rel).fields['lt_tun']!;
    return {
      nid: nidString(v),
      nid4: v,
      status: status === LNET_NI_STATUS_UP ? 'up' : status === LNET_NI_STATUS_DOWN ? 'down' : status,
      interface: ni.str('lic_ni_intf', 128),
      devCpt: ni.s32('lic_dev_cpt'),
      cpts,
      stats: { send_count: st.u32('iel_send_count'), recv_count: st.u32('iel_recv_count'), drop_count: st.u32('iel_drop_count') },
      tunables: {
        peer_timeout: c.s32('lct_peer_timeout'),
        peer_credits: c.s32('lct_peer_tx_credits'),
        peer_buffer_credits: c.s32('lct_peer_rtr_credits'),
        credits: c.s32('lct_max_tx_credits'),
      },
      lndTunables: this.decodeLndTunables(ni.buf, tunBase, rel, Number((v >> 48n) & 0xffn)),
      lndTunablesRaw: Buffer.from(ni.buf.subarray(tunBase, tunBase + tunSize)),
    };
  }

  private decodeLndTunables(buf: Buffer, base: number, rel: AbiRelease, lndType: number): Record<string, number> {
    if (lndType === 2) {
      const s = new StructBuf(struct('lnet_ioctl_config_socklnd_tunables', rel), base, buf);
      const out: Record<string, number> = { conns_per_peer: s.u16('lnd_conns_per_peer') };
      if (s.layout.fields['lnd_timeout'] !== undefined) {
        out['timeout'] = s.u32('lnd_timeout');
        out['tos'] = s.s16('lnd_tos');
      }
      return out;
    }
    if (lndType === 5) {
      const o = new StructBuf(struct('lnet_ioctl_config_o2iblnd_tunables', rel), base, buf);
      const out: Record<string, number> = {
        peercredits_hiw: o.u32('lnd_peercredits_hiw'),
        map_on_demand: o.u32('lnd_map_on_demand'),
        concurrent_sends: o.u32('lnd_concurrent_sends'),
        fmr_pool_size: o.u32('lnd_fmr_pool_size'),
        fmr_flush_trigger: o.u32('lnd_fmr_flush_trigger'),
        fmr_cache: o.u32('lnd_fmr_cache'),
        ntx: o.u16('lnd_ntx'),
        conns_per_peer: o.u16('lnd_conns_per_peer'),
      };
      if (o.layout.fields['lnd_timeout'] !== undefined) {
        out['timeout'] = o.u32('lnd_timeout');
        out['tos'] = o.s16('lnd_tos');
      }
      return out;
    }
    return {};
  }

  /** Every local NI (GET_LOCAL_NI from index 0 until ENOENT). */
  listLocalNis(): Promise<LocalNiRecord[]> {
    return untilEnoent((i) => this.getLocalNi(i));
  }

  /** IOC_LIBCFS_GET_LOCAL_NI_MSG_STATS (ioc_len exactly 72): message counts of the NI at `index`. */
  async getLocalNiMsgStats(index: number): Promise<{ sent: MsgCounts; received: MsgCounts; dropped: MsgCounts }> {
    const m = dlc('lnet_ioctl_element_msg_stats');
    m.u32('im_idx', index);
    await this.call('GET_LOCAL_NI_MSG_STATS', m);
    return {
      sent: readCounts(m.buf, m.off('im_send_stats')),
      received: readCounts(m.buf, m.off('im_recv_stats')),
      dropped: readCounts(m.buf, m.off('im_drop_stats')),
    };
  }

  /** IOC_LIBCFS_GET_LOCAL_HSTATS: health counters of the local NI `nid`. */
  async getLocalNiHealthStats(nid: NidInput): Promise<Record<string, number> & { next_ping: number }> {
    const h = dlc('lnet_ioctl_local_ni_hstats');
    h.u64('hlni_nid', nid4(nid));
    await this.call('GET_LOCAL_HSTATS', h);
    return {
      local_interrupt: h.u32('hlni_local_interrupt'),
      local_dropped: h.u32('hlni_local_dropped'),
      local_aborted: h.u32('hlni_local_aborted'),
      local_no_route: h.u32('hlni_local_no_route'),
      local_timeout: h.u32('hlni_local_timeout'),
      local_error: h.u32('hlni_local_error'),
      fatal_error: h.s32('hlni_fatal_error'),
      health_value: h.s32('hlni_health_value'),
      ping_count: h.u32('hlni_ping_count'),
      next_ping: Number(h.u64('hlni_next_ping')),
    };
  }

  // --- routes, routing, buffers ------------------------------------------------------------

  /** IOC_LIBCFS_ADD_ROUTE: hops undefined sends LNET_UNDEFINED_HOPS; sensitivity 1 as lnetctl. */
  async addRoute(r: { net: string; gateway: NidInput; hops?: number; priority?: number }): Promise<void> {
    const c = dlc('lnet_ioctl_config_data');
    c.u32('cfg_net', netValue(r.net));
    c.u64('cfg_nid', nid4(r.gateway, 'gateway'));
    c.u32('cfg_config_u.cfg_route.rtr_hop', r.hops === undefined || r.hops < 0 ? LNET_UNDEFINED_HOPS : r.hops);
    c.u32('cfg_config_u.cfg_route.rtr_priority', r.priority ?? 0);
    c.u32('cfg_config_u.cfg_route.rtr_sensitivity', 1);
    await this.call('ADD_ROUTE', c);
  }

  /** IOC_LIBCFS_DEL_ROUTE: ENOENT when the remote net is unknown. */
  async delRoute(r: { net: string; gateway?: NidInput }): Promise<void> {
    const c = dlc('lnet_ioctl_config_data');
    c.u32('cfg_net', netValue(r.net));
    c.u64('cfg_nid', r.gateway === undefined ? LNET_NID_ANY : nid4(r.gateway, 'gateway'));
    await this.call('DEL_ROUTE', c);
  }

  /** IOC_LIBCFS_GET_ROUTE: the route at `index`; ENOENT past the end. */
  async getRoute(index: number): Promise<RouteRecord> {
    const c = dlc('lnet_ioctl_config_data');
    c.u32('cfg_count', index);
    await this.call('GET_ROUTE', c);
    const hop = c.u32('cfg_config_u.cfg_route.rtr_hop');
    const flags = c.u32('cfg_config_u.cfg_route.rtr_flags');
    return {
      net: NetId.fromValue(c.u32('cfg_net')).toString(),
      gateway: nidString(c.u64('cfg_nid')),
      hops: hop === LNET_UNDEFINED_HOPS ? -1 : hop,
      priority: c.u32('cfg_config_u.cfg_route.rtr_priority'),
      flags,
      alive: (flags & 1) !== 0,
      multiHop: (flags & 2) !== 0,
    };
  }

  async listRoutes(): Promise<RouteRecord[]> {
    return untilEnoent((i) => this.getRoute(i));
  }

  /** IOC_LIBCFS_CONFIG_RTR: enable or disable routing. */
  async configRouting(enable: boolean): Promise<void> {
    const c = dlc('lnet_ioctl_config_data');
    c.u32('cfg_config_u.cfg_buffers.buf_enable', enable ? 1 : 0);
    await this.call('CONFIG_RTR', c);
  }

  /** IOC_LIBCFS_ADD_BUF: router buffer totals; undefined keeps a pool (-1). */
  async addBuffers(b: { tiny?: number; small?: number; large?: number }): Promise<void> {
    const c = dlc('lnet_ioctl_config_data');
    c.s32('cfg_config_u.cfg_buffers.buf_tiny', b.tiny ?? -1);
    c.s32('cfg_config_u.cfg_buffers.buf_small', b.small ?? -1);
    c.s32('cfg_config_u.cfg_buffers.buf_large', b.large ?? -1);
    await this.call('ADD_BUF', c);
  }

  /** IOC_LIBCFS_GET_BUF: pools of CPT `cpt` (tiny, small, large) and whether routing is on; ENOENT past the last CPT. */
  async getBuffers(cpt: number): Promise<{ pools: [PoolRecord, PoolRecord, PoolRecord]; routing: boolean }> {
    const pool = struct('lnet_ioctl_pool_cfg');
    const c = dlc('lnet_ioctl_config_data', undefined, pool.size);
    c.u32('cfg_count', cpt);
    await this.call('GET_BUF', c);
    const p = new StructBuf(pool, c.off('cfg_bulk'), c.buf);
    const at = (i: number): PoolRecord => {
      const base = p.off('pl_pools') + i * (pool.fields['pl_pools[1]']! - pool.fields['pl_pools']!);
      return {
        npages: c.buf.readUInt32LE(base + pool.fields['pl_pools[0].pl_npages']!),
        nbuffers: c.buf.readUInt32LE(base + pool.fields['pl_pools[0].pl_nbuffers']!),
        credits: c.buf.readUInt32LE(base + pool.fields['pl_pools[0].pl_credits']!),
        mincredits: c.buf.readUInt32LE(base + pool.fields['pl_pools[0].pl_mincredits']!),
      };
    };
    return { pools: [at(0), at(1), at(2)], routing: p.u32('pl_routing') !== 0 };
  }

  // --- peers -----------------------------------------------------------------------------------

  /** IOC_LIBCFS_ADD_PEER_NI: without `nid` creates the peer (cfg_nid = ANY). */
  async addPeerNi(p: { primary: NidInput; nid?: NidInput; multiRail?: boolean; lockPrim?: boolean }): Promise<void> {
    const c = dlc('lnet_ioctl_peer_cfg');
    c.u64('prcfg_prim_nid', nid4(p.primary, 'primary NID'));
    c.u64('prcfg_cfg_nid', p.nid === undefined ? LNET_NID_ANY : nid4(p.nid));
    c.u32('prcfg_mr', p.multiRail === false ? 0 : 1);
    c.u32('prcfg_count', p.lockPrim ? 1 : 0);
    await this.call('ADD_PEER_NI', c);
  }

  /** IOC_LIBCFS_DEL_PEER_NI: without `nid` deletes the whole peer. */
  async delPeerNi(p: { primary: NidInput; nid?: NidInput; force?: boolean }): Promise<void> {
    const c = dlc('lnet_ioctl_peer_cfg');
    c.u64('prcfg_prim_nid', nid4(p.primary, 'primary NID'));
    c.u64('prcfg_cfg_nid', p.nid === undefined ? LNET_NID_ANY : nid4(p.nid));
    c.u32('prcfg_count', p.force ? 1 : 0);
    await this.call('DEL_PEER_NI', c);
  }

  /**
   * A peer_cfg call with a user bulk buffer, retried once per E2BIG with the
   * size the kernel asks for (prcfg_size), as liblnetconfig does.
   */
  private async withBulk(name: string, fill: (c: StructBuf) => void, initial: number): Promise<{ c: StructBuf; bulk: Buffer }> {
    let size = initial;
    for (let attempt = 0; attempt < 8; attempt++) {
      const c = dlc('lnet_ioctl_peer_cfg');
      fill(c);
      c.u32('prcfg_size', size);
      try {
        const r = await this.call(name, c, [[c.off('prcfg_bulk'), 1, 0]], [Buffer.alloc(size)]);
        const used = Math.min(c.u32('prcfg_size'), size);
        return { c, bulk: r.aux[0]!.subarray(0, used > 0 ? used : size) };
      } catch (e) {
        if (e instanceof LnetError && e.code === 'E2BIG' && e.isKernelRefusal) {
          const need = c.u32('prcfg_size');
          if (need <= size || need > 128 * 1024 * 1024) throw e;
          size = need;
          continue;
        }
        throw e;
      }
    }
    throw new LnetError({ code: 'E2BIG', errno: 7, op: `IOC_LIBCFS_${name}`, transport: 'ioctl', message: `IOC_LIBCFS_${name}: the kernel kept asking for a larger buffer` });
  }

  /** IOC_LIBCFS_GET_PEER_LIST: primary NIDs of all peers (E2BIG retried with the size the kernel returns). */
  async getPeerList(): Promise<{ nid: string; pid: number }[]> {
    const id = struct('lnet_process_id');
    const { c, bulk } = await this.withBulk('GET_PEER_LIST', () => {}, 64 * id.size);
    const count = c.u32('prcfg_count');
    const out: { nid: string; pid: number }[] = [];
    for (let i = 0; i < count; i++) {
      const off = i * id.size;
      if (off + id.size > bulk.length) throw new LnetProtocolError('IOC_LIBCFS_GET_PEER_LIST', 'ioctl', `count ${count} exceeds the ${bulk.length}-byte buffer`);
      out.push({ nid: nidString(bulk.readBigUInt64LE(off + id.fields['nid']!)), pid: bulk.readUInt32LE(off + id.fields['pid']!) });
    }
    return out;
  }

  /** IOC_LIBCFS_GET_PEER_NI: a peer and all its NIs (E2BIG retried). ENOENT for an unknown peer. */
  async getPeerNi(nid: NidInput): Promise<PeerRecord> {
    const cred = struct('lnet_peer_ni_credit_info');
    const est = struct('lnet_ioctl_element_stats');
    const msg = struct('lnet_ioctl_element_msg_stats');
    const hs = struct('lnet_ioctl_peer_ni_hstats');
    const per = 8 + cred.size + est.size + msg.size + hs.size;
    const { c, bulk } = await this.withBulk('GET_PEER_NI', (c) => c.u64('prcfg_prim_nid', nid4(nid)), 8 * per);
    const count = c.u32('prcfg_count');
    const nis: PeerNiRecord[] = [];
    for (let i = 0; i < count; i++) {
      let off = i * per;
      if (off + per > bulk.length) throw new LnetProtocolError('IOC_LIBCFS_GET_PEER_NI', 'ioctl', `count ${count} exceeds the ${bulk.length}-byte buffer`);
      const niNid = nidString(bulk.readBigUInt64LE(off));
      off += 8;
      const cr = new StructBuf(cred, off, bulk);
      off += cred.size;
      const st = new StructBuf(est, off, bulk);
      off += est.size;
      const ms = new StructBuf(msg, off, bulk);
      off += msg.size;
      const h = new StructBuf(hs, off, bulk);
      nis.push({
        nid: niNid,
        aliveness: cr.str('cr_aliveness', 128),
        refcount: cr.u32('cr_refcount'),
        ni_peer_tx_credits: cr.s32('cr_ni_peer_tx_credits'),
        peer_tx_credits: cr.s32('cr_peer_tx_credits'),
        peer_min_tx_credits: cr.s32('cr_peer_min_tx_credits'),
        peer_tx_qnob: cr.u32('cr_peer_tx_qnob'),
        peer_rtr_credits: cr.s32('cr_peer_rtr_credits'),
        peer_min_rtr_credits: cr.s32('cr_peer_min_rtr_credits'),
        ncpt: cr.u32('cr_ncpt'),
        stats: { send_count: st.u32('iel_send_count'), recv_count: st.u32('iel_recv_count'), drop_count: st.u32('iel_drop_count') },
        sent: readCounts(bulk, ms.off('im_send_stats')),
        received: readCounts(bulk, ms.off('im_recv_stats')),
        dropped: readCounts(bulk, ms.off('im_drop_stats')),
        health: {
          dropped: h.u32('hlpni_remote_dropped'),
          timeout: h.u32('hlpni_remote_timeout'),
          error: h.u32('hlpni_remote_error'),
          network_timeout: h.u32('hlpni_network_timeout'),
          health_value: h.s32('hlpni_health_value'),
          ping_count: h.u32('hlpni_ping_count'),
          next_ping: h.u64('hlpni_next_ping'),
        },
      });
    }
    return {
      primaryNid: nidString(c.u64('prcfg_prim_nid')),
      multiRail: c.u32('prcfg_mr') !== 0,
      cfgNid: nidString(c.u64('prcfg_cfg_nid')),
      state: c.u32('prcfg_state'),
      nis,
    };
  }

  // --- ping and discover ---------------------------------------------------------------------

  private async pingLike(name: 'PING_PEER' | 'DISCOVER', target: NidInput, pid: number | undefined, param: number, capacity: number, source?: NidInput): Promise<PingRecord> {
    const id = struct('lnet_process_id');
    const p = dlc('lnet_ioctl_ping_data');
    p.u64('ping_id.nid', nid4(target, 'target NID'));
    p.u32('ping_id.pid', pid ?? LNET_PID_ANY);
    p.u32('op_param', param);
    p.u32('ping_count', capacity);
    p.u64('ping_src', source === undefined ? LNET_NID_ANY : nid4(source, 'source NID'));
    const r = await this.call(name, p, [[p.off('ping_buf'), 1, 0]], [Buffer.alloc(capacity * id.size)]);
    const n = Math.min(p.u32('ping_count'), capacity);
    const buf = r.aux[0]!;
    const ids: { nid: string; pid: number }[] = [];
    for (let i = 0; i < n; i++) ids.push({ nid: nidString(buf.readBigUInt64LE(i * id.size + id.fields['nid']!)), pid: buf.readUInt32LE(i * id.size + id.fields['pid']!) });
    return { primaryNid: nidString(p.u64('ping_id.nid')), multiRail: p.u32('mr_info') !== 0, ids };
  }

  /** IOC_LIBCFS_PING_PEER: timeout in ms (lnetctl default 1000), capacity of the reply buffer (default 4096 ids). */
  ping(o: { nid: NidInput; pid?: number; timeoutMs?: number; source?: NidInput; capacity?: number }): Promise<PingRecord> {
    return this.pingLike('PING_PEER', o.nid, o.pid, o.timeoutMs ?? 1000, o.capacity ?? PING_CAPACITY_DEFAULT, o.source);
  }

  /** IOC_LIBCFS_DISCOVER: op_param is the force flag. */
  discover(o: { nid: NidInput; pid?: number; force?: boolean; capacity?: number }): Promise<PingRecord> {
    return this.pingLike('DISCOVER', o.nid, o.pid, o.force ? 1 : 0, o.capacity ?? PING_CAPACITY_DEFAULT);
  }

  // --- statistics and numa ------------------------------------------------------------------

  /** IOC_LIBCFS_GET_LNET_STATS: global counters (the health block is 13 or 15 counters by release). */
  async getStats(): Promise<LnetCounters> {
    const rel = await this.release();
    const s = dlc('lnet_ioctl_lnet_stats', rel);
    await this.call('GET_LNET_STATS', s);
    const base = s.off('st_cntrs');
    const out: LnetCounters = {};
    COMMON_COUNTERS.forEach((k, i) => (out[k] = s.buf.readUInt32LE(base + 4 * i)));
    COMMON_LENGTHS.forEach((k, i) => (out[k] = Number(s.buf.readBigUInt64LE(base + 28 + 8 * i))));
    const h = s.off('lct_health');
    const n = (s.layout.size - (h - s.base)) / 4;
    HEALTH_COUNTERS.slice(0, n).forEach((k, i) => (out[k] = s.buf.readUInt32LE(h + 4 * i)));
    return out;
  }

  /** IOC_LIBCFS_RESET_LNET_STATS. */
  async resetStats(): Promise<void> {
    await this.call('RESET_LNET_STATS', dlc('lnet_ioctl_config_data'));
  }

  /** IOC_LIBCFS_GET_NUMA_RANGE (lnet_ioctl_set_value, ioc_len exactly 12). */
  async getNumaRange(): Promise<number> {
    const v = dlc('lnet_ioctl_set_value');
    await this.call('GET_NUMA_RANGE', v);
    return v.u32('sv_value');
  }

  async setNumaRange(value: number): Promise<void> {
    const v = dlc('lnet_ioctl_set_value');
    v.u32('sv_value', value);
    await this.call('SET_NUMA_RANGE', v);
  }
}

function readCounts(buf: Buffer, base: number): MsgCounts {
  const cc = struct('lnet_ioctl_comm_count').fields;
  return {
    get: buf.readUInt32LE(base + cc['ico_get_count']!),
    put: buf.readUInt32LE(base + cc['ico_put_count']!),
    reply: buf.readUInt32LE(base + cc['ico_reply_count']!),
    ack: buf.readUInt32LE(base + cc['ico_ack_count']!),
    hello: buf.readUInt32LE(base + cc['ico_hello_count']!),
  };
}

/** Call `get(0), get(1), ...` until the kernel says ENOENT. */
export async function untilEnoent<T>(get: (i: number) => Promise<T>, max = 1 << 20): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < max; i++) {
    try {
      out.push(await get(i));
    } catch (e) {
      if (e instanceof LnetError && e.code === 'ENOENT' && e.isKernelRefusal) return out;
      throw e;
    }
  }
  return out;
}
