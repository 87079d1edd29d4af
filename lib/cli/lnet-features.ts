/**
 * `hpcnet lnet fault drop|delay add|del|list|reset` (lctl net_drop_* and
 * net_delay_*, with their options and output), `hpcnet lnet udsp
 * add|del|show` (lnetctl udsp), health and recovery (`hpcnet lnet net set
 * --health`, `peer set --health`, `health show`, `debug recovery
 * --local|--peer`). `--json` everywhere.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import type { LNet } from '../lnet/facade.js';
import { udspDoc, type FaultKind, type FaultRule, type FaultRuleSpec } from '../lnet/features.js';
import { emit, ymap, yseq, type YNode } from '../lnet/format.js';
import { FAULT_MSG } from '../lnet/kernel/features.js';
import { action, printJson } from './util.js';

type JsonOpt = { json?: boolean };
const out = (s: string) => process.stdout.write(s);
const collect = (v: string, prev: string[] = []) => [...prev, v];

function whole(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new InvalidArgumentError(`${name}: expected a whole number >= ${min}, got '${v}'`);
  return Number(v);
}

/** lctl's rule line (fault_simul_rule_list / print_fault_rules). */
export function faultLine(r: FaultRule): string {
  const lat = r.kind === 'delay' ? `, latency ${r.latency ?? 0}` : '';
  const s = r.stats;
  return `${r.source}->${r.destination} (1/${r.rate} | ${r.interval}${lat}) ptl ${r.portalMask === '0x0' ? '0' : r.portalMask}, msg ${r.messageMask.toString(16)}, ${s.hits}/${s.matched}, PUT ${s.put}, ACK ${s.ack}, GET ${s.get}, REP ${s.reply}\n`;
}

const HEALTH_ERRORS = ['local_interrupt', 'local_dropped', 'local_aborted', 'local_no_route', 'local_error', 'local_timeout', 'remote_error', 'remote_dropped', 'remote_timeout', 'network_timeout'];
function healthMask(names: string[]): number {
  let m = 0;
  for (const n of names) {
    if (n === 'random') return 0xffffffff;
    const i = HEALTH_ERRORS.indexOf(n);
    if (i < 0) throw new InvalidArgumentError(`--health_error: unknown error '${n}' (${[...HEALTH_ERRORS, 'random'].join(', ')})`);
    m |= 1 << (i + 1);
  }
  return m;
}

function registerFault(lnet: Command, l: () => LNet): void {
  const fault = lnet.command('fault').description("LNet fault injection (lctl net_drop_* / net_delay_*): drop or delay matching messages");
  for (const kind of ['drop', 'delay'] as FaultKind[]) {
    const k = fault.command(kind).description(`${kind} rules`);
    const add = k
      .command('add')
      .description(`add a ${kind} rule (one message in every RATE, or one every INTERVAL seconds, from SRC to DST)`)
      .requiredOption('-s, --source <nid>', 'source NID, *@NET or * (any)')
      .requiredOption('-d, --dest <nid>', 'destination NID, *@NET or * (any)')
      .option('-r, --rate <n>', `${kind} one message in every N`)
      .option('-i, --interval <s>', `${kind} one message every S seconds`)
      .option('-p, --portal <n>', 'only this portal (repeatable)', collect)
      .option('-m, --message <type>', `only this message type: ${Object.keys(FAULT_MSG).join(', ')} (repeatable)`, collect)
      .option('-o, --local_nid <nid>', 'only messages through this local NID (routers)')
      .option('--json', 'JSON output');
    if (kind === 'delay') add.requiredOption('-l, --latency <s>', 'delay in seconds');
    else
      add
        .option('-e, --health_error <name>', `health error to simulate (${HEALTH_ERRORS.join(', ')}, random; repeatable)`, collect)
        .option('-n, --random', 'randomize the interval')
        .option('-x, --drop_all', 'drop every matching message');
    add.action(
      action(async (o: JsonOpt & { source: string; dest: string; rate?: string; interval?: string; latency?: string; portal?: string[]; message?: string[]; local_nid?: string; health_error?: string[]; random?: boolean; drop_all?: boolean }) => {
        const spec: FaultRuleSpec = {
          source: o.source,
          destination: o.dest,
          ...(o.rate !== undefined ? { rate: whole('--rate', o.rate) } : {}),
          ...(o.interval !== undefined ? { interval: whole('--interval', o.interval) } : {}),
          ...(o.latency !== undefined ? { latency: whole('--latency', o.latency) } : {}),
          ...(o.portal ? { portals: o.portal.map((p) => whole('--portal', p)!) } : {}),
          ...(o.message ? { messages: o.message.map((m) => m.toLowerCase() as keyof typeof FAULT_MSG) } : {}),
          ...(o.local_nid ? { localNid: o.local_nid } : {}),
          ...(o.health_error ? { healthErrorMask: healthMask(o.health_error) } : {}),
          ...(o.random ? { random: true } : {}),
          ...(o.drop_all ? { dropAll: true } : {}),
        };
        await l().faults.add(kind, spec);
        if (o.json) return printJson({ added: { kind, ...spec } });
        const rules = await l().faults.list(kind);
        const r = rules[rules.length - 1];
        out(`Added ${kind} rule ${r?.source ?? o.source}->${r?.destination ?? o.dest} (1/${spec.rate ?? 0})\n`);
      }),
    );
    k.command('del')
      .description(`remove the ${kind} rules from SRC to DST, or all of them (-a)`)
      .option('-s, --source <nid>')
      .option('-d, --dest <nid>')
      .option('-a, --all', 'every rule')
      .option('--json', 'JSON output')
      .action(
        action(async (o: JsonOpt & { source?: string; dest?: string; all?: boolean }) => {
          if (o.all && (o.source || o.dest)) throw new InvalidArgumentError("fault del: '-s' or '-d' cannot be combined with '-a'");
          if (!o.all && !(o.source && o.dest)) throw new InvalidArgumentError('fault del: please provide source and destination of the rule (-s, -d), or -a');
          const n = await l().faults.del(kind, o.all ? undefined : { source: o.source!, destination: o.dest! });
          if (o.json) return printJson({ removed: n });
          out(`Removed ${n} ${kind} rules\n`);
        }),
      );
    k.command('list')
      .description(`${kind} rules and their statistics (as lctl net_${kind}_list)`)
      .option('--json', 'JSON output')
      .action(
        action(async (o: JsonOpt) => {
          const rules = await l().faults.list(kind);
          if (o.json) return printJson(rules);
          out(`LNet ${kind} rules:\n${rules.map(faultLine).join('')}found total ${rules.length}\n`);
        }),
      );
    k.command('reset')
      .description(`zero the statistics of every ${kind} rule`)
      .option('--json', 'JSON output')
      .action(
        action(async (o: JsonOpt) => {
          await l().faults.reset(kind);
          if (o.json) printJson({ reset: kind });
        }),
      );
  }
}

function registerUdsp(lnet: Command, l: () => LNet): void {
  const udsp = lnet.command('udsp').description('user-defined selection policies (lnetctl udsp)');
  udsp
    .command('add')
    .option('--src <descr>', 'local NIDs: NET, NETTYPE[ranges] or ADDR@NET (octets: number, * or [ranges])')
    .option('--dst <descr>', 'peer NIDs')
    .option('--rte <descr>', 'router NIDs')
    .option('--priority <n>', 'lower is preferred (default 0)')
    .option('--idx <n>', 'insert before this rule (default: append)')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { src?: string; dst?: string; rte?: string; priority?: string; idx?: string }) => {
        const spec = {
          ...(o.src ? { src: o.src } : {}),
          ...(o.dst ? { dst: o.dst } : {}),
          ...(o.rte ? { rte: o.rte } : {}),
          ...(o.priority !== undefined ? { priority: whole('--priority', o.priority)! } : {}),
          ...(o.idx !== undefined ? { idx: whole('--idx', o.idx)! } : {}),
        };
        await l().udsp.add(spec);
        if (o.json) printJson({ added: spec });
      }),
    );
  udsp
    .command('del')
    .option('--idx <n>', 'the rule to delete')
    .option('--all', 'every rule')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { idx?: string; all?: boolean }) => {
        if (!!o.all === (o.idx !== undefined)) throw new InvalidArgumentError('udsp del: give --idx N or --all');
        await l().udsp.del(o.all ? 'all' : whole('--idx', o.idx)!);
        if (o.json) printJson({ deleted: o.all ? 'all' : Number(o.idx) });
      }),
    );
  udsp
    .command('show')
    .option('--idx <n>', 'only this rule')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { idx?: string }) => {
        const idx = whole('--idx', o.idx);
        const rules = (await l().udsp.show()).filter((r) => idx === undefined || r.idx === idx);
        if (o.json) return printJson(rules);
        if (rules.length) out(emit(udspDoc(rules), 'cyaml'));
      }),
    );
}

function registerHealth(lnet: Command, l: () => LNet): void {
  const sub = (name: string): Command => {
    const c = lnet.commands.find((x) => x.name() === name);
    return c ?? lnet.command(name);
  };
  for (const [parent, type] of [['net', 'local'], ['peer', 'peer']] as const) {
    sub(parent)
      .command('set')
      .description(`set the health value of ${type === 'local' ? 'a local NI' : 'a peer NI'} (lnetctl ${parent} set --health); below 1000 puts it on the recovery queue`)
      .requiredOption('--health <v>', 'health value 0-1000')
      .option('--nid <nid>', type === 'local' ? 'the local NI' : 'the peer NI')
      .option('--all', type === 'local' ? 'every local NI' : 'every peer NI')
      .option('--json', 'JSON output')
      .action(
        action(async (o: JsonOpt & { health: string; nid?: string; all?: boolean }) => {
          if (!!o.all === !!o.nid) throw new InvalidArgumentError(`${parent} set: give --nid NID or --all`);
          const v = whole('--health', o.health)!;
          await l().health.set(type, o.all ? 'all' : { nid: o.nid! }, v);
          if (o.json) printJson({ set: { type, target: o.all ? 'all' : o.nid, health: v } });
        }),
      );
  }
  lnet
    .command('health')
    .description('health values and health statistics of local NIs and peer NIs')
    .command('show')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        const h = await l().health.show();
        if (o.json) return printJson(h);
        const items = (xs: typeof h.local, owner: string) =>
          yseq(xs.map((x) => ymap([['nid', x.nid], [owner, x.owner], ['health value', String(x.healthValue)], ...Object.entries(x.stats).filter(([k]) => k !== 'health value').map(([k, v]) => [k, String(v)] as [string, YNode])])));
        out(emit(ymap([['local NI health', items(h.local, 'net')], ['peer NI health', items(h.peer, 'primary nid')]]), 'cyaml'));
      }),
    );
  sub('debug')
    .description('debugging information')
    .command('recovery')
    .description('NIs on the recovery queues (lnetctl debug recovery)')
    .option('--local', 'local NIs (default)')
    .option('--peer', 'peer NIs')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { local?: boolean; peer?: boolean }) => {
        if (o.local && o.peer) throw new InvalidArgumentError('debug recovery: --local or --peer, not both');
        const type = o.peer ? 'peer' : 'local';
        const nids = await l().health.recovery(type);
        if (o.json) return printJson({ type, nids });
        out(emit(ymap([[type === 'local' ? 'Local NI recovery' : 'Peer NI recovery', yseq(nids.map((n) => ymap([['nid', n]])))]]), 'cyaml'));
      }),
    );
}

export function registerLnetFeatures(lnet: Command, l: () => LNet): void {
  registerFault(lnet, l);
  registerUdsp(lnet, l);
  registerHealth(lnet, l);
}
