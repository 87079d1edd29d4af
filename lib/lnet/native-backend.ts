/**
 * The native LNet backend: the LnetBackend contract over the kernel layer
 * (lib/lnet/kernel: /dev/lnet ioctls, generic netlink, libkmod, sysfs).
 * Nets, routes and peers are read over netlink when the `lnet` family
 * exists (2.16+) and over ioctls otherwise (2.15); routing, buffers,
 * statistics and numa range always use ioctls, as lnetctl does. Under
 * `hpcnet sim lnet exec` the same calls reach the emulator.
 */
import { LnetFeaturesIoctl } from './kernel/features.js';
import type { LnetNativeHandle } from '../native/loader.js';
import type { LnetBackend, LnetFeatureOps } from './backend.js';
import { kernelError, isErrno } from './errors.js';
import { openLnetKernel, type Interfaces, type DumpObject, type DumpValue, type LnetKernel, type LocalNiRecord, type PeerRecord } from './kernel/index.js';
import { Nid } from './nid.js';
import type {
  BufferPool,
  BufferSpec,
  Counters,
  LnetBackendInfo,
  LoadedModule,
  LustreDevice,
  ModuleInsertion,
  NetInfo,
  NiAddSpec,
  NiInfo,
  PeerDelSpec,
  PeerInfo,
  PeerNiInfo,
  PeerSpec,
  PingOptions,
  PingResult,
  RouteInfo,
  RouteSpec,
  RoutingInfo,
} from './types.js';
import { STATS_KEYS } from './types.js';

/** Where `lctl dl` and `lnetctl global show` find their files (cfs_get_param_paths). */
const DEVICE_FILES = ['/sys/fs/lustre/devices', '/sys/kernel/debug/lustre/devices', '/proc/fs/lustre/devices'];
const LND_TIMEOUT_FILES = ['/sys/kernel/debug/lnet/lnet_lnd_timeout', '/sys/fs/lustre/lnet_lnd_timeout', '/proc/fs/lustre/lnet_lnd_timeout', '/sys/fs/lnet/lnet_lnd_timeout'];
const MSG_KEYS = ['put', 'get', 'reply', 'ack', 'hello'];

function num(v: DumpValue | undefined, d = 0): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return d;
}
function str(v: DumpValue | undefined): string {
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}
function obj(v: DumpValue | undefined): DumpObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) ? (v as DumpObject) : {};
}
function list(v: DumpValue | undefined): DumpObject[] {
  if (Array.isArray(v)) return v.map(obj);
  if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v)) return [v as DumpObject];
  return [];
}
function counters(v: DumpValue | undefined, keys?: string[]): Counters {
  const o = obj(v);
  const out: Counters = {};
  for (const k of keys ?? Object.keys(o)) if (keys || o[k] !== undefined) out[k] = num(o[k]);
  return out;
}
function cpts(v: DumpValue | undefined): number[] {
  if (Array.isArray(v)) return v.map((x) => num(x as DumpValue));
  const s = str(v).replace(/["\s]/g, '');
  const m = /^\[([\d,]*)\]$/.exec(s);
  return m ? m[1]!.split(',').filter(Boolean).map(Number) : [];
}
function ifaces(v: DumpValue | undefined): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((x) => str(x as DumpValue));
  const o = obj(v);
  return Object.keys(o)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => str(o[k]));
}

const ZERO_MSG = (): Counters => Object.fromEntries(MSG_KEYS.map((k) => [k, 0]));
const NI_HEALTH_KEYS = ['fatal_error', 'health value', 'interrupts', 'dropped', 'aborted', 'no route', 'timeouts', 'error', 'ping_count', 'next_ping'];
const PEER_HEALTH_KEYS = ['health value', 'dropped', 'timeout', 'error', 'network timeout', 'ping_count', 'next_ping'];
const PEER_CREDIT_KEYS = ['max_ni_tx_credits', 'available_tx_credits', 'min_tx_credits', 'tx_q_num_of_buf', 'available_rtr_credits', 'min_rtr_credits', 'refcount'];

export interface NativeLnetBackendOptions {
  /** Where kernel calls go instead of the addon (MockLnetBackend: the emulator in-process). */
  newHandle?: () => LnetNativeHandle;
  /** The interfaces getifaddrs reports (default os.networkInterfaces). */
  interfaces?: () => Interfaces;
}

export class NativeLnetBackend implements LnetBackend {
  readonly kind = 'native' as const;
  private k: LnetKernel | undefined;

  constructor(private readonly opts: NativeLnetBackendOptions = {}) {}

  private kernel(): LnetKernel {
    return (this.k ??= openLnetKernel(this.opts));
  }

  private async readFirst(paths: string[]): Promise<string | undefined> {
    for (const p of paths) {
      try {
        return await this.kernel().readFile(p);
      } catch (e) {
        if (!isErrno(e, 'ENOENT', 'ENOTDIR') && (e as { code?: string }).code !== 'ENOENT') throw e;
      }
    }
    return undefined;
  }

  private async netlink(op: 'addNet' | 'listNids' | 'addRoute' | 'addPeer'): Promise<boolean> {
    return (await this.kernel().transportFor(op)) === 'netlink';
  }

  async info(): Promise<LnetBackendInfo> {
    const mods = await this.kernel().modules.list();
    if (!mods.some((m) => m.name === 'lnet')) return { release: undefined, transport: 'ioctl' };
    const i = await this.kernel().info();
    const v = i.moduleVersion ? /^(\d+\.\d+)/.exec(i.moduleVersion)?.[1] : undefined;
    return { release: v ?? i.release, transport: i.transports.addNet };
  }

  async modules(): Promise<LoadedModule[]> {
    return (await this.kernel().modules.list()).map((m) => ({ name: m.name, refcount: m.refcount, holders: [...m.holders] }));
  }

  async loadModule(name: string, params: Record<string, string> = {}): Promise<ModuleInsertion[]> {
    const ins = await this.kernel().modules.load(name, Object.keys(params).length ? params : undefined);
    return ins.map((i) => ({ name: i.name, path: i.path, params: i.options }));
  }

  async removeModule(name: string): Promise<void> {
    await this.kernel().modules.remove(name);
  }

  readParam(module: string, name: string): Promise<string> {
    return this.kernel().modules.readParam(module, name);
  }

  writeParam(module: string, name: string, value: string): Promise<void> {
    return this.kernel().modules.writeParam(module, name, value);
  }

  async lustreDevices(): Promise<LustreDevice[]> {
    const text = await this.readFirst(DEVICE_FILES);
    if (!text) return [];
    const out: LustreDevice[] = [];
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 6 || !/^\d+$/.test(f[0]!)) continue;
      out.push({ index: Number(f[0]), status: f[1]!, type: f[2]!, name: f[3]!, uuid: f[4]!, refcount: Number(f[5]) });
    }
    return out;
  }

  configure(opts: { all: boolean; large?: boolean }): Promise<void> {
    return this.kernel().configure(opts);
  }

  unconfigure(): Promise<void> {
    return this.kernel().unconfigure();
  }

  // --- nets ------------------------------------------------------------------------------

  private niFromDump(ni: DumpObject, netName: string): NiInfo {
    const isLo = netName === 'lo';
    const t = obj(ni['tunables']);
    const udsp = obj(ni['udsp info']);
    return {
      nid: str(ni['nid']),
      status: str(ni['status']) === 'down' ? 'down' : 'up',
      interfaces: ifaces(ni['interfaces']),
      statistics: counters(ni['statistics'], ['send_count', 'recv_count', 'drop_count']),
      sentStats: counters(ni['sent_stats'], MSG_KEYS),
      receivedStats: counters(ni['received_stats'], MSG_KEYS),
      droppedStats: counters(ni['dropped_stats'], MSG_KEYS),
      health: counters(ni['health stats'], NI_HEALTH_KEYS),
      tunables: { peer_timeout: num(t['peer_timeout']), peer_credits: num(t['peer_credits']), peer_buffer_credits: num(t['peer_buffer_credits']), credits: num(t['credits']) },
      lndTunables: isLo ? {} : counters(ni['lnd tunables']),
      devCpt: num(ni['dev cpt'], isLo ? -1 : 0),
      cpts: cpts(ni['CPT']),
      udsp: { netPriority: num(udsp['net priority'], -1), nidPriority: num(udsp['nid priority'], -1) },
    };
  }

  private async niFromIoctl(r: LocalNiRecord, index: number, detail: number): Promise<NiInfo> {
    const isLo = r.nid === '0@lo';
    const lnd: Counters = {};
    for (const [k, v] of Object.entries(r.lndTunables)) if (typeof v === 'number') lnd[k] = v;
    const ni: NiInfo = {
      nid: r.nid,
      status: r.status === 'down' ? 'down' : 'up',
      interfaces: r.interface ? [r.interface] : [],
      statistics: { ...r.stats },
      sentStats: ZERO_MSG(),
      receivedStats: ZERO_MSG(),
      droppedStats: ZERO_MSG(),
      health: Object.fromEntries(NI_HEALTH_KEYS.map((k) => [k, k === 'health value' ? 1000 : 0])),
      tunables: { ...r.tunables },
      lndTunables: isLo ? {} : lnd,
      devCpt: r.devCpt,
      cpts: [...r.cpts],
      udsp: { netPriority: -1, nidPriority: -1 },
    };
    if (detail >= 2) {
      const k = this.kernel();
      const m = await k.ioctl.getLocalNiMsgStats(index);
      const pick = (c: Record<string, number>): Counters => Object.fromEntries(MSG_KEYS.map((x) => [x, c[x] ?? 0]));
      ni.sentStats = pick(m.sent as unknown as Record<string, number>);
      ni.receivedStats = pick(m.received as unknown as Record<string, number>);
      ni.droppedStats = pick(m.dropped as unknown as Record<string, number>);
      const h = await k.ioctl.getLocalNiHealthStats(r.nid);
      ni.health = Object.fromEntries(NI_HEALTH_KEYS.map((x) => [x, num(h[x] ?? h[x.replace(/ /g, '_')])]));
    }
    // -v 4: IOC_LIBCFS_GET_CONST_UDSP_INFO, as lnetctl does (priorities; -1 when no rule sets one)
    if (detail >= 4 && !isLo) ni.udsp = await this.features().udspInfo(r.nid, false);
    return ni;
  }

  async nets(detail: number, net?: string): Promise<NetInfo[]> {
    const k = this.kernel();
    if (await this.netlink('listNids')) {
      const d = await k.netlink.netsShow({ verbosity: detail, ...(net !== undefined ? { net } : {}) });
      // Group by each NI's own net (its NID's net), whatever items the dump put it under.
      const out: NetInfo[] = [];
      for (const n of d)
        for (const raw of list(n['local NI(s)'])) {
          const nid = str(raw['nid']);
          const name = nid ? Nid.parse(nid).net.toString() : str(n['net type']);
          let g = out.find((x) => x.net === name);
          if (!g) out.push((g = { net: name, nis: [] }));
          g.nis.push(this.niFromDump(raw, name));
        }
      return out;
    }
    const out: NetInfo[] = [];
    for (let i = 0; ; i++) {
      let r: LocalNiRecord;
      try {
        r = await k.ioctl.getLocalNi(i);
      } catch (e) {
        // ENOENT ends the list; at index 0 it can also be a missing /dev/lnet (lo always exists while LNet runs).
        if (isErrno(e, 'ENOENT') && i === 0 && !(await k.modules.list()).some((m) => m.name === 'lnet'))
          throw kernelError('ENODEV', 'net show', 'LNET is currently not loaded (/dev/lnet: No such file or directory)', e);
        if (isErrno(e, 'ENOENT')) break;
        throw e;
      }
      const name = Nid.parse(r.nid).net.toString();
      if (net !== undefined && name !== net) continue;
      let n = out.find((x) => x.net === name);
      if (!n) out.push((n = { net: name, nis: [] }));
      n.nis.push(await this.niFromIoctl(r, i, detail));
    }
    if (net !== undefined && out.length === 0) throw kernelError('ENOENT', 'net show', `net ${net} not found`);
    return out;
  }

  async addNi(spec: NiAddSpec): Promise<void> {
    await this.kernel().addNet({
      net: spec.net,
      ...(spec.interfaces?.length ? { interfaces: spec.interfaces } : {}),
      ...(spec.nid ? { nids: [spec.nid] } : {}),
      ...(spec.tunables ? { tunables: spec.tunables } : {}),
      ...(spec.lndTunables && Object.keys(spec.lndTunables).length ? { lndTunables: spec.lndTunables } : {}),
      ...(spec.cpts ? { cpts: spec.cpts } : {}),
    });
  }

  async delNi(net: string, nid?: string): Promise<void> {
    await this.kernel().delNet({ net, ...(nid !== undefined ? { nids: [nid] } : {}) });
  }

  // --- routes ------------------------------------------------------------------------------

  async routes(detail: number): Promise<RouteInfo[]> {
    const k = this.kernel();
    if (await this.netlink('addRoute')) {
      const d = await k.netlink.routesShow({ verbosity: Math.max(detail, 1) });
      return d.map((r) => ({
        net: str(r['net']),
        gateway: str(r['gateway']),
        hop: num(r['hop'], -1),
        priority: num(r['priority']),
        state: str(r['state']) === 'down' ? 'down' : 'up',
        type: str(r['type']) === 'multi-hop' ? 'multi-hop' : 'single-hop',
      }));
    }
    return (await k.ioctl.listRoutes()).map((r) => ({
      net: r.net,
      gateway: r.gateway,
      hop: r.hops,
      priority: r.priority,
      state: r.alive ? 'up' : 'down',
      type: r.multiHop ? 'multi-hop' : 'single-hop',
    }));
  }

  addRoute(r: RouteSpec): Promise<void> {
    return this.kernel().addRoute({ net: r.net, gateway: r.gateway, ...(r.hop !== undefined ? { hop: r.hop } : {}), ...(r.priority !== undefined ? { priority: r.priority } : {}) });
  }

  async delRoute(r: { net: string; gateway?: string }): Promise<void> {
    if (r.gateway !== undefined) return this.kernel().delRoute({ net: r.net, gateway: r.gateway });
    const gws = (await this.routes(0)).filter((x) => x.net === r.net);
    if (gws.length === 0) throw kernelError('ENOENT', 'route del', `no route to ${r.net}`);
    for (const g of gws) await this.kernel().delRoute({ net: r.net, gateway: g.gateway });
  }

  // --- routing and buffers -------------------------------------------------------------------

  async routing(): Promise<RoutingInfo> {
    const k = this.kernel();
    const out: RoutingInfo = { enabled: false, cpts: [], buffers: { tiny: 0, small: 0, large: 0 } };
    for (let i = 0; i < 1024; i++) {
      let b: Awaited<ReturnType<typeof k.ioctl.getBuffers>>;
      try {
        b = await k.ioctl.getBuffers(i);
      } catch (e) {
        if (isErrno(e, 'ENOENT')) break;
        throw e;
      }
      const p = (x: BufferPool): BufferPool => ({ npages: x.npages, nbuffers: x.nbuffers, credits: x.credits, mincredits: x.mincredits });
      out.cpts.push({ tiny: p(b.pools[0]), small: p(b.pools[1]), large: p(b.pools[2]) });
      out.enabled = b.routing;
      out.buffers.tiny += b.pools[0].nbuffers;
      out.buffers.small += b.pools[1].nbuffers;
      out.buffers.large += b.pools[2].nbuffers;
    }
    return out;
  }

  setRouting(enabled: boolean): Promise<void> {
    return this.kernel().ioctl.configRouting(enabled);
  }

  setBuffers(b: BufferSpec): Promise<void> {
    return this.kernel().ioctl.addBuffers(b);
  }

  // --- peers ---------------------------------------------------------------------------------

  private peerFromDump(p: DumpObject): PeerInfo {
    return {
      primaryNid: str(p['primary nid']),
      multiRail: p['Multi-Rail'] === true || num(p['Multi-Rail']) === 1 || str(p['Multi-Rail']) === 'True',
      state: num(p['peer state']),
      nis: list(p['peer ni']).map(
        (n): PeerNiInfo => ({
          nid: str(n['nid']),
          state: str(n['state']) || 'NA',
          credits: counters(n, PEER_CREDIT_KEYS),
          statistics: counters(n['statistics'], ['send_count', 'recv_count', 'drop_count']),
          sentStats: counters(n['sent_stats'], MSG_KEYS),
          receivedStats: counters(n['received_stats'], MSG_KEYS),
          droppedStats: counters(n['dropped_stats'], MSG_KEYS),
          health: counters(n['health stats'], PEER_HEALTH_KEYS),
        }),
      ),
    };
  }

  private peerFromIoctl(r: PeerRecord): PeerInfo {
    const msg = (c: Record<string, number>): Counters => Object.fromEntries(MSG_KEYS.map((x) => [x, c[x] ?? 0]));
    return {
      primaryNid: r.primaryNid,
      multiRail: r.multiRail,
      state: r.state,
      nis: r.nis.map((n) => ({
        nid: n.nid,
        state: n.aliveness,
        credits: {
          max_ni_tx_credits: n.ni_peer_tx_credits,
          available_tx_credits: n.peer_tx_credits,
          min_tx_credits: n.peer_min_tx_credits,
          tx_q_num_of_buf: n.peer_tx_qnob,
          available_rtr_credits: n.peer_rtr_credits,
          min_rtr_credits: n.peer_min_rtr_credits,
          refcount: n.refcount,
        },
        statistics: { ...n.stats },
        sentStats: msg(n.sent as unknown as Record<string, number>),
        receivedStats: msg(n.received as unknown as Record<string, number>),
        droppedStats: msg(n.dropped as unknown as Record<string, number>),
        health: {
          'health value': n.health.health_value,
          dropped: n.health.dropped,
          timeout: n.health.timeout,
          error: n.health.error,
          'network timeout': n.health.network_timeout,
          ping_count: n.health.ping_count,
          next_ping: Number(n.health.next_ping),
        },
      })),
    };
  }

  async peers(detail: number, nid?: string): Promise<PeerInfo[]> {
    const k = this.kernel();
    if (await this.netlink('addPeer')) {
      const d = await k.netlink.peersShow({ verbosity: detail, ...(nid !== undefined ? { nid } : {}) });
      return d.map((p) => this.peerFromDump(p));
    }
    if (nid !== undefined) return [this.peerFromIoctl(await k.ioctl.getPeerNi(nid))];
    const out: PeerInfo[] = [];
    for (const p of await k.ioctl.getPeerList()) out.push(this.peerFromIoctl(await k.ioctl.getPeerNi(p.nid)));
    return out;
  }

  async peerList(): Promise<string[]> {
    const k = this.kernel();
    if (await this.netlink('addPeer')) return (await k.netlink.peersShow({ verbosity: 0 })).map((p) => str(p['primary nid']));
    return (await k.ioctl.getPeerList()).map((p) => p.nid);
  }

  addPeer(p: PeerSpec): Promise<void> {
    return this.kernel().addPeer({ primaryNid: p.primaryNid, ...(p.nids?.length ? { nids: p.nids } : {}), ...(p.multiRail !== undefined ? { multiRail: p.multiRail } : {}), ...(p.lockPrim ? { lockPrim: true } : {}) });
  }

  delPeer(p: PeerDelSpec): Promise<void> {
    return this.kernel().delPeer({ primaryNid: p.primaryNid, ...(p.nids?.length ? { nids: p.nids } : {}), ...(p.force ? { force: true } : {}) });
  }

  // --- ping, discovery ------------------------------------------------------------------------

  private pingResult(r: { primaryNid: string; multiRail: boolean; nids: string[]; ids?: { nid: string; pid: number }[] }): PingResult {
    const ids = r.ids ? r.ids.map((x) => `${x.pid}-${x.nid}`) : r.nids.map((n) => `12345-${n}`);
    if (!r.ids && !r.nids.includes('0@lo')) ids.unshift('12345-0@lo');
    return { primaryNid: r.primaryNid, multiRail: r.multiRail, ids, nids: r.nids.filter((n) => n !== '0@lo') };
  }

  async ping(target: string, opts: PingOptions): Promise<PingResult> {
    return this.pingResult(await this.kernel().ping(target, { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.source ? { source: opts.source } : {}) }));
  }

  async discover(target: string, opts: { force?: boolean }): Promise<PingResult> {
    return this.pingResult(await this.kernel().discover(target, opts.force ? { force: true } : {}));
  }

  // --- statistics, numa, timeouts ---------------------------------------------------------------

  async stats(): Promise<Counters> {
    const c = await this.kernel().ioctl.getStats();
    const out: Counters = {};
    for (const k of STATS_KEYS) if (c[k] !== undefined) out[k] = c[k]!;
    for (const [k, v] of Object.entries(c)) if (!(k in out)) out[k] = v;
    return out;
  }

  resetStats(): Promise<void> {
    return this.kernel().ioctl.resetStats();
  }

  getNumaRange(): Promise<number> {
    return this.kernel().ioctl.getNumaRange();
  }

  setNumaRange(v: number): Promise<void> {
    return this.kernel().ioctl.setNumaRange(v);
  }

  async lndTimeout(): Promise<number> {
    const t = await this.readFirst(LND_TIMEOUT_FILES);
    if (t === undefined) throw kernelError('ENOENT', 'lnd_timeout', `none of ${LND_TIMEOUT_FILES.join(', ')} exists (debugfs not mounted?)`);
    return Number(t.trim());
  }

  features(): LnetFeatureOps {
    return new LnetFeaturesIoctl(() => this.kernel().ioctl);
  }

  async close(): Promise<void> {
    const k = this.k;
    this.k = undefined;
    await k?.close(); // waits for the calls in flight
  }
}
