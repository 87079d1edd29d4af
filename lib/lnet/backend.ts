/**
 * The LNet backend interface (in the style of serialport's
 * bindings-interface): the LNet facade talks only to an LnetBackend. The
 * native backend (native-backend.ts) sits on the kernel layer
 * (lib/lnet/kernel: /dev/lnet ioctls, generic netlink, libkmod), which also
 * drives the emulator when the process runs under `hpcnet sim lnet exec`;
 * the mock backend (mock-backend.ts) is an in-memory behavioural model for
 * unit tests.
 *
 * Contract, for every implementation:
 * - Every method returns a Promise, settles on a later tick and never blocks
 *   the caller's thread.
 * - Failures reject with an HpcnetError whose `code` is the kernel's errno
 *   name and whose `errno` is its number (LnetKernelError or the kernel
 *   layer's NativeCallError). The errno rules are the kernel's (reference
 *   lnet.md 1.6/1.7/2.3):
 *   - LNet control on a node without the lnet module: ENODEV (or ENOENT for
 *     a missing /dev/lnet).
 *   - Queries and non-config operations while LNet is down: ENETDOWN.
 *   - add/del of nets when LNet was not brought up by `configure`: EINVAL.
 *   - Adding what exists: EEXIST; deleting or querying what does not: ENOENT.
 *   - Route through a gateway on a net with no local NI: EHOSTUNREACH.
 *   - unconfigure while other users (Lustre) hold LNet: EBUSY, and LNet
 *     stays up.
 *   - Removing a module that is in use: EBUSY.
 *   - Writes to parameters fail with EINVAL when the kernel's validator
 *     refuses the value, EACCES/EPERM for read-only files or non-root users.
 * - Nothing is cached: each call reflects the kernel at that moment.
 * - `close()` releases sockets and descriptors; the backend may be reused
 *   afterwards (it reopens lazily).
 */
import type {
  BufferSpec,
  Counters,
  LnetBackendInfo,
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
import type { LnetFeaturesIoctl } from './kernel/features.js';

export interface LnetBackend {
  /** 'native' over the kernel layer (real kernel or emulator), 'mock' for the in-memory model. */
  readonly kind: 'native' | 'mock';

  /** Release of the loaded modules and the transport in use. Never rejects for a missing module (release undefined). */
  info(): Promise<LnetBackendInfo>;

  // --- kernel modules ------------------------------------------------------
  /** Loaded modules with refcounts and holders (all of /proc/modules). */
  modules(): Promise<LoadedModule[]>;
  /**
   * `modprobe -v NAME params`: insert the module and what it depends on.
   * Resolves with the modules actually inserted, dependencies first (empty
   * when already loaded). ENOENT when the module does not exist.
   */
  loadModule(name: string, params?: Record<string, string>): Promise<ModuleInsertion[]>;
  /** `rmmod NAME`: EBUSY when in use (refcount or holders), ENOENT when not loaded. */
  removeModule(name: string): Promise<void>;
  /** Read `/sys/module/MODULE/parameters/NAME`, with the trailing newline removed. ENOENT when absent. */
  readParam(module: string, name: string): Promise<string>;
  /** Write `/sys/module/MODULE/parameters/NAME` through the kernel's validator (EINVAL when refused). */
  writeParam(module: string, name: string, value: string): Promise<void>;
  /** Lustre devices (`lctl dl`); empty when none or when obdclass is not loaded. */
  lustreDevices(): Promise<LustreDevice[]>;

  // --- LNet state ----------------------------------------------------------
  /**
   * Bring LNet up (IOC_LIBCFS_CONFIGURE / LNET_CMD_CONFIGURE). `all` also
   * brings up the NIs from module parameters (networks=, ip2nets=, routes=).
   * Idempotent while configured.
   */
  configure(opts: { all: boolean; large?: boolean }): Promise<void>;
  /** Drop the self reference; EBUSY when other users still hold LNet. 0 when never configured. */
  unconfigure(): Promise<void>;

  /** Local nets and NIs (lo first). `detail` is the lnetctl verbosity 0-4: the backend may omit counters above it. */
  nets(detail: number, net?: string): Promise<NetInfo[]>;
  addNi(spec: NiAddSpec): Promise<void>;
  /** Delete a whole net (no nid) or one NI of it. */
  delNi(net: string, nid?: string): Promise<void>;

  routes(detail: number): Promise<RouteInfo[]>;
  addRoute(r: RouteSpec): Promise<void>;
  /** Delete the route to `net` through `gateway` (all gateways when undefined). ENOENT when the net has no route. */
  delRoute(r: { net: string; gateway?: string }): Promise<void>;

  routing(): Promise<RoutingInfo>;
  setRouting(enabled: boolean): Promise<void>;
  /** Set router buffer totals; undefined keeps a pool unchanged. */
  setBuffers(b: BufferSpec): Promise<void>;

  peers(detail: number, nid?: string): Promise<PeerInfo[]>;
  /** Primary NIDs of all peers (`lnetctl peer list`). */
  peerList(): Promise<string[]>;
  addPeer(p: PeerSpec): Promise<void>;
  delPeer(p: PeerDelSpec): Promise<void>;

  ping(target: string, opts: PingOptions): Promise<PingResult>;
  discover(target: string, opts: { force?: boolean }): Promise<PingResult>;

  /** Global LNet counters in the kernel's key order. */
  stats(): Promise<Counters>;
  resetStats(): Promise<void>;

  getNumaRange(): Promise<number>;
  setNumaRange(v: number): Promise<void>;
  /** The effective LND timeout (`lnd_timeout` in `lnetctl global show`). */
  lndTimeout(): Promise<number>;

  /**
   * Fault rules, health values, recovery queues and UDSP: ioctls on every
   * release (kernel/features.ts), for the facade's faults/health/udsp.
   */
  features(): LnetFeatureOps;

  close(): Promise<void>;
}

/** The operations of kernel/features.ts (LnetFeaturesIoctl). */
export type LnetFeatureOps = Pick<
  LnetFeaturesIoctl,
  'faultAdd' | 'faultDel' | 'faultReset' | 'faultList' | 'setHealth' | 'recoveryQueue' | 'udspAdd' | 'udspDel' | 'udspList' | 'udspInfo'
>;
