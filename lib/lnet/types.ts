/**
 * Data types of the LNet facade and backends. Record keys inside statistics,
 * tunables and health blocks are the kernel's key strings (as lnetctl
 * prints them), in the kernel's order, so they format without a mapping.
 */

/** Lustre release personality of the running modules. */
export type LnetRelease = '2.15' | '2.16' | (string & {});

/** How the backend talks to the kernel for nets, routes and peers. */
export type LnetTransport = 'netlink' | 'ioctl';

export interface LnetBackendInfo {
  /** Release of the loaded lnet module (`2.15`, `2.16`, ...), or undefined when no module is loaded. */
  release: LnetRelease | undefined;
  /** Transport used for nets, routes and peers (netlink when the `lnet` family exists). */
  transport: LnetTransport;
}

/** A loaded kernel module (`/proc/modules`). */
export interface LoadedModule {
  name: string;
  refcount: number;
  /** Modules using this one (lsmod "Used by"). */
  holders: string[];
}

/** One module inserted by a load, as `modprobe -v` reports it (`insmod PATH PARAMS`). */
export interface ModuleInsertion {
  name: string;
  path: string;
  params: string;
}

/** A Lustre device as `lctl dl` lists it (`  0 UP osd-zfs MGS-osd MGS-osd_UUID 5`). */
export interface LustreDevice {
  index: number;
  status: string;
  type: string;
  name: string;
  uuid: string;
  refcount: number;
}

export function formatDevice(d: LustreDevice): string {
  return `${String(d.index).padStart(3)} ${d.status} ${d.type} ${d.name} ${d.uuid} ${d.refcount}`;
}

export type Counters = Record<string, number>;

export interface NiTunables {
  peer_timeout: number;
  peer_credits: number;
  peer_buffer_credits: number;
  credits: number;
}

/** A local NI with every detail the kernel reports; formatters pick by verbosity. */
export interface NiInfo {
  nid: string;
  status: 'up' | 'down';
  interfaces: string[];
  /** send_count, recv_count, drop_count. */
  statistics: Counters;
  /** put, get, reply, ack, hello. */
  sentStats: Counters;
  receivedStats: Counters;
  droppedStats: Counters;
  /** fatal_error, health value, interrupts, dropped, aborted, no route, timeouts, error, ping_count, next_ping. */
  health: Counters;
  tunables: NiTunables;
  /** LND-specific tunables in the LND's key order (empty for lo). */
  lndTunables: Counters;
  devCpt: number;
  cpts: number[];
  udsp: { netPriority: number; nidPriority: number };
}

export interface NetInfo {
  /** Net name as the kernel prints it (`tcp`, `o2ib1`, `lo`). */
  net: string;
  nis: NiInfo[];
}

/** What to add: a net with interfaces (or NIDs), tunables and CPTs (`lnetctl net add`). */
export interface NiAddSpec {
  net: string;
  /** Interfaces, one NI each (the NID comes from the interface's address). */
  interfaces?: string[];
  /** Alternative to interfaces: bring the NI up by NID. */
  nid?: string;
  tunables?: Partial<NiTunables>;
  lndTunables?: Counters;
  cpts?: number[];
}

export interface RouteInfo {
  net: string;
  gateway: string;
  /** -1 when not set (LNET_UNDEFINED_HOPS). */
  hop: number;
  priority: number;
  state: 'up' | 'down';
  type: 'single-hop' | 'multi-hop';
}

export interface RouteSpec {
  net: string;
  gateway: string;
  hop?: number;
  priority?: number;
}

export interface BufferPool {
  npages: number;
  nbuffers: number;
  credits: number;
  mincredits: number;
}

export interface RoutingInfo {
  enabled: boolean;
  /** Per CPT pools; empty when routing buffers were never allocated. */
  cpts: { tiny: BufferPool; small: BufferPool; large: BufferPool }[];
  /** Configured totals (across CPTs). */
  buffers: { tiny: number; small: number; large: number };
}

export interface BufferSpec {
  tiny?: number;
  small?: number;
  large?: number;
}

export interface PeerNiInfo {
  nid: string;
  state: string;
  /** max_ni_tx_credits .. refcount. */
  credits: Counters;
  statistics: Counters;
  sentStats: Counters;
  receivedStats: Counters;
  droppedStats: Counters;
  /** health value, dropped, timeout, error, network timeout, ping_count, next_ping. */
  health: Counters;
}

export interface PeerInfo {
  primaryNid: string;
  multiRail: boolean;
  /** Peer state bits (shown at -v 3). */
  state: number;
  nis: PeerNiInfo[];
}

export interface PeerSpec {
  primaryNid: string;
  /** Extra NIDs (ranges allowed in the facade, expanded before reaching the backend). */
  nids?: string[];
  multiRail?: boolean;
  lockPrim?: boolean;
}

export interface PeerDelSpec {
  primaryNid: string;
  /** NIDs to remove; none means the whole peer. */
  nids?: string[];
  force?: boolean;
}

export interface PingResult {
  primaryNid: string;
  multiRail: boolean;
  /** Every process id the peer answered with, `12345-0@lo` first, as `lctl ping` prints. */
  ids: string[];
  /** The peer's NIDs without 0@lo, as `lnetctl ping` prints. */
  nids: string[];
}

export interface PingOptions {
  timeoutMs?: number;
  source?: string;
}

/** lnetctl global keys (`lnetctl global show` order). */
export const GLOBAL_KEYS = [
  'numa_range',
  'max_interfaces',
  'discovery',
  'drop_asym_route',
  'retry_count',
  'transaction_timeout',
  'health_sensitivity',
  'recovery_interval',
  'router_sensitivity',
  'lnd_timeout',
  'response_tracking',
  'recovery_limit',
  'max_recovery_ping_interval',
] as const;
export type GlobalKey = (typeof GLOBAL_KEYS)[number];
export type SettableGlobalKey = Exclude<GlobalKey, 'lnd_timeout'>;
/** Every global; lnd_timeout is absent when the kernel does not expose it (debugfs not mounted). */
export type Globals = Record<SettableGlobalKey, number> & { lnd_timeout?: number };

/** Global counter keys in the order `lnetctl stats show` prints them (master; 2.15/2.16 lack the *_resends keys). */
export const STATS_KEYS = [
  'msgs_alloc', 'msgs_max', 'rst_alloc', 'errors', 'send_count', 'resend_count', 'response_timeout_count',
  'local_interrupt_count', 'local_dropped_count', 'local_aborted_count', 'local_no_route_count', 'local_timeout_count',
  'local_error_count', 'remote_dropped_count', 'remote_error_count', 'remote_timeout_count', 'network_timeout_count',
  'failed_resends', 'successful_resends', 'recv_count', 'route_count', 'drop_count',
  'send_length', 'recv_length', 'route_length', 'drop_length',
] as const;
