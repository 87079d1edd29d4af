/**
 * The LNet kernel layer: a typed, Promise-based wrapper over the hpcnet_lnet
 * addon, talking to the running (or emulated) LNet kernel the way lctl and
 * lnetctl do.
 *
 *   await using k = openLnetKernel();
 *   const info = await k.info();          // netlink family? which ioctl layout?
 *   await k.modules.load('lnet', { networks: 'tcp0(eth1)' });
 *   await k.configure({ all: false });    // netlink if the family exists, else ioctl
 *   console.log(await k.listNids(), k.lastTransport);
 *
 * Layers:
 * - `k.ioctl`   every /dev/lnet ioctl (IoctlTransport, ioctl.ts);
 * - `k.netlink` every LNET_CMD_* request on the "lnet" genl family (NetlinkTransport, genl.ts);
 * - `k.modules` libkmod load/list/remove and /sys/module parameters (ModuleTransport, modules.ts);
 * - methods on `k` itself pick the transport per operation: netlink when the
 *   family exists and implements the command, the ioctl otherwise (with the
 *   ioctl layout of the running release); `k.lastTransport` tells which was used.
 *
 * Every call runs on the handle's own native thread (serialised, never on
 * the JS thread or libuv's pool). close() (or `await using`) waits for calls
 * in flight, then frees the thread, socket and libkmod context; handles are
 * also closed when their environment (main thread or worker) shuts down.
 */
import { networkInterfaces } from 'node:os';
import { loadLnetNative, type LnetNativeHandle } from '../../native/loader.js';
import type { AbiRelease } from './abi.js';
import { Nid } from '../nid.js';
import { LnetError } from './errors.js';
import { NetlinkTransport, type NetAddSpec } from './genl.js';
import { IoctlTransport, LNET_PID_ANY, type LndTunables, type NidInput, nidString, nid4 } from './ioctl.js';
import { ModuleTransport } from './modules.js';
import { LNET_CMD, type DumpObject, type DumpValue, type GenlFamily, type LnetCmdName } from './netlink.js';

export { LnetError, LnetProtocolError, type KernelTransport } from './errors.js';
export type { AbiRelease } from './abi.js';
export * from './ioctl.js';
export { NetlinkTransport, type NetAddSpec, type NetlinkReply, type NetlinkRequest } from './genl.js';
export { ModuleTransport, formatModuleOptions, modprobeVerboseLine, type LoadedModule, type ModuleInsertion } from './modules.js';
export { LNET_CMD, NLM_F, type DumpObject, type DumpResult, type DumpValue, type GenlFamily } from './netlink.js';

export interface OpenOptions {
  /** Force the ioctl layout instead of detecting it (see info()). */
  release?: AbiRelease;
  /** Upper bound for one netlink request (default 30 s; ping waits longer by its own timeout). */
  netlinkTimeoutMs?: number;
  /** Where calls go instead of the addon (the emulator in-process: lib/sim/lnet/inprocess.ts). */
  newHandle?: () => LnetNativeHandle;
  /** The interfaces getifaddrs reports (default os.networkInterfaces; the in-process emulator gives its host's). */
  interfaces?: () => Interfaces;
}

export type Interfaces = ReturnType<typeof networkInterfaces>;

/** What the layer found about the running kernel. */
export interface KernelInfo {
  /** The "lnet" generic netlink family, when it exists (2.16+ with lnet.ko loaded). */
  netlink: GenlFamily | undefined;
  /** The ioctl layout in use. */
  release: AbiRelease;
  /** How `release` was decided. */
  releaseSource: 'option' | 'module-version' | 'netlink-ops' | 'no-netlink-family';
  /** Content of /sys/module/lnet/version, when the module publishes one. */
  moduleVersion: string | undefined;
  /** Which transport each auto-selecting operation will use now. */
  transports: Record<AutoOp, 'netlink' | 'ioctl'>;
}

export type AutoOp = 'configure' | 'unconfigure' | 'listNids' | 'addNet' | 'delNet' | 'addRoute' | 'delRoute' | 'addPeer' | 'delPeer' | 'ping' | 'discover';

const AUTO_CMD: Record<AutoOp, LnetCmdName> = {
  configure: 'CONFIGURE',
  unconfigure: 'CONFIGURE',
  listNids: 'NETS',
  addNet: 'NETS',
  delNet: 'NETS',
  addRoute: 'ROUTES',
  delRoute: 'ROUTES',
  addPeer: 'PEERS',
  delPeer: 'PEERS',
  ping: 'PING',
  discover: 'PING',
};

/** Ping or discovery result, whichever transport answered. */
export interface PingResult {
  primaryNid: string;
  multiRail: boolean;
  /** The peer's NIDs in the kernel's order (0@lo included when the kernel reports it). */
  nids: string[];
  /** Process ids, only from the ioctl path (netlink replies carry NIDs only). */
  ids?: { nid: string; pid: number }[];
  transport: 'netlink' | 'ioctl';
}

/** Map a lustre release string ("2.15.4", "2.16.1", "2.17.57") to an ioctl layout. */
export function releaseOfVersion(v: string): AbiRelease | undefined {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 2) return major > 2 ? 'master' : undefined;
  if (minor <= 15) return '2.15';
  if (minor === 16) return '2.16';
  return 'master';
}

function str(v: DumpValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function arr(v: DumpValue | undefined): DumpObject[] {
  if (Array.isArray(v)) return v.filter((x): x is DumpObject => typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x));
  if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v)) return [v as DumpObject];
  return [];
}

export class LnetKernel implements AsyncDisposable {
  readonly ioctl: IoctlTransport;
  readonly netlink: NetlinkTransport;
  readonly modules: ModuleTransport;
  /** The transport the last auto-selecting call used, with its operation. */
  lastTransport: { op: AutoOp; transport: 'netlink' | 'ioctl' } | undefined;

  private native: LnetNativeHandle | undefined;
  private raw: LnetNativeHandle | undefined;
  private closed = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private releaseCache: { release: AbiRelease; source: KernelInfo['releaseSource']; version: string | undefined; at: number } | undefined;

  constructor(private readonly opts: OpenOptions = {}) {
    const h = (): LnetNativeHandle => this.handle();
    this.ioctl = new IoctlTransport(h, () => this.release());
    this.netlink = new NetlinkTransport(h, opts.netlinkTimeoutMs);
    this.modules = new ModuleTransport(h, () => this.invalidate());
  }

  private handle(): LnetNativeHandle {
    if (this.closed) throw new LnetError({ code: 'ERR_CLOSED', op: 'LnetKernel', transport: 'ioctl', message: 'the LNet kernel handle is closed' });
    if (!this.native) {
      const raw = this.opts.newHandle ? this.opts.newHandle() : new (loadLnetNative().LnetHandle)();
      this.raw = raw;
      // Every native call is tracked, so close() can wait for it.
      this.native = new Proxy(raw, {
        get: (target, prop, recv) => {
          const v = Reflect.get(target, prop, recv) as unknown;
          if (typeof v !== 'function' || prop === 'close') return v;
          return (...args: unknown[]) => this.track((v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        },
      });
    }
    return this.native;
  }

  /** Track a call so close() can wait for it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  private ifaces(): Interfaces {
    return (this.opts.interfaces ?? networkInterfaces)();
  }

  /** Read a text file (sysfs, procfs, debugfs) on the handle's thread, like every call (close() waits for it). */
  readFile(path: string): Promise<string> {
    return this.handle().readFile(path);
  }

  /** Forget what was detected (family, release); done automatically after module loads and removals. */
  invalidate(): void {
    this.netlink.invalidate();
    this.releaseCache = undefined;
  }

  private async detectRelease(): Promise<NonNullable<LnetKernel['releaseCache']>> {
    if (this.releaseCache && Date.now() - this.releaseCache.at < NetlinkTransport.FAMILY_TTL_MS) return this.releaseCache;
    let version: string | undefined;
    try {
      version = (await this.handle().readFile('/sys/module/lnet/version')).trim();
    } catch {
      version = undefined;
    }
    let r: NonNullable<LnetKernel['releaseCache']>;
    const fromVersion = version ? releaseOfVersion(version) : undefined;
    const at = Date.now();
    if (this.opts.release) r = { release: this.opts.release, source: 'option', version, at };
    else if (fromVersion) r = { release: fromVersion, source: 'module-version', version, at };
    else {
      const fam = await this.netlink.family();
      if (fam) r = { release: fam.ops.some((o) => o.id === LNET_CMD.STATS) ? 'master' : '2.16', source: 'netlink-ops', version, at };
      else r = { release: '2.15', source: 'no-netlink-family', version, at };
    }
    this.releaseCache = r;
    return r;
  }

  /** The ioctl layout of the running kernel. */
  async release(): Promise<AbiRelease> {
    return (await this.detectRelease()).release;
  }

  /** Netlink family, ioctl layout and the transport each operation will use. */
  info(): Promise<KernelInfo> {
    return this.track(
      (async () => {
        const fam = await this.netlink.family();
        const r = await this.detectRelease();
        const transports = {} as Record<AutoOp, 'netlink' | 'ioctl'>;
        for (const [op, cmd] of Object.entries(AUTO_CMD) as [AutoOp, LnetCmdName][]) {
          transports[op] = fam && fam.ops.some((o) => o.id === LNET_CMD[cmd]) ? 'netlink' : 'ioctl';
        }
        return { netlink: fam, release: r.release, releaseSource: r.source, moduleVersion: r.version, transports };
      })(),
    );
  }

  /** The transport an operation uses now: netlink when the family implements its command. */
  async transportFor(op: AutoOp): Promise<'netlink' | 'ioctl'> {
    return (await this.netlink.has(AUTO_CMD[op])) ? 'netlink' : 'ioctl';
  }

  private auto<T>(op: AutoOp, viaNetlink: () => Promise<T>, viaIoctl: () => Promise<T>): Promise<T> {
    return this.track(
      (async () => {
        const t = await this.transportFor(op);
        this.lastTransport = { op, transport: t };
        if (t === 'ioctl') return viaIoctl();
        try {
          return await viaNetlink();
        } catch (e) {
          // A kernel whose family lists the command but refuses it (EOPNOTSUPP): the ioctl does it, as lnetctl falls back.
          if (!(e instanceof LnetError && e.code === 'EOPNOTSUPP')) throw e;
          this.lastTransport = { op, transport: 'ioctl' };
          return viaIoctl();
        }
      })(),
    );
  }

  // --- operations with transport choice ----------------------------------------------------

  /** Bring LNet up. `all` also brings up NIs from module parameters; `large` (netlink only) uses large NIDs. */
  configure(o: { all: boolean; large?: boolean }): Promise<void> {
    return this.auto(
      'configure',
      () => this.netlink.configure(o),
      () => this.ioctl.configure({ loadModParams: o.all }),
    );
  }

  /** Drop LNet's self reference; EBUSY while Lustre holds it. */
  unconfigure(): Promise<void> {
    return this.auto(
      'unconfigure',
      () => this.netlink.unconfigure(),
      () => this.ioctl.unconfigure(),
    );
  }

  /** Every local NID, 0@lo first (as `lctl list_nids all`). */
  listNids(): Promise<string[]> {
    return this.auto(
      'listNids',
      async () => {
        const nets = await this.netlink.netsShow({ verbosity: 1 });
        const out: string[] = [];
        for (const n of nets) for (const ni of arr(n['local NI(s)'])) if (str(ni['nid'])) out.push(ni['nid'] as string);
        return out;
      },
      () => this.ioctl.listNids(),
    );
  }

  /**
   * Add a net with one NI per interface (or per NID). Over netlink the
   * kernel takes NIs by interface: a NID is mapped to the interface that
   * holds its address. Over the ioctl each NI needs its NID: an interface's
   * NID is its IPv4 address on the net, found with getifaddrs
   * (os.networkInterfaces) as lnetctl does, or by `nidOf` when given.
   */
  addNet(s: NetAddSpec & { nids?: string[]; nidOf?: (iface: string, net: string) => string }): Promise<void> {
    const ifaces = s.interfaces ?? [];
    const nids = s.nids ?? [];
    if (ifaces.length === 0 && nids.length === 0) return Promise.reject(new RangeError('addNet needs at least one interface or NID'));
    return this.auto(
      'addNet',
      () => this.netlink.netAdd({ ...s, interfaces: [...ifaces, ...nids.map((n) => interfaceOfNid(this.ifaces(), n))] }),
      async () => {
        const lndFor = (nid: string): LndTunables | undefined => lndTunablesFor(nid4(nid), s.lndTunables);
        const common = { ...(s.cpts ? { cpts: s.cpts } : {}), tunables: { ...(s.tunables ?? {}) } };
        for (const i of ifaces) {
          const nid = s.nidOf ? s.nidOf(i, s.net) : interfaceNid(this.ifaces(), i, s.net);
          const lnd = lndFor(nid);
          await this.ioctl.addLocalNi({ nid, interface: i, ...common, ...(lnd ? { lndTunables: lnd } : {}) });
        }
        for (const nid of nids) {
          const lnd = lndFor(nid);
          const iface = interfaceOfNid(this.ifaces(), nid, false);
          await this.ioctl.addLocalNi({ nid, ...(iface ? { interface: iface } : {}), ...common, ...(lnd ? { lndTunables: lnd } : {}) });
        }
      },
    );
  }

  /** Delete a whole net, or only the NIs on the given interfaces / with the given NIDs. */
  delNet(o: { net: string; interfaces?: string[]; nids?: string[]; nidOf?: (iface: string, net: string) => string }): Promise<void> {
    const ifaces = o.interfaces ?? [];
    const nids = o.nids ?? [];
    return this.auto(
      'delNet',
      async () => {
        if (ifaces.length === 0 && nids.length === 0) return this.netlink.netDel({ net: o.net });
        const byNid = nids.length ? await this.interfacesOfNis(o.net) : new Map<string, string>();
        const more = nids.map((n) => {
          const i = byNid.get(Nid.parse(n).toString());
          if (i === undefined) throw new LnetError({ code: 'ENOENT', errno: 2, op: 'LNET_CMD_NETS', transport: 'netlink', message: `LNET_CMD_NETS: no NI ${n} on net ${o.net}` });
          return i;
        });
        return this.netlink.netDel({ net: o.net, interfaces: [...ifaces, ...more] });
      },
      async () => {
        if (ifaces.length === 0 && nids.length === 0) return this.ioctl.delLocalNi({ net: o.net });
        for (const i of ifaces) await this.ioctl.delLocalNi({ nid: o.nidOf ? o.nidOf(i, o.net) : interfaceNid(this.ifaces(), i, o.net) });
        for (const n of nids) await this.ioctl.delLocalNi({ nid: n });
      },
    );
  }

  /** NID -> interface of the NIs of `net`, from the netlink net dump. */
  private async interfacesOfNis(net: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const n of await this.netlink.netsShow({ net })) {
      for (const ni of arr(n['local NI(s)'])) {
        const nid = str(ni['nid']);
        const intf = ni['interfaces'];
        const name = typeof intf === 'object' && intf !== null && !Array.isArray(intf) && !Buffer.isBuffer(intf) ? str((intf as DumpObject)['0']) : undefined;
        if (nid && name) out.set(nid, name);
      }
    }
    return out;
  }

  addRoute(r: { net: string; gateway: string; hop?: number; priority?: number }): Promise<void> {
    return this.auto(
      'addRoute',
      () => this.netlink.routeAdd(r),
      () => this.ioctl.addRoute({ net: r.net, gateway: r.gateway, ...(r.hop !== undefined ? { hops: r.hop } : {}), ...(r.priority !== undefined ? { priority: r.priority } : {}) }),
    );
  }

  delRoute(r: { net: string; gateway?: string }): Promise<void> {
    return this.auto(
      'delRoute',
      () => this.netlink.routeDel(r),
      () => this.ioctl.delRoute(r),
    );
  }

  /** Add a peer (and extra NIDs). The ioctl path creates the peer first, then one call per extra NID, as lnetctl does. */
  addPeer(p: { primaryNid: string; nids?: string[]; multiRail?: boolean; lockPrim?: boolean }): Promise<void> {
    return this.auto(
      'addPeer',
      () => this.netlink.peerAdd(p),
      async () => {
        const base = { primary: p.primaryNid, ...(p.multiRail !== undefined ? { multiRail: p.multiRail } : {}), ...(p.lockPrim ? { lockPrim: true } : {}) };
        await this.ioctl.addPeerNi(base);
        for (const n of p.nids ?? []) await this.ioctl.addPeerNi({ ...base, nid: n });
      },
    );
  }

  /** Delete a peer, or some of its NIDs. */
  delPeer(p: { primaryNid: string; nids?: string[]; force?: boolean }): Promise<void> {
    return this.auto(
      'delPeer',
      () => this.netlink.peerDel(p),
      async () => {
        if (!p.nids || p.nids.length === 0) return this.ioctl.delPeerNi({ primary: p.primaryNid, ...(p.force ? { force: true } : {}) });
        for (const n of p.nids) await this.ioctl.delPeerNi({ primary: p.primaryNid, nid: n, ...(p.force ? { force: true } : {}) });
      },
    );
  }

  /** Ping one NID (optionally `pid-nid`). */
  ping(target: string, o: { timeoutMs?: number; source?: string } = {}): Promise<PingResult> {
    return this.auto(
      'ping',
      async () => this.fromPingDump(await this.netlink.ping({ nids: [target], ...o }), 'LNET_CMD_PING', 'ping'),
      async () => {
        const { nid, pid } = splitPid(target);
        const r = await this.ioctl.ping({ nid, ...(pid !== undefined ? { pid } : {}), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), ...(o.source !== undefined ? { source: o.source } : {}) });
        return { primaryNid: r.primaryNid, multiRail: r.multiRail, nids: r.ids.map((x) => x.nid), ids: r.ids, transport: 'ioctl' };
      },
    );
  }

  discover(target: string, o: { force?: boolean } = {}): Promise<PingResult> {
    return this.auto(
      'discover',
      async () => this.fromPingDump(await this.netlink.discover({ nids: [target], ...o }), 'LNET_CMD_PING', 'discover'),
      async () => {
        const { nid, pid } = splitPid(target);
        const r = await this.ioctl.discover({ nid, ...(pid !== undefined ? { pid } : {}), ...(o.force ? { force: true } : {}) });
        return { primaryNid: r.primaryNid, multiRail: r.multiRail, nids: r.ids.map((x) => x.nid), ids: r.ids, transport: 'ioctl' };
      },
    );
  }

  private fromPingDump(d: Record<string, DumpObject[]>, op: string, top: string): PingResult {
    const items = d[top] ?? d['ping'] ?? [];
    // Per-NID failures: an "errno" in the item, or an error section (lnet_err_attrs) under another header.
    for (const [k, list] of Object.entries(d)) {
      for (const it of list) {
        const errno = it['errno'];
        if (typeof errno === 'number' && errno !== 0) {
          const descr = str(it['descr']) ?? str(it['type']);
          throw LnetError.fromKernel(-Math.abs(errno), op, 'netlink', descr ? `${k}: ${descr}` : undefined);
        }
      }
    }
    const it = items[0];
    if (!it) throw new LnetError({ code: 'ERR_LNET_PROTOCOL', op, transport: 'netlink', message: `${op}: the reply has no '${top}' item` });
    const nis = arr(it['peer_ni'] ?? it['peer ni']);
    return {
      primaryNid: str(it['primary nid']) ?? '',
      multiRail: it['Multi-Rail'] === true || it['Multi-Rail'] === 1,
      nids: nis.map((n) => str(n['nid'])).filter((x): x is string => x !== undefined),
      transport: 'netlink',
    };
  }

  /** Resolves when every call started so far has settled. */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** Wait for calls in flight, then free the native thread, socket and libkmod context. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    this.closed = true;
    this.raw?.close();
    this.raw = undefined;
    this.native = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** `<IPv4 of iface>@net`, from getifaddrs (what lnetctl does before IOC_LIBCFS_ADD_LOCAL_NI). */
function interfaceNid(all: Interfaces, iface: string, net: string): string {
  const addrs = all[iface];
  const v4 = addrs?.find((a) => a.family === 'IPv4');
  if (!v4) {
    throw new LnetError({ code: 'EINVAL', errno: 22, op: 'getifaddrs', transport: 'ioctl', syscall: 'getifaddrs', message: `couldn't query intf ${iface}: no IPv4 address on interface '${iface}'` });
  }
  return `${v4.address}@${net}`;
}

/** The interface holding a NID's IPv4 address (getifaddrs). */
function interfaceOfNid(all: Interfaces, nid: string, required = true): string {
  const n = Nid.parse(nid);
  const addr = n.isLarge ? undefined : [(n.addr4 >>> 24) & 255, (n.addr4 >>> 16) & 255, (n.addr4 >>> 8) & 255, n.addr4 & 255].join('.');
  for (const [name, list] of Object.entries(all)) {
    if (list?.some((a) => a.family === 'IPv4' && a.address === addr)) return name;
  }
  if (!required) return '';
  throw new LnetError({ code: 'EINVAL', errno: 22, op: 'getifaddrs', transport: 'netlink', syscall: 'getifaddrs', message: `no local interface has the address of ${nid}` });
}

/** LND tunables given as key/value pairs (netlink style) for the ioctl struct of the NI's LND. */
function lndTunablesFor(nid: bigint, rec: Record<string, number> | undefined): LndTunables | undefined {
  if (!rec || Object.keys(rec).length === 0) return undefined;
  const type = Number((nid >> 48n) & 0xffn);
  if (type === 2) return { lnd: 'socklnd', ...rec };
  if (type === 5) return { lnd: 'o2iblnd', ...rec };
  return undefined;
}

function splitPid(target: string): { nid: NidInput; pid: number | undefined } {
  const m = /^(U?)(\d+|LNET_PID_ANY)-(.+)$/.exec(target);
  if (!m) return { nid: target, pid: undefined };
  const pid = m[2] === 'LNET_PID_ANY' ? LNET_PID_ANY : (Number(m[2]) | (m[1] ? 0x80000000 : 0)) >>> 0;
  return { nid: m[3]!, pid };
}

/** Open a handle on the LNet kernel (lazy: nothing is opened until the first call). */
export function openLnetKernel(opts: OpenOptions = {}): LnetKernel {
  return new LnetKernel(opts);
}

export { nidString, nid4 };
