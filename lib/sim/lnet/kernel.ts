/**
 * The emulated kernels: per host, the module table (libcfs, lnet, LNDs, the
 * Lustre stack), LNet's state (nets/NIs, routes, peers, routing buffers,
 * counters), module parameters with the kernel's validation, Lustre holds and
 * fault injection. The ioctl and netlink front ends (ioctl.ts, netlink.ts)
 * translate bytes into calls on this model; tree.ts renders it as files.
 *
 * Behaviour follows ../shared/reference/lnet.md sections 1.6/1.7 (errno rules),
 * 3 (NIDs), 3.4/6.3 (parameters) and 6 (module chain).
 */
import { errnoNumber } from '../../errno.js';
import { globalDef, globalForParam } from '../../lnet/globals.js';
import type { SettableGlobalKey } from '../../lnet/types.js';
import {
  LND,
  NET_ANY,
  NID_ANY,
  NID_LO_0,
  PID_LUSTRE,
  ip2num,
  lndModule,
  mkNet,
  mkNid,
  net2str,
  netType,
  nidNet,
  nid2str,
  str2net,
} from './nid.js';
import { peerCandidates, selectPath } from './udsp.js';

/** The errnos the emulated kernel uses, numbered by the project's one table (lib/errno.ts). */
const ENAMES = ['EPERM', 'ENOENT', 'ESRCH', 'EINTR', 'EIO', 'ENXIO', 'E2BIG', 'ENOEXEC', 'EBADF', 'EAGAIN', 'EWOULDBLOCK', 'ENOMEM', 'EACCES', 'EFAULT', 'EBUSY', 'EEXIST', 'ENODEV', 'EINVAL', 'ENOSPC', 'ERANGE', 'ENOSYS', 'ENOMSG', 'EPROTO', 'EUSERS', 'EOPNOTSUPP', 'ENETDOWN', 'ENETUNREACH', 'ESHUTDOWN', 'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'EALREADY'] as const;
export const E = Object.fromEntries(ENAMES.map((n) => [n, errnoNumber(n)!])) as Record<(typeof ENAMES)[number], number>;
export type Release = '2.15' | '2.16';
export const RELEASES: readonly Release[] = ['2.15', '2.16'];

/** An errno-carrying failure of an emulated kernel call. */
export class KErr extends Error {
  constructor(
    readonly errno: number,
    readonly extack?: string,
  ) {
    super(extack ?? `errno ${errno}`);
  }
}
export const kerr = (errno: number, extack?: string): never => {
  throw new KErr(errno, extack);
};

export interface IfaceSpec {
  name: string;
  ip: string;
  prefix?: number;
}
export interface HostSpec {
  name: string;
  ifaces: IfaceSpec[];
  /** CPU partitions (default CPT_NUMBER). */
  cpts?: number;
}

// ------------------------------------------------------------------ modules
interface ParamDef {
  name: string;
  mode: 0o444 | 0o644;
  def: string;
  kind: 'charp' | 'int' | 'uint';
  /** Extra validation of a write (after type parsing); returns an errno or 0. */
  check?: (v: number, h: Host) => number;
}
export interface ModuleDef {
  name: string;
  deps: string[];
  /** Path relative to /lib/modules/<release>. */
  path: string;
  size: number;
  params: ParamDef[];
}

const p = (name: string, def: string | number, mode: 0o444 | 0o644 = 0o444, kind?: ParamDef['kind'], check?: ParamDef['check']): ParamDef => ({
  name,
  mode,
  def: String(def),
  kind: kind ?? (typeof def === 'number' ? 'int' : 'charp'),
  ...(check ? { check } : {}),
});
/**
 * A writable lnet parameter behind an lnetctl global: the kernel's validation
 * is the one rule set of lib/lnet/globals.ts (also used by the facade before writing).
 */
const g = (name: string, def: number, kind: 'int' | 'uint'): ParamDef =>
  p(name, def, 0o644, kind, (v, h) => {
    const d = globalForParam(name)!;
    const cur = (k: SettableGlobalKey): number => {
      const o = globalDef(k)!;
      if (o.param === 'ioctl') return h.lnet?.numaRange ?? 0;
      const n = h.paramNum('lnet', o.param);
      return o.inverted ? (n === 0 ? 1 : n === 1 ? 0 : n) : n;
    };
    const inv = (x: number): number => (x === 0 ? 1 : x === 1 ? 0 : x);
    return d.check(d.inverted ? inv(v) : v, cur) ? E.EINVAL : 0;
  });

const LNET_PARAMS: ParamDef[] = [
  p('networks', ''),
  p('ip2nets', ''),
  p('routes', ''),
  p('forwarding', ''),
  p('config_on_load', 0),
  p('enable_sysctl_setup', 0, 0o644),
  p('rnet_htable_size', 128),
  p('use_tcp_bonding', 0),
  p('lnet_numa_range', 0, 0o444, 'uint'),
  g('lnet_health_sensitivity', 100, 'uint'),
  g('lnet_recovery_interval', 1, 'uint'),
  g('lnet_recovery_limit', 0, 'uint'),
  g('lnet_max_recovery_ping_interval', 900, 'uint'),
  g('lnet_interfaces_max', 4096, 'int'),
  g('lnet_peer_discovery_disabled', 0, 'int'),
  g('lnet_drop_asym_route', 0, 'int'),
  g('lnet_transaction_timeout', 150, 'uint'),
  g('lnet_retry_count', 2, 'uint'),
  g('lnet_response_tracking', 3, 'int'),
  p('lock_prim_nid', 1),
  p('cpu_npartitions', 0),
  p('cpu_pattern', 'N'),
  p('tiny_router_buffers', 0),
  p('small_router_buffers', 0),
  p('large_router_buffers', 0),
  p('peer_buffer_credits', 0),
  p('auto_down', 1),
  p('check_routers_before_use', 0),
  p('avoid_asym_router_failure', 1, 0o644),
  p('dead_router_check_interval', -2147483648, 0o644),
  p('live_router_check_interval', -2147483648, 0o644),
  p('alive_router_check_interval', 60, 0o644),
  p('router_ping_timeout', 50, 0o644),
  g('router_sensitivity_percentage', 100, 'int'),
  p('accept', 'secure'),
  p('accept_port', 988),
  p('accept_port_bulk', 988),
  p('accept_backlog', 127),
  p('accept_timeout', 5, 0o644),
  p('local_nid_dist_zero', 1, 0o644),
  p('portal_rotor', 3, 0o644),
];

export function moduleDefs(release: Release): ModuleDef[] {
  const net = 'extra/kernel/net/lustre';
  const fs = 'extra/kernel/fs/lustre';
  const lnetParams = release === '2.15' ? LNET_PARAMS.filter((x) => x.name !== 'cpu_npartitions' && x.name !== 'cpu_pattern') : LNET_PARAMS;
  return [
    { name: 'libcfs', deps: [], path: `${net}/libcfs.ko`, size: 569344, params: [p('cpu_npartitions', 0), p('cpu_pattern', 'N'), p('libcfs_debug', 0, 0o644)] },
    { name: 'lnet', deps: ['libcfs'], path: `${net}/lnet.ko`, size: 1003520, params: lnetParams },
    {
      name: 'ksocklnd',
      deps: ['lnet', 'libcfs'],
      path: `${net}/ksocklnd.ko`,
      size: 184320,
      params: [p('sock_timeout', 50, 0o644), p('credits', 256), p('peer_credits', 8), p('peer_timeout', 180), p('conns_per_peer', 0, 0o644), p('skip_mr_route_setup', 0), p('tos', -1)],
    },
    {
      name: 'ko2iblnd',
      deps: ['lnet', 'libcfs'],
      path: `${net}/ko2iblnd.ko`,
      size: 249856,
      params: [p('timeout', 50, 0o644), p('credits', 256), p('peer_credits', 8), p('peer_timeout', 180), p('conns_per_peer', 1, 0o644), p('map_on_demand', 1), p('concurrent_sends', 0), p('tos', -1)],
    },
    { name: 'obdclass', deps: ['lnet', 'libcfs'], path: `${fs}/obdclass.ko`, size: 2846720, params: [] },
    { name: 'ptlrpc', deps: ['obdclass', 'lnet', 'libcfs'], path: `${fs}/ptlrpc.ko`, size: 3031040, params: [] },
    { name: 'lustre', deps: ['ptlrpc', 'obdclass', 'lnet', 'libcfs'], path: `${fs}/lustre.ko`, size: 1376256, params: [] },
  ];
}

export interface LoadedModule {
  def: ModuleDef;
  params: Map<string, string>;
  /** Explicit references (try_module_get) by name of the taker, e.g. "dev:3", "lustre-hold". */
  refs: Map<string, number>;
  loadedAt: number;
}

// ------------------------------------------------------------------ LNet state
export const NI_STATUS_UP = 0x15aac0de;
export const NI_STATUS_DOWN = 0xdeadface;
export const CPT_NUMBER = 2;
export interface Tunables {
  peerTimeout: number;
  peerTxCredits: number;
  peerRtrCredits: number;
  maxTxCredits: number;
}
export interface MsgCounts {
  put: number;
  get: number;
  reply: number;
  ack: number;
  hello: number;
}
const zeroMsg = (): MsgCounts => ({ put: 0, get: 0, reply: 0, ack: 0, hello: 0 });
export interface Ni {
  nid: bigint;
  iface?: string;
  status: number;
  cpts?: number[];
  devCpt: number;
  send: number;
  recv: number;
  drop: number;
  sent: MsgCounts;
  received: MsgCounts;
  dropped: MsgCounts;
  health: number;
  /** socklnd: conns_per_peer, timeout, tos; o2iblnd: its own keys. */
  lnd: Record<string, number>;
}
export interface Net {
  id: number;
  nis: Ni[];
  tun: Tunables;
}
export interface Route {
  net: number;
  gw: bigint;
  hops: number;
  priority: number;
  sensitivity: number;
}
export interface Peer {
  primary: bigint;
  mr: boolean;
  configured: boolean;
  lockPrim: boolean;
  nis: bigint[];
  state: number;
}
export interface Counters {
  msgsAlloc: number;
  msgsMax: number;
  errors: number;
  send: number;
  recv: number;
  route: number;
  drop: number;
  sendLength: bigint;
  recvLength: bigint;
  routeLength: bigint;
  dropLength: bigint;
}
const zeroCounters = (): Counters => ({ msgsAlloc: 0, msgsMax: 0, errors: 0, send: 0, recv: 0, route: 0, drop: 0, sendLength: 0n, recvLength: 0n, routeLength: 0n, dropLength: 0n });

export interface Lnet {
  refcount: number;
  niinitSelf: boolean;
  nisFromModParams: boolean;
  nets: Net[];
  routes: Route[];
  routing: boolean;
  poolsAllocated: boolean;
  buffers: { tiny: number; small: number; large: number };
  peers: Peer[];
  numaRange: number;
  counters: Counters;
}

export interface LustreHold {
  id: number;
  role: 'client' | 'mgs' | 'mdt' | 'ost';
  fsname: string;
  devices: string[];
}
export interface FaultRule {
  op: string;
  count: number;
  errno: number;
}

export const LND_DEFAULTS: Record<number, Record<string, number>> = {
  [LND.SOCKLND]: { conns_per_peer: 1, timeout: 50, tos: -1 },
  [LND.O2IBLND]: { peercredits_hiw: 4, map_on_demand: 1, concurrent_sends: 8, fmr_pool_size: 512, fmr_flush_trigger: 384, fmr_cache: 1, ntx: 512, conns_per_peer: 1, timeout: 50, tos: -1 },
};

// ------------------------------------------------------------------ host
export class Host {
  readonly modules = new Map<string, LoadedModule>();
  lnet: Lnet | undefined;
  readonly holds: LustreHold[] = [];
  unreachable = false;
  readonly defs: ModuleDef[];
  private nextHold = 1;

  constructor(
    readonly world: World,
    readonly name: string,
    readonly ifaces: IfaceSpec[],
    /** Number of CPTs. */
    readonly ncpts = CPT_NUMBER,
  ) {
    this.defs = moduleDefs(world.release);
  }

  get release(): Release {
    return this.world.release;
  }
  def(name: string): ModuleDef | undefined {
    return this.defs.find((d) => d.name === name);
  }
  loaded(name: string): boolean {
    return this.modules.has(name);
  }

  // ---------------------------------------------------------------- parameters
  param(mod: string, name: string): string | undefined {
    return this.modules.get(mod)?.params.get(name);
  }
  paramNum(mod: string, name: string): number {
    return Number(this.param(mod, name) ?? 0);
  }

  /** A write to /sys/module/<mod>/parameters/<name>; returns bytes accepted. */
  writeParam(mod: string, name: string, data: Buffer): number {
    const m = this.modules.get(mod);
    const pd = m?.def.params.find((x) => x.name === name);
    if (!m || !pd) kerr(E.ENOENT);
    if (pd!.mode !== 0o644) kerr(E.EACCES);
    let text = data.toString('latin1');
    const nul = text.indexOf('\0');
    if (nul >= 0) text = text.slice(0, nul);
    if (text.endsWith('\n')) text = text.slice(0, -1);
    if (pd!.kind === 'charp') {
      if (text.length > 1023) kerr(E.ENOSPC);
      m!.params.set(name, text);
      return data.length;
    }
    const v = parseKernelInt(text, pd!.kind === 'uint');
    if (v === undefined) kerr(E.EINVAL);
    const bad = pd!.check?.(v!, this) ?? 0;
    if (bad) kerr(bad);
    m!.params.set(name, String(v));
    return data.length;
  }

  // ---------------------------------------------------------------- modules
  refcnt(name: string): number {
    const m = this.modules.get(name);
    if (!m) return 0;
    let n = this.holders(name).length;
    for (const c of m.refs.values()) n += c;
    return n;
  }
  holders(name: string): string[] {
    return [...this.modules.values()].filter((m) => m.def.deps.includes(name)).map((m) => m.def.name);
  }
  private getRef(mod: string, who: string): void {
    const m = this.modules.get(mod);
    if (m) m.refs.set(who, (m.refs.get(who) ?? 0) + 1);
  }
  private putRef(mod: string, who: string): void {
    const m = this.modules.get(mod);
    if (!m) return;
    const c = (m.refs.get(who) ?? 0) - 1;
    if (c <= 0) m.refs.delete(who);
    else m.refs.set(who, c);
  }
  /** Module owning /dev/lnet: libcfs on 2.15, lnet from 2.16 on. */
  get devModule(): string {
    return this.release === '2.15' ? 'libcfs' : 'lnet';
  }
  devExists(): boolean {
    return this.loaded(this.devModule);
  }
  familyExists(): boolean {
    return this.release !== '2.15' && this.loaded('lnet');
  }
  openDev(handle: string): void {
    this.world.fault(this, 'open');
    if (!this.devExists()) kerr(E.ENOENT);
    this.getRef(this.devModule, `dev:${handle}`);
  }
  closeDev(handle: string): void {
    this.putRef(this.devModule, `dev:${handle}`);
  }

  /** init_module/finit_module of one module (dependencies must be loaded). */
  loadModule(name: string, paramText: string): void {
    this.world.fault(this, 'module-load');
    const def = this.def(name);
    if (!def) kerr(E.ENOEXEC);
    if (this.modules.has(name)) kerr(E.EEXIST);
    for (const d of def!.deps) if (!this.modules.has(d)) kerr(E.ENOENT); // "Unknown symbol"
    const params = new Map(def!.params.map((x) => [x.name, x.def]));
    for (const [k, v] of parseModuleParams(paramText)) {
      const pd = def!.params.find((x) => x.name === k);
      if (!pd) continue; // unknown parameters are ignored with a warning
      if (pd.kind === 'charp') params.set(k, v);
      else {
        const n = parseKernelInt(v, pd.kind === 'uint');
        if (n === undefined) kerr(E.EINVAL);
        params.set(k, String(n));
      }
    }
    const m: LoadedModule = { def: def!, params, refs: new Map(), loadedAt: this.world.tick() };
    this.modules.set(name, m);
    try {
      if (name === 'lnet' && this.paramNum('lnet', 'config_on_load') === 1) this.configure(false);
      if (name === 'ptlrpc') this.niInit();
    } catch (e) {
      this.modules.delete(name);
      throw e;
    }
  }

  /** delete_module: refused while held (holders or references). */
  unloadModule(name: string): void {
    this.world.fault(this, 'module-unload');
    if (!this.modules.has(name)) kerr(E.ENOENT);
    if (this.holders(name).length > 0 || this.refcnt(name) > 0) kerr(E.EWOULDBLOCK);
    if (name === 'ptlrpc') this.niFini();
    if (name === 'lnet' && this.lnet && this.lnet.refcount > 0) kerr(E.EBUSY);
    this.modules.delete(name);
    if (name === 'lnet') this.lnet = undefined;
  }

  /** request_module()/modprobe: load with dependencies (as the kernel's request_module does). */
  probeModule(name: string): void {
    const def = this.def(name);
    if (!def) kerr(E.ENOENT);
    for (const d of [...def!.deps].reverse()) if (!this.loaded(d)) this.probeModule(d);
    if (!this.loaded(name)) this.loadModule(name, '');
  }

  // ---------------------------------------------------------------- LNet core
  private newLnet(): Lnet {
    return {
      refcount: 0,
      niinitSelf: false,
      nisFromModParams: false,
      nets: [],
      routes: [],
      routing: false,
      poolsAllocated: false,
      buffers: { tiny: 0, small: 0, large: 0 },
      peers: [],
      numaRange: this.paramNum('lnet', 'lnet_numa_range'),
      counters: zeroCounters(),
    };
  }
  /** LNet's state, created when lnet.ko is loaded. */
  get ln(): Lnet {
    if (!this.loaded('lnet')) kerr(E.ENODEV);
    if (!this.lnet) this.lnet = this.newLnet();
    return this.lnet;
  }
  running(): boolean {
    return !!this.lnet && this.lnet.refcount > 0;
  }

  /** LNetNIInit(): first user starts LNet (lo + module-parameter nets unless told not to). */
  niInit(): void {
    const ln = this.ln;
    if (ln.refcount > 0) {
      ln.refcount++;
      return;
    }
    const nets: Net[] = [{ id: mkNet(LND.LOLND, 0), nis: [this.newNi(NID_LO_0, undefined, LND.LOLND)], tun: { peerTimeout: 0, peerTxCredits: 0, peerRtrCredits: 0, maxTxCredits: 0 } }];
    ln.nets = nets;
    ln.routes = [];
    ln.peers = [];
    try {
      if (!ln.nisFromModParams) {
        const spec = this.param('lnet', 'networks') || 'tcp';
        for (const { net, ifs } of parseNetworks(spec)) {
          if (netType(net) === LND.LOLND) continue;
          const names = ifs.length ? ifs : [this.defaultIface(net)];
          for (const ifn of names) this.startNi(net, ifn, undefined, undefined, undefined);
        }
      }
    } catch (e) {
      this.shutdownNets();
      throw e instanceof KErr ? new KErr(E.ENETDOWN, 'Network is down') : e;
    }
    ln.refcount = 1;
  }
  niFini(): void {
    const ln = this.lnet;
    if (!ln || ln.refcount === 0) return;
    ln.refcount--;
    if (ln.refcount === 0) this.shutdownNets();
  }
  private shutdownNets(): void {
    const ln = this.ln;
    ln.nets = [];
    ln.routes = [];
    ln.peers = [];
    ln.routing = false;
    ln.poolsAllocated = false;
    this.syncLndRefs();
  }

  /** lnet_configure (IOC_LIBCFS_CONFIGURE / LNET_CMD_CONFIGURE with CREATE). */
  configure(skipModParams: boolean | undefined): void {
    const ln = this.ln;
    if (skipModParams !== undefined) ln.nisFromModParams = skipModParams;
    if (ln.niinitSelf) return;
    this.niInit();
    ln.niinitSelf = true;
    this.getRef('lnet', 'configure');
  }
  /** lnet_unconfigure: 0 when LNet is down afterwards, EBUSY while others hold it. */
  unconfigure(): void {
    const ln = this.ln;
    if (ln.niinitSelf) {
      ln.niinitSelf = false;
      this.putRef('lnet', 'configure');
      this.niFini();
    }
    if (ln.refcount > 0) kerr(E.EBUSY, 'LNET busy');
  }

  private defaultIface(net: number): string {
    const wantIb = netType(net) === LND.O2IBLND;
    const pick = this.ifaces.find((i) => i.name.startsWith('ib') === wantIb) ?? this.ifaces[0];
    if (!pick) kerr(E.ENODEV);
    return pick!.name;
  }
  private newNi(nid: bigint, iface: string | undefined, type: number): Ni {
    return {
      nid,
      ...(iface !== undefined ? { iface } : {}),
      status: NI_STATUS_UP,
      devCpt: type === LND.LOLND ? -1 : 0,
      send: 0,
      recv: 0,
      drop: 0,
      sent: zeroMsg(),
      received: zeroMsg(),
      dropped: zeroMsg(),
      health: 1000,
      lnd: { ...(LND_DEFAULTS[type] ?? {}) },
    };
  }
  niCount(): number {
    return (this.lnet?.nets ?? []).reduce((n, x) => n + x.nis.length, 0);
  }
  allNis(): Ni[] {
    return (this.lnet?.nets ?? []).flatMap((n) => n.nis);
  }
  localNet(net: number): Net | undefined {
    return this.lnet?.nets.find((n) => n.id === net);
  }

  /**
   * Bring up one NI on a net (lnet_dyn_add_ni / module-parameter startup).
   * Returns the NI. Errors per reference 1.7 "Add a net with an interface".
   */
  startNi(net: number, ifname: string, cpts: number[] | undefined, tun: Partial<Tunables> | undefined, lnd: Record<string, number> | undefined): Ni {
    const ln = this.ln;
    const type = netType(net);
    const mod = lndModule(type);
    if (!mod) kerr(E.ENOENT, 'LND type not supported');
    if (cpts && cpts.some((c) => c >= this.ncpts)) kerr(E.ERANGE, 'invalid CPT value');
    if (ln.routes.some((r) => r.net === net)) kerr(E.EUSERS, 'net is already a remote network');
    const iface = this.ifaces.find((i) => i.name === ifname);
    if (!iface) kerr(E.ENODEV, `cannot find interface ${ifname}`);
    // o2iblnd finds no IB device behind a non-IPoIB interface (emulated IPoIB interfaces are named ib*).
    if (type === LND.O2IBLND && !ifname.startsWith('ib')) kerr(E.ENODEV, `${ifname} is not an IPoIB interface`);
    const nid = mkNid(net, ip2num(iface!.ip)!);
    const existing = this.localNet(net);
    if (existing?.nis.some((n) => n.nid === nid || n.iface === ifname)) kerr(E.EEXIST, 'NI already exists');
    if (this.niCount() + 1 > this.paramNum('lnet', 'lnet_interfaces_max')) kerr(E.ENOSPC, 'too many NIs, check lnet_interfaces_max');
    try {
      this.probeModule(mod!);
    } catch (e) {
      throw e instanceof KErr ? new KErr(E.EINVAL, 'cannot load LND') : e;
    }
    const ni = this.newNi(nid, ifname, type);
    if (cpts && cpts.length) ni.cpts = [...cpts];
    if (lnd) Object.assign(ni.lnd, lnd);
    // An unset timeout comes from the LND's module parameter at NI start (ksocknal_timeout(), kiblnd_timeout()).
    if (!lnd?.['timeout'] && 'timeout' in ni.lnd) {
      const v = type === LND.SOCKLND ? this.paramNum('ksocklnd', 'sock_timeout') : this.paramNum('ko2iblnd', 'timeout');
      if (v > 0) ni.lnd['timeout'] = v;
    }
    if (existing) existing.nis.push(ni);
    else {
      const d = { peerTimeout: 180, peerTxCredits: 8, peerRtrCredits: 0, maxTxCredits: 256 };
      const t: Tunables = {
        peerTimeout: tun?.peerTimeout !== undefined && tun.peerTimeout >= 0 ? tun.peerTimeout : d.peerTimeout,
        peerTxCredits: tun?.peerTxCredits ? (tun.peerTxCredits > 0 ? tun.peerTxCredits : d.peerTxCredits) : d.peerTxCredits,
        peerRtrCredits: tun?.peerRtrCredits !== undefined && tun.peerRtrCredits > 0 ? tun.peerRtrCredits : d.peerRtrCredits,
        maxTxCredits: tun?.maxTxCredits ? (tun.maxTxCredits > 0 ? tun.maxTxCredits : d.maxTxCredits) : d.maxTxCredits,
      };
      ln.nets.push({ id: net, nis: [ni], tun: t });
    }
    this.syncLndRefs();
    return ni;
  }

  /** lnet_dyn_del_ni: nid with address 0 deletes the whole net. */
  delNi(nid: bigint): void {
    const ln = this.ln;
    const net = nidNet(nid);
    if (netType(net) === LND.LOLND) kerr(E.EINVAL, 'cannot delete loopback');
    const n = this.localNet(net);
    if (!n) kerr(E.ENOENT, 'net not found');
    if ((nid & 0xffffffffn) === 0n) ln.nets = ln.nets.filter((x) => x !== n);
    else {
      const i = n!.nis.findIndex((x) => x.nid === nid);
      if (i < 0) kerr(E.ENOENT, 'NID not found');
      n!.nis.splice(i, 1);
      if (n!.nis.length === 0) ln.nets = ln.nets.filter((x) => x !== n);
    }
    this.syncLndRefs();
  }

  /** LNDs hold a module reference while one of their NIs exists. */
  private syncLndRefs(): void {
    for (const [type, mod] of [
      [LND.SOCKLND, 'ksocklnd'],
      [LND.O2IBLND, 'ko2iblnd'],
    ] as const) {
      const m = this.modules.get(mod);
      if (!m) continue;
      const used = (this.lnet?.nets ?? []).some((n) => netType(n.id) === type);
      if (used) m.refs.set('lnd-in-use', 1);
      else m.refs.delete('lnd-in-use');
    }
  }

  /** GET_NI index walk (lo first); undefined past the end. */
  nidAt(index: number): bigint | undefined {
    return this.allNis()[index]?.nid;
  }

  // ---------------------------------------------------------------- routes
  addRoute(net: number, gw: bigint, hops: number, priority: number, sensitivity: number): void {
    const ln = this.ln;
    if (!this.running()) kerr(E.ESHUTDOWN, 'Network is down');
    const undefinedHops = hops === 0xffffffff || hops === -1;
    if (net === NET_ANY || netType(net) === LND.LOLND || nidNet(gw) === net || (!undefinedHops && (hops < 1 || hops > 255))) {
      kerr(E.EINVAL, 'invalid settings for route creation');
    }
    if (this.localNet(net)) kerr(E.EEXIST, 'Route already exists or the specified network is local');
    if (!this.localNet(nidNet(gw))) kerr(E.EHOSTUNREACH, 'No interface configured on the same net as gateway');
    if (ln.routes.some((r) => r.net === net && r.gw === gw)) kerr(E.EEXIST, 'Route already exists or the specified network is local');
    ln.routes.push({ net, gw, hops: undefinedHops ? -1 : hops, priority, sensitivity });
    // The gateway becomes a peer (a router).
    if (!this.findPeer(gw)) ln.peers.push({ primary: gw, mr: false, configured: false, lockPrim: false, nis: [gw], state: 0 });
  }
  delRoute(net: number, gw: bigint): void {
    const ln = this.ln;
    if (!ln.routes.some((r) => r.net === net)) kerr(E.ENOENT, 'failed to delete route');
    ln.routes = ln.routes.filter((r) => !(r.net === net && (gw === NID_ANY || r.gw === gw)));
  }
  routeAlive(r: Route): boolean {
    return this.world.gatewayForwards(this, r.gw, r.net, 0);
  }

  /** LNetDist(): 0 for one of our NIDs, 1 on a local net, route hops + 1 beyond; order = index of the NI or route. */
  dist(nid: bigint): { dist: number; order: number } | undefined {
    const nis = this.allNis();
    const own = nis.findIndex((n) => n.nid === nid);
    if (own >= 0 || nid === NID_LO_0) return { dist: 0, order: Math.max(own, 0) };
    const net = nidNet(nid);
    const local = nis.findIndex((n) => nidNet(n.nid) === net);
    if (local >= 0) return { dist: 1, order: local };
    const routes = (this.lnet?.routes ?? []).filter((r) => r.net === net);
    if (!routes.length) return undefined;
    const best = Math.min(...routes.map((r) => (r.hops > 0 ? r.hops : 1)));
    return { dist: best + 1, order: (this.lnet?.routes ?? []).findIndex((r) => r.net === net) };
  }

  // ---------------------------------------------------------------- routing / buffers
  setRouting(enable: boolean): void {
    const ln = this.ln;
    ln.routing = enable;
    if (enable && !ln.poolsAllocated) {
      ln.poolsAllocated = true;
      ln.buffers = {
        tiny: this.paramNum('lnet', 'tiny_router_buffers') || 512 * this.ncpts,
        small: this.paramNum('lnet', 'small_router_buffers') || 4096 * this.ncpts,
        large: this.paramNum('lnet', 'large_router_buffers') || 256 * this.ncpts,
      };
    }
  }
  setBuffers(tiny: number, small: number, large: number): void {
    const ln = this.ln;
    if (!ln.routing) return; // ignored while routing is disabled
    if (tiny >= 0) ln.buffers.tiny = tiny;
    if (small >= 0) ln.buffers.small = small;
    if (large >= 0) ln.buffers.large = large;
  }

  // ---------------------------------------------------------------- peers
  findPeer(nid: bigint): Peer | undefined {
    return this.lnet?.peers.find((p) => p.nis.includes(nid));
  }
  addPeerNi(prim: bigint, nid: bigint, mr: boolean, lockPrim: boolean): void {
    const ln = this.ln;
    if (prim === NID_ANY) kerr(E.EINVAL, 'invalid primary NID');
    const peer = this.findPeer(prim);
    if (nid === NID_ANY) {
      if (peer) {
        if (peer.primary !== prim) kerr(E.ENODEV, 'NID is not the primary NID of its peer');
        if (peer.configured) kerr(E.EEXIST, 'peer already exists');
        peer.configured = true;
        peer.mr = mr;
        peer.lockPrim = lockPrim;
        return;
      }
      ln.peers.push({ primary: prim, mr, configured: true, lockPrim, nis: [prim], state: 0 });
      return;
    }
    if (!peer) kerr(E.ENOENT, 'peer not found');
    if (peer!.primary !== prim) kerr(E.ENODEV, 'NID is not the primary NID of its peer');
    if (peer!.mr !== mr) kerr(E.EPERM, 'Multi-Rail setting mismatch');
    const other = this.findPeer(nid);
    if (other) kerr(other === peer ? E.EEXIST : E.EEXIST, 'peer NI already exists');
    peer!.nis.push(nid);
  }
  delPeerNi(prim: bigint, nid: bigint, force: boolean): void {
    const ln = this.ln;
    if (prim === NID_ANY) kerr(E.EINVAL, 'invalid primary NID');
    const peer = this.findPeer(prim);
    if (!peer) kerr(E.ENOENT, 'peer not found');
    if (peer!.primary !== prim) kerr(E.ENODEV, 'NID is not the primary NID of its peer');
    if (nid === NID_ANY || nid === prim) {
      if (ln.routes.some((r) => peer!.nis.includes(r.gw))) kerr(E.EBUSY, `${nid2str(prim)} is a router. Can not be deleted`);
      if (peer!.lockPrim && !force) {
        peer!.nis = [prim];
        return;
      }
      ln.peers = ln.peers.filter((x) => x !== peer);
      return;
    }
    const i = peer!.nis.indexOf(nid);
    if (i < 0) kerr(E.ENOENT, 'peer NI not found');
    peer!.nis.splice(i, 1);
  }

  // ---------------------------------------------------------------- Lustre
  hold(role: LustreHold['role'], fsname: string, devices: string[] | undefined): LustreHold {
    for (const m of ['libcfs', 'lnet', 'obdclass', 'ptlrpc', 'lustre']) if (!this.loaded(m)) this.probeModule(m);
    const id = this.nextHold++;
    const firstNid = this.allNis().find((n) => netType(nidNet(n.nid)) !== LND.LOLND)?.nid;
    const nid = firstNid !== undefined ? nid2str(firstNid) : '0@lo';
    const h: LustreHold = { id, role, fsname, devices: devices ?? defaultDevices(role, fsname, nid, id) };
    this.holds.push(h);
    this.getRef(role === 'client' ? 'lustre' : 'ptlrpc', `hold:${id}`);
    this.getRef('obdclass', `hold:${id}`);
    return h;
  }
  releaseHold(id: number | undefined): number {
    const gone = this.holds.filter((h) => id === undefined || h.id === id);
    for (const h of gone) {
      this.holds.splice(this.holds.indexOf(h), 1);
      this.putRef(h.role === 'client' ? 'lustre' : 'ptlrpc', `hold:${h.id}`);
      this.putRef('obdclass', `hold:${h.id}`);
    }
    return gone.length;
  }
  devicesText(): string {
    let i = 0;
    return this.holds
      .flatMap((h) => h.devices)
      .map((d) => `${String(i++).padStart(3)} ${d}\n`)
      .join('');
  }
  nidList(): bigint[] {
    return this.allNis().map((n) => n.nid);
  }
  primaryNid(): bigint | undefined {
    return this.allNis().find((n) => netType(nidNet(n.nid)) !== LND.LOLND)?.nid;
  }
}

function defaultDevices(role: LustreHold['role'], fs: string, nid: string, id: number): string[] {
  const uuid = (k: number) => `${(0x1f2e3d4c + id * 7919 + k).toString(16)}-5a6b-4c7d-8e9f-${(0x0a1b2c3d4e5f + id * 31 + k).toString(16).padStart(12, '0')}`;
  const sb = `ffff9a${(0x10000000 + id * 4096).toString(16)}`;
  switch (role) {
    case 'client':
      return [
        `UP mgc MGC${nid} ${uuid(0)} 4`,
        `UP lov ${fs}-clilov-${sb} ${uuid(1)} 3`,
        `UP lmv ${fs}-clilmv-${sb} ${uuid(1)} 4`,
        `UP mdc ${fs}-MDT0000-mdc-${sb} ${uuid(1)} 4`,
        `UP osc ${fs}-OST0000-osc-${sb} ${uuid(1)} 4`,
      ];
    case 'mgs':
      return [`UP osd-ldiskfs MGS-osd MGS-osd_UUID 4`, `UP mgs MGS MGS 6`, `UP mgc MGC${nid} ${uuid(0)} 4`];
    case 'mdt':
      return [`UP osd-ldiskfs ${fs}-MDT0000-osd ${fs}-MDT0000-osd_UUID 9`, `UP mdt ${fs}-MDT0000 ${fs}-MDT0000_UUID 12`, `UP mdd ${fs}-MDD0000 ${fs}-MDD0000_UUID 3`];
    case 'ost':
      return [`UP osd-ldiskfs ${fs}-OST0000-osd ${fs}-OST0000-osd_UUID 4`, `UP obdfilter ${fs}-OST0000 ${fs}-OST0000_UUID 5`, `UP ost OSS OSS_uuid 3`];
  }
}

/** kstrtoint/kstrtouint (base 0): decimal, 0x hex, 0 octal; optional sign for int. */
export function parseKernelInt(text: string, unsigned: boolean): number | undefined {
  const m = /^([+-]?)(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  if (unsigned && m[1] === '-') return undefined;
  const body = m[2]!;
  const v = body.startsWith('0x') ? parseInt(body.slice(2), 16) : body.length > 1 && body.startsWith('0') ? parseInt(body, 8) : parseInt(body, 10);
  const n = m[1] === '-' ? -v : v;
  if (unsigned ? n > 0xffffffff : n > 2147483647 || n < -2147483648) return undefined;
  return n;
}

/** Kernel parsing of "a=b c=\"d e\"" module option strings. */
export function parseModuleParams(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let tok = '';
    let q = false;
    while (i < text.length && (q || !/\s/.test(text[i]!))) {
      if (text[i] === '"') q = !q;
      else tok += text[i];
      i++;
    }
    const eq = tok.indexOf('=');
    out.push(eq < 0 ? [tok, ''] : [tok.slice(0, eq).replace(/-/g, '_'), tok.slice(eq + 1)]);
  }
  return out;
}

/** networks= syntax: "tcp0(eth1),o2ib(ib0[0,1])[2]" -> nets with interface names. */
export function parseNetworks(spec: string): Array<{ net: number; ifs: string[] }> {
  const out: Array<{ net: number; ifs: string[] }> = [];
  const s = spec.replace(/\s+/g, '');
  let i = 0;
  while (i < s.length) {
    let name = '';
    while (i < s.length && /[a-z0-9]/i.test(s[i]!)) name += s[i++];
    const net = str2net(name);
    if (net === undefined) kerr(E.EINVAL, `bad net '${name}' in networks`);
    const ifs: string[] = [];
    if (s[i] === '(') {
      const close = s.indexOf(')', i);
      if (close < 0) kerr(E.EINVAL, 'unbalanced ( in networks');
      for (const part of s.slice(i + 1, close).replace(/\[[^\]]*\]/g, '').split(',')) if (part) ifs.push(part);
      i = close + 1;
    }
    if (s[i] === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) kerr(E.EINVAL, 'unbalanced [ in networks');
      i = close + 1;
    }
    if (i < s.length && s[i] !== ',') kerr(E.EINVAL, 'syntax error in networks');
    i++;
    out.push({ net: net!, ifs });
  }
  return out;
}

// ------------------------------------------------------------------ world
export interface PingResult {
  target: Host;
  nids: bigint[];
  primary: bigint;
  mr: boolean;
}

export class World {
  readonly hosts = new Map<string, Host>();
  faults: Array<FaultRule & { host?: string }> = [];
  private clock = 0;
  constructor(readonly release: Release) {}

  tick(): number {
    return ++this.clock;
  }
  addHost(spec: HostSpec): Host {
    const h = new Host(this, spec.name, spec.ifaces, spec.cpts);
    this.hosts.set(spec.name, h);
    return h;
  }

  /** Consume a matching fault rule (next N operations of a kind fail with errno). */
  fault(host: Host, ...kinds: string[]): void {
    for (const f of this.faults) {
      if (f.count <= 0 || (f.host !== undefined && f.host !== host.name)) continue;
      if (!kinds.includes(f.op)) continue;
      f.count--;
      this.faults = this.faults.filter((x) => x.count > 0);
      kerr(f.errno, 'injected fault');
    }
  }

  /** The host whose running LNet owns a NID. */
  owner(nid: bigint): Host | undefined {
    for (const h of this.hosts.values()) if (h.running() && h.allNis().some((n) => n.nid === nid)) return h;
    return undefined;
  }

  /** Can the gateway `gw` (seen from `from`) forward to `net`? */
  gatewayForwards(from: Host, gw: bigint, net: number, depth: number): boolean {
    if (depth > 8) return false;
    const g = this.owner(gw);
    if (!g || g === from || g.unreachable || from.unreachable || !g.lnet?.routing) return false;
    if (g.localNet(net)) return true;
    return (g.lnet?.routes ?? []).some((r) => r.net === net && this.gatewayForwards(g, r.gw, net, depth + 1));
  }

  /**
   * Where a message from `src` to `nid` ends up: the owner host, or an errno
   * (EHOSTUNREACH: no usable route; ETIMEDOUT: nobody answers).
   */
  resolve(src: Host, nid: bigint): { host: Host } | { errno: number } {
    const net = nidNet(nid);
    if (netType(net) === LND.LOLND) return { host: src };
    if (src.allNis().some((n) => n.nid === nid)) return { host: src };
    if (!src.localNet(net)) {
      const routes = (src.lnet?.routes ?? []).filter((r) => r.net === net);
      if (routes.length === 0 || !routes.some((r) => src.routeAlive(r))) return { errno: E.EHOSTUNREACH };
    }
    const o = this.owner(nid);
    if (!o || o.unreachable || src.unreachable) return { errno: E.ETIMEDOUT };
    return { host: o };
  }

  /** lnet_ping / discovery from `src`; the caller waits `timeoutMs` on ETIMEDOUT. */
  ping(src: Host, nid: bigint, discover: boolean): PingResult | { errno: number } {
    const r = this.resolve(src, nid);
    const c = src.ln.counters;
    c.send++;
    c.sendLength += 48n;
    if ('errno' in r) {
      if (r.errno === E.ETIMEDOUT) c.drop++;
      return r;
    }
    const t = r.host;
    c.recv++;
    c.recvLength += BigInt(16 + 16 * t.niCount());
    // the path UDSP and Multi-Rail choose (udsp.ts); the asked NID's net otherwise
    const path = selectPath(src, nid, peerCandidates(src, nid));
    const srcNi = src.allNis().find((n) => n.nid === path?.local) ?? src.allNis().find((n) => nidNet(n.nid) === nidNet(nid)) ?? src.allNis()[0];
    if (srcNi) {
      srcNi.send++;
      srcNi.recv++;
      srcNi.sent.get++;
      srcNi.received.reply++;
    }
    const tc = t.ln.counters;
    tc.recv++;
    tc.send++;
    const nids = t.nidList();
    const primary = t.primaryNid() ?? NID_LO_0;
    const mr = t.paramNum('lnet', 'lnet_peer_discovery_disabled') === 0;
    if (t !== src && netType(nidNet(nid)) !== LND.LOLND) {
      let peer = src.findPeer(nid) ?? src.findPeer(primary);
      if (!peer) {
        peer = { primary: discover ? primary : nid, mr: false, configured: false, lockPrim: false, nis: [nid], state: 0 };
        src.ln.peers.push(peer);
      }
      if (discover && mr && src.paramNum('lnet', 'lnet_peer_discovery_disabled') === 0) {
        peer.mr = true;
        for (const n of nids) if (netType(nidNet(n)) !== LND.LOLND && !peer.nis.includes(n) && !src.findPeer(n)) peer.nis.push(n);
      }
    }
    return { target: t, nids, primary, mr };
  }
}

export const LNET_PID = PID_LUSTRE;
export { net2str, nid2str };
