/**
 * In-process LNet backend for unit tests and for scripts on machines
 * without Lustre: the native backend and the kernel layer, unchanged, over
 * the LNet emulator's kernel model (lib/sim/lnet) running in this process
 * (no daemon, no LD_PRELOAD). The emulator's model is the only model of the
 * LNet kernel: errno rules, parameters and NIDs are the emulator's, in the
 * release personality asked for (2.15: ioctls; 2.16: netlink).
 *
 * Test controls: `failNext(op, errno)` on backend methods, `calls` (every
 * call in order), remote nodes to ping (hosts of the same emulated world),
 * simulated Lustre use (`startLustre`), and `host`/`world` for direct access
 * to the model's state.
 */
import type { LnetBackend, LnetFeatureOps } from './backend.js';
import { kernelError } from './errors.js';
import { NativeLnetBackend } from './native-backend.js';
import type { Interfaces } from './kernel/index.js';
import type {
  BufferSpec,
  Counters,
  LnetBackendInfo,
  LnetRelease,
  LoadedModule,
  LustreDevice,
  ModuleInsertion,
  NetInfo,
  NiAddSpec,
  PeerDelSpec,
  PeerInfo,
  PeerSpec,
  PingOptions,
  PingResult,
  RouteInfo,
  RouteSpec,
  RoutingInfo,
} from './types.js';
import { InProcessLnetHandle } from '../sim/lnet/inprocess.js';
import { World, type Host, type IfaceSpec } from '../sim/lnet/kernel.js';
import { populateWorld, type RemoteSpec } from '../sim/lnet/world.js';
import { CAP } from '../sim/lnet/protocol.js';

export interface MockInterface {
  name: string;
  /** IPv4 address. */
  ip: string;
}

/** Another node of the same emulated world, with LNet up on these NIDs (first = primary). */
export type MockRemote = RemoteSpec;

export interface MockLnetOptions {
  release?: LnetRelease;
  interfaces?: MockInterface[];
  /** Number of CPTs (default 2). */
  cpts?: number;
  /** Act as root (default true); false drops the capabilities, as a non-root process has none. */
  root?: boolean;
  remotes?: MockRemote[];
  /** Modules that do not exist on this node (e.g. ['ko2iblnd']). */
  missingModules?: string[];
}

export interface MockCall {
  op: string;
  args: unknown[];
  error?: string;
}

export class MockLnetBackend implements LnetBackend {
  readonly kind = 'mock' as const;
  readonly release: LnetRelease;
  /** The emulated world: this node ('node') and the remotes ('remote1'...). */
  readonly world: World;
  /** This node's emulated kernel. */
  readonly host: Host;
  /** Every call, in order (test recording). */
  readonly calls: MockCall[] = [];
  private readonly inner: NativeLnetBackend;
  private faults: { op: string; code: string; count: number }[] = [];

  constructor(opts: MockLnetOptions = {}) {
    this.release = opts.release ?? '2.16';
    this.world = new World(this.release === '2.15' ? '2.15' : '2.16');
    const ifaces: IfaceSpec[] = (opts.interfaces ?? [{ name: 'eth0', ip: '192.168.1.10' }]).map((i) => ({ name: i.name, ip: i.ip }));
    [this.host] = populateWorld(this.world, {
      hosts: [{ name: 'node', ifaces, ...(opts.cpts !== undefined ? { cpts: opts.cpts } : {}) }],
      ...(opts.remotes ? { remotes: opts.remotes } : {}),
      ...(opts.missingModules ? { missingModules: opts.missingModules } : {}),
    }) as [Host];
    const caps = (opts.root ?? true) ? CAP.ALL : 0;
    const interfaces = (): Interfaces => Object.fromEntries(ifaces.map((i) => [i.name, [{ address: i.ip, netmask: '255.255.255.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: false, cidr: `${i.ip}/24` }]]));
    this.inner = new NativeLnetBackend({ newHandle: () => new InProcessLnetHandle(this.host, caps), interfaces });
  }

  // --- test controls -------------------------------------------------------
  /** Make the next `count` calls of `op` (a method name such as 'addRoute') fail with errno `code`. */
  failNext(op: string, code: string, count = 1): void {
    this.faults.push({ op, code, count });
  }

  /** Simulate Lustre use ('client': a mount; 'mgs': an MGS), as `hpcnet sim lnet lustre` does. */
  async startLustre(kind: 'client' | 'mgs' | 'mdt' | 'ost'): Promise<void> {
    await Promise.resolve();
    this.host.hold(kind, 'lustre', undefined);
  }

  /** Unmount: the devices go away and release their module references. */
  stopLustre(): void {
    this.host.releaseHold(undefined);
  }

  private async run<T>(op: string, args: unknown[], fn: () => Promise<T>): Promise<T> {
    const call: MockCall = { op, args };
    this.calls.push(call);
    try {
      const f = this.faults.find((x) => x.op === op && x.count > 0);
      if (f) {
        f.count--;
        await Promise.resolve();
        throw kernelError(f.code, op, 'injected fault');
      }
      return await fn();
    } catch (e) {
      call.error = (e as { code?: string }).code ?? String(e);
      throw e;
    }
  }

  // --- LnetBackend: the native backend over the in-process emulator ----------
  info(): Promise<LnetBackendInfo> {
    return this.run('info', [], () => this.inner.info());
  }
  modules(): Promise<LoadedModule[]> {
    return this.run('modules', [], () => this.inner.modules());
  }
  loadModule(name: string, params: Record<string, string> = {}): Promise<ModuleInsertion[]> {
    return this.run('loadModule', [name, params], () => this.inner.loadModule(name, params));
  }
  removeModule(name: string): Promise<void> {
    return this.run('removeModule', [name], () => this.inner.removeModule(name));
  }
  readParam(module: string, name: string): Promise<string> {
    return this.run('readParam', [module, name], () => this.inner.readParam(module, name));
  }
  writeParam(module: string, name: string, value: string): Promise<void> {
    return this.run('writeParam', [module, name, value], () => this.inner.writeParam(module, name, value));
  }
  lustreDevices(): Promise<LustreDevice[]> {
    return this.run('lustreDevices', [], () => this.inner.lustreDevices());
  }
  configure(opts: { all: boolean; large?: boolean }): Promise<void> {
    return this.run('configure', [opts], () => this.inner.configure(opts));
  }
  unconfigure(): Promise<void> {
    return this.run('unconfigure', [], () => this.inner.unconfigure());
  }
  nets(detail: number, net?: string): Promise<NetInfo[]> {
    return this.run('nets', [detail, net], () => this.inner.nets(detail, net));
  }
  addNi(spec: NiAddSpec): Promise<void> {
    return this.run('addNi', [spec], () => this.inner.addNi(spec));
  }
  delNi(net: string, nid?: string): Promise<void> {
    return this.run('delNi', [net, nid], () => this.inner.delNi(net, nid));
  }
  routes(detail: number): Promise<RouteInfo[]> {
    return this.run('routes', [detail], () => this.inner.routes(detail));
  }
  addRoute(r: RouteSpec): Promise<void> {
    return this.run('addRoute', [r], () => this.inner.addRoute(r));
  }
  delRoute(r: { net: string; gateway?: string }): Promise<void> {
    return this.run('delRoute', [r], () => this.inner.delRoute(r));
  }
  routing(): Promise<RoutingInfo> {
    return this.run('routing', [], () => this.inner.routing());
  }
  setRouting(enabled: boolean): Promise<void> {
    return this.run('setRouting', [enabled], () => this.inner.setRouting(enabled));
  }
  setBuffers(b: BufferSpec): Promise<void> {
    return this.run('setBuffers', [b], () => this.inner.setBuffers(b));
  }
  peers(detail: number, nid?: string): Promise<PeerInfo[]> {
    return this.run('peers', [detail, nid], () => this.inner.peers(detail, nid));
  }
  peerList(): Promise<string[]> {
    return this.run('peerList', [], () => this.inner.peerList());
  }
  addPeer(p: PeerSpec): Promise<void> {
    return this.run('addPeer', [p], () => this.inner.addPeer(p));
  }
  delPeer(p: PeerDelSpec): Promise<void> {
    return this.run('delPeer', [p], () => this.inner.delPeer(p));
  }
  ping(target: string, opts: PingOptions): Promise<PingResult> {
    return this.run('ping', [target, opts], () => this.inner.ping(target, opts));
  }
  discover(target: string, opts: { force?: boolean }): Promise<PingResult> {
    return this.run('discover', [target, opts], () => this.inner.discover(target, opts));
  }
  stats(): Promise<Counters> {
    return this.run('stats', [], () => this.inner.stats());
  }
  resetStats(): Promise<void> {
    return this.run('resetStats', [], () => this.inner.resetStats());
  }
  getNumaRange(): Promise<number> {
    return this.run('getNumaRange', [], () => this.inner.getNumaRange());
  }
  setNumaRange(v: number): Promise<void> {
    return this.run('setNumaRange', [v], () => this.inner.setNumaRange(v));
  }
  lndTimeout(): Promise<number> {
    return this.run('lndTimeout', [], () => this.inner.lndTimeout());
  }
  /** The same ioctls as the native backend, answered by the in-process emulator (fault rules, health, UDSP). */
  features(): LnetFeatureOps {
    const ops = this.inner.features();
    // Recorded in `calls` under their own names (faultAdd, udspList, ...), and open to failNext.
    return new Proxy(ops, {
      get: (t, k) => {
        const v = Reflect.get(t, k) as unknown;
        if (typeof v !== 'function' || typeof k !== 'string') return v;
        return (...args: unknown[]) => this.run(k, args, () => (v as (...a: unknown[]) => Promise<unknown>).apply(t, args));
      },
    });
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
