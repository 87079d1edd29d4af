/**
 * The routing rules of the audit (`hpcnet ib audit --routing`, `routing:
 * true` in the configuration): they run when the snapshot carries
 * forwarding tables (`snapshot.routes`), and say why not when routing was
 * asked for but no tables were read.
 */
import { formatGuid } from '../../util/format.js';
import type { Rule, RuleContext, RawFinding } from '../audit/rules.js';
import { displayName, type FabricNode } from '../topology/model.js';
import { compactList, routingAnalysis, type RoutingAnalysis } from './analysis.js';

const ref = (n: FabricNode) => ({ guid: formatGuid(n.guid), description: displayName(n) });
const name = (n: FabricNode) => `"${displayName(n) || n.id}"`;

function analysis(ctx: RuleContext): RoutingAnalysis | { notRun: string } {
  const routes = ctx.snapshot.routes;
  if (!routes) return { notRun: 'no forwarding tables in the snapshot (run the audit with --routing, or save a snapshot with routes)' };
  const r = ctx.config.routing;
  return routingAnalysis(ctx.fabric, routes, {
    ...(r?.maxHops !== undefined ? { maxHops: r.maxHops } : {}),
    ...(r?.balanceRatio !== undefined ? { balanceRatio: r.balanceRatio } : {}),
  });
}

/** Whether the routing rules apply: asked for in the configuration, or tables are present. */
export function routingRequested(ctx: RuleContext): boolean {
  return ctx.config.routing?.enabled === true || ctx.snapshot.routes !== undefined;
}

function routingRule(id: Rule['id'], severity: Rule['severity'], summary: string, run: (a: RoutingAnalysis, ctx: RuleContext) => RawFinding[]): Rule {
  return {
    id,
    severity,
    summary,
    applies: routingRequested,
    run(ctx) {
      const a = analysis(ctx);
      return 'notRun' in a ? a : run(a, ctx);
    },
  };
}

const lidText = (n: number) => String(n);

export const ROUTING_RULES: readonly Rule[] = [
  routingRule('route-black-hole', 'error', 'a switch forwards active LIDs into a port that is down, unconnected, 255 or to a node that does not own them', (a) =>
    a.blackHoles.map((b) => {
      const sw = a.switches[b.sw]!;
      const what =
        b.kind === 'no-route'
          ? `has no route (255) for ${b.lids.length} active LID(s): ${compactList(b.lids, 12, lidText)}`
          : `forwards ${b.lids.length} active LID(s) (${compactList(b.lids, 12, lidText)}) to port ${b.port}, but ${b.detail}`;
      return { rule: 'route-black-hole', node: ref(sw), port: b.kind === 'no-route' ? null : b.port, message: `switch ${name(sw)} ${what}; packets to them are dropped there` };
    }),
  ),
  routingRule('route-loop', 'error', 'a forwarding loop: packets to a LID circle between switches', (a) =>
    a.loops.map((l) => {
      const first = a.switches[l.hops[0]!.sw]!;
      const path = l.hops.map((h) => `${name(a.switches[h.sw]!)} port ${h.port}`).join(' -> ');
      return {
        rule: 'route-loop',
        node: ref(first),
        port: l.hops[0]!.port,
        message: `forwarding loop for LID(s) ${compactList(l.lids, 12, lidText)}: ${path} -> back to ${name(first)}`,
      };
    }),
  ),
  routingRule('route-unreachable', 'error', 'a destination LID that some switches cannot reach through the forwarding tables', (a) =>
    a.unreachable.map((u) => ({
      rule: 'route-unreachable',
      node: ref(u.owner),
      port: u.ownerPort,
      message: `LID ${u.lid} ("${displayName(u.owner)}" port ${u.ownerPort}) is unreachable from ${u.sources.length} of ${u.of} switches: ${u.sources
        .slice(0, 8)
        .map((s) => name(a.switches[s]!))
        .join(', ')}${u.sources.length > 8 ? ` (+${u.sources.length - 8} more)` : ''}`,
    })),
  ),
  routingRule('route-credit-loop', 'error', 'the channel dependency graph of the routes has a cycle (possible credit-loop deadlock)', (a) => {
    const c = a.creditLoop;
    if (!c) return [];
    const first = a.switches[c.channels[0]!.sw]!;
    const path = c.channels.map((ch) => `${name(a.switches[ch.sw]!)} port ${ch.port} -> ${name(a.switches[ch.to]!)} port ${ch.toPort}`).join(', ');
    return [
      {
        rule: 'route-credit-loop',
        node: ref(first),
        port: c.channels[0]!.port,
        message: `credit loop: the routes make a cycle of ${c.channels.length} channel dependencies (${a.dependencies} dependencies over ${a.channels} channels checked): ${path}; use a deadlock-free routing engine (updn with root GUIDs, ftree) or separate the cycle on VLs`,
      },
    ];
  }),
  routingRule('route-unbalanced', 'warning', 'destination LIDs spread unevenly over the up-links or parallel links of a switch (as check_lft_balance judges)', (a) =>
    a.imbalances.map((b) => {
      const sw = a.switches[b.sw]!;
      const group = b.group === 'up-links' ? 'up-links' : `parallel links to ${name(a.switches[b.group.neighbour]!)}`;
      const worst = b.counts.reduce((x, y) => (y.lids > x.lids ? y : x));
      return {
        rule: 'route-unbalanced',
        node: ref(sw),
        port: worst.port,
        message: `switch ${name(sw)} ${group} carry ${b.min} to ${b.max} destination LIDs each (${b.counts.map((c) => `port ${c.port}: ${c.lids}`).join(', ')})`,
      };
    }),
  ),
  routingRule('route-hops', 'warning', 'routes longer than the configured maximum (default: the diameter of the switch graph)', (a) =>
    a.longRoutes.map((l) => {
      const sw = a.switches[l.sw]!;
      return {
        rule: 'route-hops',
        node: ref(sw),
        port: null,
        message: `switch ${name(sw)} reaches ${l.count} CA LID(s) over more than ${a.maxHops} switch-to-switch hops (longest: LID ${l.worst.lid}, ${l.worst.hops} hops; e.g. LIDs ${l.examples.join(', ')})`,
      };
    }),
  ),
];
