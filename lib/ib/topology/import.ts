/**
 * Importers for what the infiniband-diags tools print, so a snapshot can be
 * assembled from saved tool output (and so tests can use the tools as
 * oracles): libibmad's dot-padded attribute dumps (smpquery nodeinfo /
 * portinfo, perfquery), `sminfo`'s line, and the iblinkinfo link table.
 */
import { HpcnetError } from '../../errors.js';
import {
  LINK_SPEEDS,
  SPEED_GBPS,
  parseWidth,
  type Fabric,
  type FabricNode,
  type LinkSpeed,
  type LinkWidth,
  type NodeInput,
  type NodeType,
  type PhysPortState,
  type PortInput,
  type PortState,
} from './model.js';
import type { SmInfo, SmState } from './snapshot.js';

export class ToolOutputError extends HpcnetError {
  constructor(message: string) {
    super('ERR_TOOL_OUTPUT', message);
  }
}

/** `Field:.......value` lines of a libibmad dump (the first occurrence of each field wins). */
export function parseMadDump(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9_ ]*?):\.*(.*)$/.exec(line.trim());
    if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

function num(v: string | undefined, what: string): number {
  if (v === undefined) throw new ToolOutputError(`missing field ${what}`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ToolOutputError(`field ${what}: not a number: '${v}'`);
  return n;
}

const NODE_TYPE_TEXT: Record<string, NodeType> = { 'Channel Adapter': 'CA', Switch: 'Switch', Router: 'Router' };

/** NodeInfo (smpquery nodeinfo) to builder input; `localPort` is the port the SMP arrived on. */
export function nodeInfoFromDump(text: string): NodeInput & { localPort: number } {
  const f = parseMadDump(text);
  const type = NODE_TYPE_TEXT[f.get('NodeType') ?? ''];
  if (!type) throw new ToolOutputError(`NodeInfo: unknown NodeType '${f.get('NodeType')}'`);
  const guid = f.get('Guid');
  if (!guid || !/^0x[0-9a-f]+$/i.test(guid)) throw new ToolOutputError(`NodeInfo: bad Guid '${guid}'`);
  return {
    type,
    guid: BigInt(guid),
    numPorts: num(f.get('NumPorts'), 'NumPorts'),
    systemImageGuid: BigInt(f.get('SystemGuid') ?? '0'),
    portGuid: BigInt(f.get('PortGuid') ?? '0'),
    deviceId: num(f.get('DevId'), 'DevId'),
    revision: num(f.get('Revision'), 'Revision'),
    vendorId: num(f.get('VendorId'), 'VendorId'),
    localPort: num(f.get('LocalPort'), 'LocalPort'),
  };
}

const STATE_TEXT: Record<string, PortState> = { NoChange: 'NoChange', Down: 'Down', Initialize: 'Init', Init: 'Init', Armed: 'Armed', Active: 'Active' };
const PHYS_TEXT: Record<string, PhysPortState> = {
  NoChange: 'NoChange',
  Sleep: 'Sleep',
  Polling: 'Polling',
  Disabled: 'Disabled',
  PortConfigurationTraining: 'PortConfigurationTraining',
  LinkUp: 'LinkUp',
  LinkErrorRecovery: 'LinkErrorRecovery',
  PhyTest: 'PhyTest',
};

/** "25.78125 Gbps" (a lane rate as libibmad prints it) to a speed name. */
export function speedFromLaneRate(text: string): LinkSpeed | undefined {
  const t = text.trim();
  if (/FDR10/.test(t)) return 'FDR10';
  const m = /^(\d+(?:\.\d+)?) Gbps$/.exec(t);
  if (!m) return undefined;
  const g = Number(m[1]);
  return LINK_SPEEDS.find((s) => s !== 'FDR10' && SPEED_GBPS[s] === g);
}

function list<T>(text: string | undefined, parse: (s: string) => T | undefined): T[] {
  if (!text) return [];
  return text
    .split(' or ')
    .map((s) => parse(s))
    .filter((x): x is T => x !== undefined);
}

/** PortInfo (smpquery portinfo) to builder port input. */
export function portInfoFromDump(text: string): PortInput & { localPort?: number } {
  const f = parseMadDump(text);
  const state = STATE_TEXT[f.get('LinkState') ?? ''];
  const phys = PHYS_TEXT[f.get('PhysLinkState') ?? ''];
  if (!state || !phys) throw new ToolOutputError(`PortInfo: unknown LinkState/PhysLinkState '${f.get('LinkState')}'/'${f.get('PhysLinkState')}'`);
  const widthSup = list(f.get('LinkWidthSupported'), parseWidth) as LinkWidth[];
  const widthEn = list(f.get('LinkWidthEnabled'), parseWidth) as LinkWidth[];
  const widthAct = parseWidth(f.get('LinkWidthActive') ?? '');
  const speedSup = [...list(f.get('LinkSpeedSupported'), speedFromLaneRate), ...list(f.get('LinkSpeedExtSupported'), speedFromLaneRate)];
  const speedEn = [...list(f.get('LinkSpeedEnabled'), speedFromLaneRate), ...list(f.get('LinkSpeedExtEnabled'), speedFromLaneRate)];
  const speedAct = speedFromLaneRate(f.get('LinkSpeedExtActive') ?? '') ?? speedFromLaneRate(f.get('LinkSpeedActive') ?? '');
  const out: PortInput & { localPort?: number } = {
    state,
    physState: phys,
    lid: num(f.get('Lid'), 'Lid'),
    lmc: num(f.get('LMC'), 'LMC'),
    width: { supported: widthSup, enabled: widthEn, ...(widthAct && state !== 'Down' ? { active: widthAct } : {}) },
    speed: { supported: speedSup, enabled: speedEn, ...(speedAct && state !== 'Down' ? { active: speedAct } : {}) },
  };
  if (f.has('CapMask')) out.capabilityMask = Number(f.get('CapMask'));
  if (f.has('LocalPort')) out.localPort = Number(f.get('LocalPort'));
  return out;
}

/** perfquery output (PortCounters or PortCountersExtended) to counter values. */
export function countersFromPerfquery(text: string): { port: number; lid: number; extended: boolean; counters: Record<string, bigint> } {
  const head = /^# Port (extended )?counters: Lid (\d+) port (\d+)/m.exec(text);
  if (!head) throw new ToolOutputError('perfquery: no "# Port counters: Lid N port P" header');
  const counters: Record<string, bigint> = {};
  for (const [k, v] of parseMadDump(text)) {
    if (k === 'PortSelect' || k.startsWith('CounterSelect')) continue;
    if (/^\d+$/.test(v)) counters[k] = BigInt(v);
  }
  return { extended: head[1] !== undefined, lid: Number(head[2]), port: Number(head[3]), counters };
}

const SM_STATE: Record<string, SmState> = { '0': 'notactive', '1': 'discovering', '2': 'standby', '3': 'master' };

/** `sminfo` output: "sminfo: sm lid 1 sm guid 0x100001, activity count 359 priority 0 state 3 SMINFO_MASTER". */
export function smInfoFromSminfo(text: string): SmInfo {
  const m = /sm lid (\d+) sm guid (0x[0-9a-fA-F]+), activity count (\d+) priority (\d+) state (\d+)/.exec(text);
  if (!m || !SM_STATE[m[5]!]) throw new ToolOutputError(`sminfo: unrecognised output '${text.trim()}'`);
  return { lid: Number(m[1]), guid: BigInt(m[2]!), activityCount: Number(m[3]), priority: Number(m[4]), state: SM_STATE[m[5]!]! };
}

// ---------------------------------------------------------------------------
// iblinkinfo link table (also what writeLinkTable prints)

export interface LinkTableRow {
  nodeType: 'Switch' | 'CA' | 'Router';
  /** Switch header GUID (port 0), when a switch. */
  switchGuid?: bigint;
  nodeName: string;
  /** CA/router port GUID. */
  portGuid?: bigint;
  lid: number;
  port: number;
  width?: LinkWidth;
  speed?: LinkSpeed;
  state: string;
  physState: string;
  remote?: { lid: number; port: number; name: string };
}

const ROW = /^\s*(?:(0x[0-9a-f]{16})\s+)?(\d+)\s+(\d+)\[\s*(\d*)\]\s+==\((.*?)\)==>\s+(.*)$/;

/** Parse iblinkinfo's default output (or writeLinkTable's). */
export function parseLinkTable(text: string): LinkTableRow[] {
  const rows: LinkTableRow[] = [];
  let cur: { type: LinkTableRow['nodeType']; guid?: bigint; name: string } | undefined;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const sw = /^Switch: (0x[0-9a-f]{16}) (.*):$/.exec(line);
    const ca = /^(CA|Router): (.*):$/.exec(line);
    if (sw) return void (cur = { type: 'Switch', guid: BigInt(sw[1]!), name: sw[2]! });
    if (ca) return void (cur = { type: ca[1] as 'CA' | 'Router', name: ca[2]! });
    const m = ROW.exec(line);
    if (!m || !cur) throw new ToolOutputError(`link table line ${i + 1}: unrecognised '${line}'`);
    const link = m[5]!.trim();
    const lm = /^(?:(\S+)\s+(.*?\S)\s+)?(\S+)\/\s*(\S+)$/.exec(link);
    if (!lm) throw new ToolOutputError(`link table line ${i + 1}: unrecognised link '${link}'`);
    const row: LinkTableRow = { nodeType: cur.type, nodeName: cur.name, lid: Number(m[2]), port: Number(m[3]), state: lm[3]!, physState: lm[4]! };
    if (cur.guid !== undefined) row.switchGuid = cur.guid;
    if (m[1]) row.portGuid = BigInt(m[1]);
    if (lm[1]) {
      const w = parseWidth(lm[1]);
      if (w) row.width = w;
      const s = speedFromLaneRate(lm[2]!);
      if (s) row.speed = s;
    }
    const rm = /^(\d+)\s+(\d+)\[\s*\d*\]\s+"(.*)"\s+\(.*\)\s*$/.exec(m[6]!);
    if (rm) row.remote = { lid: Number(rm[1]), port: Number(rm[2]), name: rm[3]! };
    rows.push(row);
  });
  return rows;
}

/**
 * Set port state, physical state and active width/speed from a link table
 * (iblinkinfo output) on a fabric read from an ibnetdiscover file; ports the
 * file did not list (down ones) are added. Returns the rows that matched no node.
 */
export function applyLinkTable(fabric: Fabric, rows: LinkTableRow[]): LinkTableRow[] {
  const sw = new Map<bigint, FabricNode>();
  const byPortGuid = new Map<bigint, FabricNode>();
  for (const n of fabric.nodes) {
    if (n.type === 'Switch') sw.set(n.ports.find((p) => p.portNum === 0)?.guid ?? n.portGuid ?? n.guid, n);
    else for (const p of n.ports) if (p.guid !== undefined) byPortGuid.set(p.guid, n);
  }
  const unmatched: LinkTableRow[] = [];
  for (const r of rows) {
    const n = r.switchGuid !== undefined ? sw.get(r.switchGuid) : r.portGuid !== undefined ? byPortGuid.get(r.portGuid) : undefined;
    if (!n || r.port > n.numPorts) {
      unmatched.push(r);
      continue;
    }
    let p = n.ports.find((x) => x.portNum === r.port);
    if (!p) {
      p = { portNum: r.port, width: {}, speed: {} };
      n.ports.push(p);
      n.ports.sort((a, b) => a.portNum - b.portNum);
    }
    const st = STATE_TEXT[r.state];
    const ph = PHYS_TEXT[r.physState];
    if (st) p.state = st;
    if (ph) p.physState = ph;
    if (r.width) p.width.active = r.width;
    if (r.speed) p.speed.active = r.speed;
    if (r.portGuid !== undefined) p.guid = r.portGuid;
    if (n.type !== 'Switch' && p.lid === undefined) p.lid = r.lid;
  }
  return unmatched;
}
