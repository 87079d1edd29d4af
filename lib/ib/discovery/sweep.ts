/**
 * Fabric-wide PMA counter sweep and SM census, pipelined through the engine.
 *
 * Per node: ClassPortInfo (to learn whether PortCountersExtended is
 * supported, as ibqueryerrors does), then PortCounters for every linked port
 * (CA ports at their own LID, switch ports through port 0's LID), and
 * PortCountersExtended where supported. All queries of the sweep are in
 * flight together, bounded by the port's window and per-destination limit.
 *
 * Counter names are libibmad's (what perfquery prints). A port's record holds
 * the PortCounters fields with their real widths (so saturation is judged
 * right); the 64-bit PortCountersExtended values are added with an "Ext"
 * suffix (PortXmitDataExt, ...).
 */
import { ATTR, MGMT_CLASS, METHOD } from '../attributes.js';
import { decodeGroup, encodeGroup, type FieldRecord } from '../fields.js';
import type { Port, QueryOptions } from '../port.js';
import type { Fabric, FabricNode } from '../topology/model.js';
import type { CounterSample, PortCounters, SmInfo, SmState } from '../topology/snapshot.js';
import { MadStatusError } from '../errors.js';
import { formatAddress } from '../address.js';

/** ClassPortInfo CapabilityMask bits of the PMA (IBA 16.1.3.1). */
export const PMA_CAP = { AllPortSelect: 0x100, ExtendedWidth: 0x200, ExtendedWidthNoIETF: 0x400, PortXmitWait: 0x1000 } as const;
/** PortInfo CapabilityMask: IsSM. */
const CAP_IS_SM = 0x2;
const SM_STATES: SmState[] = ['notactive', 'discovering', 'standby', 'master'];

/** The LID a node's PMA answers on: switch port 0's, or each CA port's own. */
function pmaTargets(node: FabricNode): Array<{ lid: number; port: number }> {
  if (node.type === 'Switch') {
    const lid = node.ports.find((p) => p.portNum === 0)?.lid;
    if (!lid) return [];
    return node.ports.filter((p) => p.portNum > 0 && p.remote).map((p) => ({ lid, port: p.portNum }));
  }
  return node.ports.filter((p) => p.lid && p.remote).map((p) => ({ lid: p.lid!, port: p.portNum }));
}

async function pmaGet(port: Port, lid: number, attrId: number, portSelect: number | undefined, group: 'ClassPortInfo' | 'PortCounters' | 'PortCountersExtended', q: QueryOptions): Promise<FieldRecord> {
  const data = Buffer.alloc(192);
  if (portSelect !== undefined) encodeGroup(group === 'ClassPortInfo' ? 'PortCounters' : group, data, 0, { PortSelect: portSelect });
  const res = await port.mad({ ...q, mgmtClass: MGMT_CLASS.PMA, method: METHOD.Get, attrId, addr: { lid }, data });
  if (res.status !== 0) throw new MadStatusError({ attribute: group, attrId, address: formatAddress({ lid }) }, res.statusDecoded);
  return decodeGroup(group, res.data);
}

export interface SweepOptions extends QueryOptions {
  /** Record query failures here (default: ignored). */
  onError?: (e: { node: string; port?: number; message: string }) => void;
}

/** One counter sample of every linked port of the fabric. */
export async function sweepCounters(port: Port, fabric: Fabric, opts: SweepOptions = {}): Promise<CounterSample> {
  const { onError, ...q } = opts;
  const takenAt = new Date().toISOString();
  const out: PortCounters[] = [];
  await Promise.all(
    fabric.nodes.map(async (node) => {
      const targets = pmaTargets(node);
      if (targets.length === 0) return;
      let cap = 0;
      try {
        cap = Number((await pmaGet(port, targets[0]!.lid, ATTR.ClassPortInfo, undefined, 'ClassPortInfo', q))['CapabilityMask'] ?? 0);
      } catch (e) {
        onError?.({ node: node.id, message: (e as Error).message });
        return;
      }
      const ext = (cap & (PMA_CAP.ExtendedWidth | PMA_CAP.ExtendedWidthNoIETF)) !== 0;
      await Promise.all(
        targets.map(async (t) => {
          try {
            const [pc, pce] = await Promise.all([
              pmaGet(port, t.lid, ATTR.PortCounters, t.port, 'PortCounters', q),
              ext ? pmaGet(port, t.lid, ATTR.PortCountersExtended, t.port, 'PortCountersExtended', q) : undefined,
            ]);
            const counters: Record<string, bigint> = {};
            for (const [k, v] of Object.entries(pc)) if (k !== 'PortSelect' && !k.startsWith('CounterSelect')) counters[k] = BigInt(v as number);
            if (pce) for (const [k, v] of Object.entries(pce)) if (k !== 'PortSelect' && k !== 'CounterSelect') counters[`${k}Ext`] = BigInt(v as number | bigint);
            out.push({ node: node.id, port: t.port, counters });
          } catch (e) {
            onError?.({ node: node.id, port: t.port, message: (e as Error).message });
          }
        }),
      );
    }),
  );
  out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.port - b.port));
  return { takenAt, ports: out };
}

/** SMInfo of every port that advertises IsSM. */
export async function readSubnetManagers(port: Port, fabric: Fabric, q: QueryOptions = {}): Promise<SmInfo[]> {
  const targets: number[] = [];
  for (const n of fabric.nodes) for (const p of n.ports) if (p.lid && p.capabilityMask !== undefined && (p.capabilityMask & CAP_IS_SM) !== 0) targets.push(p.lid);
  const res = await Promise.all(
    targets.map(async (lid) => {
      try {
        const r = await port.getFields('SMInfo', { ...q, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.SMInfo, addr: { lid } });
        const sm: SmInfo = {
          guid: r['SmInfoGuid'] as bigint,
          lid,
          priority: Number(r['SmPriority']),
          state: SM_STATES[Number(r['SmState'])] ?? 'notactive',
          activityCount: Number(r['SmActivity']),
        };
        return sm;
      } catch {
        return undefined;
      }
    }),
  );
  return res.filter((x): x is SmInfo => x !== undefined);
}
