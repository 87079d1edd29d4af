/**
 * JSON snapshot of a fabric (schema "hpcnet.fabric", version 1; documented
 * in lib/ib/topology/README.md): the topology model plus, optionally, port
 * counter samples and subnet manager records, so an audit can be re-run
 * offline. GUIDs are "0x" + 16 hex digits; counters are JSON numbers when
 * below 2^53 and decimal strings above.
 */
import { formatGuid } from '../../util/format.js';
import type { RoutingTables } from '../routing/model.js';
import { routesFromSnapshotJson, routesToSnapshotJson } from '../routing/formats.js';
import {
  FabricBuilder,
  LINK_SPEEDS,
  LINK_WIDTHS,
  TopologyParseError,
  type Fabric,
  type FabricNode,
  type FabricPort,
  type LinkProps,
  type NodeType,
  type PhysPortState,
  type PortInput,
  type PortState,
} from './model.js';

export const SNAPSHOT_SCHEMA = 'hpcnet.fabric';
export const SNAPSHOT_VERSION = 1;

/** One reading of port counters (PortCounters / PortCountersExtended field names as perfquery prints them). */
export interface CounterSample {
  /** ISO time the sample was taken. */
  takenAt: string;
  ports: PortCounters[];
}

export interface PortCounters {
  node: string;
  port: number;
  counters: Record<string, bigint>;
  /** True when the values came from PortCountersExtended (64-bit). */
  extended?: boolean;
}

export type SmState = 'notactive' | 'discovering' | 'standby' | 'master';
export const SM_STATES: readonly SmState[] = ['notactive', 'discovering', 'standby', 'master'];

export interface SmInfo {
  guid: bigint;
  lid?: number;
  priority?: number;
  state: SmState;
  activityCount?: number;
}

export interface FabricSnapshot {
  fabric: Fabric;
  /** Zero, one or two (or more) samples in time order; two allow rate checks. */
  counters: CounterSample[];
  /** Undefined when SM information was not collected (SM rules are then skipped). */
  subnetManagers?: SmInfo[];
  /** Forwarding tables of every switch (lib/ib/routing), when read. */
  routes?: RoutingTables;
}

const NODE_TYPES: readonly NodeType[] = ['CA', 'Switch', 'Router', 'RNIC', 'Unknown'];
const PORT_STATES: readonly PortState[] = ['NoChange', 'Down', 'Init', 'Armed', 'Active', 'Unknown'];
const PHYS_STATES: readonly PhysPortState[] = [
  'NoChange',
  'Sleep',
  'Polling',
  'Disabled',
  'PortConfigurationTraining',
  'LinkUp',
  'LinkErrorRecovery',
  'PhyTest',
  'Unknown',
];

// ---------------------------------------------------------------------------
// Writer

function countersJson(c: Record<string, bigint>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(c)) out[k] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return out;
}

function portJson(p: FabricPort): Record<string, unknown> {
  const o: Record<string, unknown> = { portNum: p.portNum };
  if (p.guid !== undefined) o['guid'] = formatGuid(p.guid);
  if (p.state !== undefined) o['state'] = p.state;
  if (p.physState !== undefined) o['physState'] = p.physState;
  o['width'] = p.width;
  o['speed'] = p.speed;
  if (p.lid !== undefined) o['lid'] = p.lid;
  if (p.lmc !== undefined) o['lmc'] = p.lmc;
  if (p.capabilityMask !== undefined) o['capabilityMask'] = p.capabilityMask;
  if (p.extPortNum !== undefined) o['extPortNum'] = p.extPortNum;
  if (p.remote) o['remote'] = p.remote;
  return o;
}

function nodeJson(n: FabricNode): Record<string, unknown> {
  const o: Record<string, unknown> = { id: n.id, type: n.type, guid: formatGuid(n.guid) };
  if (n.systemImageGuid !== undefined) o['systemImageGuid'] = formatGuid(n.systemImageGuid);
  if (n.portGuid !== undefined) o['portGuid'] = formatGuid(n.portGuid);
  o['description'] = n.description;
  if (n.name !== undefined) o['name'] = n.name;
  if (n.vendorId !== undefined) o['vendorId'] = n.vendorId;
  if (n.deviceId !== undefined) o['deviceId'] = n.deviceId;
  if (n.revision !== undefined) o['revision'] = n.revision;
  o['numPorts'] = n.numPorts;
  if (n.switchInfo) o['switchInfo'] = n.switchInfo;
  if (n.drPath) o['drPath'] = n.drPath;
  if (n.source) o['source'] = { ...(n.source.file !== undefined ? { file: n.source.file } : {}), line: n.source.line };
  o['ports'] = n.ports.map(portJson);
  return o;
}

/** The snapshot as a JSON-ready object. */
export function snapshotToJson(s: FabricSnapshot | Fabric): Record<string, unknown> {
  const snap: FabricSnapshot = 'fabric' in s ? s : { fabric: s, counters: [] };
  const f = snap.fabric;
  const meta: Record<string, unknown> = { source: f.meta.source };
  if (f.meta.createdAt) meta['createdAt'] = f.meta.createdAt;
  if (f.meta.fromNode !== undefined) meta['fromNode'] = formatGuid(f.meta.fromNode);
  if (f.meta.fromPort !== undefined) meta['fromPort'] = formatGuid(f.meta.fromPort);
  if (f.meta.file) meta['file'] = f.meta.file;
  if (f.meta.subnetPrefix !== undefined) meta['subnetPrefix'] = formatGuid(f.meta.subnetPrefix);
  const out: Record<string, unknown> = {
    schema: SNAPSHOT_SCHEMA,
    version: SNAPSHOT_VERSION,
    meta,
    nodes: f.nodes.map(nodeJson),
    links: f.links,
    errors: f.errors,
  };
  if (snap.counters.length > 0) {
    out['counters'] = snap.counters.map((c) => ({
      takenAt: c.takenAt,
      ports: c.ports.map((p) => ({ node: p.node, port: p.port, ...(p.extended ? { extended: true } : {}), counters: countersJson(p.counters) })),
    }));
  }
  if (snap.subnetManagers) {
    out['subnetManagers'] = snap.subnetManagers.map((sm) => ({ ...sm, guid: formatGuid(sm.guid) }));
  }
  if (snap.routes) out['routes'] = routesToSnapshotJson(snap.routes);
  return out;
}

export function writeSnapshot(s: FabricSnapshot | Fabric): string {
  return JSON.stringify(snapshotToJson(s), null, 2) + '\n';
}

// ---------------------------------------------------------------------------
// Reader (strict: every field is checked, errors name the JSON path)

class Reader {
  constructor(readonly file: string | undefined) {}
  fail(path: string, msg: string): never {
    throw new TopologyParseError(`${path}: ${msg}`, this.file, undefined, 'ERR_SNAPSHOT');
  }
  obj(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'expected an object');
    return v as Record<string, unknown>;
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'expected an array');
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'expected a string');
    return v;
  }
  int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(path, `expected a whole number from ${min} to ${max}`);
    return v;
  }
  guid(v: unknown, path: string): bigint {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(v)) this.fail(path, 'expected a GUID as "0x" + up to 16 hex digits');
    return BigInt(v);
  }
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(path, `expected one of ${allowed.join(', ')}`);
    return v as T;
  }
  counter(v: unknown, path: string): bigint {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) < 1n << 64n) return BigInt(v);
    this.fail(path, 'expected a counter value (a non-negative whole number, or a decimal string for values above 2^53)');
  }
  linkProps<T extends string>(v: unknown, path: string, allowed: readonly T[]): LinkProps<T> {
    const o = this.obj(v, path);
    const out: LinkProps<T> = {};
    for (const k of Object.keys(o)) {
      if (k === 'active') out.active = this.oneOf(o[k], `${path}.active`, allowed);
      else if (k === 'supported' || k === 'enabled') out[k] = this.arr(o[k], `${path}.${k}`).map((x, i) => this.oneOf(x, `${path}.${k}[${i}]`, allowed));
      else this.fail(`${path}.${k}`, 'unknown field');
    }
    return out;
  }
}

const NODE_KEYS = new Set(['id', 'type', 'guid', 'systemImageGuid', 'portGuid', 'description', 'name', 'vendorId', 'deviceId', 'revision', 'numPorts', 'switchInfo', 'drPath', 'source', 'ports']);
const PORT_KEYS = new Set(['portNum', 'guid', 'state', 'physState', 'width', 'speed', 'lid', 'lmc', 'capabilityMask', 'extPortNum', 'remote']);

/** Parse a snapshot; throws TopologyParseError (code ERR_SNAPSHOT) naming the JSON path of the first problem. */
export function readSnapshot(text: string, file?: string): FabricSnapshot {
  const r = new Reader(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined;
    throw new TopologyParseError(`not valid JSON: ${(e as Error).message}`, file, line, 'ERR_SNAPSHOT');
  }
  const top = r.obj(doc, '$');
  if (top['schema'] !== SNAPSHOT_SCHEMA) r.fail('$.schema', `expected "${SNAPSHOT_SCHEMA}"`);
  if (top['version'] !== SNAPSHOT_VERSION) r.fail('$.version', `unsupported version ${JSON.stringify(top['version'])} (this hpcnet reads ${SNAPSHOT_VERSION})`);
  const metaIn = r.obj(top['meta'] ?? {}, '$.meta');
  const b = new FabricBuilder({ source: r.str(metaIn['source'] ?? 'snapshot', '$.meta.source') });
  if (metaIn['createdAt'] !== undefined) b.meta.createdAt = r.str(metaIn['createdAt'], '$.meta.createdAt');
  if (metaIn['fromNode'] !== undefined) b.meta.fromNode = r.guid(metaIn['fromNode'], '$.meta.fromNode');
  if (metaIn['fromPort'] !== undefined) b.meta.fromPort = r.guid(metaIn['fromPort'], '$.meta.fromPort');
  if (metaIn['file'] !== undefined) b.meta.file = r.str(metaIn['file'], '$.meta.file');
  if (metaIn['subnetPrefix'] !== undefined) b.meta.subnetPrefix = r.guid(metaIn['subnetPrefix'], '$.meta.subnetPrefix');

  const ids = new Set<string>();
  const pendingRemotes: Array<{ path: string; from: { node: string; port: number }; to: { node: string; port: number } }> = [];
  r.arr(top['nodes'], '$.nodes').forEach((nv, i) => {
    const path = `$.nodes[${i}]`;
    const n = r.obj(nv, path);
    for (const k of Object.keys(n)) if (!NODE_KEYS.has(k)) r.fail(`${path}.${k}`, 'unknown field');
    const guid = r.guid(n['guid'], `${path}.guid`);
    const id = b.addNode({
      type: r.oneOf(n['type'], `${path}.type`, NODE_TYPES),
      guid,
      numPorts: r.int(n['numPorts'], `${path}.numPorts`, 0, 255),
      description: r.str(n['description'] ?? '', `${path}.description`),
      ...(n['name'] !== undefined ? { name: r.str(n['name'], `${path}.name`) } : {}),
      ...(n['systemImageGuid'] !== undefined ? { systemImageGuid: r.guid(n['systemImageGuid'], `${path}.systemImageGuid`) } : {}),
      ...(n['portGuid'] !== undefined ? { portGuid: r.guid(n['portGuid'], `${path}.portGuid`) } : {}),
      ...(n['vendorId'] !== undefined ? { vendorId: r.int(n['vendorId'], `${path}.vendorId`, 0, 0xffffff) } : {}),
      ...(n['deviceId'] !== undefined ? { deviceId: r.int(n['deviceId'], `${path}.deviceId`, 0, 0xffff) } : {}),
      ...(n['revision'] !== undefined ? { revision: r.int(n['revision'], `${path}.revision`, 0, 0xffffffff) } : {}),
      ...(n['drPath'] !== undefined
        ? { drPath: r.arr(n['drPath'], `${path}.drPath`).map((x, j) => r.int(x, `${path}.drPath[${j}]`, 0, 255)) }
        : {}),
      ...(n['source'] !== undefined ? { source: readSource(r, n['source'], `${path}.source`) } : {}),
      ...(n['switchInfo'] !== undefined ? { switchInfo: readSwitchInfo(r, n['switchInfo'], `${path}.switchInfo`) } : {}),
    });
    if (n['id'] !== undefined && n['id'] !== id) {
      r.fail(`${path}.id`, `expected "${id}" (the GUID, with "#n" for the n-th node carrying the same GUID, in file order)`);
    }
    ids.add(id);
    r.arr(n['ports'] ?? [], `${path}.ports`).forEach((pv, j) => {
      const pp = `${path}.ports[${j}]`;
      const p = r.obj(pv, pp);
      for (const k of Object.keys(p)) if (!PORT_KEYS.has(k)) r.fail(`${pp}.${k}`, 'unknown field');
      const portNum = r.int(p['portNum'], `${pp}.portNum`, 0, 255);
      const input: PortInput = {};
      if (p['guid'] !== undefined) input.guid = r.guid(p['guid'], `${pp}.guid`);
      if (p['state'] !== undefined) input.state = r.oneOf(p['state'], `${pp}.state`, PORT_STATES);
      if (p['physState'] !== undefined) input.physState = r.oneOf(p['physState'], `${pp}.physState`, PHYS_STATES);
      if (p['width'] !== undefined) input.width = r.linkProps(p['width'], `${pp}.width`, LINK_WIDTHS);
      if (p['speed'] !== undefined) input.speed = r.linkProps(p['speed'], `${pp}.speed`, LINK_SPEEDS);
      if (p['lid'] !== undefined) input.lid = r.int(p['lid'], `${pp}.lid`, 0, 0xffff);
      if (p['lmc'] !== undefined) input.lmc = r.int(p['lmc'], `${pp}.lmc`, 0, 7);
      if (p['capabilityMask'] !== undefined) input.capabilityMask = r.int(p['capabilityMask'], `${pp}.capabilityMask`, 0, 0xffffffff);
      if (p['extPortNum'] !== undefined) input.extPortNum = r.int(p['extPortNum'], `${pp}.extPortNum`, 0, 255);
      try {
        b.setPort(id, portNum, input);
      } catch (e) {
        r.fail(pp, (e as Error).message);
      }
      if (p['remote'] !== undefined) {
        const rem = r.obj(p['remote'], `${pp}.remote`);
        pendingRemotes.push({
          path: `${pp}.remote`,
          from: { node: id, port: portNum },
          to: { node: r.str(rem['node'], `${pp}.remote.node`), port: r.int(rem['port'], `${pp}.remote.port`, 0, 255) },
        });
      }
    });
  });
  r.arr(top['links'] ?? [], '$.links').forEach((lv, i) => {
    const path = `$.links[${i}]`;
    const l = r.obj(lv, path);
    const end = (k: 'a' | 'b') => {
      const e = r.obj(l[k], `${path}.${k}`);
      const node = r.str(e['node'], `${path}.${k}.node`);
      if (!ids.has(node)) r.fail(`${path}.${k}.node`, `no node with id "${node}"`);
      return { node, port: r.int(e['port'], `${path}.${k}.port`, 0, 255) };
    };
    try {
      b.addLink(end('a'), end('b'));
    } catch (e) {
      if (e instanceof TopologyParseError) throw e;
      r.fail(path, (e as Error).message);
    }
  });
  const built = b.build();
  const idx = new Map(built.nodes.map((n) => [n.id, n]));
  for (const pr of pendingRemotes) {
    const p = idx.get(pr.from.node)!.ports.find((x) => x.portNum === pr.from.port)!;
    if (!p.remote || p.remote.node !== pr.to.node || p.remote.port !== pr.to.port) {
      r.fail(pr.path, `does not match $.links (port ${pr.from.port} of ${pr.from.node} ${p.remote ? `is linked to ${p.remote.node} port ${p.remote.port}` : 'has no link'})`);
    }
  }
  r.arr(top['errors'] ?? [], '$.errors').forEach((ev, i) => {
    const e = r.obj(ev, `$.errors[${i}]`);
    b.addError({
      kind: r.str(e['kind'], `$.errors[${i}].kind`),
      message: r.str(e['message'], `$.errors[${i}].message`),
      ...(e['drPath'] !== undefined ? { drPath: r.arr(e['drPath'], `$.errors[${i}].drPath`).map((x, j) => r.int(x, `$.errors[${i}].drPath[${j}]`, 0, 255)) } : {}),
      ...(e['node'] !== undefined ? { node: r.str(e['node'], `$.errors[${i}].node`) } : {}),
      ...(e['port'] !== undefined ? { port: r.int(e['port'], `$.errors[${i}].port`, 0, 255) } : {}),
    });
  });
  const counters: CounterSample[] = r.arr(top['counters'] ?? [], '$.counters').map((cv, i) => {
    const path = `$.counters[${i}]`;
    const c = r.obj(cv, path);
    return {
      takenAt: r.str(c['takenAt'], `${path}.takenAt`),
      ports: r.arr(c['ports'], `${path}.ports`).map((pv, j) => {
        const pp = `${path}.ports[${j}]`;
        const p = r.obj(pv, pp);
        const node = r.str(p['node'], `${pp}.node`);
        if (!ids.has(node)) r.fail(`${pp}.node`, `no node with id "${node}"`);
        const values = r.obj(p['counters'], `${pp}.counters`);
        const out: PortCounters = {
          node,
          port: r.int(p['port'], `${pp}.port`, 0, 255),
          counters: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, r.counter(v, `${pp}.counters.${k}`)])),
        };
        if (p['extended'] === true) out.extended = true;
        return out;
      }),
    };
  });
  const snap: FabricSnapshot = { fabric: b.build(), counters };
  if (top['subnetManagers'] !== undefined) {
    snap.subnetManagers = r.arr(top['subnetManagers'], '$.subnetManagers').map((sv, i) => {
      const path = `$.subnetManagers[${i}]`;
      const s = r.obj(sv, path);
      const sm: SmInfo = { guid: r.guid(s['guid'], `${path}.guid`), state: r.oneOf(s['state'], `${path}.state`, SM_STATES) };
      if (s['lid'] !== undefined) sm.lid = r.int(s['lid'], `${path}.lid`, 0, 0xffff);
      if (s['priority'] !== undefined) sm.priority = r.int(s['priority'], `${path}.priority`, 0, 15);
      if (s['activityCount'] !== undefined) sm.activityCount = r.int(s['activityCount'], `${path}.activityCount`, 0, 0xffffffff);
      return sm;
    });
  }
  if (top['routes'] !== undefined) snap.routes = routesFromSnapshotJson(top['routes'], new Set(snap.fabric.nodes.map((n) => n.id)), (p, m) => r.fail(p, m));
  return snap;
}

function readSource(r: Reader, v: unknown, path: string): { file?: string; line: number } {
  const o = r.obj(v, path);
  const line = r.int(o['line'], `${path}.line`, 1);
  return o['file'] !== undefined ? { file: r.str(o['file'], `${path}.file`), line } : { line };
}

function readSwitchInfo(r: Reader, v: unknown, path: string): NonNullable<FabricNode['switchInfo']> {
  const o = r.obj(v, path);
  const out: NonNullable<FabricNode['switchInfo']> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === 'enhancedPort0') {
      if (typeof val !== 'boolean') r.fail(`${path}.${k}`, 'expected true or false');
      out.enhancedPort0 = val;
    } else if (k === 'linearFdbCap' || k === 'linearFdbTop' || k === 'multicastFdbCap' || k === 'lifeTime') {
      out[k] = r.int(val, `${path}.${k}`, 0, 0xffff);
    } else r.fail(`${path}.${k}`, 'unknown field');
  }
  return out;
}
