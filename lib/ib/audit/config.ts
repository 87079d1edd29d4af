/**
 * Audit configuration: a YAML file, validated strictly; every error names
 * the file and the line. Keys (all optional; see lib/ib/topology/README.md):
 *
 *   reference: topology.txt      # ibnetdiscover file or hpcnet JSON snapshot
 *   nodeNameMap: names.map       # opensm node-name map
 *   skip: [counter-rate]
 *   severities: { duplicate-description: info }
 *   thresholds: { SymbolErrorCounter: 10 }
 *   rate: { interval: 10s, counters: { SymbolErrorCounter: 0 } }
 *   sm: { minStandby: 1 }
 *   routing: true                # or { maxHops: 4, balanceRatio: 1.5 } (lib/ib/routing)
 *   expect:
 *     width: 4X
 *     speed: HDR
 *     nodeTypes: { CA: { speed: HDR }, Switch: { speed: NDR } }
 *     fleets: [ { name: gpu, match: "^gpu", speed: NDR } ]
 *     links: [ { node: "0x0002c90300a1b2c3", port: 1, width: 1X } ]
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { HpcnetError } from '../../errors.js';
import { parseSpeed, parseWidth, type LinkSpeed, type LinkWidth, type NodeType } from '../topology/model.js';
import { ERROR_COUNTERS, PORT_COUNTER_BITS, defaultThresholds } from './counters.js';
import { RULE_IDS, SEVERITIES, type AuditConfig, type LinkExpectation, type RuleId, type Severity } from './types.js';

export class AuditConfigError extends HpcnetError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, file: string | undefined, line: number | undefined) {
    super('ERR_AUDIT_CONFIG', `${file ?? '<config>'}${line !== undefined ? `:${line}` : ''}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

export function defaultAuditConfig(): AuditConfig {
  return {
    thresholds: defaultThresholds(),
    // Two counter samples 1 s apart, as ibdiagnet checks counters over a 1-second period.
    rate: { counters: Object.fromEntries(ERROR_COUNTERS.filter((c) => c !== 'PortXmitWait').map((c) => [c, 0n])), intervalMs: 1_000 },
    sm: { minStandby: 0 },
    skip: new Set(),
    severities: {},
    expect: { byNodeType: {}, fleets: [], links: [] },
  };
}

/** Parse a duration: "10s", "500ms", "2m", or a number of milliseconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  const ms = Number(m[1]) * mult;
  return ms > 0 ? ms : undefined;
}

const KNOWN_COUNTERS = new Set(Object.keys(PORT_COUNTER_BITS));
const NODE_TYPES: Record<string, NodeType> = { CA: 'CA', Switch: 'Switch', Router: 'Router' };

class Ctx {
  constructor(
    readonly file: string | undefined,
    readonly lc: LineCounter,
  ) {}
  line(n: YamlNode | Pair | null | undefined): number | undefined {
    const r = (n && 'range' in n ? n.range : undefined) ?? (n && 'key' in n ? (n.key as YamlNode | null)?.range : undefined);
    return r ? this.lc.linePos(r[0]).line : undefined;
  }
  fail(n: YamlNode | Pair | null | undefined, msg: string): never {
    throw new AuditConfigError(msg, this.file, this.line(n));
  }
  map(n: unknown, what: string, at: YamlNode | Pair | null | undefined): YAMLMap {
    if (!isMap(n)) this.fail((n as YamlNode) ?? at, `${what}: expected a mapping`);
    return n;
  }
  entries(m: YAMLMap): Array<{ key: string; value: YamlNode | null; pair: Pair }> {
    return m.items.map((pair) => {
      const k = pair.key;
      if (!isScalar(k) || typeof k.value !== 'string') this.fail(pair as Pair, 'keys must be plain strings');
      return { key: k.value as string, value: pair.value as YamlNode | null, pair: pair as Pair };
    });
  }
  str(n: YamlNode | null, what: string, at: Pair): string {
    if (!isScalar(n) || (typeof n.value !== 'string' && typeof n.value !== 'number')) this.fail(n ?? at, `${what}: expected a string`);
    return String(n.value);
  }
  int(n: YamlNode | null, what: string, at: Pair, min = 0): bigint {
    if (isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value) && n.value >= min) return BigInt(n.value);
    if (isScalar(n) && typeof n.value === 'string' && /^\d+$/.test(n.value) && BigInt(n.value) >= BigInt(min)) return BigInt(n.value);
    this.fail(n ?? at, `${what}: expected a whole number >= ${min}`);
  }
  rule(n: YamlNode | Pair | null, name: string): RuleId {
    if (!RULE_IDS.includes(name as RuleId)) this.fail(n, `unknown rule '${name}' (known: ${RULE_IDS.join(', ')})`);
    return name as RuleId;
  }
  counter(n: YamlNode | Pair | null, name: string): string {
    if (!KNOWN_COUNTERS.has(name)) this.fail(n, `unknown counter '${name}' (known: ${[...KNOWN_COUNTERS].join(', ')})`);
    return name;
  }
  expectation(n: YamlNode | null, what: string, at: Pair, extra: string[] = []): LinkExpectation & Record<string, YamlNode | null> {
    const m = this.map(n, what, at);
    const out: LinkExpectation & Record<string, YamlNode | null> = {};
    for (const e of this.entries(m)) {
      if (e.key === 'width') {
        const w = parseWidth(this.str(e.value, `${what}.width`, e.pair));
        if (!w) this.fail(e.value ?? e.pair, `${what}.width: expected one of 1X, 2X, 4X, 8X, 12X`);
        out.width = w as LinkWidth;
      } else if (e.key === 'speed') {
        const s = parseSpeed(this.str(e.value, `${what}.speed`, e.pair));
        if (!s) this.fail(e.value ?? e.pair, `${what}.speed: expected one of SDR, DDR, QDR, FDR10, FDR, EDR, HDR, NDR, XDR`);
        out.speed = s as LinkSpeed;
      } else if (extra.includes(e.key)) out[e.key] = e.value;
      else this.fail(e.pair, `${what}: unknown key '${e.key}' (expected width, speed${extra.length ? ', ' + extra.join(', ') : ''})`);
    }
    return out;
  }
}

/** Parse and validate an audit configuration file. */
export function parseAuditConfig(text: string, file?: string): AuditConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new AuditConfigError(`invalid YAML: ${e.message.split('\n')[0]}`, file, e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line);
  }
  const c: Ctx = new Ctx(file, lc);
  const cfg = defaultAuditConfig();
  if (doc.contents === null) return cfg;
  const top = c.map(doc.contents, 'configuration', null);
  for (const e of c.entries(top)) {
    switch (e.key) {
      case 'version':
        if (c.int(e.value, 'version', e.pair, 1) !== 1n) c.fail(e.value, 'version: only version 1 is known');
        break;
      case 'reference':
        cfg.referencePath = c.str(e.value, 'reference', e.pair);
        break;
      case 'nodeNameMap':
        cfg.nodeNameMapPath = c.str(e.value, 'nodeNameMap', e.pair);
        break;
      case 'skip': {
        if (!isSeq(e.value)) c.fail(e.value ?? e.pair, 'skip: expected a list of rule ids');
        for (const item of e.value.items as YamlNode[]) cfg.skip.add(c.rule(item, c.str(item, 'skip', e.pair)));
        break;
      }
      case 'severities':
        for (const s of c.entries(c.map(e.value, 'severities', e.pair))) {
          const rule = c.rule(s.pair, s.key);
          const sev = c.str(s.value, `severities.${s.key}`, s.pair);
          if (!SEVERITIES.includes(sev as Severity)) c.fail(s.value, `severities.${s.key}: expected error, warning or info`);
          cfg.severities[rule] = sev as Severity;
        }
        break;
      case 'thresholds':
        for (const t of c.entries(c.map(e.value, 'thresholds', e.pair))) {
          cfg.thresholds[c.counter(t.pair, t.key)] = c.int(t.value, `thresholds.${t.key}`, t.pair);
        }
        break;
      case 'rate':
        for (const r of c.entries(c.map(e.value, 'rate', e.pair))) {
          if (r.key === 'interval') {
            const raw = isScalar(r.value) ? r.value.value : undefined;
            const ms = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw) : undefined;
            if (ms === undefined) c.fail(r.value ?? r.pair, 'rate.interval: expected a duration such as 10s, 500ms or 2m');
            cfg.rate.intervalMs = ms!;
          } else if (r.key === 'counters') {
            cfg.rate.counters = {};
            for (const k of c.entries(c.map(r.value, 'rate.counters', r.pair))) {
              cfg.rate.counters[c.counter(k.pair, k.key)] = c.int(k.value, `rate.counters.${k.key}`, k.pair);
            }
          } else c.fail(r.pair, `rate: unknown key '${r.key}' (expected interval, counters)`);
        }
        break;
      case 'sm':
        for (const s of c.entries(c.map(e.value, 'sm', e.pair))) {
          if (s.key === 'minStandby') cfg.sm.minStandby = Number(c.int(s.value, 'sm.minStandby', s.pair));
          else c.fail(s.pair, `sm: unknown key '${s.key}' (expected minStandby)`);
        }
        break;
      case 'routing': {
        // routing: true | false | { maxHops: N, balanceRatio: X }
        if (isScalar(e.value) && typeof e.value.value === 'boolean') {
          cfg.routing = { enabled: e.value.value };
          break;
        }
        cfg.routing = { enabled: true };
        for (const r of c.entries(c.map(e.value, 'routing', e.pair))) {
          if (r.key === 'enabled') {
            if (!isScalar(r.value) || typeof r.value.value !== 'boolean') c.fail(r.value ?? r.pair, 'routing.enabled: expected true or false');
            cfg.routing.enabled = r.value.value as boolean;
          } else if (r.key === 'maxHops') cfg.routing.maxHops = Number(c.int(r.value, 'routing.maxHops', r.pair, 1));
          else if (r.key === 'balanceRatio') {
            const v = isScalar(r.value) ? r.value.value : undefined;
            if (typeof v !== 'number' || !(v >= 1)) c.fail(r.value ?? r.pair, 'routing.balanceRatio: expected a number >= 1');
            cfg.routing.balanceRatio = v as number;
          } else c.fail(r.pair, `routing: unknown key '${r.key}' (expected enabled, maxHops, balanceRatio)`);
        }
        break;
      }
      case 'expect': {
        const ex = c.expectation(e.value, 'expect', e.pair, ['nodeTypes', 'fleets', 'links']);
        if (ex.width) cfg.expect.width = ex.width;
        if (ex.speed) cfg.expect.speed = ex.speed;
        const nt = ex['nodeTypes'];
        if (nt !== undefined) {
          for (const t of c.entries(c.map(nt, 'expect.nodeTypes', e.pair))) {
            const type = NODE_TYPES[t.key];
            if (!type) c.fail(t.pair, `expect.nodeTypes: unknown node type '${t.key}' (expected CA, Switch, Router)`);
            const x = c.expectation(t.value, `expect.nodeTypes.${t.key}`, t.pair);
            cfg.expect.byNodeType[type!] = { ...(x.width ? { width: x.width } : {}), ...(x.speed ? { speed: x.speed } : {}) };
          }
        }
        const fl = ex['fleets'];
        if (fl !== undefined) {
          if (!isSeq(fl)) c.fail(fl ?? e.pair, 'expect.fleets: expected a list');
          fl.items.forEach((item, i) => {
            const x = c.expectation(item as YamlNode, `expect.fleets[${i}]`, e.pair, ['name', 'match']);
            const name = x['name'] !== undefined ? c.str(x['name'], `expect.fleets[${i}].name`, e.pair) : `fleet ${i + 1}`;
            if (x['match'] === undefined) c.fail(item as YamlNode, `expect.fleets[${i}]: 'match' (a regular expression) is required`);
            const src = c.str(x['match'] ?? null, `expect.fleets[${i}].match`, e.pair);
            let re: RegExp;
            try {
              re = new RegExp(src);
            } catch (err) {
              c.fail(x['match'] ?? null, `expect.fleets[${i}].match: invalid regular expression: ${(err as Error).message}`);
            }
            cfg.expect.fleets.push({ name, match: re!, ...(x.width ? { width: x.width } : {}), ...(x.speed ? { speed: x.speed } : {}) });
          });
        }
        const ln = ex['links'];
        if (ln !== undefined) {
          if (!isSeq(ln)) c.fail(ln ?? e.pair, 'expect.links: expected a list');
          ln.items.forEach((item, i) => {
            const x = c.expectation(item as YamlNode, `expect.links[${i}]`, e.pair, ['node', 'port']);
            if (x['node'] === undefined) c.fail(item as YamlNode, `expect.links[${i}]: 'node' (GUID or name) is required`);
            const node = c.str(x['node'] ?? null, `expect.links[${i}].node`, e.pair);
            const rule: AuditConfig['expect']['links'][number] = { node, ...(x.width ? { width: x.width } : {}), ...(x.speed ? { speed: x.speed } : {}) };
            if (x['port'] !== undefined) rule.port = Number(c.int(x['port'], `expect.links[${i}].port`, e.pair, 1));
            cfg.expect.links.push(rule);
          });
        }
        break;
      }
      default:
        c.fail(e.pair, `unknown key '${e.key}' (expected reference, nodeNameMap, skip, severities, thresholds, rate, sm, routing, expect)`);
    }
  }
  return cfg;
}
