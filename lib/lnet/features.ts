/**
 * Fault injection, health and recovery, and UDSP in the LNet facade
 * (`lnet.faults`, `lnet.health`, `lnet.udsp`). Every release reaches these
 * through /dev/lnet ioctls (lctl's net_drop_* and net_delay_*, lnetctl's
 * `net|peer set --health`, `debug recovery` fallback and `udsp`), so one
 * implementation serves 2.15 and 2.16; the backend supplies the transport
 * (`backend.features()`: the kernel layer, or the emulator's model in-process
 * for the mock). Arguments are checked before anything is sent.
 */
import { InvalidArgumentError } from '../errors.js';
import type { LnetBackend } from './backend.js';
import { ymap, yseq, type YMap, type YNode } from './format.js';
import { FAULT_MSG, type FaultKind, type FaultRule, type FaultRuleSpec, faultNid } from './kernel/features.js';
import { UDSP_ACTION, checkUdspSpec, demarshalUdsp, marshalUdsp, udspDescrText, type UdspRule, type UdspRuleSpec } from './udsp.js';

export type { FaultKind, FaultRule, FaultRuleSpec, UdspRule, UdspRuleSpec };

/** What lctl checks before the ioctl (fault_simul_rule_add), plus NID syntax. */
export function checkFaultSpec(kind: FaultKind, r: FaultRuleSpec): void {
  const what = `fault ${kind} add`;
  if (!r.source || !r.destination) throw new InvalidArgumentError(`${what}: please provide both source and destination (-s, -d)`);
  faultNid(r.source);
  faultNid(r.destination);
  if (r.localNid) faultNid(r.localNid);
  const nz = (v: number | undefined) => v !== undefined && v !== 0;
  if (nz(r.rate) === nz(r.interval)) throw new InvalidArgumentError(`${what}: please provide either ${kind} rate or interval but not both at the same time`);
  for (const [k, v] of [['rate', r.rate], ['interval', r.interval], ['latency', r.latency]] as const)
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) throw new InvalidArgumentError(`${what}: ${k} must be a whole number >= 0, got ${v}`);
  if (kind === 'delay' && !nz(r.latency)) throw new InvalidArgumentError(`${what}: latency cannot be zero`);
  if (kind === 'drop' && r.random && !nz(r.interval)) throw new InvalidArgumentError(`${what}: please provide an interval to randomize`);
  if (kind === 'delay' && (r.random || r.dropAll || r.healthErrorMask)) throw new InvalidArgumentError(`${what}: --random, --drop_all and --health_error are drop-rule options`);
  for (const p of r.portals ?? []) if (!Number.isInteger(p) || p < 0 || p >= 64) throw new InvalidArgumentError(`${what}: invalid portal: ${p}`);
  for (const m of r.messages ?? []) if (!(m in FAULT_MSG)) throw new InvalidArgumentError(`${what}: unknown message type ${m} (put, ack, get, reply)`);
}

export function faultsApi(backend: LnetBackend) {
  const f = () => backend.features();
  return {
    /** lctl net_drop_add / net_delay_add. */
    async add(kind: FaultKind, r: FaultRuleSpec): Promise<void> {
      checkFaultSpec(kind, r);
      await f().faultAdd(kind, r);
    },
    /** lctl net_*_del -s -d, or every rule of the kind (`-a`) without them; resolves with the number removed. */
    async del(kind: FaultKind, r?: { source: string; destination: string }): Promise<number> {
      if (r) {
        faultNid(r.source);
        faultNid(r.destination);
      }
      return f().faultDel(kind, r);
    },
    /** lctl net_*_reset: statistics back to zero, rules kept. */
    reset: (kind: FaultKind): Promise<void> => f().faultReset(kind),
    /** lctl net_*_list: the rules with their statistics. */
    list: (kind: FaultKind): Promise<FaultRule[]> => f().faultList(kind),
  };
}

export interface HealthEntry {
  nid: string;
  /** local NIs: the net; peer NIs: the peer's primary NID */
  owner: string;
  healthValue: number;
  stats: Record<string, number>;
}

export function healthApi(backend: LnetBackend) {
  return {
    /** Health values and health statistics of every local NI and peer NI (`net show -v 2`, `peer show -v 2`). */
    async show(): Promise<{ local: HealthEntry[]; peer: HealthEntry[] }> {
      const local: HealthEntry[] = [];
      for (const n of await backend.nets(2))
        for (const ni of n.nis) if (n.net !== 'lo') local.push({ nid: ni.nid, owner: n.net, healthValue: ni.health['health value'] ?? 1000, stats: ni.health });
      const peer: HealthEntry[] = [];
      for (const p of await backend.peers(2)) for (const ni of p.nis) peer.push({ nid: ni.nid, owner: p.primaryNid, healthValue: ni.health['health value'] ?? 1000, stats: ni.health });
      return { local, peer };
    },
    /** `lnetctl net set --health V --nid NID|--all` (type local) and `lnetctl peer set --health V --nid NID|--all` (type peer). */
    async set(type: 'local' | 'peer', target: { nid: string } | 'all', value: number): Promise<void> {
      if (!Number.isInteger(value) || value < 0 || value > 1000) throw new InvalidArgumentError(`health: value must be 0-1000, got ${value}`);
      if (target !== 'all') faultNid(target.nid);
      await backend.features().setHealth(type, target, value);
    },
    /** `lnetctl debug recovery --local|--peer`: NIDs on the recovery queue. */
    recovery: (type: 'local' | 'peer'): Promise<string[]> => backend.features().recoveryQueue(type),
  };
}

export function udspApi(backend: LnetBackend) {
  return {
    /** `lnetctl udsp add --src|--dst|--rte ... [--priority N] [--idx N]`. */
    async add(r: UdspRuleSpec): Promise<void> {
      const c = checkUdspSpec(r);
      if (r.idx !== undefined && (!Number.isInteger(r.idx) || r.idx < -1)) throw new InvalidArgumentError(`udsp add: idx must be a whole number >= 0, got ${r.idx}`);
      await backend.features().udspAdd(r.idx ?? -1, UDSP_ACTION.priority, c.priority, marshalUdsp(c));
    },
    /** `lnetctl udsp del --idx N` (or `'all'`). */
    async del(idx: number | 'all'): Promise<void> {
      if (idx !== 'all' && (!Number.isInteger(idx) || idx < 0)) throw new InvalidArgumentError(`udsp del: idx must be a whole number >= 0, got ${idx}`);
      await backend.features().udspDel(idx === 'all' ? -1 : idx);
    },
    /** `lnetctl udsp show`: the rules in order. */
    async show(): Promise<UdspRule[]> {
      return (await backend.features().udspList()).map((x) => {
        const d = demarshalUdsp(x.bulk);
        return { idx: x.idx, src: udspDescrText(d.src), dst: udspDescrText(d.dst), rte: udspDescrText(d.rte), action: x.action === UDSP_ACTION.priority ? { priority: x.priority } : {} };
      });
    },
  };
}

/** lustre_lnet_show_udsp's tree. */
export function udspDoc(rules: UdspRule[]): YMap {
  return ymap([
    [
      'udsp',
      yseq(
        rules.map((r) => {
          const e: [string, YNode][] = [['idx', String(r.idx)], ['src', r.src], ['dst', r.dst], ['rte', r.rte]];
          if (r.action.priority !== undefined) e.push(['action', ymap([['priority', String(r.action.priority)]])]);
          return ymap(e);
        }),
      ),
    ],
  ]);
}

