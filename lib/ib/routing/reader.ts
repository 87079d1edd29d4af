/**
 * readRoutes: the forwarding tables of every switch of a discovered fabric,
 * every LFT block (and with `multicast` every MFT block) in flight at once
 * through the port's window. Switches are addressed by the directed route
 * discovery found them by (so a fabric without an SM, or with broken LID
 * routing, can still be read), else by LID. LFT blocks are copied byte for
 * byte (one port per LID); MFT blocks go through lib/ib/queries' decoder.
 */
import type { Address } from '../address.js';
import { ATTR, MGMT_CLASS, METHOD } from '../attributes.js';
import { HpcnetError } from '../../errors.js';
import { MadStatusError } from '../errors.js';
import { formatAddress } from '../address.js';
import type { Port, QueryOptions } from '../port.js';
import { multicastForwardingTable } from '../queries/smp-tables.js';
import type { Fabric, FabricNode } from '../topology/model.js';
import { NO_ROUTE, switchesOf, type RoutingTables, type SwitchRoutes } from './model.js';

export interface ReadRoutesOptions extends QueryOptions {
  /** Also read every switch's MulticastForwardingTable. */
  multicast?: boolean;
}

/** Where to send a switch's SMPs: its directed route, else its LID. */
export function switchAddress(n: FabricNode): Address | undefined {
  if (n.drPath) return { path: n.drPath };
  const lid = n.ports.find((p) => p.portNum === 0)?.lid;
  return lid ? { lid } : undefined;
}

/** Read the LFT (and optionally MFT) of every switch in `fabric`. Per-switch failures go to `errors`. */
export async function readRoutes(port: Port, fabric: Fabric, opts: ReadRoutesOptions = {}): Promise<RoutingTables> {
  const { multicast, ...q } = opts;
  const readAt = new Date().toISOString();
  const switches: SwitchRoutes[] = [];
  const errors: RoutingTables['errors'] = [];
  const failedNodes = new Set<string>();
  let fatal: Error | undefined;
  let outstanding = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((r) => (finished = r));
  const fail = (node: string, e: Error) => {
    const code = (e as HpcnetError).code;
    if (code === 'ABORT_ERR' || code === 'ERR_PORT_CLOSED' || !(e instanceof HpcnetError)) fatal ??= e;
    if (failedNodes.has(node)) return;
    failedNodes.add(node);
    errors.push({ node, message: e.message });
  };

  const pending: Array<Promise<void>> = [];
  const mfts = new Map<string, Array<{ mlid: number; ports: number[] }>>();
  let settledSetup = false;
  for (const n of switchesOf(fabric)) {
    const addr = switchAddress(n);
    if (!addr) {
      errors.push({ node: n.id, message: 'no directed route or LID to reach the switch' });
      continue;
    }
    const top = n.switchInfo?.linearFdbTop;
    if (top === undefined) {
      pending.push(
        port.switchInfo(addr, q).then(
          (si) => submitBlocks(n, addr, si.linearFdbTop),
          (e: Error) => fail(n.id, e),
        ),
      );
    } else submitBlocks(n, addr, top);
    if (multicast) {
      pending.push(
        multicastForwardingTable(port, addr, q).then(
          (m) => {
            mfts.set(n.id, m.entries);
          },
          (e: Error) => fail(n.id, e),
        ),
      );
    }
  }
  function submitBlocks(n: FabricNode, addr: Address, top: number): void {
    if (!Number.isInteger(top) || top < 0 || top > 0xbfff) {
      fail(n.id, new HpcnetError('ERR_ROUTES', `LinearFDBTop ${top} is beyond the unicast LID range`));
      return;
    }
    const lft = new Uint8Array(top + 1).fill(NO_ROUTE);
    const s: SwitchRoutes = { node: n.id, guid: n.guid, linearFdbTop: top, lft };
    switches.push(s);
    const nblocks = Math.floor(top / 64) + 1;
    for (let b = 0; b < nblocks; b++) {
      outstanding++;
      port.submit({ ...q, mgmtClass: MGMT_CLASS.SMI, method: METHOD.Get, attrId: ATTR.LinearForwardingTable, attrMod: b, addr }, (err, res) => {
        try {
          if (!err && res!.status !== 0) {
            err = new MadStatusError({ attribute: 'LinearForwardingTable', attrId: ATTR.LinearForwardingTable, address: formatAddress(addr) }, res!.statusDecoded);
          }
          if (err) return fail(n.id, err);
          const data = res!.data;
          if (data.length < 64) return fail(n.id, new HpcnetError('ERR_MALFORMED_REPLY', `LinearForwardingTable block ${b}: payload ${data.length} bytes`));
          // The block is 64 port numbers, one byte per LID (IBA 14.2.5.10): copied as they are.
          const base = b * 64;
          lft.set(data.subarray(0, Math.min(64, top + 1 - base)), base);
        } finally {
          if (--outstanding === 0 && settledSetup) finished();
        }
      });
    }
  }
  await Promise.all(pending);
  settledSetup = true;
  if (outstanding > 0) await allDone;
  if (fatal) throw fatal;
  const order = new Map(fabric.nodes.map((n, i) => [n.id, i]));
  const ok = switches.filter((s) => !failedNodes.has(s.node)).sort((a, b) => order.get(a.node)! - order.get(b.node)!);
  if (multicast) for (const s of ok) s.mft = mfts.get(s.node) ?? [];
  return { readAt, switches: ok, errors };
}
