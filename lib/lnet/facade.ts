/**
 * `LNet`: the typed facade over an LnetBackend, with the semantics operators
 * know from lctl, lnetctl and lustre_rmmod (reference lnet.md 3-6, and the
 * Lustre wiki page on starting and stopping LNet).
 */
import { HpcnetError, InvalidArgumentError } from '../errors.js';
import type { LnetBackend } from './backend.js';
import { parseLnetConfig, type ConfigNi, type LnetConfig } from './config.js';
import { LnetKernelError, LnetRefusedError, isErrno } from './errors.js';
import { emit, globalDoc, netsDoc, peersDoc, routesDoc, routingDoc, showStyle, type YamlStyle } from './format.js';
import { GLOBAL_DEFS, globalDef, planGlobalWrites } from './globals.js';
import { NetId, Nid, expandNidRange, lndModule, normalizeNet, normalizeNid, parseProcessId } from './nid.js';
import { parseIp2nets, parseNetworks, parseRoutes } from './params.js';
import { runTransaction, type Change, type FailedChange, type Step, type TransactionResult } from './transaction.js';
import {
  GLOBAL_KEYS,
  formatDevice,
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
  type NiInfo,
  type PeerInfo,
  type PingResult,
  type RouteInfo,
  type RoutingInfo,
  type SettableGlobalKey,
} from './types.js';

/** Modules that make up Lustre above LNet (their presence means LNet is used by Lustre). */
const LNET_STACK = new Set(['libcfs', 'lnet', 'lnet_selftest', 'ksocklnd', 'ko2iblnd', 'kkfilnd', 'kgnilnd', 'kefalnd', 'klolnd']);

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

export interface UnloadOptions {
  /** Also unconfigure LNet when it was configured standalone (it may be routing for other nodes). */
  unconfigure?: boolean;
}

export interface UnloadResult {
  /** Modules removed, in order (dependents first). */
  removed: string[];
  unconfigured: boolean;
  msg: string;
}

export interface ImportOptions {
  mode?: 'add' | 'del';
  /** Run the document's ping and discover blocks (lnetctl import --exec). */
  exec?: boolean;
}

export interface ImportResult extends TransactionResult {
  ok: boolean;
  msg: string;
}

/** Result of apply: fits Ansible's module protocol (changed, failed, msg, diff). */
export interface ApplyResult {
  changed: boolean;
  /** True when a change failed (the rest was rolled back; see `inEffect`). */
  failed: boolean;
  msg: string;
  /** Ansible --diff: one line per removed/old item (before) and added/new item (after). */
  diff: { before: string; after: string };
  /** The planned changes. */
  changes: Change[];
  /** Changes in effect at the end. */
  applied: Change[];
  /** The change that failed, with the kernel's error. */
  failures: FailedChange[];
  rolledBack: Change[];
  rollbackFailed: FailedChange[];
  dryRun: boolean;
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

function hint(e: unknown, op: string, extra?: string): unknown {
  if (!(e instanceof HpcnetError)) return e;
  const c = e.code;
  let why: string | undefined;
  if (c === 'EPERM' || c === 'EACCES') why = 'permission denied: LNet control needs root (CAP_NET_ADMIN); run as root or with sudo';
  else if (c === 'ENODEV' || (c === 'ENOENT' && /\/dev\/lnet/.test(e.message)))
    why = "LNet is not loaded: load it with 'hpcnet lnet load' (modprobe lnet), then 'hpcnet lnet configure'";
  else if (c === 'ENETDOWN') why = "LNet is not running: bring it up with 'hpcnet lnet configure' (lctl network up)";
  else if (extra) why = extra;
  if (!why) return e;
  return new LnetKernelError(c, op, `${e.message.replace(/^[^:]*: /, '')} (${why})`, e);
}

export class LNet {
  readonly backend: LnetBackend;

  constructor(backend: LnetBackend) {
    this.backend = backend;
  }

  /** Release the backend's descriptors and threads (it reopens lazily if used again). */
  close(): Promise<void> {
    return this.backend.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async call<T>(op: string, fn: () => Promise<T>, extra?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw hint(e, op, extra);
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
        if (!isErrno(e, 'ENETDOWN', 'ESHUTDOWN', 'ENODEV')) throw hint(e, 'status');
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
        throw new LnetKernelError(
          'EBUSY',
          'unconfigure',
          `LNET busy: LNet is still in use${l.length ? ` by Lustre (${l.join(', ')} loaded)` : ''}; unmount Lustre and unload its modules ('hpcnet lnet unload') first`,
          e,
        );
      }
      throw hint(e, 'unconfigure');
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
        if (!isErrno(e, 'ENOENT')) throw hint(e, 'global show');
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

  private async writeGlobal(k: SettableGlobalKey, v: number): Promise<void> {
    const d = globalDef(k)!;
    if (d.param === 'ioctl') return this.call(`set ${k}`, () => this.backend.setNumaRange(v));
    const val = d.inverted ? (v ? 0 : 1) : v;
    await this.call(`set ${k}`, () => this.backend.writeParam('lnet', d.param, String(val)));
  }

  private async currentGlobals(keys: SettableGlobalKey[]): Promise<Record<SettableGlobalKey, number>> {
    const cur = {} as Record<SettableGlobalKey, number>;
    const need = new Set<SettableGlobalKey>([...keys, 'retry_count', 'transaction_timeout', 'health_sensitivity']);
    for (const k of need) cur[k] = await this.readGlobal(k);
    return cur;
  }

  private async planGlobals(changes: Partial<Record<string, number>>): Promise<[SettableGlobalKey, number][]> {
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
    return out;
  }

  /**
   * `lnetctl import [--del] FILE`: the whole document is validated first
   * (nothing is applied on any problem, errors name line and key); the items
   * are then applied in order and, when the kernel refuses one, the items
   * already applied are rolled back. The result says exactly what is in effect.
   */
  async import(doc: string | LnetConfig, opts: ImportOptions = {}): Promise<ImportResult> {
    const cfg = typeof doc === 'string' ? parseLnetConfig(doc) : doc;
    const mode = opts.mode ?? 'add';
    await this.requireReady(cfg, mode === 'add');
    const steps = mode === 'add' ? await this.addSteps(cfg, opts.exec ?? false) : await this.delSteps(cfg);
    const res = await runTransaction(steps);
    return { ...res, ok: res.failed.length === 0, msg: summarize(res, mode === 'add' ? 'import' : 'import --del') };
  }

  /**
   * Make the node match the document, applying only the difference, and
   * idempotently. Sections absent from the document are left alone; in a
   * present `net` or `route` section, items not in the document are deleted;
   * peers listed get exactly the listed NIDs (peers not listed are kept,
   * since discovery creates them).
   */
  async apply(doc: string | LnetConfig, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    const cfg = typeof doc === 'string' ? parseLnetConfig(doc) : doc;
    const steps = await this.diffSteps(cfg);
    const changes = steps.map((s) => s.change);
    const diff = {
      before: changes
        .filter((c) => c.op === 'del' || c.op === 'set')
        .map((c) => (c.op === 'set' ? (c.before ?? '') : c.item) + '\n')
        .join(''),
      after: changes
        .filter((c) => c.op !== 'del')
        .map((c) => c.item + '\n')
        .join(''),
    };
    if (opts.dryRun || steps.length === 0) {
      return {
        changed: steps.length > 0,
        failed: false,
        msg: steps.length === 0 ? 'no change: the node matches the document' : `dry run: ${steps.length} change${steps.length === 1 ? '' : 's'} would be made`,
        diff,
        changes,
        applied: [],
        failures: [],
        rolledBack: [],
        rollbackFailed: [],
        dryRun: !!opts.dryRun,
      };
    }
    const res = await runTransaction(steps);
    return {
      changed: res.applied.length > 0,
      failed: res.failed.length > 0,
      msg: summarize(res, 'apply'),
      diff,
      changes,
      applied: res.applied,
      failures: res.failed,
      rolledBack: res.rolledBack,
      rollbackFailed: res.rollbackFailed,
      dryRun: false,
    };
  }

  private async requireReady(cfg: LnetConfig, forAdd: boolean): Promise<void> {
    const mods = await this.backend.modules();
    if (!mods.some((m) => m.name === 'lnet')) throw new LnetKernelError('ENODEV', 'import', "LNet is not loaded: load it with 'hpcnet lnet load', then 'hpcnet lnet configure'");
    const needsUp = !!(cfg.nets?.length || cfg.routes?.length || cfg.peers?.length || cfg.routing || cfg.buffers || cfg.numa || cfg.discover?.length || cfg.ping?.length);
    if (needsUp) {
      try {
        await this.backend.nets(0);
      } catch (e) {
        if (isErrno(e, 'ENETDOWN')) throw new LnetKernelError('ENETDOWN', 'import', "LNet is not running: bring it up with 'hpcnet lnet configure' first (nothing applied)");
        throw hint(e, 'import');
      }
    }
    if (forAdd && cfg.global) {
      const values = cfg.global.values;
      await this.planGlobals(values).catch((e: unknown) => {
        throw e instanceof InvalidArgumentError ? new InvalidArgumentError(`global: ${e.message}`) : e;
      });
    }
  }

  private niStep(net: string, ni: ConfigNi, op: 'add' | 'del'): Step[] {
    const one = (iface: string | undefined): Step => {
      const spec: NiAddSpec = { net, tunables: ni.tunables, lndTunables: ni.lndTunables, ...(ni.cpts ? { cpts: ni.cpts } : {}) };
      if (iface) spec.interfaces = [iface];
      else if (ni.nid) spec.nid = ni.nid;
      const item = `net ${net} NI ${iface ?? ni.nid ?? '(default interface)'}`;
      const change: Change = { op, section: 'net', item, key: ni.key, ...(ni.line !== undefined ? { line: ni.line } : {}) };
      const findNid = async (): Promise<string | undefined> => {
        const nets = await this.backend.nets(0, net).catch(() => [] as NetInfo[]);
        const found = nets.flatMap((n) => n.nis).find((x) => (iface ? x.interfaces.includes(iface) : ni.nid ? x.nid === ni.nid : true));
        return found?.nid;
      };
      if (op === 'add') {
        let before: Set<string> | undefined;
        return {
          change,
          skipOn: ['EEXIST'],
          run: async () => {
            before = new Set((await this.backend.nets(0).catch(() => [] as NetInfo[])).flatMap((n) => n.nis.map((x) => x.nid)));
            await this.call(`net add ${net}`, () => this.backend.addNi(spec), NOT_SELF);
          },
          undo: async () => {
            const now = (await this.backend.nets(0)).flatMap((n) => n.nis.map((x) => x.nid));
            for (const nid of now.filter((x) => !before?.has(x) && Nid.parse(x).net.toString() === net)) await this.backend.delNi(net, nid);
          },
        };
      }
      let removed: NiInfo | undefined;
      return {
        change,
        run: async () => {
          const nid = await findNid();
          if (!nid) throw new LnetKernelError('ENOENT', `net del ${net}`, `no NI ${iface ?? ni.nid ?? ''} on ${net}`);
          removed = (await this.backend.nets(1, net)).flatMap((n) => n.nis).find((x) => x.nid === nid);
          await this.call(`net del ${net}`, () => this.backend.delNi(net, nid), NOT_SELF);
        },
        undo: async () => {
          if (removed) await this.backend.addNi(niSpecOf(net, removed));
        },
      };
    };
    const ifs = ni.interfaces.length ? ni.interfaces : [undefined];
    return ifs.map(one);
  }

  private routeStep(r: { net: string; gateway: string; hop: number; priority: number; key?: string; line?: number }, op: 'add' | 'del'): Step {
    const item = `route ${r.net} via ${r.gateway} hop ${r.hop} priority ${r.priority}`;
    const change: Change = { op, section: 'route', item, ...(r.key ? { key: r.key } : {}), ...(r.line !== undefined ? { line: r.line } : {}) };
    const add = (): Promise<void> => this.call(`route add ${r.net}`, () => this.backend.addRoute({ net: r.net, gateway: r.gateway, hop: r.hop, priority: r.priority }));
    const del = (): Promise<void> => this.call(`route del ${r.net}`, () => this.backend.delRoute({ net: r.net, gateway: r.gateway }));
    return op === 'add' ? { change, run: add, undo: del, skipOn: ['EEXIST'] } : { change, run: del, undo: add };
  }

  private peerAddStep(primaryNid: string, nids: string[], multiRail: boolean, origin: { key?: string; line?: number }, existed: boolean): Step {
    const item = `peer ${primaryNid}${nids.length ? ' nid ' + nids.join(',') : ''}${multiRail ? '' : ' non-MR'}`;
    return {
      change: { op: 'add', section: 'peer', item, ...origin },
      skipOn: ['EEXIST'],
      run: () => this.call(`peer add ${primaryNid}`, () => this.backend.addPeer({ primaryNid, nids, multiRail })),
      undo: () => this.backend.delPeer(existed ? { primaryNid, nids } : { primaryNid }),
    };
  }

  private peerDelStep(p: PeerInfo, nids: string[] | undefined, origin: { key?: string; line?: number }): Step {
    const item = `peer ${p.primaryNid}${nids ? ' nid ' + nids.join(',') : ''}`;
    return {
      change: { op: 'del', section: 'peer', item, ...origin },
      run: () => this.call(`peer del ${p.primaryNid}`, () => this.backend.delPeer({ primaryNid: p.primaryNid, ...(nids ? { nids } : {}) })),
      undo: () =>
        nids
          ? this.backend.addPeer({ primaryNid: p.primaryNid, nids, multiRail: p.multiRail })
          : this.backend.addPeer({ primaryNid: p.primaryNid, nids: p.nis.map((n) => n.nid).filter((n) => n !== p.primaryNid), multiRail: p.multiRail }),
    };
  }

  private globalSteps(plan: [SettableGlobalKey, number][], cur: Record<SettableGlobalKey, number>, lines: Partial<Record<SettableGlobalKey, number>>): Step[] {
    return plan.map(([k, v]) => {
      const old = cur[k];
      return {
        change: { op: 'set', section: k === 'numa_range' ? 'numa' : 'global', item: `global ${k}: ${v}`, before: `global ${k}: ${old}`, key: `global.${k}`, ...(lines[k] !== undefined ? { line: lines[k] } : {}) },
        run: () => this.writeGlobal(k, v),
        undo: () => this.writeGlobal(k, old),
      };
    });
  }

  private routingSteps(cfg: LnetConfig, cur: RoutingInfo | undefined): Step[] {
    const steps: Step[] = [];
    const was = cur?.enabled ?? false;
    if (cfg.routing && cfg.routing.enable !== was) {
      const en = cfg.routing.enable;
      steps.push({
        change: { op: 'set', section: 'routing', item: `routing enable: ${en ? 1 : 0}`, before: `routing enable: ${was ? 1 : 0}`, key: cfg.routing.key, ...(cfg.routing.line !== undefined ? { line: cfg.routing.line } : {}) },
        run: () => this.call('set routing', () => this.backend.setRouting(en)),
        undo: () => this.backend.setRouting(was),
      });
    }
    const enabledAfter = cfg.routing ? cfg.routing.enable : was;
    if (cfg.buffers && enabledAfter) {
      const want: BufferSpec = {};
      const old: BufferSpec = {};
      for (const k of ['tiny', 'small', 'large'] as const) {
        const v = cfg.buffers[k];
        if (v !== undefined && v !== cur?.buffers[k]) {
          want[k] = v;
          old[k] = cur?.buffers[k] ?? 0;
        }
      }
      if (Object.keys(want).length) {
        steps.push({
          change: {
            op: 'set',
            section: 'buffers',
            item: 'buffers ' + Object.entries(want).map(([k, v]) => `${k}: ${v}`).join(', '),
            before: 'buffers ' + Object.entries(old).map(([k, v]) => `${k}: ${v}`).join(', '),
            key: cfg.buffers.key,
            ...(cfg.buffers.line !== undefined ? { line: cfg.buffers.line } : {}),
          },
          run: () => this.call('set buffers', () => this.backend.setBuffers(want)),
          undo: () => this.backend.setBuffers(old),
        });
      }
    }
    return steps;
  }

  private async addSteps(cfg: LnetConfig, exec: boolean): Promise<Step[]> {
    const steps: Step[] = [];
    if (cfg.global || cfg.numa) {
      const values = { ...(cfg.global?.values ?? {}) };
      if (cfg.numa) values.numa_range = cfg.numa.range;
      const plan = await this.planGlobals(values);
      const cur = await this.currentGlobals(plan.map(([k]) => k));
      steps.push(...this.globalSteps(plan.filter(([k, v]) => cur[k] !== v), cur, cfg.global?.lines ?? {}));
    }
    for (const n of cfg.nets ?? []) for (const ni of n.nis) steps.push(...this.niStep(n.net, ni, 'add'));
    for (const r of cfg.routes ?? []) steps.push(this.routeStep(r, 'add'));
    if (cfg.routing || cfg.buffers) steps.push(...this.routingSteps(cfg, await this.backend.routing().catch(() => undefined)));
    const curPeers = cfg.peers?.length ? await this.backend.peers(0).catch(() => [] as PeerInfo[]) : [];
    for (const p of cfg.peers ?? []) {
      const existed = curPeers.some((x) => x.primaryNid === p.primaryNid);
      steps.push(this.peerAddStep(p.primaryNid, p.nids, p.multiRail, { key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) }, existed));
    }
    if (exec) {
      for (const d of cfg.discover ?? [])
        steps.push({ change: { op: 'exec', section: 'discover', item: `discover ${d.nid}`, key: d.key, ...(d.line !== undefined ? { line: d.line } : {}) }, run: async () => void (await this.discover(d.nid)) });
      for (const p of cfg.ping ?? [])
        steps.push({
          change: { op: 'exec', section: 'ping', item: `ping ${p.nid}`, key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) },
          run: async () => void (await this.ping(p.nid, p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {})),
        });
    }
    return steps;
  }

  private async delSteps(cfg: LnetConfig): Promise<Step[]> {
    const steps: Step[] = [];
    const curPeers = cfg.peers?.length ? await this.backend.peers(0) : [];
    for (const p of cfg.peers ?? []) {
      const cur = curPeers.find((x) => x.primaryNid === p.primaryNid);
      if (!cur) throw new LnetKernelError('ENOENT', 'import --del', `${p.key}${p.line !== undefined ? ` (line ${p.line})` : ''}: peer ${p.primaryNid} does not exist (nothing applied)`);
      steps.push(this.peerDelStep(cur, p.nids.length ? p.nids : undefined, { key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) }));
    }
    for (const r of cfg.routes ?? []) steps.push(this.routeStep(r, 'del'));
    for (const n of cfg.nets ?? []) for (const ni of n.nis) steps.push(...this.niStep(n.net, ni, 'del'));
    if (cfg.routing?.enable) steps.push(...this.routingSteps({ routing: { ...cfg.routing, enable: false } }, await this.backend.routing()));
    return steps;
  }

  private async diffSteps(cfg: LnetConfig): Promise<Step[]> {
    const mods = await this.backend.modules();
    if (!mods.some((m) => m.name === 'lnet')) throw new LnetKernelError('ENODEV', 'apply', "LNet is not loaded: load it with 'hpcnet lnet load' first (nothing applied)");
    const steps: Step[] = [];
    let up = true;
    try {
      await this.backend.nets(0);
    } catch (e) {
      if (!isErrno(e, 'ENETDOWN')) throw hint(e, 'apply');
      up = false;
    }
    const needsUp = !!(cfg.nets || cfg.routes || cfg.peers || cfg.routing || cfg.buffers || cfg.numa);
    if (!up && needsUp)
      steps.push({
        change: { op: 'configure', section: 'lnet', item: 'lnet configure' },
        run: () => this.configure({ all: false }),
        undo: () => this.backend.unconfigure(),
      });
    // globals first (max_interfaces, discovery, ...)
    if (cfg.global || cfg.numa) {
      const values: Partial<Record<SettableGlobalKey, number>> = { ...(cfg.global?.values ?? {}) };
      if (cfg.numa && up) values.numa_range = cfg.numa.range;
      const keys = Object.keys(values) as SettableGlobalKey[];
      const cur = await this.currentGlobals(keys);
      const changes = Object.fromEntries(keys.filter((k) => cur[k] !== values[k]).map((k) => [k, values[k]!]));
      const plan = planGlobalWrites(cur, changes);
      if ('error' in plan) throw new InvalidArgumentError(`global.${plan.error.key}: ${plan.error.value}: ${plan.error.reason} (nothing applied)`);
      steps.push(...this.globalSteps(plan.order, cur, cfg.global?.lines ?? {}));
    }
    const curNets = up ? await this.backend.nets(1) : [];
    const curRoutes = up ? await this.backend.routes(1) : [];
    const curPeers = up && cfg.peers ? await this.backend.peers(0) : [];
    const curRouting = up ? await this.backend.routing() : undefined;
    const dels: Step[] = [];
    const adds: Step[] = [];
    // peers: NIDs to remove first (they may move between peers)
    for (const p of cfg.peers ?? []) {
      const cur = curPeers.find((x) => x.primaryNid === p.primaryNid);
      const origin = { key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) };
      if (!cur) {
        adds.push(this.peerAddStep(p.primaryNid, p.nids, p.multiRail, origin, false));
        continue;
      }
      if (cur.multiRail !== p.multiRail) {
        dels.push(this.peerDelStep(cur, undefined, origin));
        adds.push(this.peerAddStep(p.primaryNid, p.nids, p.multiRail, origin, false));
        continue;
      }
      const have = cur.nis.map((n) => n.nid).filter((n) => n !== cur.primaryNid);
      const extra = have.filter((n) => !p.nids.includes(n));
      const missing = p.nids.filter((n) => !have.includes(n));
      if (extra.length) dels.push(this.peerDelStep(cur, extra, origin));
      if (missing.length) adds.push(this.peerAddStep(p.primaryNid, missing, p.multiRail, origin, true));
    }
    // routes
    if (cfg.routes) {
      for (const r of curRoutes) {
        const want = cfg.routes.find((x) => x.net === r.net && x.gateway === r.gateway);
        if (!want) dels.push(this.routeStep(r, 'del'));
        else if (want.hop !== r.hop || want.priority !== r.priority) {
          dels.push(this.routeStep(r, 'del'));
          adds.push(this.routeStep(want, 'add'));
        }
      }
      for (const w of cfg.routes) if (!curRoutes.some((r) => r.net === w.net && r.gateway === w.gateway)) adds.push(this.routeStep(w, 'add'));
    }
    // nets
    const netAdds: Step[] = [];
    if (cfg.nets) {
      for (const cn of curNets) {
        if (cn.net === 'lo') continue;
        const want = cfg.nets.find((n) => n.net === cn.net);
        for (const ni of cn.nis) {
          const wni = want?.nis.find((w) => niMatches(w, ni));
          const origin: ConfigNi = { key: want?.key ?? 'net', interfaces: ni.interfaces.slice(0, 1), tunables: {}, lndTunables: {}, ...(ni.interfaces.length ? {} : { nid: ni.nid }) };
          if (!wni) dels.push(...this.niStep(cn.net, origin, 'del'));
          else if (!niEquivalent(wni, ni)) {
            dels.push(...this.niStep(cn.net, { ...origin, key: wni.key, ...(wni.line !== undefined ? { line: wni.line } : {}) }, 'del'));
            netAdds.push(...this.niStep(cn.net, { ...wni, interfaces: ni.interfaces.slice(0, 1) }, 'add'));
          }
        }
      }
      for (const wn of cfg.nets) {
        const cn = curNets.find((n) => n.net === wn.net);
        for (const wni of wn.nis) {
          const ifs = wni.interfaces.length ? wni.interfaces : [undefined];
          for (const f of ifs) {
            const single: ConfigNi = { ...wni, interfaces: f ? [f] : [] };
            if (!cn || !cn.nis.some((ni) => niMatches(single, ni))) netAdds.push(...this.niStep(wn.net, single, 'add'));
          }
        }
      }
    }
    // Deletions first (peers, routes, nets), then additions (nets, routes, routing, peers).
    const routeDels = dels.filter((s) => s.change.section === 'route');
    const peerDels = dels.filter((s) => s.change.section === 'peer');
    const netDels = dels.filter((s) => s.change.section === 'net');
    steps.push(...peerDels, ...routeDels, ...netDels, ...netAdds);
    steps.push(...adds.filter((s) => s.change.section === 'route'));
    steps.push(...this.routingSteps(cfg, curRouting));
    steps.push(...adds.filter((s) => s.change.section === 'peer'));
    return steps.map((s) => ({ ...s, skipOn: [] }));
  }

  // --- unload ----------------------------------------------------------------------------
  /**
   * Unload the LNet (and Lustre) modules, following the wiki page on starting
   * and stopping LNet and lustre_rmmod:
   * - Lustre devices up (a mounted MGS, OST or client): refuse, listing them.
   * - LNet configured standalone (no Lustre module holds it): refuse unless
   *   `unconfigure` is given, because such a node may be routing.
   * - LNet brought up by Lustre with nothing mounted: unload the whole stack.
   * Modules are removed dependents first.
   */
  async unload(opts: UnloadOptions = {}): Promise<UnloadResult> {
    let mods = await this.call('unload', () => this.backend.modules());
    const loaded = (): string[] => mods.filter((m) => m.name === 'libcfs' || m.name === 'lnet' || lustreModules(mods).includes(m.name) || LNET_STACK.has(m.name)).map((m) => m.name);
    if (!mods.some((m) => m.name === 'lnet' || m.name === 'libcfs')) return { removed: [], unconfigured: false, msg: 'LNet is not loaded: nothing to unload' };
    const devices = await this.backend.lustreDevices();
    if (devices.length > 0) {
      const l = loaded();
      throw new LnetRefusedError(
        'ERR_LNET_BUSY',
        `cannot unload: ${devices.length} Lustre device${devices.length === 1 ? ' is' : 's are'} up and hold the modules:\n` +
          devices.map(formatDevice).join('\n') +
          `\nModules still loaded: ${l.join(' ')}\n` +
          'Unmount the Lustre file systems and targets on this node (umount -a -t lustre), then unload again.',
        { devices: devices.map(formatDevice), modulesLoaded: l },
      );
    }
    const removed: string[] = [];
    let unconfigured = false;
    const isUp = async (): Promise<boolean> => {
      try {
        await this.backend.nets(0);
        return true;
      } catch (e) {
        if (isErrno(e, 'ENETDOWN', 'ESHUTDOWN', 'ENODEV')) return false;
        throw hint(e, 'unload');
      }
    };
    const refresh = async (): Promise<void> => {
      mods = await this.backend.modules();
    };
    const removeInclusive = async (name: string, chain: string[] = []): Promise<void> => {
      await refresh();
      const m = mods.find((x) => x.name === name);
      if (!m) return;
      for (const h of m.holders) if (!chain.includes(h)) await removeInclusive(h, [...chain, name]);
      try {
        await this.backend.removeModule(name);
        removed.push(name);
      } catch (e) {
        await refresh().catch(() => undefined);
        const cur = mods.find((x) => x.name === name);
        throw new LnetRefusedError(
          'ERR_LNET_BUSY',
          `cannot unload: rmmod ${name} failed: ${e instanceof Error ? e.message : String(e)}` +
            (cur ? ` (refcount ${cur.refcount}${cur.holders.length ? `, used by ${cur.holders.join(', ')}` : ''})` : '') +
            (removed.length ? `\nAlready removed: ${removed.join(' ')}` : '') +
            `\nModules still loaded: ${loaded().join(' ')}`,
          { modulesLoaded: loaded() },
        );
      }
    };
    const lustre = lustreModules(mods);
    const up = await isUp();
    if (up && lustre.length === 0 && !opts.unconfigure) {
      const routing = await this.backend.routing().catch(() => undefined);
      const routes = await this.backend.routes(0).catch(() => [] as RouteInfo[]);
      throw new LnetRefusedError(
        'ERR_LNET_STANDALONE',
        'cannot unload: LNet was configured standalone (lctl network up / lnetctl lnet configure), not by Lustre, ' +
          `so this node may be routing for others (routing ${routing?.enabled ? 'enabled' : 'disabled'}, ${routes.length} route${routes.length === 1 ? '' : 's'}).\n` +
          `Modules still loaded: ${loaded().join(' ')}\n` +
          "Unconfigure it first ('hpcnet lnet unconfigure' or 'lctl network down'), or unload with unconfigure ('hpcnet lnet unload --unconfigure').",
        { modulesLoaded: loaded() },
      );
    }
    // Lustre first: everything above obdclass, dependents first (lustre_rmmod's ptlrpc step).
    if (lustre.length > 0) {
      for (const top of ['obdclass']) await removeInclusive(top);
      for (const l of lustreModules(mods)) await removeInclusive(l);
    }
    if (await isUp()) {
      if (!opts.unconfigure && lustre.length > 0) {
        throw new LnetRefusedError(
          'ERR_LNET_STANDALONE',
          `Lustre modules were removed (${removed.join(' ')}), but LNet stays up: it was also configured standalone and may be routing.\n` +
            `Modules still loaded: ${loaded().join(' ')}\n` +
            "Unconfigure it ('hpcnet lnet unconfigure') or unload with unconfigure ('hpcnet lnet unload --unconfigure').",
          { modulesLoaded: loaded() },
        );
      }
      await this.unconfigure();
      unconfigured = true;
    }
    await removeInclusive('lnet');
    await removeInclusive('libcfs');
    await refresh();
    return {
      removed,
      unconfigured,
      msg: `unloaded ${removed.join(' ') || 'nothing'}${unconfigured ? ' (LNet unconfigured first)' : ''}`,
    };
  }
}

const NOT_SELF =
  "LNet nets can only be changed when LNet was brought up with 'lnetctl lnet configure' / 'hpcnet lnet configure' (not by Lustre or 'lctl network up' with module-parameter nets only)";

function checkVerbose(v: number | undefined): number {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 4) throw new InvalidArgumentError(`verbosity must be 0-4, got ${v}`);
  return n;
}

/** Loaded modules that belong to Lustre above LNet (obdclass and everything using it). */
export function lustreModules(mods: LoadedModule[]): string[] {
  const names = new Set(mods.map((m) => m.name));
  if (!names.has('obdclass')) return [];
  const out = new Set<string>(['obdclass']);
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of mods) if (out.has(m.name)) for (const h of m.holders) if (!out.has(h) && !LNET_STACK.has(h)) {
      out.add(h);
      grew = true;
    }
  }
  return [...out];
}

function niMatches(w: ConfigNi, ni: NiInfo): boolean {
  if (w.interfaces.length) return w.interfaces.some((f) => ni.interfaces.includes(f));
  if (w.nid) return w.nid === ni.nid;
  return true;
}

/** Does the NI have the tunables and CPTs the document asks for (kernel defaults applied)? */
function niEquivalent(w: ConfigNi, ni: NiInfo): boolean {
  const t = w.tunables;
  const eff = (v: number | undefined, def: number, zeroIsDefault: boolean): number | undefined =>
    v === undefined ? undefined : v < 0 || (zeroIsDefault && v === 0) ? def : v;
  const checks: [number | undefined, number][] = [
    [eff(t.peer_timeout, 180, false), ni.tunables.peer_timeout],
    [eff(t.peer_credits, 8, true), ni.tunables.peer_credits],
    [eff(t.peer_buffer_credits, 0, false), ni.tunables.peer_buffer_credits],
    [eff(t.credits, 256, true), ni.tunables.credits],
  ];
  if (checks.some(([want, have]) => want !== undefined && want !== have)) return false;
  for (const [k, v] of Object.entries(w.lndTunables)) {
    if (v === 0 && (k === 'conns_per_peer' || k === 'timeout')) continue; // 0 = LND default
    if (ni.lndTunables[k] !== undefined && ni.lndTunables[k] !== v) return false;
  }
  if (w.cpts && (w.cpts.length !== ni.cpts.length || w.cpts.some((c) => !ni.cpts.includes(c)))) return false;
  return true;
}

function niSpecOf(net: string, ni: NiInfo): NiAddSpec {
  return {
    net,
    ...(ni.interfaces.length ? { interfaces: ni.interfaces.slice(0, 1) } : { nid: ni.nid }),
    tunables: { ...ni.tunables },
    lndTunables: { ...ni.lndTunables },
    cpts: [...ni.cpts],
  };
}

function summarize(res: TransactionResult, what: string): string {
  if (res.failed.length === 0) {
    const n = res.applied.length;
    return `${what}: ${n} change${n === 1 ? '' : 's'} applied${res.skipped.length ? `, ${res.skipped.length} already in effect` : ''}`;
  }
  const f = res.failed[0]!;
  let msg = `${what}: ${f.item}${f.line !== undefined ? ` (line ${f.line}, ${f.key})` : f.key ? ` (${f.key})` : ''} failed: ${f.error}`;
  msg += res.rolledBack.length ? `; rolled back ${res.rolledBack.length} change${res.rolledBack.length === 1 ? '' : 's'}` : '';
  msg += res.rollbackFailed.length ? `; could not roll back: ${res.rollbackFailed.map((x) => x.item).join('; ')}` : '';
  msg += res.applied.length ? `; still in effect: ${res.applied.map((x) => x.item).join('; ')}` : '; nothing from the document is in effect';
  return msg;
}
