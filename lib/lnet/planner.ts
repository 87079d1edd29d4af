/**
 * The import/apply planner of the LNet facade: from an lnetctl YAML document
 * (lnet.conf) and the node's current state, the steps that would change it
 * (`plan`: what would change, each step with its undo), then the change
 * itself (`applyPlan`: one transaction, rolled back when the kernel refuses
 * a step). `import` is lnetctl import [--del] [--exec]: the document's items
 * in order; `apply` makes the node match the document with the least change.
 */
import { InvalidArgumentError } from '../errors.js';
import type { LnetBackend } from './backend.js';
import { parseLnetConfig, type ConfigNi, type LnetConfig, type Origin } from './config.js';
import { udspApi, type UdspRule, type UdspRuleSpec } from './features.js';
import { parseUdspDescr, udspDescrText } from './udsp.js';
import { kernelError, NOT_SELF, isErrno, withHint } from './errors.js';
import { planGlobalWrites } from './globals.js';
import { Nid } from './nid.js';
import { runTransaction, type Change, type FailedChange, type Step, type TransactionResult } from './transaction.js';
import type { BufferSpec, NetInfo, NiAddSpec, NiInfo, PeerInfo, RoutingInfo, SettableGlobalKey } from './types.js';

export interface ImportOptions {
  mode?: 'add' | 'del';
  /** Run the document's ping and discover blocks (lnetctl import --exec). */
  exec?: boolean;
}

export interface ImportResult extends TransactionResult {
  ok: boolean;
  msg: string;
}

/** Result of apply: fits Ansible's module protocol (changed, failed, msg, diff). */
export interface ApplyResult {
  changed: boolean;
  /** True when a change failed (the rest was rolled back; see `inEffect`). */
  failed: boolean;
  msg: string;
  /** Ansible --diff: one line per removed/old item (before) and added/new item (after). */
  diff: { before: string; after: string };
  /** The planned changes. */
  changes: Change[];
  /** Changes in effect at the end. */
  applied: Change[];
  /** The change that failed, with the kernel's error. */
  failures: FailedChange[];
  rolledBack: Change[];
  rollbackFailed: FailedChange[];
  dryRun: boolean;
}

/** What apply would change: steps with their undo, the changes, and the Ansible diff. */
export interface LnetPlan {
  steps: Step[];
  changes: Change[];
  diff: { before: string; after: string };
}

/** What the planner needs from the facade: the backend, and the facade's own checked operations. */
export interface PlannerHost {
  readonly backend: LnetBackend;
  call<T>(op: string, fn: () => Promise<T>, extra?: string): Promise<T>;
  planGlobals(changes: Partial<Record<string, number>>): Promise<[SettableGlobalKey, number][]>;
  currentGlobals(keys: SettableGlobalKey[]): Promise<Record<SettableGlobalKey, number>>;
  writeGlobal(k: SettableGlobalKey, v: number): Promise<void>;
  configure(opts: { all?: boolean }): Promise<void>;
  ping(target: string, opts?: { timeoutMs?: number }): Promise<unknown>;
  discover(target: string): Promise<unknown>;
}

export class LnetPlanner {
  constructor(private readonly host: PlannerHost) {}

  /**
   * `lnetctl import [--del] FILE`: the whole document is validated first
   * (nothing is applied on any problem, errors name line and key); the items
   * are then applied in order and, when the kernel refuses one, the items
   * already applied are rolled back. The result says exactly what is in effect.
   */
  async import(doc: string | LnetConfig, opts: ImportOptions = {}): Promise<ImportResult> {
    const cfg = typeof doc === 'string' ? parseLnetConfig(doc) : doc;
    const mode = opts.mode ?? 'add';
    await this.requireReady(cfg, mode === 'add');
    const steps = mode === 'add' ? await this.addSteps(cfg, opts.exec ?? false) : await this.delSteps(cfg);
    const res = await runTransaction(steps);
    return { ...res, ok: res.failed.length === 0, msg: summarize(res, mode === 'add' ? 'import' : 'import --del') };
  }

  /**
   * What `apply` would change to make the node match the document: the
   * steps (each with its undo), the changes and an Ansible diff. Nothing is
   * written. Sections absent from the document are left alone; in a present
   * `net` or `route` section, items not in the document are deleted; peers
   * listed get exactly the listed NIDs (peers not listed are kept, since
   * discovery creates them).
   */
  async plan(doc: string | LnetConfig): Promise<LnetPlan> {
    const cfg = typeof doc === 'string' ? parseLnetConfig(doc) : doc;
    const steps = await this.diffSteps(cfg);
    const changes = steps.map((s) => s.change);
    const diff = {
      before: changes
        .filter((c) => c.op === 'del' || c.op === 'set')
        .map((c) => (c.op === 'set' ? (c.before ?? '') : c.item) + '\n')
        .join(''),
      after: changes
        .filter((c) => c.op !== 'del')
        .map((c) => c.item + '\n')
        .join(''),
    };
    return { steps, changes, diff };
  }

  /** Change it: run a plan's steps as one transaction, undoing the applied ones in reverse order when one fails. */
  async applyPlan(plan: LnetPlan, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    const { steps, changes, diff } = plan;
    if (opts.dryRun || steps.length === 0) {
      return {
        changed: steps.length > 0,
        failed: false,
        msg: steps.length === 0 ? 'no change: the node matches the document' : `dry run: ${steps.length} change${steps.length === 1 ? '' : 's'} would be made`,
        diff,
        changes,
        applied: [],
        failures: [],
        rolledBack: [],
        rollbackFailed: [],
        dryRun: !!opts.dryRun,
      };
    }
    const res = await runTransaction(steps);
    return {
      changed: res.applied.length > 0,
      failed: res.failed.length > 0,
      msg: summarize(res, 'apply'),
      diff,
      changes,
      applied: res.applied,
      failures: res.failed,
      rolledBack: res.rolledBack,
      rollbackFailed: res.rollbackFailed,
      dryRun: false,
    };
  }

  /** plan, then applyPlan (or only plan with dryRun). */
  async apply(doc: string | LnetConfig, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return this.applyPlan(await this.plan(doc), opts);
  }

  private async requireReady(cfg: LnetConfig, forAdd: boolean): Promise<void> {
    const mods = await this.host.backend.modules();
    if (!mods.some((m) => m.name === 'lnet')) throw kernelError('ENODEV', 'import', "LNet is not loaded: load it with 'hpcnet lnet load', then 'hpcnet lnet configure'");
    const needsUp = !!(cfg.nets?.length || cfg.routes?.length || cfg.peers?.length || cfg.routing || cfg.buffers || cfg.numa || cfg.discover?.length || cfg.ping?.length);
    if (needsUp) {
      try {
        await this.host.backend.nets(0);
      } catch (e) {
        if (isErrno(e, 'ENETDOWN')) throw kernelError('ENETDOWN', 'import', "LNet is not running: bring it up with 'hpcnet lnet configure' first (nothing applied)");
        throw withHint(e, 'import');
      }
    }
    if (forAdd && cfg.global) {
      const values = cfg.global.values;
      await this.host.planGlobals(values).catch((e: unknown) => {
        throw e instanceof InvalidArgumentError ? new InvalidArgumentError(`global: ${e.message}`) : e;
      });
    }
  }

  private niStep(net: string, ni: ConfigNi, op: 'add' | 'del'): Step[] {
    const one = (iface: string | undefined): Step => {
      const spec: NiAddSpec = { net, tunables: ni.tunables, lndTunables: ni.lndTunables, ...(ni.cpts ? { cpts: ni.cpts } : {}) };
      if (iface) spec.interfaces = [iface];
      else if (ni.nid) spec.nid = ni.nid;
      const item = `net ${net} NI ${iface ?? ni.nid ?? '(default interface)'}`;
      const change: Change = { op, section: 'net', item, key: ni.key, ...(ni.line !== undefined ? { line: ni.line } : {}) };
      const findNid = async (): Promise<string | undefined> => {
        const nets = await this.host.backend.nets(0, net).catch(() => [] as NetInfo[]);
        const found = nets.flatMap((n) => n.nis).find((x) => (iface ? x.interfaces.includes(iface) : ni.nid ? x.nid === ni.nid : true));
        return found?.nid;
      };
      if (op === 'add') {
        let before: Set<string> | undefined;
        return {
          change,
          skipOn: ['EEXIST'],
          run: async () => {
            before = new Set((await this.host.backend.nets(0).catch(() => [] as NetInfo[])).flatMap((n) => n.nis.map((x) => x.nid)));
            await this.host.call(`net add ${net}`, () => this.host.backend.addNi(spec), NOT_SELF);
          },
          undo: async () => {
            const now = (await this.host.backend.nets(0)).flatMap((n) => n.nis.map((x) => x.nid));
            for (const nid of now.filter((x) => !before?.has(x) && Nid.parse(x).net.toString() === net)) await this.host.backend.delNi(net, nid);
          },
        };
      }
      let removed: NiInfo | undefined;
      return {
        change,
        run: async () => {
          const nid = await findNid();
          if (!nid) throw kernelError('ENOENT', `net del ${net}`, `no NI ${iface ?? ni.nid ?? ''} on ${net}`);
          removed = (await this.host.backend.nets(1, net)).flatMap((n) => n.nis).find((x) => x.nid === nid);
          await this.host.call(`net del ${net}`, () => this.host.backend.delNi(net, nid), NOT_SELF);
        },
        undo: async () => {
          if (removed) await this.host.backend.addNi(niSpecOf(net, removed));
        },
      };
    };
    const ifs = ni.interfaces.length ? ni.interfaces : [undefined];
    return ifs.map(one);
  }

  private routeStep(r: { net: string; gateway: string; hop: number; priority: number; key?: string; line?: number }, op: 'add' | 'del'): Step {
    const item = `route ${r.net} via ${r.gateway} hop ${r.hop} priority ${r.priority}`;
    const change: Change = { op, section: 'route', item, ...(r.key ? { key: r.key } : {}), ...(r.line !== undefined ? { line: r.line } : {}) };
    const add = (): Promise<void> => this.host.call(`route add ${r.net}`, () => this.host.backend.addRoute({ net: r.net, gateway: r.gateway, hop: r.hop, priority: r.priority }));
    const del = (): Promise<void> => this.host.call(`route del ${r.net}`, () => this.host.backend.delRoute({ net: r.net, gateway: r.gateway }));
    return op === 'add' ? { change, run: add, undo: del, skipOn: ['EEXIST'] } : { change, run: del, undo: add };
  }

  private peerAddStep(primaryNid: string, nids: string[], multiRail: boolean, origin: { key?: string; line?: number }, existed: boolean): Step {
    const item = `peer ${primaryNid}${nids.length ? ' nid ' + nids.join(',') : ''}${multiRail ? '' : ' non-MR'}`;
    return {
      change: { op: 'add', section: 'peer', item, ...origin },
      skipOn: ['EEXIST'],
      run: () => this.host.call(`peer add ${primaryNid}`, () => this.host.backend.addPeer({ primaryNid, nids, multiRail })),
      undo: () => this.host.backend.delPeer(existed ? { primaryNid, nids } : { primaryNid }),
    };
  }

  private peerDelStep(p: PeerInfo, nids: string[] | undefined, origin: { key?: string; line?: number }): Step {
    const item = `peer ${p.primaryNid}${nids ? ' nid ' + nids.join(',') : ''}`;
    return {
      change: { op: 'del', section: 'peer', item, ...origin },
      run: () => this.host.call(`peer del ${p.primaryNid}`, () => this.host.backend.delPeer({ primaryNid: p.primaryNid, ...(nids ? { nids } : {}) })),
      undo: () =>
        nids
          ? this.host.backend.addPeer({ primaryNid: p.primaryNid, nids, multiRail: p.multiRail })
          : this.host.backend.addPeer({ primaryNid: p.primaryNid, nids: p.nis.map((n) => n.nid).filter((n) => n !== p.primaryNid), multiRail: p.multiRail }),
    };
  }

  private globalSteps(plan: [SettableGlobalKey, number][], cur: Record<SettableGlobalKey, number>, lines: Partial<Record<SettableGlobalKey, number>>): Step[] {
    return plan.map(([k, v]) => {
      const old = cur[k];
      return {
        change: { op: 'set', section: k === 'numa_range' ? 'numa' : 'global', item: `global ${k}: ${v}`, before: `global ${k}: ${old}`, key: `global.${k}`, ...(lines[k] !== undefined ? { line: lines[k] } : {}) },
        run: () => this.host.writeGlobal(k, v),
        undo: () => this.host.writeGlobal(k, old),
      };
    });
  }

  private routingSteps(cfg: LnetConfig, cur: RoutingInfo | undefined): Step[] {
    const steps: Step[] = [];
    const was = cur?.enabled ?? false;
    if (cfg.routing && cfg.routing.enable !== was) {
      const en = cfg.routing.enable;
      steps.push({
        change: { op: 'set', section: 'routing', item: `routing enable: ${en ? 1 : 0}`, before: `routing enable: ${was ? 1 : 0}`, key: cfg.routing.key, ...(cfg.routing.line !== undefined ? { line: cfg.routing.line } : {}) },
        run: () => this.host.call('set routing', () => this.host.backend.setRouting(en)),
        undo: () => this.host.backend.setRouting(was),
      });
    }
    const enabledAfter = cfg.routing ? cfg.routing.enable : was;
    if (cfg.buffers && enabledAfter) {
      const want: BufferSpec = {};
      const old: BufferSpec = {};
      for (const k of ['tiny', 'small', 'large'] as const) {
        const v = cfg.buffers[k];
        if (v !== undefined && v !== cur?.buffers[k]) {
          want[k] = v;
          old[k] = cur?.buffers[k] ?? 0;
        }
      }
      if (Object.keys(want).length) {
        steps.push({
          change: {
            op: 'set',
            section: 'buffers',
            item: 'buffers ' + Object.entries(want).map(([k, v]) => `${k}: ${v}`).join(', '),
            before: 'buffers ' + Object.entries(old).map(([k, v]) => `${k}: ${v}`).join(', '),
            key: cfg.buffers.key,
            ...(cfg.buffers.line !== undefined ? { line: cfg.buffers.line } : {}),
          },
          run: () => this.host.call('set buffers', () => this.host.backend.setBuffers(want)),
          undo: () => this.host.backend.setBuffers(old),
        });
      }
    }
    return steps;
  }

  private async addSteps(cfg: LnetConfig, exec: boolean): Promise<Step[]> {
    const steps: Step[] = [];
    if (cfg.global || cfg.numa) {
      const values = { ...(cfg.global?.values ?? {}) };
      if (cfg.numa) values.numa_range = cfg.numa.range;
      const plan = await this.host.planGlobals(values);
      const cur = await this.host.currentGlobals(plan.map(([k]) => k));
      steps.push(...this.globalSteps(plan.filter(([k, v]) => cur[k] !== v), cur, cfg.global?.lines ?? {}));
    }
    for (const n of cfg.nets ?? []) for (const ni of n.nis) steps.push(...this.niStep(n.net, ni, 'add'));
    for (const r of cfg.routes ?? []) steps.push(this.routeStep(r, 'add'));
    if (cfg.routing || cfg.buffers) steps.push(...this.routingSteps(cfg, await this.host.backend.routing().catch(() => undefined)));
    const curPeers = cfg.peers?.length ? await this.host.backend.peers(0).catch(() => [] as PeerInfo[]) : [];
    for (const p of cfg.peers ?? []) {
      const existed = curPeers.some((x) => x.primaryNid === p.primaryNid);
      steps.push(this.peerAddStep(p.primaryNid, p.nids, p.multiRail, { key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) }, existed));
    }
    for (const r of cfg.udsp ?? []) {
      if (!r.src && !r.dst && !r.rte) throw new InvalidArgumentError(`${r.key}${r.line !== undefined ? ` (line ${r.line})` : ''}: a UDSP rule needs src, dst or rte (an idx alone only names a rule for import --del); nothing applied`);
      steps.push(this.udspAddStep(r));
    }
    if (exec) {
      for (const d of cfg.discover ?? [])
        steps.push({ change: { op: 'exec', section: 'discover', item: `discover ${d.nid}`, key: d.key, ...(d.line !== undefined ? { line: d.line } : {}) }, run: async () => void (await this.host.discover(d.nid)) });
      for (const p of cfg.ping ?? [])
        steps.push({
          change: { op: 'exec', section: 'ping', item: `ping ${p.nid}`, key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) },
          run: async () => void (await this.host.ping(p.nid, p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {})),
        });
    }
    return steps;
  }

  private async delSteps(cfg: LnetConfig): Promise<Step[]> {
    const steps: Step[] = [];
    const curPeers = cfg.peers?.length ? await this.host.backend.peers(0) : [];
    for (const p of cfg.peers ?? []) {
      const cur = curPeers.find((x) => x.primaryNid === p.primaryNid);
      if (!cur) throw kernelError('ENOENT', 'import --del', `${p.key}${p.line !== undefined ? ` (line ${p.line})` : ''}: peer ${p.primaryNid} does not exist (nothing applied)`);
      steps.push(this.peerDelStep(cur, p.nids.length ? p.nids : undefined, { key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) }));
    }
    for (const r of cfg.routes ?? []) steps.push(this.routeStep(r, 'del'));
    for (const n of cfg.nets ?? []) for (const ni of n.nis) steps.push(...this.niStep(n.net, ni, 'del'));
    if (cfg.routing?.enable) steps.push(...this.routingSteps({ routing: { ...cfg.routing, enable: false } }, await this.host.backend.routing()));
    if (cfg.udsp?.length) steps.push(...(await this.udspDelSteps(cfg.udsp)));
    return steps;
  }

  private async diffSteps(cfg: LnetConfig): Promise<Step[]> {
    const mods = await this.host.backend.modules();
    if (!mods.some((m) => m.name === 'lnet')) throw kernelError('ENODEV', 'apply', "LNet is not loaded: load it with 'hpcnet lnet load' first (nothing applied)");
    const steps: Step[] = [];
    let up = true;
    try {
      await this.host.backend.nets(0);
    } catch (e) {
      if (!isErrno(e, 'ENETDOWN')) throw withHint(e, 'apply');
      up = false;
    }
    const needsUp = !!(cfg.nets || cfg.routes || cfg.peers || cfg.routing || cfg.buffers || cfg.numa);
    if (!up && needsUp)
      steps.push({
        change: { op: 'configure', section: 'lnet', item: 'lnet configure' },
        run: () => this.host.configure({ all: false }),
        undo: () => this.host.backend.unconfigure(),
      });
    // globals first (max_interfaces, discovery, ...)
    if (cfg.global || cfg.numa) {
      const values: Partial<Record<SettableGlobalKey, number>> = { ...(cfg.global?.values ?? {}) };
      if (cfg.numa && up) values.numa_range = cfg.numa.range;
      const keys = Object.keys(values) as SettableGlobalKey[];
      const cur = await this.host.currentGlobals(keys);
      const changes = Object.fromEntries(keys.filter((k) => cur[k] !== values[k]).map((k) => [k, values[k]!]));
      const plan = planGlobalWrites(cur, changes);
      if ('error' in plan) throw new InvalidArgumentError(`global.${plan.error.key}: ${plan.error.value}: ${plan.error.reason} (nothing applied)`);
      steps.push(...this.globalSteps(plan.order, cur, cfg.global?.lines ?? {}));
    }
    const curNets = up ? await this.host.backend.nets(1) : [];
    const curRoutes = up ? await this.host.backend.routes(1) : [];
    const curPeers = up && cfg.peers ? await this.host.backend.peers(0) : [];
    const curRouting = up ? await this.host.backend.routing() : undefined;
    const dels: Step[] = [];
    const adds: Step[] = [];
    // peers: NIDs to remove first (they may move between peers)
    for (const p of cfg.peers ?? []) {
      const cur = curPeers.find((x) => x.primaryNid === p.primaryNid);
      const origin = { key: p.key, ...(p.line !== undefined ? { line: p.line } : {}) };
      if (!cur) {
        adds.push(this.peerAddStep(p.primaryNid, p.nids, p.multiRail, origin, false));
        continue;
      }
      if (cur.multiRail !== p.multiRail) {
        dels.push(this.peerDelStep(cur, undefined, origin));
        adds.push(this.peerAddStep(p.primaryNid, p.nids, p.multiRail, origin, false));
        continue;
      }
      const have = cur.nis.map((n) => n.nid).filter((n) => n !== cur.primaryNid);
      const extra = have.filter((n) => !p.nids.includes(n));
      const missing = p.nids.filter((n) => !have.includes(n));
      if (extra.length) dels.push(this.peerDelStep(cur, extra, origin));
      if (missing.length) adds.push(this.peerAddStep(p.primaryNid, missing, p.multiRail, origin, true));
    }
    // routes
    if (cfg.routes) {
      for (const r of curRoutes) {
        const want = cfg.routes.find((x) => x.net === r.net && x.gateway === r.gateway);
        if (!want) dels.push(this.routeStep(r, 'del'));
        else if (want.hop !== r.hop || want.priority !== r.priority) {
          dels.push(this.routeStep(r, 'del'));
          adds.push(this.routeStep(want, 'add'));
        }
      }
      for (const w of cfg.routes) if (!curRoutes.some((r) => r.net === w.net && r.gateway === w.gateway)) adds.push(this.routeStep(w, 'add'));
    }
    // nets
    const netAdds: Step[] = [];
    if (cfg.nets) {
      for (const cn of curNets) {
        if (cn.net === 'lo') continue;
        const want = cfg.nets.find((n) => n.net === cn.net);
        for (const ni of cn.nis) {
          const wni = want?.nis.find((w) => niMatches(w, ni));
          const origin: ConfigNi = { key: want?.key ?? 'net', interfaces: ni.interfaces.slice(0, 1), tunables: {}, lndTunables: {}, ...(ni.interfaces.length ? {} : { nid: ni.nid }) };
          if (!wni) dels.push(...this.niStep(cn.net, origin, 'del'));
          else if (!niEquivalent(wni, ni)) {
            dels.push(...this.niStep(cn.net, { ...origin, key: wni.key, ...(wni.line !== undefined ? { line: wni.line } : {}) }, 'del'));
            netAdds.push(...this.niStep(cn.net, { ...wni, interfaces: ni.interfaces.slice(0, 1) }, 'add'));
          }
        }
      }
      for (const wn of cfg.nets) {
        const cn = curNets.find((n) => n.net === wn.net);
        for (const wni of wn.nis) {
          const ifs = wni.interfaces.length ? wni.interfaces : [undefined];
          for (const f of ifs) {
            const single: ConfigNi = { ...wni, interfaces: f ? [f] : [] };
            if (!cn || !cn.nis.some((ni) => niMatches(single, ni))) netAdds.push(...this.niStep(wn.net, single, 'add'));
          }
        }
      }
    }
    // Deletions first (peers, routes, nets), then additions (nets, routes, routing, peers).
    const routeDels = dels.filter((s) => s.change.section === 'route');
    const peerDels = dels.filter((s) => s.change.section === 'peer');
    const netDels = dels.filter((s) => s.change.section === 'net');
    steps.push(...peerDels, ...routeDels, ...netDels, ...netAdds);
    steps.push(...adds.filter((s) => s.change.section === 'route'));
    steps.push(...this.routingSteps(cfg, curRouting));
    steps.push(...adds.filter((s) => s.change.section === 'peer'));
    if (cfg.udsp) {
      const bare = cfg.udsp.find((r) => !r.src && !r.dst && !r.rte);
      if (bare) throw new InvalidArgumentError(`${bare.key}${bare.line !== undefined ? ` (line ${bare.line})` : ''}: a UDSP rule needs src, dst or rte; nothing applied`);
      steps.push(...(await this.udspReplaceSteps(cfg.udsp)));
    }
    return steps.map((s) => ({ ...s, skipOn: [] }));
  }

  // --- UDSP ----------------------------------------------------------------
  private udsp() {
    return udspApi(this.host.backend);
  }
  private static udspItem(r: { src?: string; dst?: string; rte?: string; priority?: number }): string {
    const t = (d: string | undefined) => (d ? udspDescrText(parseUdspDescr(d)) : 'NA');
    return `udsp src ${t(r.src)} dst ${t(r.dst)} rte ${t(r.rte)} priority ${r.priority ?? 0}`;
  }
  private udspAddStep(r: Origin & UdspRuleSpec): Step {
    let at = -1;
    return {
      change: { op: 'add', section: 'udsp', item: LnetPlanner.udspItem(r), key: r.key, ...(r.line !== undefined ? { line: r.line } : {}) },
      run: async () => {
        const n = (await this.udsp().show()).length;
        at = r.idx !== undefined && r.idx < n ? r.idx : n;
        await this.host.call('udsp add', () => this.udsp().add(r));
      },
      undo: () => this.udsp().del(at),
    };
  }
  /** import --del: the rules at the listed indexes (highest first, so the others keep theirs). */
  private async udspDelSteps(rules: Array<Origin & UdspRuleSpec>): Promise<Step[]> {
    const cur = await this.udsp().show();
    const idxs = [...new Set(rules.map((r) => r.idx))].sort((a, b) => (b ?? -1) - (a ?? -1));
    return idxs.map((idx) => {
      const r = rules.find((x) => x.idx === idx)!;
      const old = cur.find((x) => x.idx === idx);
      if (idx === undefined || !old) throw kernelError('ENOENT', 'import --del', `${r.key}${r.line !== undefined ? ` (line ${r.line})` : ''}: no UDSP rule at idx ${idx ?? '(none given)'} (nothing applied)`);
      return {
        change: { op: 'del' as const, section: 'udsp' as const, item: `udsp idx ${idx}`, key: r.key, ...(r.line !== undefined ? { line: r.line } : {}) },
        run: () => this.host.call('udsp del', () => this.udsp().del(idx)),
        undo: () => this.udsp().add(specOfRule(old)),
      };
    });
  }
  /** apply: the rules become exactly the document's, in order (one step: remove all, add the document's). */
  private async udspReplaceSteps(rules: Array<Origin & UdspRuleSpec>): Promise<Step[]> {
    const cur = await this.udsp().show();
    const want = rules.map((r) => LnetPlanner.udspItem(r));
    const have = cur.map((r) => LnetPlanner.udspItem(specOfRule(r)));
    if (want.length === have.length && want.every((w, i) => w === have[i])) return [];
    return [
      {
        change: { op: 'set', section: 'udsp', item: want.join('; ') || 'udsp: none', before: have.join('; ') || 'udsp: none', key: 'udsp' },
        run: async () => {
          await this.host.call('udsp del', () => this.udsp().del('all'));
          for (const r of rules) await this.host.call('udsp add', () => this.udsp().add({ ...r, idx: -1 }));
        },
        undo: async () => {
          await this.udsp().del('all');
          for (const r of cur) await this.udsp().add(specOfRule(r));
        },
      },
    ];
  }
}

function specOfRule(r: UdspRule): UdspRuleSpec {
  return {
    ...(r.src !== 'NA' ? { src: r.src } : {}),
    ...(r.dst !== 'NA' ? { dst: r.dst } : {}),
    ...(r.rte !== 'NA' ? { rte: r.rte } : {}),
    ...(r.action.priority !== undefined ? { priority: r.action.priority } : {}),
  };
}

function niMatches(w: ConfigNi, ni: NiInfo): boolean {
  if (w.interfaces.length) return w.interfaces.some((f) => ni.interfaces.includes(f));
  if (w.nid) return w.nid === ni.nid;
  return true;
}

/** Does the NI have the tunables and CPTs the document asks for (kernel defaults applied)? */
function niEquivalent(w: ConfigNi, ni: NiInfo): boolean {
  const t = w.tunables;
  const eff = (v: number | undefined, def: number, zeroIsDefault: boolean): number | undefined =>
    v === undefined ? undefined : v < 0 || (zeroIsDefault && v === 0) ? def : v;
  const checks: [number | undefined, number][] = [
    [eff(t.peer_timeout, 180, false), ni.tunables.peer_timeout],
    [eff(t.peer_credits, 8, true), ni.tunables.peer_credits],
    [eff(t.peer_buffer_credits, 0, false), ni.tunables.peer_buffer_credits],
    [eff(t.credits, 256, true), ni.tunables.credits],
  ];
  if (checks.some(([want, have]) => want !== undefined && want !== have)) return false;
  for (const [k, v] of Object.entries(w.lndTunables)) {
    if (v === 0 && (k === 'conns_per_peer' || k === 'timeout')) continue; // 0 = LND default
    if (ni.lndTunables[k] !== undefined && ni.lndTunables[k] !== v) return false;
  }
  if (w.cpts && (w.cpts.length !== ni.cpts.length || w.cpts.some((c) => !ni.cpts.includes(c)))) return false;
  return true;
}

function niSpecOf(net: string, ni: NiInfo): NiAddSpec {
  return {
    net,
    ...(ni.interfaces.length ? { interfaces: ni.interfaces.slice(0, 1) } : { nid: ni.nid }),
    tunables: { ...ni.tunables },
    lndTunables: { ...ni.lndTunables },
    cpts: [...ni.cpts],
  };
}

function summarize(res: TransactionResult, what: string): string {
  if (res.failed.length === 0) {
    const n = res.applied.length;
    return `${what}: ${n} change${n === 1 ? '' : 's'} applied${res.skipped.length ? `, ${res.skipped.length} already in effect` : ''}`;
  }
  const f = res.failed[0]!;
  let msg = `${what}: ${f.item}${f.line !== undefined ? ` (line ${f.line}, ${f.key})` : f.key ? ` (${f.key})` : ''} failed: ${f.error}`;
  msg += res.rolledBack.length ? `; rolled back ${res.rolledBack.length} change${res.rolledBack.length === 1 ? '' : 's'}` : '';
  msg += res.rollbackFailed.length ? `; could not roll back: ${res.rollbackFailed.map((x) => x.item).join('; ')}` : '';
  msg += res.applied.length ? `; still in effect: ${res.applied.map((x) => x.item).join('; ')}` : '; nothing from the document is in effect';
  return msg;
}
