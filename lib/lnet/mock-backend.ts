/**
 * In-memory LNet backend: a behavioural model of one node's LNet kernel
 * (modules with holders and refcounts, LNet up/down with the self-configure
 * flag and the users' reference count, nets, routes, peers, routing buffers,
 * module parameters with the kernel's validators, Lustre devices), with the
 * kernel's errno rules (reference lnet.md 1.6, 1.7, 2.3, 3.4, 6). It answers
 * on a later tick like the native backend, records every call, and has test
 * controls: fault injection, remote nodes to ping, simulated Lustre use.
 */
import type { LnetBackend } from './backend.js';
import { LnetKernelError } from './errors.js';
import { globalDef, globalForParam } from './globals.js';
import { LND, NetId, Nid, lndModule } from './nid.js';
import { effectiveNetworks, parseIp2nets, ip2netsToNetworks, parseRoutes, type NetworkSpec } from './params.js';
import type {
  BufferPool,
  BufferSpec,
  Counters,
  LnetBackendInfo,
  LnetRelease,
  LoadedModule,
  LustreDevice,
  ModuleInsertion,
  NetInfo,
  NiAddSpec,
  NiInfo,
  NiTunables,
  PeerDelSpec,
  PeerInfo,
  PeerNiInfo,
  PeerSpec,
  PingOptions,
  PingResult,
  RouteInfo,
  RouteSpec,
  RoutingInfo,
  SettableGlobalKey,
} from './types.js';
import { STATS_KEYS } from './types.js';

/** Module catalog: name, directory under extra/kernel, direct dependencies. */
const CATALOG: Record<string, { dir: string; deps: string[] }> = {
  libcfs: { dir: 'net/lustre', deps: [] },
  lnet: { dir: 'net/lustre', deps: ['libcfs'] },
  ksocklnd: { dir: 'net/lustre', deps: ['lnet', 'libcfs'] },
  ko2iblnd: { dir: 'net/lustre', deps: ['lnet', 'libcfs'] },
  lnet_selftest: { dir: 'net/lustre', deps: ['lnet', 'libcfs'] },
  obdclass: { dir: 'fs/lustre', deps: ['lnet', 'libcfs'] },
  ptlrpc: { dir: 'fs/lustre', deps: ['obdclass', 'lnet', 'libcfs'] },
  fld: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  fid: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  lov: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  mdc: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  lmv: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  osc: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  mgc: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  lustre: { dir: 'fs/lustre', deps: ['lmv', 'mdc', 'lov', 'osc', 'mgc', 'fid', 'fld', 'ptlrpc', 'obdclass', 'lnet', 'libcfs'] },
  lquota: { dir: 'fs/lustre', deps: ['ptlrpc', 'obdclass', 'libcfs'] },
  osd_zfs: { dir: 'fs/lustre', deps: ['lquota', 'ptlrpc', 'obdclass', 'libcfs'] },
  mgs: { dir: 'fs/lustre', deps: ['mgc', 'osd_zfs', 'lquota', 'fid', 'fld', 'ptlrpc', 'obdclass', 'lnet', 'libcfs'] },
};

/** Parameters of the modelled modules: default value, writable, validator (returns an error text). */
interface ParamDef {
  def: string;
  rw: boolean;
  check?: (v: number) => string | undefined;
}
const uint = (v: number): string | undefined => (Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? undefined : 'not an unsigned integer');
/** Writable lnet parameters that back lnetctl globals are checked with the shared rules (globals.ts). */
const rwGlobal = (def: string): ParamDef => ({ def, rw: true });
const LNET_PARAMS: Record<string, ParamDef> = {
  networks: { def: '', rw: false },
  ip2nets: { def: '', rw: false },
  routes: { def: '', rw: false },
  forwarding: { def: '', rw: false },
  config_on_load: { def: '0', rw: false },
  lnet_numa_range: { def: '0', rw: false },
  lnet_interfaces_max: rwGlobal('4096'),
  lnet_peer_discovery_disabled: rwGlobal('0'),
  lnet_drop_asym_route: rwGlobal('0'),
  lnet_transaction_timeout: rwGlobal('150'),
  lnet_retry_count: rwGlobal('2'),
  lnet_health_sensitivity: rwGlobal('100'),
  lnet_recovery_interval: rwGlobal('1'),
  lnet_recovery_limit: rwGlobal('0'),
  lnet_max_recovery_ping_interval: rwGlobal('900'),
  lnet_response_tracking: rwGlobal('3'),
  router_sensitivity_percentage: rwGlobal('100'),
  tiny_router_buffers: { def: '0', rw: false },
  small_router_buffers: { def: '0', rw: false },
  large_router_buffers: { def: '0', rw: false },
  accept: { def: 'secure', rw: false },
  accept_port: { def: '988', rw: false },
  lock_prim_nid: { def: '1', rw: false },
};
const LND_PARAMS: Record<string, Record<string, ParamDef>> = {
  ksocklnd: { sock_timeout: { def: '50', rw: true, check: uint }, credits: { def: '256', rw: false }, peer_credits: { def: '8', rw: false }, conns_per_peer: { def: '1', rw: true, check: uint }, tos: { def: '-1', rw: true } },
  ko2iblnd: { timeout: { def: '50', rw: true, check: uint }, credits: { def: '256', rw: false }, peer_credits: { def: '8', rw: false }, conns_per_peer: { def: '1', rw: true, check: uint } },
};

export interface MockInterface {
  name: string;
  /** IPv4 (or IPv6) address. */
  ip: string;
  /** 'ib' for IPoIB (usable by o2ib), 'ether' otherwise. */
  kind?: 'ether' | 'ib';
}

/** Another node, reachable by ping/discover over a shared net. */
export interface MockRemote {
  nids: string[];
  /** Defaults to nids[0]. */
  primaryNid?: string;
  multiRail?: boolean;
  /** Unreachable: pings time out. */
  down?: boolean;
  /** NIDs this node reaches as a router (its other nets). */
}

export interface MockLnetOptions {
  release?: LnetRelease;
  interfaces?: MockInterface[];
  /** Number of CPTs (default 2). */
  cpts?: number;
  /** Act as root (default true); false makes privileged operations fail with EPERM. */
  root?: boolean;
  remotes?: MockRemote[];
  /** Modules that do not exist on this node (e.g. ['ko2iblnd']). */
  missingModules?: string[];
}

interface NiState {
  nid: Nid;
  iface: string | undefined;
  status: 'up' | 'down';
  tunables: NiTunables;
  lndTunables: Counters;
  cpts: number[];
  devCpt: number;
  stats: { send_count: number; recv_count: number; drop_count: number };
}
interface NetState {
  net: NetId;
  nis: NiState[];
}
interface RouteState {
  net: NetId;
  gateway: Nid;
  hop: number;
  priority: number;
}
interface PeerState {
  primary: Nid;
  multiRail: boolean;
  configured: boolean;
  lockPrim: boolean;
  nis: Nid[];
}

export interface MockCall {
  op: string;
  args: unknown[];
  error?: string;
}

/** Keys the 2.15/2.16 kernels do not have (master only, reference 4.2). */
const MASTER_ONLY_STATS = new Set(['failed_resends', 'successful_resends']);

function pool(npages: number, n: number): BufferPool {
  return { npages, nbuffers: n, credits: n, mincredits: n };
}

export class MockLnetBackend implements LnetBackend {
  readonly kind = 'mock' as const;
  readonly release: LnetRelease;
  readonly interfaces: MockInterface[];
  readonly ncpts: number;
  root: boolean;
  readonly remotes: MockRemote[];
  readonly missingModules: Set<string>;

  // kernel state (public for tests that set counters)
  loaded = new Map<string, { params: Record<string, string>; refcount: number }>();
  params = new Map<string, Map<string, string>>();
  up = false;
  refcount = 0;
  niinitSelf = false;
  nisFromModParams = false;
  netsState: NetState[] = [];
  routesState: RouteState[] = [];
  routingEnabled = false;
  bufferTotals = { tiny: 0, small: 0, large: 0 };
  peersState: PeerState[] = [];
  counters: Counters = Object.fromEntries(STATS_KEYS.map((k) => [k, 0]));
  numaRange = 0;
  /** Credit counters reported for a peer NI (by NID), for tests that need given values. */
  peerCredits = new Map<string, Counters>();
  devices: LustreDevice[] = [];
  /** Every call, in order (test recording). */
  readonly calls: MockCall[] = [];
  private faults: { op: string; code: string; count: number }[] = [];

  constructor(opts: MockLnetOptions = {}) {
    this.release = opts.release ?? '2.16';
    this.interfaces = opts.interfaces ?? [{ name: 'eth0', ip: '192.168.1.10' }];
    this.ncpts = opts.cpts ?? 2;
    this.root = opts.root ?? true;
    this.remotes = opts.remotes ?? [];
    this.missingModules = new Set(opts.missingModules ?? []);
  }

  // --- test controls -------------------------------------------------------
  /** Make the next `count` calls of `op` (a method name such as 'addRoute') fail with errno `code`. */
  failNext(op: string, code: string, count = 1): void {
    this.faults.push({ op, code, count });
  }

  /**
   * Simulate Lustre use: 'client' loads the client stack (as a mount would,
   * LNet comes up through ptlrpc); 'mgs' also loads the MGS and lists the
   * devices of a mounted MGT, as on the wiki page.
   */
  async startLustre(kind: 'client' | 'mgs'): Promise<void> {
    await this.loadModule(kind === 'mgs' ? 'mgs' : 'lustre');
    if (kind === 'mgs') {
      const nid = this.firstNid() ?? '0@lo';
      this.devices = [
        { index: 0, status: 'UP', type: 'osd-zfs', name: 'MGS-osd', uuid: 'MGS-osd_UUID', refcount: 5 },
        { index: 1, status: 'UP', type: 'mgs', name: 'MGS', uuid: 'MGS', refcount: 7 },
        { index: 2, status: 'UP', type: 'mgc', name: `MGC${nid}`, uuid: 'c2108a9c-a62f-6626-48e4-68f1caf1bce3', refcount: 5 },
      ];
      for (const m of ['mgs', 'mgc', 'osd_zfs']) this.loaded.get(m)!.refcount++;
    }
  }

  /** Unmount: the devices go away and release their module references. */
  stopLustre(): void {
    if (this.devices.length > 0) for (const m of ['mgs', 'mgc', 'osd_zfs']) if (this.loaded.has(m)) this.loaded.get(m)!.refcount--;
    this.devices = [];
  }

  /** A global's current value as the kernel holds it (numa range from the ioctl state). */
  globalValue(k: SettableGlobalKey): number {
    const d = globalDef(k)!;
    if (d.param === 'ioctl') return this.numaRange;
    const v = this.paramNum('lnet', d.param);
    return d.inverted ? (v ? 0 : 1) : v;
  }

  paramNum(module: string, name: string): number {
    return Number(this.params.get(module)?.get(name) ?? 0);
  }

  // --- helpers -------------------------------------------------------------
  private async enter(op: string, args: unknown[], opts: { priv?: boolean } = {}): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    const call: MockCall = { op, args };
    this.calls.push(call);
    if (opts.priv && !this.root) throw this.err(call, 'EPERM', op, 'Operation not permitted (needs CAP_NET_ADMIN)');
    const f = this.faults.find((x) => x.op === op && x.count > 0);
    if (f) {
      f.count--;
      if (f.count === 0) this.faults.splice(this.faults.indexOf(f), 1);
      throw this.err(call, f.code, op, `injected failure (${f.code})`);
    }
  }

  private err(call: MockCall | undefined, code: string, op: string, msg?: string): LnetKernelError {
    const e = new LnetKernelError(code, op, msg);
    if (call) call.error = code;
    else if (this.calls.length) this.calls[this.calls.length - 1]!.error = code;
    return e;
  }

  private fail(code: string, op: string, msg?: string): never {
    throw this.err(undefined, code, op, msg);
  }

  /** 2.16+ talks netlink for nets and peers, whose handlers refuse some requests with other errnos than the ioctls. */
  private get netlink(): boolean {
    return this.release !== '2.15';
  }

  private requireLnet(op: string): void {
    if (!this.loaded.has('lnet')) this.fail('ENODEV', op, 'LNET is currently not loaded');
  }

  /** The temporary reference every non-config ioctl takes: ENETDOWN when LNet is not running. */
  private requireUp(op: string): void {
    this.requireLnet(op);
    if (!this.up) this.fail('ENETDOWN', op, 'Network is down');
  }

  private firstNid(): string | undefined {
    for (const n of this.netsState) for (const ni of n.nis) if (!ni.nid.isLo) return ni.nid.toString();
    return undefined;
  }

  private localNets(): NetId[] {
    return this.netsState.map((n) => n.net);
  }

  private lndTimeoutValue(): number {
    const tt = this.paramNum('lnet', 'lnet_transaction_timeout');
    const rc = this.paramNum('lnet', 'lnet_retry_count');
    return Math.max(1, Math.floor((tt - 1) / (rc + 1)));
  }

  private defaultLndTunables(net: NetId): Counters {
    const t = this.lndTimeoutValue();
    if (net.type === LND.O2IBLND)
      return { peercredits_hiw: 4, map_on_demand: 1, concurrent_sends: 8, fmr_pool_size: 512, fmr_flush_trigger: 384, fmr_cache: 1, ntx: 512, conns_per_peer: 1, timeout: t, tos: -1 };
    if (net.type === LND.LOLND) return {};
    return { conns_per_peer: 1, timeout: t, tos: -1 };
  }

  private loadOne(name: string, params: Record<string, string>, out: ModuleInsertion[]): void {
    if (this.loaded.has(name)) return;
    const cat = CATALOG[name];
    if (!cat || this.missingModules.has(name)) this.fail('ENOENT', `modprobe ${name}`, `Module ${name} not found in directory /lib/modules/6.1.0-hpcnet`);
    for (const d of [...cat.deps].reverse()) this.loadOne(d, {}, out);
    const defs = name === 'lnet' ? LNET_PARAMS : (LND_PARAMS[name] ?? {});
    for (const k of Object.keys(params)) if (!(k in defs)) this.fail('EINVAL', `insmod ${name}`, `unknown parameter '${k}' ignored... refusing: ${name}: Unknown symbol in module, or unknown parameter`);
    const values = new Map(Object.entries(defs).map(([k, d]) => [k, d.def]));
    for (const [k, v] of Object.entries(params)) values.set(k, v);
    this.params.set(name, values);
    this.loaded.set(name, { params, refcount: 0 });
    out.push({
      name,
      path: `/lib/modules/6.1.0-hpcnet/extra/kernel/${cat.dir}/${name}.ko`,
      params: Object.entries(params)
        .map(([k, v]) => `${k}="${v}"`)
        .join(' '),
    });
    if (name === 'ptlrpc') this.niInit('ptlrpc');
    if (name === 'lnet' && values.get('config_on_load') === '1') {
      this.niinitSelf = true;
      this.niInit('config_on_load');
    }
  }

  private holdersOf(name: string): string[] {
    return [...this.loaded.keys()].filter((m) => CATALOG[m]?.deps.includes(name));
  }

  /** LNetNIInit: the first user brings LNet up (lo + module-parameter NIs unless suppressed). */
  private niInit(op: string): void {
    this.refcount++;
    if (this.up) return;
    this.up = true;
    this.netsState = [{ net: new NetId(LND.LOLND, 0), nis: [this.makeNi(Nid.LO, undefined)] }];
    this.bufferTotals = { tiny: 512, small: 4096, large: 256 };
    if (this.nisFromModParams) return;
    const p = this.params.get('lnet')!;
    let specs: NetworkSpec[];
    const networks = p.get('networks') ?? '';
    const ip2nets = p.get('ip2nets') ?? '';
    try {
      if (networks && ip2nets) this.fail('EINVAL', op, "Please specify EITHER 'networks' or 'ip2nets' but not both at once");
      specs = ip2nets ? ip2netsToNetworks(parseIp2nets(ip2nets), this.interfaces.map((i) => i.ip)) : effectiveNetworks(networks);
      for (const s of specs) this.addNiInternal({ net: s.net.toString(), interfaces: s.interfaces.map((i) => i.name), ...(s.cpts ? { cpts: s.cpts } : {}) }, op);
      const routes = p.get('routes') ?? '';
      if (routes) for (const r of parseRoutes(routes)) for (const g of r.gateways) this.addRouteInternal({ net: r.net.toString(), gateway: g.nid.toString(), hop: r.hops, priority: g.priority }, op, true);
    } catch (e) {
      this.shutdown();
      this.refcount = 0;
      throw e instanceof LnetKernelError ? e : this.err(undefined, 'ENETDOWN', op, `Network is down: ${(e as Error).message}`);
    }
  }

  private shutdown(): void {
    for (const n of this.netsState) for (const ni of n.nis) this.releaseLnd(ni.nid.net);
    this.up = false;
    this.niinitSelf = false;
    this.netsState = [];
    this.routesState = [];
    this.peersState = [];
    this.routingEnabled = false;
  }

  private niFini(): void {
    if (this.refcount > 0) this.refcount--;
    if (this.refcount === 0 && this.up) this.shutdown();
  }

  private makeNi(nid: Nid, iface: string | undefined, spec?: NiAddSpec): NiState {
    const lo = nid.isLo;
    const t = spec?.tunables ?? {};
    const pos = (v: number | undefined, d: number): number => (v === undefined || v < 0 ? d : v === 0 ? d : v);
    return {
      nid,
      iface,
      status: 'up',
      tunables: lo
        ? { peer_timeout: 0, peer_credits: 0, peer_buffer_credits: 0, credits: 0 }
        : {
            peer_timeout: t.peer_timeout === undefined || t.peer_timeout < 0 ? 180 : t.peer_timeout,
            peer_credits: pos(t.peer_credits, 8),
            peer_buffer_credits: t.peer_buffer_credits === undefined || t.peer_buffer_credits < 0 ? 0 : t.peer_buffer_credits,
            credits: pos(t.credits, 256),
          },
      lndTunables: { ...this.defaultLndTunables(nid.net), ...(lo ? {} : (spec?.lndTunables ?? {})) },
      cpts: spec?.cpts ?? Array.from({ length: this.ncpts }, (_, i) => i),
      devCpt: lo ? -1 : 0,
      stats: { send_count: 0, recv_count: 0, drop_count: 0 },
    };
  }

  private acquireLnd(net: NetId, op: string): void {
    const mod = lndModule(net.type);
    if (!mod) return;
    if (!this.loaded.has(mod)) {
      try {
        this.loadOne(mod, {}, []);
      } catch {
        this.fail('EINVAL', op, `cannot load LND module ${mod}`);
      }
    }
    this.loaded.get(mod)!.refcount++;
  }

  private releaseLnd(net: NetId): void {
    const mod = lndModule(net.type);
    const m = mod ? this.loaded.get(mod) : undefined;
    if (m && m.refcount > 0) m.refcount--;
  }

  private addNiInternal(spec: NiAddSpec, op: string): void {
    let net: NetId;
    try {
      net = NetId.parse(spec.net);
    } catch {
      this.fail('EINVAL', op, `invalid net '${spec.net}'`);
    }
    if (net.isLo) this.fail('EINVAL', op, 'cannot add lo');
    if (!net.lndName || !lndModule(net.type)) this.fail('ENOENT', op, `no LND for net ${spec.net}`);
    if (this.routesState.some((r) => r.net.equals(net))) this.fail('EUSERS', op, `net ${net.toString()} is a remote (routed) net`);
    for (const c of spec.cpts ?? []) if (c >= this.ncpts) this.fail('ERANGE', op, `CPT ${c} out of range (${this.ncpts} CPTs)`);
    const wanted: { nid: Nid; iface: string | undefined }[] = [];
    if (spec.nid) {
      const nid = Nid.parse(spec.nid);
      const ifc = this.interfaces.find((i) => i.ip === nid.toString().split('@')[0]);
      if (!ifc) this.fail('EINVAL', op, `no interface has address ${nid.toString()}`);
      wanted.push({ nid, iface: ifc.name });
    } else {
      let names = spec.interfaces ?? [];
      if (names.length === 0) {
        const want = net.type === LND.O2IBLND ? 'ib' : 'ether';
        const def = this.interfaces.find((i) => (i.kind ?? (i.name.startsWith('ib') ? 'ib' : 'ether')) === want);
        if (!def) this.fail('ENETDOWN', op, `no usable interface for ${net.toString()}`);
        names = [def.name];
      }
      for (const n of names) {
        const ifc = this.interfaces.find((i) => i.name === n);
        if (!ifc) this.fail(this.netlink ? 'ENODEV' : 'EINVAL', op, `couldn't query intf ${n}`);
        const kind = ifc.kind ?? (ifc.name.startsWith('ib') ? 'ib' : 'ether');
        if (net.type === LND.O2IBLND && kind !== 'ib') this.fail('ENODEV', op, `${n} is not an IPoIB interface`);
        wanted.push({ nid: Nid.parse(`${ifc.ip}@${net.toString()}`), iface: n });
      }
    }
    let ns = this.netsState.find((n) => n.net.equals(net));
    for (const w of wanted) if (ns?.nis.some((ni) => ni.nid.equals(w.nid))) this.fail('EEXIST', op, `NI ${w.nid.toString()} already exists`);
    const maxIf = this.paramNum('lnet', 'lnet_interfaces_max');
    const total = this.netsState.reduce((n, x) => n + x.nis.length, 0);
    if (total + wanted.length > maxIf) this.fail('ENOSPC', op, 'too many NIs, check lnet_interfaces_max');
    if (!ns) {
      ns = { net, nis: [] };
      this.netsState.push(ns);
    }
    for (const w of wanted) {
      this.acquireLnd(net, op);
      ns.nis.push(this.makeNi(w.nid, w.iface, spec));
    }
  }

  private addRouteInternal(r: RouteSpec, op: string, fromParams = false): void {
    let net: NetId;
    let gw: Nid;
    try {
      net = NetId.parse(r.net);
      gw = Nid.parse(r.gateway);
    } catch {
      this.fail('EINVAL', op, `bad route ${r.net} ${r.gateway}`);
    }
    const hop = r.hop ?? -1;
    if (net.isLo || gw.isLo || gw.net.equals(net)) this.fail('EINVAL', op, 'bad gateway or net');
    if (hop !== -1 && (hop < 1 || hop > 255)) this.fail('EINVAL', op, `hop ${hop} out of range 1-255`);
    if (this.localNets().some((n) => n.equals(net))) this.fail('EEXIST', op, `net ${net.toString()} is local`);
    if (this.routesState.some((x) => x.net.equals(net) && x.gateway.equals(gw))) this.fail('EEXIST', op, 'route exists');
    if (!this.localNets().some((n) => n.equals(gw.net)) && !fromParams)
      this.fail('EHOSTUNREACH', op, `Cannot add route with gateway ${gw.toString()}. There is no local interface configured on LNet ${gw.net.toString()}`);
    this.routesState.push({ net, gateway: gw, hop, priority: r.priority ?? 0 });
  }

  private isGatewayAlive(gw: Nid): boolean {
    if (!this.localNets().some((n) => n.equals(gw.net))) return false;
    const rem = this.remotes.find((x) => x.nids.some((n) => Nid.parse(n).equals(gw)));
    return !!rem && !rem.down;
  }

  private ownNids(): Nid[] {
    return this.netsState.flatMap((n) => n.nis.map((ni) => ni.nid));
  }

  // --- LnetBackend -----------------------------------------------------------
  async info(): Promise<LnetBackendInfo> {
    await this.enter('info', []);
    return { release: this.loaded.has('lnet') || this.loaded.has('libcfs') ? this.release : undefined, transport: this.release === '2.15' ? 'ioctl' : 'netlink' };
  }

  async modules(): Promise<LoadedModule[]> {
    await this.enter('modules', []);
    return [...this.loaded.entries()].map(([name, m]) => {
      const holders = this.holdersOf(name);
      return { name, refcount: m.refcount + holders.length + (name === 'lnet' && this.up ? 1 : 0), holders };
    });
  }

  async loadModule(name: string, params: Record<string, string> = {}): Promise<ModuleInsertion[]> {
    await this.enter('loadModule', [name, params], { priv: true });
    const out: ModuleInsertion[] = [];
    this.loadOne(name, params, out);
    return out;
  }

  async removeModule(name: string): Promise<void> {
    await this.enter('removeModule', [name], { priv: true });
    const m = this.loaded.get(name);
    if (!m) this.fail('ENOENT', `rmmod ${name}`, `Module ${name} is not currently loaded`);
    const holders = this.holdersOf(name);
    const busy = m.refcount > 0 || holders.length > 0 || (name === 'lnet' && this.up);
    if (busy) this.fail('EBUSY', `rmmod ${name}`, `Module ${name} is in use${holders.length ? ' by: ' + holders.join(' ') : ''}`);
    if (name === 'ptlrpc') this.niFini();
    this.loaded.delete(name);
    this.params.delete(name);
  }

  async readParam(module: string, name: string): Promise<string> {
    await this.enter('readParam', [module, name]);
    const v = this.params.get(module)?.get(name);
    if (v === undefined) this.fail('ENOENT', `read /sys/module/${module}/parameters/${name}`);
    return v;
  }

  async writeParam(module: string, name: string, value: string): Promise<void> {
    await this.enter('writeParam', [module, name, value], { priv: true });
    const vals = this.params.get(module);
    const op = `write /sys/module/${module}/parameters/${name}`;
    if (!vals || !vals.has(name)) this.fail('ENOENT', op);
    const def = (module === 'lnet' ? LNET_PARAMS : (LND_PARAMS[module] ?? {}))[name];
    if (!def?.rw) this.fail('EACCES', op, 'read-only parameter');
    const t = value.replace(/\0$/, '').trim();
    const g = module === 'lnet' ? globalForParam(name) : undefined;
    if (def.check || g) {
      if (!/^-?\d+$/.test(t)) this.fail('EINVAL', op, `'${t}' is not a number`);
      const n = Number(t);
      const why = g ? g.check(g.inverted ? (n === 0 ? 1 : n === 1 ? 0 : n) : n, (k) => this.globalValue(k)) : def.check!(n);
      if (why) this.fail('EINVAL', op, `${name}: ${why}`);
    }
    vals.set(name, t);
  }

  async lustreDevices(): Promise<LustreDevice[]> {
    await this.enter('lustreDevices', []);
    return this.devices.map((d) => ({ ...d }));
  }

  async configure(opts: { all: boolean; large?: boolean }): Promise<void> {
    await this.enter('configure', [opts], { priv: true });
    this.requireLnet('configure');
    if (this.niinitSelf) return;
    this.nisFromModParams = !opts.all;
    this.niInit('configure');
    this.niinitSelf = true;
  }

  async unconfigure(): Promise<void> {
    await this.enter('unconfigure', [], { priv: true });
    this.requireLnet('unconfigure');
    if (this.niinitSelf) {
      this.niinitSelf = false;
      this.niFini();
    }
    if (this.refcount > 0) this.fail('EBUSY', 'unconfigure', 'LNET busy');
  }

  private niInfo(n: NiState): NiInfo {
    const zero = { put: 0, get: 0, reply: 0, ack: 0, hello: 0 };
    return {
      nid: n.nid.toString(),
      status: n.status,
      interfaces: n.iface ? [n.iface] : [],
      statistics: { ...n.stats },
      sentStats: { ...zero },
      receivedStats: { ...zero },
      droppedStats: { ...zero },
      health: { fatal_error: 0, 'health value': 1000, interrupts: 0, dropped: 0, aborted: 0, 'no route': 0, timeouts: 0, error: 0, ping_count: 0, next_ping: 0 },
      tunables: { ...n.tunables },
      lndTunables: { ...n.lndTunables },
      devCpt: n.devCpt,
      cpts: [...n.cpts],
      udsp: { netPriority: -1, nidPriority: -1 },
    };
  }

  async nets(detail: number, net?: string): Promise<NetInfo[]> {
    await this.enter('nets', [detail, net]);
    this.requireUp('nets');
    let list = this.netsState;
    if (net !== undefined) {
      const id = NetId.parse(net);
      list = list.filter((n) => n.net.equals(id));
      if (list.length === 0) this.fail('ENOENT', 'nets', `net ${net} not found`);
    }
    return list.map((n) => ({ net: n.net.toString(), nis: n.nis.map((ni) => this.niInfo(ni)) }));
  }

  async addNi(spec: NiAddSpec): Promise<void> {
    await this.enter('addNi', [spec], { priv: true });
    this.requireLnet('addNi');
    if (!this.up && this.netlink) this.fail('ESHUTDOWN', 'addNi', 'LNet is not running');
    if (!this.niinitSelf) this.fail('EINVAL', 'addNi', 'LNet was not configured by lnetctl/lctl (not self-initialised)');
    this.addNiInternal(spec, 'addNi');
  }

  async delNi(net: string, nid?: string): Promise<void> {
    await this.enter('delNi', [net, nid], { priv: true });
    this.requireLnet('delNi');
    if (!this.niinitSelf) this.fail('EINVAL', 'delNi', 'LNet was not configured by lnetctl/lctl (not self-initialised)');
    const id = NetId.parse(net);
    if (id.isLo) this.fail(this.netlink ? 'ENODEV' : 'EINVAL', 'delNi', 'cannot delete lo');
    const ns = this.netsState.find((n) => n.net.equals(id));
    if (!ns) this.fail(this.netlink ? 'EINVAL' : 'ENOENT', 'delNi', `net ${net} not found`);
    if (nid !== undefined) {
      const target = Nid.parse(nid);
      const i = ns.nis.findIndex((ni) => ni.nid.equals(target));
      if (i < 0) this.fail('ENOENT', 'delNi', `NI ${nid} not found`);
      ns.nis.splice(i, 1);
      this.releaseLnd(id);
      if (ns.nis.length > 0) return;
    } else for (const _ of ns.nis) this.releaseLnd(id);
    this.netsState.splice(this.netsState.indexOf(ns), 1);
  }

  async routes(detail: number): Promise<RouteInfo[]> {
    await this.enter('routes', [detail]);
    this.requireUp('routes');
    return this.routesState.map((r) => ({
      net: r.net.toString(),
      gateway: r.gateway.toString(),
      hop: r.hop,
      priority: r.priority,
      state: this.isGatewayAlive(r.gateway) ? 'up' : 'down',
      type: r.hop > 1 ? 'multi-hop' : 'single-hop',
    }));
  }

  async addRoute(r: RouteSpec): Promise<void> {
    await this.enter('addRoute', [r], { priv: true });
    this.requireUp('addRoute');
    this.addRouteInternal(r, 'addRoute');
  }

  async delRoute(r: { net: string; gateway?: string }): Promise<void> {
    await this.enter('delRoute', [r], { priv: true });
    this.requireUp('delRoute');
    const id = NetId.parse(r.net);
    if (!this.routesState.some((x) => x.net.equals(id))) this.fail('ENOENT', 'delRoute', `no route to ${r.net}`);
    const gw = r.gateway !== undefined ? Nid.parse(r.gateway) : undefined;
    this.routesState = this.routesState.filter((x) => !(x.net.equals(id) && (!gw || x.gateway.equals(gw))));
  }

  async routing(): Promise<RoutingInfo> {
    await this.enter('routing', []);
    this.requireUp('routing');
    const per = (n: number): number => Math.floor(n / this.ncpts);
    const cpts = Array.from({ length: this.ncpts }, () => ({
      tiny: pool(0, per(this.bufferTotals.tiny)),
      small: pool(1, per(this.bufferTotals.small)),
      large: pool(256, per(this.bufferTotals.large)),
    }));
    return { enabled: this.routingEnabled, cpts, buffers: { ...this.bufferTotals } };
  }

  async setRouting(enabled: boolean): Promise<void> {
    await this.enter('setRouting', [enabled], { priv: true });
    this.requireUp('setRouting');
    this.routingEnabled = enabled;
  }

  async setBuffers(b: BufferSpec): Promise<void> {
    await this.enter('setBuffers', [b], { priv: true });
    this.requireUp('setBuffers');
    if (!this.routingEnabled) return; // the kernel ignores it while routing is disabled
    for (const k of ['tiny', 'small', 'large'] as const) {
      const v = b[k];
      if (v === undefined || v < 0) continue;
      this.bufferTotals[k] = v;
    }
  }

  private peerInfo(p: PeerState): PeerInfo {
    const zero = { put: 0, get: 0, reply: 0, ack: 0, hello: 0 };
    const localUp = (n: Nid): boolean => this.localNets().some((x) => x.equals(n.net));
    return {
      primaryNid: p.primary.toString(),
      multiRail: p.multiRail,
      state: p.configured ? 0x1 : 0,
      nis: p.nis.map(
        (n): PeerNiInfo => ({
          nid: n.toString(),
          state: localUp(n) ? 'up' : 'NA',
          credits: { ...(this.peerCredits.get(n.toString()) ?? { max_ni_tx_credits: 8, available_tx_credits: 8, min_tx_credits: 8, tx_q_num_of_buf: 0, available_rtr_credits: 8, min_rtr_credits: 8, refcount: 1 }) },
          statistics: { send_count: 0, recv_count: 0, drop_count: 0 },
          sentStats: { ...zero },
          receivedStats: { ...zero },
          droppedStats: { ...zero },
          health: { 'health value': 1000, dropped: 0, timeout: 0, error: 0, 'network timeout': 0, ping_count: 0, next_ping: 0 },
        }),
      ),
    };
  }

  private findPeer(nid: Nid): PeerState | undefined {
    return this.peersState.find((p) => p.primary.equals(nid) || p.nis.some((n) => n.equals(nid)));
  }

  async peers(detail: number, nid?: string): Promise<PeerInfo[]> {
    await this.enter('peers', [detail, nid]);
    this.requireUp('peers');
    if (nid !== undefined) {
      const p = this.findPeer(Nid.parse(nid));
      if (!p) this.fail('ENOENT', 'peers', `peer ${nid} not found`);
      return [this.peerInfo(p)];
    }
    return this.peersState.map((p) => this.peerInfo(p));
  }

  async peerList(): Promise<string[]> {
    await this.enter('peerList', []);
    this.requireUp('peerList');
    return this.peersState.map((p) => p.primary.toString());
  }

  async addPeer(spec: PeerSpec): Promise<void> {
    await this.enter('addPeer', [spec], { priv: true });
    this.requireUp('addPeer');
    const prim = Nid.parse(spec.primaryNid);
    const nids = (spec.nids ?? []).map((n) => Nid.parse(n));
    const mr = spec.multiRail ?? true;
    let p = this.findPeer(prim);
    if (p && !p.primary.equals(prim)) this.fail('ENODEV', 'addPeer', `${prim.toString()} is not the primary NID of its peer`);
    if (p && p.multiRail !== mr) this.fail('EPERM', 'addPeer', 'Multi-Rail flag mismatch');
    if (p && nids.length === 0) {
      if (this.netlink) return; // the netlink handler accepts an existing peer with nothing to add
      this.fail('EEXIST', 'addPeer', `peer ${prim.toString()} exists`);
    }
    for (const n of nids) {
      const other = this.findPeer(n);
      if (other && other !== p) this.fail('EEXIST', 'addPeer', `NID ${n.toString()} belongs to peer ${other.primary.toString()}`);
      if (p && p.nis.some((x) => x.equals(n))) this.fail('EEXIST', 'addPeer', `NID ${n.toString()} exists`);
    }
    if (!p) {
      p = { primary: prim, multiRail: mr, configured: true, lockPrim: spec.lockPrim ?? false, nis: [prim] };
      this.peersState.push(p);
    }
    p.configured = true;
    for (const n of nids) if (!p.nis.some((x) => x.equals(n))) p.nis.push(n);
  }

  async delPeer(spec: PeerDelSpec): Promise<void> {
    await this.enter('delPeer', [spec], { priv: true });
    this.requireUp('delPeer');
    const prim = Nid.parse(spec.primaryNid);
    const p = this.findPeer(prim);
    if (!p) this.fail('ENOENT', 'delPeer', `peer ${spec.primaryNid} not found`);
    if (!p.primary.equals(prim)) this.fail('ENODEV', 'delPeer', `${spec.primaryNid} is not the primary NID of its peer`);
    const nids = (spec.nids ?? []).map((n) => Nid.parse(n)).filter((n) => !n.equals(prim));
    if (nids.length === 0) {
      if (this.routesState.some((r) => p.nis.some((n) => n.equals(r.gateway)))) this.fail('EBUSY', 'delPeer', `${prim.toString()} is a router. Can not be deleted`);
      this.peersState.splice(this.peersState.indexOf(p), 1);
      return;
    }
    for (const n of nids) {
      const i = p.nis.findIndex((x) => x.equals(n));
      if (i < 0) this.fail('ENOENT', 'delPeer', `NID ${n.toString()} is not a NID of ${prim.toString()}`);
      p.nis.splice(i, 1);
    }
  }

  private reach(target: Nid, op: string): PingResult {
    const own = this.ownNids();
    this.counters['send_count']!++;
    this.counters['msgs_max'] = Math.max(this.counters['msgs_max']!, 2);
    if (own.some((n) => n.equals(target))) {
      this.counters['recv_count']!++;
      const nids = own.filter((n) => !n.isLo).map((n) => n.toString());
      return { primaryNid: nids[0] ?? '0@lo', multiRail: true, ids: own.map((n) => `12345-${n.toString()}`), nids };
    }
    const local = this.localNets().some((n) => n.equals(target.net));
    if (!local) {
      const r = this.routesState.filter((x) => x.net.equals(target.net));
      if (r.length === 0) {
        this.counters['local_no_route_count']!++;
        this.fail('EHOSTUNREACH', op, `no route to ${target.toString()}`);
      }
      if (!r.some((x) => this.isGatewayAlive(x.gateway))) this.fail('EHOSTUNREACH', op, `no live gateway to ${target.net.toString()}`);
    }
    const rem = this.remotes.find((x) => x.nids.some((n) => Nid.parse(n).equals(target)));
    if (!rem || rem.down) {
      this.counters['local_timeout_count']!++;
      this.fail('ETIMEDOUT', op, 'Connection timed out');
    }
    this.counters['recv_count']!++;
    const nids = rem.nids.map((n) => Nid.parse(n).toString());
    return { primaryNid: rem.primaryNid ?? nids[0]!, multiRail: rem.multiRail ?? true, ids: ['12345-0@lo', ...nids.map((n) => `12345-${n}`)], nids };
  }

  async ping(target: string, opts: PingOptions): Promise<PingResult> {
    await this.enter('ping', [target, opts]);
    this.requireUp('ping');
    const t = Nid.parse(target.replace(/^(U?\d+|LNET_PID_ANY)-/, ''));
    if (opts.source !== undefined && !this.ownNids().some((n) => n.equals(Nid.parse(opts.source!)))) this.fail('EINVAL', 'ping', `source ${opts.source} is not a local NID`);
    return this.reach(t, 'ping');
  }

  async discover(target: string, opts: { force?: boolean }): Promise<PingResult> {
    await this.enter('discover', [target, opts], { priv: true });
    this.requireUp('discover');
    const t = Nid.parse(target.replace(/^(U?\d+|LNET_PID_ANY)-/, ''));
    const r = this.reach(t, 'discover');
    if (!this.ownNids().some((n) => n.equals(t))) {
      const prim = Nid.parse(r.primaryNid);
      const nids = r.nids.map((n) => Nid.parse(n));
      const p = this.findPeer(prim) ?? nids.map((n) => this.findPeer(n)).find((x) => x);
      if (p) for (const n of nids) !p.nis.some((x) => x.equals(n)) && p.nis.push(n);
      else this.peersState.push({ primary: prim, multiRail: r.multiRail, configured: false, lockPrim: false, nis: nids });
    }
    return r;
  }

  async stats(): Promise<Counters> {
    await this.enter('stats', []);
    this.requireUp('stats');
    const out: Counters = {};
    for (const k of STATS_KEYS) if (!(MASTER_ONLY_STATS.has(k) && (this.release === '2.15' || this.release === '2.16'))) out[k] = this.counters[k]!;
    return out;
  }

  async resetStats(): Promise<void> {
    await this.enter('resetStats', [], { priv: true });
    this.requireUp('resetStats');
    for (const k of STATS_KEYS) this.counters[k] = 0;
  }

  async getNumaRange(): Promise<number> {
    await this.enter('getNumaRange', []);
    this.requireUp('getNumaRange');
    return this.numaRange;
  }

  async setNumaRange(v: number): Promise<void> {
    await this.enter('setNumaRange', [v], { priv: true });
    this.requireUp('setNumaRange');
    if (!Number.isInteger(v) || v < 0) this.fail('EINVAL', 'setNumaRange', 'numa_range must be >= 0');
    this.numaRange = v;
  }

  async lndTimeout(): Promise<number> {
    await this.enter('lndTimeout', []);
    this.requireLnet('lndTimeout');
    return this.lndTimeoutValue();
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}
