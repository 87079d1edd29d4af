/**
 * Building an emulated world from a description: the node under test and
 * remote nodes with LNet already up on given NIDs. One definition for the
 * in-process mock backend (lib/lnet/mock-backend.ts) and the daemon's
 * `reset` control request, so both start a test from the same state.
 */
import { Nid } from '../../lnet/nid.js';
import { World, type Counters, type Host, type HostSpec, type Ni } from './kernel.js';
import { nid2str, str2net } from './nid.js';

/** Another node of the same emulated world, with LNet up on these NIDs (first = primary). */
export interface RemoteSpec {
  nids: string[];
  /** Moved first when given. */
  primaryNid?: string;
  /** false: discovery disabled on that node (not Multi-Rail). */
  multiRail?: boolean;
  /** Unreachable: pings time out. */
  down?: boolean;
}

/** A world to build: hosts as declared, then remotes named remote1, remote2, ... */
export interface WorldSpec {
  hosts: HostSpec[];
  remotes?: RemoteSpec[];
  /** Modules that do not exist on the declared hosts (e.g. ['ko2iblnd']). */
  missingModules?: string[];
}

/** Bring up LNet on a remote node with the given NIDs (one interface per address). */
export function addRemoteHost(world: World, name: string, r: RemoteSpec): Host {
  const nids = r.primaryNid ? [r.primaryNid, ...r.nids.filter((n) => !Nid.parse(n).equals(Nid.parse(r.primaryNid!)))] : r.nids;
  const ips = [...new Set(nids.map((n) => n.split('@')[0]!))];
  const ifName = (ip: string): string => {
    const i = ips.indexOf(ip);
    return nids.some((n) => n.startsWith(ip + '@o2ib')) ? `ib${i}` : `eth${i}`;
  };
  const h = world.addHost({ name, ifaces: ips.map((ip) => ({ name: ifName(ip), ip })) });
  h.probeModule('lnet');
  h.configure(true);
  for (const n of nids) {
    const p = Nid.parse(n);
    h.startNi(str2net(p.net.toString())!, ifName(n.split('@')[0]!), undefined, undefined, undefined);
  }
  if (new Set(nids.map((n) => Nid.parse(n).net.toString())).size > 1) h.setRouting(true);
  if (r.multiRail === false) h.writeParam('lnet', 'lnet_peer_discovery_disabled', Buffer.from('1'));
  h.unreachable = r.down ?? false;
  return h;
}

/** Add the spec's hosts (without the missing modules) and remotes to `world`; returns the declared hosts. */
export function populateWorld(world: World, spec: WorldSpec): Host[] {
  const missing = new Set(spec.missingModules ?? []);
  const hosts = spec.hosts.map((hs) => {
    const h = world.addHost(hs);
    // A module that is not there takes the modules depending on it along (no modules.dep entry can name it).
    for (let grew = true; grew; ) {
      grew = false;
      for (const d of h.defs) if (!missing.has(d.name) && d.deps.some((x) => missing.has(x))) grew = !!missing.add(d.name);
    }
    for (let i = h.defs.length - 1; i >= 0; i--) if (missing.has(h.defs[i]!.name)) h.defs.splice(i, 1);
    return h;
  });
  (spec.remotes ?? []).forEach((r, i) => addRemoteHost(world, `remote${i + 1}`, r));
  return hosts;
}

/** Traffic counters a test may set: an NI's (by NID) or the host's LNet totals (`lnetctl stats`). */
export type CounterValues = Partial<Record<keyof Counters | 'send' | 'recv' | 'drop', number>>;

/**
 * Simulated traffic: set the message counters of one NI (`nid`: send, recv,
 * drop) or of the host's LNet (no `nid`: msgsMax, send, recv, sendLength, ...).
 * Throws when LNet is not running, the NID is not local or a key is unknown.
 */
export function setCounters(h: Host, values: CounterValues, nid?: string): void {
  if (!h.lnet) throw new Error(`${h.name}: LNet is not loaded`);
  let target: Record<string, number | bigint>;
  if (nid !== undefined) {
    const ni: Ni | undefined = h.allNis().find((n) => nid2str(n.nid) === nid);
    if (!ni) throw new Error(`${h.name}: no local NI ${nid}`);
    target = ni as unknown as Record<string, number | bigint>;
    for (const k of Object.keys(values)) if (!['send', 'recv', 'drop'].includes(k)) throw new Error(`NI counters are send, recv, drop; not '${k}'`);
  } else target = h.lnet.counters as unknown as Record<string, number | bigint>;
  for (const [k, v] of Object.entries(values)) {
    if (!(k in target) || !Number.isInteger(v) || v! < 0) throw new Error(`counter '${k}': unknown, or not a non-negative integer (${String(v)})`);
    target[k] = typeof target[k] === 'bigint' ? BigInt(v!) : v!;
  }
}
