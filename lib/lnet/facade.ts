/**
 * `LNet`: the typed facade over an LnetBackend, with the semantics operators
 * know from lctl, lnetctl and lustre_rmmod (reference lnet.md 3-6, and the
 * Lustre wiki page on starting and stopping LNet).
 */
import { InvalidArgumentError } from '../errors.js';
import type { LnetBackend } from './backend.js';
import type { LnetConfig } from './config.js';
import { faultsApi, healthApi, udspApi, udspDoc } from './features.js';
import { kernelError, NOT_SELF, isErrno, withHint } from './errors.js';
import { emit, globalDoc, netsDoc, peersDoc, routesDoc, routingDoc, showStyle, type YamlStyle } from './format.js';
import { GLOBAL_DEFS, globalDef, planGlobalWrites } from './globals.js';
import { NetId, Nid, expandNidRange, lndModule, normalizeNet, normalizeNid, parseProcessId } from './nid.js';
import { parseIp2nets, parseNetworks, parseRoutes } from './params.js';
import { LnetPlanner, type ApplyResult, type ImportOptions, type ImportResult } from './planner.js';
import { UnloadPolicy, lustreModules, type UnloadOptions, type UnloadResult } from './unload.js';
import {
  GLOBAL_KEYS,
  type BufferSpec,
  type Counters,
  type Globals,
  type LnetRelease,
  type LnetTransport,
  type LoadedModule,
  type LustreDevice,
  type ModuleInsertion,
  type NetInfo,
  type NiAddSpec,
  type PeerInfo,
  type PingResult,
  type RouteInfo,
  type RoutingInfo,
  type SettableGlobalKey,
} from './types.js';

export { lustreModules };
export type { ApplyResult, ImportOptions, ImportResult, LnetPlan } from './planner.js';
export type { UnloadOptions, UnloadResult } from './unload.js';

export interface LnetStatus {
  /** Release of the loaded modules (undefined when not loaded). */
  release: LnetRelease | undefined;
  /** Transport the backend uses for nets, routes and peers. */
  transport: LnetTransport;
  modules: { libcfs: boolean; lnet: boolean; lnds: string[]; lustre: string[] };
  /** not-loaded: no lnet module; down: loaded, not running; up: running. */
  state: 'not-loaded' | 'down' | 'up';
  /**
   * Who brought LNet up: 'standalone' (lctl network up / lnetctl lnet
   * configure, no Lustre module loaded: the node may be a router), 'lustre'
   * (Lustre modules are loaded and hold LNet), 'none' when down.
   */
  configuredBy: 'none' | 'standalone' | 'lustre';
  nids: string[];
  devices: LustreDevice[];
}

export interface NetAddOptions {
  net: string;
  /** Interfaces (one NI each), e.g. ['eth0']. */
  interfaces?: string[];
  nid?: string;
  tunables?: NiAddSpec['tunables'];
  lndTunables?: Counters;
  cpts?: number[];
}

export class LNet {
  readonly backend: LnetBackend;

  constructor(backend: LnetBackend) {
    this.backend = backend;
  }

  /** Fault injection (lctl net_drop_* / net_delay_*): `add|del|list|reset('drop'|'delay', ...)`. */
  get faults(): ReturnType<typeof faultsApi> {
    return faultsApi(this.backend);
  }
  /** Health values and statistics, `set` (net/peer set --health), `recovery` queues. */
  get health(): ReturnType<typeof healthApi> {
    return healthApi(this.backend);
  }
  /** User-defined selection policies (lnetctl udsp add|del|show). */
  get udsp(): ReturnType<typeof udspApi> {
    return udspApi(this.backend);
  }

  /** Release the backend's descriptors and threads (it reopens lazily if used again). */
  close(): Promise<void> {
    return this.backend.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal A backend call with the usual errors explained (for the planner and the unload policy). */
  async call<T>(op: string, fn: () => Promise<T>, extra?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw withHint(e, op, extra);
    }
  }

  // --- state -----------------------------------------------------------------
  async status(): Promise<LnetStatus> {
    const info = await this.backend.info();
    const mods = await this.backend.modules();
    const names = new Set(mods.map((m) => m.name));
    const lnds = mods.map((m) => m.name).filter((n) => /^k\w+lnd$/.test(n));
    const lustre = lustreModules(mods);
    let nids: string[] = [];
    let state: LnetStatus['state'] = names.has('lnet') ? 'down' : 'not-loaded';
    if (names.has('lnet')) {
      try {
        nids = (await this.backend.nets(0)).flatMap((n) => n.nis.map((ni) => ni.nid));
        state = 'up';
      } catch (e) {
        if (!isErrno(e, 'ENETDOWN', 'ESHUTDOWN', 'ENODEV')) throw withHint(e, 'status');
      }
    }
    const devices = await this.backend.lustreDevices();
    return {
      release: info.release,
      transport: info.transport,
      modules: { libcfs: names.has('libcfs'), lnet: names.has('lnet'), lnds, lustre },
      state,
      configuredBy: state !== 'up' ? 'none' : lustre.length > 0 ? 'lustre' : 'standalone',
      nids,
      devices,
    };
  }

  /** The transport in use and the YAML style lnetctl prints net/route/peer output in. */
  async style(): Promise<{ transport: LnetTransport; style: YamlStyle; release: LnetRelease | undefined }> {
    const info = await this.backend.info();
    return { transport: info.transport, style: showStyle(info.transport), release: info.release };
  }

  /**
   * `modprobe -v lnet networks=...`: load lnet (and libcfs). `networks` is
   * checked with the kernel's syntax first. Resolves with the modules inserted.
   */
  async load(opts: { networks?: string; params?: Record<string, string>; module?: string } = {}): Promise<ModuleInsertion[]> {
    const params: Record<string, string> = { ...(opts.params ?? {}) };
    if (opts.networks !== undefined) params['networks'] = opts.networks;
    // The kernel parses these only when LNet comes up: check them now, with the offending character.
    if (params['networks'] !== undefined) parseNetworks(params['networks']);
    if (params['ip2nets'] !== undefined) parseIp2nets(params['ip2nets']);
    if (params['routes'] !== undefined) parseRoutes(params['routes']);
    if (params['networks'] && params['ip2nets']) throw new InvalidArgumentError("load: Please specify EITHER 'networks' or 'ip2nets' but not both at once");
    const mod = opts.module ?? 'lnet';
    return this.call(`modprobe ${mod}`, () => this.backend.loadModule(mod, params), `module ${mod} is missing: install the Lustre kernel modules for this kernel (lustre-client-modules or kmod-lustre-client)`);
  }

  /**
   * `lctl network up` (all: true) / `lnetctl lnet configure [--all] [--large]`
   * (default all: false). `large` (netlink, 2.16+) makes module-parameter NIs
   * use large (IPv6) addresses.
   */
  async configure(opts: { all?: boolean; large?: boolean } = {}): Promise<void> {
    await this.call('configure', () => this.backend.configure({ all: opts.all ?? false, ...(opts.large ? { large: true } : {}) }));
  }

  /** `lctl network down` / `lnetctl lnet unconfigure`. EBUSY while Lustre holds LNet. */
  async unconfigure(): Promise<void> {
    try {
      await this.backend.unconfigure();
    } catch (e) {
      if (isErrno(e, 'EBUSY')) {
        const mods = await this.backend.modules().catch(() => [] as LoadedModule[]);
        const l = lustreModules(mods);
        throw kernelError(
          'EBUSY',
          'unconfigure',
          `LNET busy: LNet is still in use${l.length ? ` by Lustre (${l.join(', ')} loaded)` : ''}; unmount Lustre and unload its modules ('hpcnet lnet unload') first`,
          e,
        );
      }
      throw withHint(e, 'unconfigure');
    }
  }

  /** `lctl list_nids [all]`: 0@lo only with all. */
  async listNids(opts: { all?: boolean } = {}): Promise<string[]> {
    const nets = await this.call('list_nids', () => this.backend.nets(0));
    return nets.flatMap((n) => n.nis.map((ni) => ni.nid)).filter((nid) => opts.all || nid !== '0@lo');
  }

  // --- nets --------------------------------------------------------------------
  readonly nets = {
    add: async (o: NetAddOptions): Promise<void> => {
      const net = NetId.parse(o.net);
      if (net.isLo) throw new InvalidArgumentError("net add: 'lo' is always configured");
      if (!lndModule(net.type)) throw new InvalidArgumentError(`net add: no LND for net type '${o.net}'`);
      const nid = o.nid !== undefined ? Nid.parse(o.nid) : undefined;
      if (nid && !nid.net.equals(net)) throw new InvalidArgumentError(`net add: NID ${nid.toString()} is not on net ${net.toString()}`);
      const spec: NiAddSpec = { net: net.toString() };
      if (o.interfaces?.length) spec.interfaces = o.interfaces;
      if (nid) spec.nid = nid.toString();
      if (o.tunables) spec.tunables = o.tunables;
      if (o.lndTunables) spec.lndTunables = o.lndTunables;
      if (o.cpts) spec.cpts = o.cpts;
      await this.call(`net add ${spec.net}`, () => this.backend.addNi(spec), NOT_SELF);
    },
    del: async (o: { net: string; nid?: string }): Promise<void> => {
      const net = normalizeNet(o.net);
      const nid = o.nid !== undefined ? normalizeNid(o.nid) : undefined;
      await this.call(`net del ${net}`, () => this.backend.delNi(net, nid), NOT_SELF);
    },
    show: async (o: { net?: string; verbose?: number } = {}): Promise<NetInfo[]> => {
      const v = checkVerbose(o.verbose);
      const net = o.net !== undefined ? normalizeNet(o.net) : undefined;
      return this.call('net show', () => this.backend.nets(v, net));
    },
  };

  // --- routes -------------------------------------------------------------------
  readonly routes = {
    /** Add a route; `gateway` may be a range (`192.168.0.[1-2]@tcp`): one route per gateway. */
    add: async (o: { net: string; gateway: string; hop?: number; priority?: number }): Promise<void> => {
      const net = NetId.parse(o.net);
      if (o.hop !== undefined && o.hop !== -1 && (!Number.isInteger(o.hop) || o.hop < 1 || o.hop > 255)) throw new InvalidArgumentError(`route add: hop must be 1-255 (or -1), got ${o.hop}`);
      if (o.priority !== undefined && (!Number.isInteger(o.priority) || o.priority < 0)) throw new InvalidArgumentError(`route add: priority must be >= 0, got ${o.priority}`);
      for (const gw of expandNidRange(o.gateway, 'gateway')) {
        if (gw.net.equals(net)) throw new InvalidArgumentError(`route add: gateway ${gw.toString()} is on the target net ${net.toString()}`);
        await this.call(`route add ${net.toString()}`, () =>
          this.backend.addRoute({ net: net.toString(), gateway: gw.toString(), hop: o.hop ?? -1, priority: o.priority ?? 0 }),
        );
      }
    },
    del: async (o: { net: string; gateway?: string }): Promise<void> => {
      const net = normalizeNet(o.net);
      const gws = o.gateway !== undefined ? expandNidRange(o.gateway, 'gateway').map((g) => g.toString()) : [undefined];
      for (const gw of gws) await this.call(`route del ${net}`, () => this.backend.delRoute(gw === undefined ? { net } : { net, gateway: gw }));
    },
    show: async (o: { net?: string; gateway?: string; verbose?: number } = {}): Promise<RouteInfo[]> => {
      const v = checkVerbose(o.verbose);
      const all = await this.call('route show', () => this.backend.routes(v));
      const net = o.net !== undefined ? normalizeNet(o.net) : undefined;
      const gw = o.gateway !== undefined ? normalizeNid(o.gateway) : undefined;
      return all.filter((r) => (net === undefined || r.net === net) && (gw === undefined || r.gateway === gw));
    },
  };

  /** `lnetctl set routing 0|1`. */
  async setRouting(enabled: boolean): Promise<void> {
    await this.call('set routing', () => this.backend.setRouting(enabled));
  }

  async routing(): Promise<RoutingInfo> {
    return this.call('routing show', () => this.backend.routing());
  }

  readonly buffers = {
    /** `lnetctl set tiny_buffers|small_buffers|large_buffers N` (totals; ignored by the kernel while routing is off). */
    set: async (b: BufferSpec): Promise<void> => {
      for (const [k, v] of Object.entries(b)) if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new InvalidArgumentError(`${k}_buffers must be a whole number >= 0, got ${v}`);
      await this.call('set buffers', () => this.backend.setBuffers(b));
    },
    show: async (): Promise<RoutingInfo> => this.routing(),
  };

  // --- peers -----------------------------------------------------------------------
  readonly peers = {
    add: async (o: { primaryNid: string; nids?: string[]; multiRail?: boolean; lockPrim?: boolean }): Promise<void> => {
      const prim = normalizeNid(o.primaryNid, 'primary NID');
      const nids = (o.nids ?? []).flatMap((r) => expandNidRange(r).map((n) => n.toString())).filter((n) => n !== prim);
      await this.call(`peer add ${prim}`, () =>
        this.backend.addPeer({ primaryNid: prim, nids, multiRail: o.multiRail ?? true, ...(o.lockPrim ? { lockPrim: true } : {}) }),
      );
    },
    del: async (o: { primaryNid: string; nids?: string[]; force?: boolean }): Promise<void> => {
      const prim = normalizeNid(o.primaryNid, 'primary NID');
      const nids = (o.nids ?? []).flatMap((r) => expandNidRange(r).map((n) => n.toString()));
      await this.call(`peer del ${prim}`, () => this.backend.delPeer({ primaryNid: prim, ...(nids.length ? { nids } : {}), ...(o.force ? { force: true } : {}) }));
    },
    show: async (o: { nid?: string; verbose?: number } = {}): Promise<PeerInfo[]> => {
      const v = checkVerbose(o.verbose);
      const nid = o.nid !== undefined ? normalizeNid(o.nid) : undefined;
      return this.call('peer show', () => this.backend.peers(v, nid));
    },
    list: async (): Promise<string[]> => this.call('peer list', () => this.backend.peerList()),
  };

  /** `lnetctl ping` / `lctl ping`: `target` is a NID or a process id (`12345-nid`). */
  async ping(target: string, opts: { timeoutMs?: number; source?: string } = {}): Promise<PingResult> {
    const id = parseProcessId(target, 'ping target');
    if (opts.timeoutMs !== undefined && (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs < 0)) throw new InvalidArgumentError(`ping: timeout must be >= 0 ms, got ${opts.timeoutMs}`);
    const source = opts.source !== undefined ? normalizeNid(opts.source, 'source NID') : undefined;
    const t = id.pid === 0xffffffff ? id.nid.toString() : `${id.pid}-${id.nid.toString()}`;
    return this.call(`ping ${id.nid.toString()}`, () => this.backend.ping(t, { timeoutMs: opts.timeoutMs ?? 1000, ...(source ? { source } : {}) }));
  }

  async discover(target: string, opts: { force?: boolean } = {}): Promise<PingResult> {
    const nid = normalizeNid(target);
    return this.call(`discover ${nid}`, () => this.backend.discover(nid, opts));
  }

  readonly stats = {
    show: async (): Promise<Counters> => this.call('stats show', () => this.backend.stats()),
    reset: async (): Promise<void> => this.call('stats reset', () => this.backend.resetStats()),
  };

  // --- globals ------------------------------------------------------------------------
  readonly globals = {
    /** All globals (`lnetctl global show`); lnd_timeout included. */
    get: async (): Promise<Globals> => {
      const out: Partial<Globals> = {};
      for (const d of GLOBAL_DEFS) out[d.key] = await this.readGlobal(d.key);
      try {
        out.lnd_timeout = await this.backend.lndTimeout();
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw withHint(e, 'global show');
      }
      return Object.fromEntries(GLOBAL_KEYS.filter((k) => out[k] !== undefined).map((k) => [k, out[k]!])) as Globals;
    },
    /**
     * Set globals with the kernel's validation applied first (against the
     * current values); several changes are ordered so that each write is
     * valid. Nothing is written when any value is refused.
     */
    set: async (changes: Partial<Record<string, number>>): Promise<void> => {
      const plan = await this.planGlobals(changes);
      for (const [k, v] of plan) await this.writeGlobal(k, v);
    },
  };

  private async readGlobal(k: SettableGlobalKey): Promise<number> {
    const d = globalDef(k)!;
    if (d.param === 'ioctl') return this.call('global show', () => this.backend.getNumaRange());
    const raw = await this.call('global show', () => this.backend.readParam('lnet', d.param));
    const n = Number(raw.trim());
    return d.inverted ? (n ? 0 : 1) : n;
  }

  /** @internal */
  async writeGlobal(k: SettableGlobalKey, v: number): Promise<void> {
    const d = globalDef(k)!;
    if (d.param === 'ioctl') return this.call(`set ${k}`, () => this.backend.setNumaRange(v));
    const val = d.inverted ? (v ? 0 : 1) : v;
    await this.call(`set ${k}`, () => this.backend.writeParam('lnet', d.param, String(val)));
  }

  /** @internal */
  async currentGlobals(keys: SettableGlobalKey[]): Promise<Record<SettableGlobalKey, number>> {
    const cur = {} as Record<SettableGlobalKey, number>;
    const need = new Set<SettableGlobalKey>([...keys, 'retry_count', 'transaction_timeout', 'health_sensitivity']);
    for (const k of need) cur[k] = await this.readGlobal(k);
    return cur;
  }

  /** @internal */
  async planGlobals(changes: Partial<Record<string, number>>): Promise<[SettableGlobalKey, number][]> {
    const norm: Partial<Record<SettableGlobalKey, number>> = {};
    for (const [k, v] of Object.entries(changes)) {
      const d = globalDef(k);
      if (!d) throw new InvalidArgumentError(`unknown global '${k}' (settable: ${GLOBAL_DEFS.map((x) => x.key).join(', ')})`);
      if (v === undefined) continue;
      norm[d.key] = v;
    }
    const cur = await this.currentGlobals(Object.keys(norm) as SettableGlobalKey[]);
    const plan = planGlobalWrites(cur, norm);
    if ('error' in plan) throw new InvalidArgumentError(`set ${plan.error.key} ${plan.error.value}: refused, ${plan.error.reason} (nothing written)`);
    return plan.order;
  }

  // --- export / import / apply -----------------------------------------------------------
  /**
   * `lnetctl export [--backup]` in the layout of the running release: on the
   * netlink path net/route/peer in libyaml indent-6 style and the rest in
   * cYAML style (as master lnetctl mixes them); cYAML throughout for 2.15.
   */
  async export(opts: { backup?: boolean } = {}): Promise<string> {
    const backup = opts.backup ?? false;
    const { style } = await this.style();
    const nets = await this.call('export', () => this.backend.nets(backup ? 1 : 2));
    const routes = await this.call('export', () => this.backend.routes(1));
    const routing = await this.call('export', () => this.backend.routing());
    const peers = await this.call('export', () => this.backend.peers(backup ? 0 : 2));
    const globals = await this.globals.get();
    let out = '';
    const n = netsDoc(nets, 2, backup);
    if (backup ? nets.some((x) => x.net !== 'lo') : nets.length) out += emit(n, style);
    if (routes.length) out += emit(routesDoc(routes, 1, backup), style);
    out += emit(routingDoc(routing, backup), 'cyaml');
    if (peers.length) out += emit(peersDoc(peers, 2, backup), style);
    out += emit(globalDoc(globals), 'cyaml');
    // udsp last, in cYAML, as lnetctl export collects it (lustre_lnet_show_udsp)
    const udsp = await this.call('export', () => this.udsp.show());
    if (udsp.length) out += emit(udspDoc(udsp), 'cyaml');
    return out;
  }

  /**
   * `lnetctl import [--del] FILE`: the whole document is validated first
   * (nothing is applied on any problem, errors name line and key); the items
   * are then applied in order and, when the kernel refuses one, the items
   * already applied are rolled back. The result says exactly what is in effect.
   */
  import(doc: string | LnetConfig, opts: ImportOptions = {}): Promise<ImportResult> {
    return new LnetPlanner(this).import(doc, opts);
  }

  /**
   * Make the node match the document, applying only the difference, and
   * idempotently (planner.ts: plan, then applyPlan). `dryRun` only plans.
   */
  apply(doc: string | LnetConfig, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return new LnetPlanner(this).apply(doc, opts);
  }

  /** The planner over this facade (plan / applyPlan / import). */
  planner(): LnetPlanner {
    return new LnetPlanner(this);
  }

  /**
   * Unload the LNet (and Lustre) modules as the wiki page on starting and
   * stopping LNet says (unload.ts): refuse while Lustre devices are up, or
   * while LNet was configured standalone unless `unconfigure`; remove the
   * modules dependents first.
   */
  unload(opts: UnloadOptions = {}): Promise<UnloadResult> {
    return new UnloadPolicy(this).unload(opts);
  }
}

function checkVerbose(v: number | undefined): number {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 4) throw new InvalidArgumentError(`verbosity must be 0-4, got ${v}`);
  return n;
}
