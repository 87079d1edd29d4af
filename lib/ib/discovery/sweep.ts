/**
 * Fabric-wide PMA counter sweep and SM census, pipelined through the engine.
 *
 * Per node: ClassPortInfo (to learn whether PortCountersExtended is
 * supported, as ibqueryerrors does), then PortCounters for every linked port
 * (CA ports at their own LID, switch ports through port 0's LID), and
 * PortCountersExtended where supported. All queries of the sweep are in
 * flight together, bounded by the port's window and per-destination limit.
 *
 * Counter names are libibmad's (what perfquery and perfquery -x print). A
 * port gets one entry from PortCounters (fields at their real widths, so
 * saturation is judged right) and, where supported, a second entry from
 * PortCountersExtended marked `extended: true` (64-bit data counters); the
 * exporter prefers the 64-bit value, the audit reads error counters from the
 * first.
 */
import { ATTR, MGMT_CLASS, METHOD } from '../attributes.js';
import { encodeGroup, fieldGroup, subsetDecoder } from '../fields.js';
import { payloadBuffer, payloadOffset, type Port, type QueryOptions } from '../port.js';
import type { Fabric, FabricNode } from '../topology/model.js';
import type { CounterSample, PortCounters, SmInfo, SmState } from '../topology/snapshot.js';
import { MadStatusError } from '../errors.js';
import { HpcnetError } from '../../errors.js';
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

/** The request payload for each PortSelect value, built once (PortSelect through libibmad's field table). */
const selectData = new Map<number, Buffer>();
function requestData(portSelect: number): Buffer {
  let d = selectData.get(portSelect);
  if (!d) {
    d = Buffer.alloc(192);
    encodeGroup('PortCounters', d, 0, { PortSelect: portSelect });
    selectData.set(portSelect, d);
  }
  return d;
}

export interface SweepOptions extends QueryOptions {
  /** Record query failures here (default: ignored). */
  onError?: (e: { node: string; port?: number; message: string }) => void;
  /** Also read PortCountersExtended where supported (default true; the audit's rules need only PortCounters). */
  extended?: boolean;
}

/** One counter sample of every linked port of the fabric. */
export async function sweepCounters(port: Port, fabric: Fabric, opts: SweepOptions = {}): Promise<CounterSample> {
  const { onError, extended: wantExtended = true, ...q } = opts;
  const takenAt = new Date().toISOString();
  const out: PortCounters[] = [];
  // Field lists without the selectors; names as perfquery prints them ("...Ext" for the 64-bit ones).
  const pcNames = fieldGroup('PortCounters').map((d) => d.name).filter((n) => n !== 'PortSelect' && !n.startsWith('CounterSelect'));
  const pceNames = fieldGroup('PortCountersExtended').map((d) => d.name).filter((n) => n !== 'PortSelect' && n !== 'CounterSelect');
  const decodePc = subsetDecoder('PortCounters', pcNames);
  const decodePce = subsetDecoder('PortCountersExtended', pceNames);
  const decodeCpi = subsetDecoder('ClassPortInfo', ['CapabilityMask']);

  let outstanding = 0;
  let failed: Error | undefined;
  let finished!: () => void;
  const allDone = new Promise<void>((r) => (finished = r));

  const { timeoutMs, retries, signal } = q;
  /** One PMA Get; `onData` runs with the payload, failures go to onError; `after` runs once it is settled. */
  const pma = (
    lid: number,
    attrId: number,
    attribute: string,
    data: Buffer | undefined,
    who: { node: string; port?: number },
    onData: (buf: Buffer, at: number) => void,
    after: () => void,
  ) => {
    outstanding++;
    // A fixed-shape request (no spread): this runs once per MAD.
    const req = { mgmtClass: MGMT_CLASS.PMA, method: METHOD.Get, attrId, addr: { lid }, data, timeoutMs, retries, signal };
    port.submit(req, (err, res) => {
      try {
        if (!err && res!.status !== 0) err = new MadStatusError({ attribute, attrId, address: formatAddress({ lid }) }, res!.statusDecoded);
        if (err) {
          const code = (err as HpcnetError).code;
          if (code === 'ABORT_ERR' || code === 'ERR_PORT_CLOSED' || !(err instanceof HpcnetError)) failed ??= err;
          else onError?.({ ...who, message: err.message });
        } else if (!failed) onData(payloadBuffer(res!), payloadOffset(res!));
      } finally {
        // `after` may send the next query: before the count, so it never falls to 0 early.
        if (!failed) after();
        if (--outstanding === 0 || failed) finished();
      }
    });
  };

  const counters = (node: FabricNode, t: { lid: number; port: number }, extended: boolean, after: () => void) => {
    const who = { node: node.id, port: t.port };
    if (!extended) {
      pma(t.lid, ATTR.PortCounters, 'PortCounters', requestData(t.port), who, (buf, at) => {
        const w = decodePc(buf, at);
        const c: Record<string, bigint> = {};
        for (let i = 0; i < pcNames.length; i++) c[pcNames[i]!] = BigInt(w[2 * i]!);
        out.push({ node: node.id, port: t.port, counters: c });
      }, after);
    } else {
      pma(t.lid, ATTR.PortCountersExtended, 'PortCountersExtended', requestData(t.port), who, (buf, at) => {
        const w = decodePce(buf, at);
        const c: Record<string, bigint> = {};
        for (let i = 0; i < pceNames.length; i++) c[pceNames[i]!] = (BigInt(w[2 * i + 1]!) << 32n) | BigInt(w[2 * i]!);
        out.push({ node: node.id, port: t.port, counters: c, extended: true });
      }, after);
    }
  };

  // Nodes are swept a few at a time (twice the window), each node's queries
  // `perDestination` at a time, the next sent as one is answered: the same
  // MADs as sending everything at once, without thousands of requests queued
  // in memory for their turn.
  const work = fabric.nodes.map((node) => ({ node, targets: pmaTargets(node) })).filter((x) => x.targets.length > 0);
  let nextNode = 0;
  const startNode = (): void => {
    if (nextNode >= work.length) return;
    const { node, targets } = work[nextNode++]!;
    let jobs: Array<[{ lid: number; port: number }, boolean]> | undefined;
    let j = 0;
    let live = 0;
    const more = (): void => {
      if (j < jobs!.length) {
        live++;
        const [t, ext] = jobs![j++]!;
        counters(node, t, ext, () => {
          live--;
          more();
        });
      } else if (live === 0) startNode();
    };
    pma(targets[0]!.lid, ATTR.ClassPortInfo, 'ClassPortInfo', undefined, { node: node.id }, (buf, at) => {
      const cap = decodeCpi(buf, at)[0]!;
      const ext = wantExtended && (cap & (PMA_CAP.ExtendedWidth | PMA_CAP.ExtendedWidthNoIETF)) !== 0;
      jobs = targets.flatMap((t) => (ext ? [[t, false], [t, true]] : [[t, false]]) as Array<[{ lid: number; port: number }, boolean]>);
    }, () => {
      if (!jobs) return startNode(); // ClassPortInfo failed: the node is done
      for (let k = 0; k < port.perDestination; k++) more();
    });
  };
  for (let i = 0; i < Math.max(1, port.window * 2); i++) startNode();
  if (outstanding > 0) await allDone;
  if (failed) throw failed;
  out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.port - b.port || Number(!!a.extended) - Number(!!b.extended)));
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
