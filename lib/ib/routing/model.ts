/**
 * The forwarding tables of a whole fabric, as read from every switch
 * (LinearForwardingTable up to LinearFDBTop, optionally the
 * MulticastForwardingTable), keyed by the switches of a `Fabric`.
 *
 * Memory: one byte per (switch, LID) in a Uint8Array; an 8,192-host fat
 * tree (about 8,700 LIDs, a few hundred switches) takes a few megabytes.
 */
import type { Fabric, FabricNode } from '../topology/model.js';

/** LFT entry meaning "no route" (IBA 18.2.4.3.2). */
export const NO_ROUTE = 0xff;

export interface SwitchRoutes {
  /** FabricNode.id of the switch. */
  node: string;
  guid: bigint;
  /** SwitchInfo LinearFDBTop when the table was read. */
  linearFdbTop: number;
  /** Output port per LID, index = LID (0..linearFdbTop); 255 = no route. */
  lft: Uint8Array;
  /** Multicast entries (MLIDs with at least one port), when read with `multicast`. */
  mft?: Array<{ mlid: number; ports: number[] }>;
}

export interface RoutingError {
  node: string;
  message: string;
}

export interface RoutingTables {
  /** ISO time the tables were read. */
  readAt: string;
  switches: SwitchRoutes[];
  /** Switches whose tables could not be read (timeouts, status errors). */
  errors: RoutingError[];
}

/** The output port a switch uses for a LID (255 when beyond LinearFDBTop). */
export function outPort(s: SwitchRoutes, lid: number): number {
  return lid <= s.linearFdbTop && lid < s.lft.length ? s.lft[lid]! : NO_ROUTE;
}

/** Switch nodes of a fabric, in fabric order. */
export function switchesOf(fabric: Fabric): FabricNode[] {
  return fabric.nodes.filter((n) => n.type === 'Switch');
}
