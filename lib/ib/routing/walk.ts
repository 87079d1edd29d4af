/**
 * The one implementation of "follow the forwarding tables from A to B".
 *
 * `walkRoute` is a generator: it asks for what it needs (a switch's LFT
 * entry for the destination, the node across a port) and its driver
 * answers, either from tables already read (`traceRoutes`: a `readRoutes`
 * model or a snapshot, nothing sent) or live with SMPs by directed route
 * (`trace` and `lidToRoute` in lib/ib/queries/resolve.ts: only the blocks
 * and nodes on the path are read). Both drivers therefore stop, hop and
 * fail the same way, with the same messages.
 */
import { HpcnetError } from '../../errors.js';
import { NO_ROUTE } from './model.js';

/** A name could not be resolved (no such GUID, description or route). */
export class ResolveError extends HpcnetError {
  constructor(message: string) {
    super('ERR_NOT_FOUND', message);
  }
}

export interface TraceNode {
  nodeType: 'CA' | 'Switch' | 'Router' | 'RNIC' | 'Unknown';
  nodeGuid: bigint;
  portGuid: bigint;
  nodeDescription: string;
  lidBase: number;
  lidTop: number;
}

export interface TraceHop {
  /** Port the packet leaves the previous node by. */
  outPort: number;
  /** Port it arrives on. */
  inPort: number;
  node: TraceNode;
}

export interface Trace {
  from: TraceNode & { portNum: number };
  hops: TraceHop[];
  to: TraceNode & { portNum: number };
}

/** A node the walk stands on; `at` is the driver's handle for it (a fabric node, a directed route). */
export interface WalkNode<R> {
  at: R;
  node: TraceNode;
  /** The port whose LID range `node` shows: 0 on a switch, the port of a CA or router. */
  portNum: number;
  /** How messages name the node ("switch 0x... (desc)", "... at DR path 0,1"). */
  where: string;
}

/** What the walk asks its driver. */
export type WalkAsk<R> =
  /** The LFT entry of switch `at` for the destination (255: no route). */
  | { kind: 'lft'; at: WalkNode<R>; lid: number }
  /** The node across port `port` of `at` and the port it is entered by; undefined when there is no cable. */
  | { kind: 'across'; at: WalkNode<R>; port: number };

export type WalkAnswer<R> = number | { next: WalkNode<R>; inPort: number } | undefined;

export type RouteWalk<R> = Generator<WalkAsk<R>, Trace, WalkAnswer<R>>;

/** The hop-by-hop path from `start` to the port owning LID `dst`, as ibtracert follows it. */
export function* walkRoute<R>(start: WalkNode<R>, dst: number, label: string): RouteWalk<R> {
  const inRange = (t: TraceNode) => dst >= t.lidBase && dst <= t.lidTop;
  const from = { ...start.node, portNum: start.portNum };
  const hops: TraceHop[] = [];
  if (inRange(start.node)) return { from, hops, to: from };
  let cur = start;
  // A CA or router leaves by its own port; a switch by its LFT entry.
  let leave = start.portNum;
  for (let i = 0; i < 64; i++) {
    if (cur.node.nodeType === 'Switch') {
      leave = (yield { kind: 'lft', at: cur, lid: dst }) as number;
      if (leave === NO_ROUTE) throw new ResolveError(`${label}: no route in the LFT of ${cur.where}`);
      if (leave === 0) return { from, hops, to: { ...cur.node, portNum: 0 } };
    }
    const step = (yield { kind: 'across', at: cur, port: leave }) as { next: WalkNode<R>; inPort: number } | undefined;
    if (!step) throw new ResolveError(`${label}: port ${leave} of ${cur.where} has no cable`);
    hops.push({ outPort: leave, inPort: step.inPort, node: step.next.node });
    if (step.next.node.nodeType !== 'Switch') {
      if (inRange(step.next.node)) return { from, hops, to: { ...step.next.node, portNum: step.inPort } };
      throw new ResolveError(`${label}: the route ends at CA LID ${step.next.node.lidBase}`);
    }
    cur = step.next;
  }
  throw new ResolveError(`${label}: more than 63 hops (routing loop?)`);
}

/** Run a walk whose questions are answered at once. */
export function runWalk<R>(walk: RouteWalk<R>, answer: (ask: WalkAsk<R>) => WalkAnswer<R>): Trace {
  let r = walk.next();
  while (!r.done) r = walk.next(answer(r.value));
  return r.value;
}

/** Run a walk whose questions are answered by queries. */
export async function runWalkAsync<R>(walk: RouteWalk<R>, answer: (ask: WalkAsk<R>) => Promise<WalkAnswer<R>>): Promise<Trace> {
  let r = walk.next();
  while (!r.done) r = walk.next(await answer(r.value));
  return r.value;
}
