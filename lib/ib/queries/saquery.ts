/**
 * saquery's output from the library: record names and aliases, the text
 * renderers (saquery's dot-padded dumps) and one dispatcher that runs a query
 * by record name with typed filters and returns the records, their JSON form
 * and their text. The CLI (`hpcnet ib sa`) only parses flags and prints.
 */
import type { Port, QueryOptions } from '../port.js';
import { InvalidArgumentError } from '../../errors.js';
import { formatGuid as g16 } from '../../util/format.js';
import { toJsonValue } from '../../util/json.js';
import {
  guidInfoRecords,
  linkRecords,
  mcMemberRecords,
  nodeRecords,
  pathRecords,
  portInfoRecords,
  serviceRecords,
  smInfoRecords,
  type GuidInfoRecord,
  type LinkRecord,
  type McMemberRecord,
  type NodeRecord,
  type PathRecord,
  type PortInfoRecord,
  type SaRecordName,
  type SmInfoRecord,
} from './sa.js';
import { portInfoLines } from './text.js';

/** saquery's record names and short aliases (lower case) to the record. */
export const SA_RECORD_ALIASES: Readonly<Record<string, SaRecordName>> = {
  nr: 'NodeRecord',
  noderecord: 'NodeRecord',
  pir: 'PortInfoRecord',
  portinforecord: 'PortInfoRecord',
  lr: 'LinkRecord',
  linkrecord: 'LinkRecord',
  pr: 'PathRecord',
  pathrecord: 'PathRecord',
  smir: 'SMInfoRecord',
  sminforecord: 'SMInfoRecord',
  mcmr: 'MCMemberRecord',
  mcmemberrecord: 'MCMemberRecord',
  sr: 'ServiceRecord',
  servicerecord: 'ServiceRecord',
  gir: 'GUIDInfoRecord',
  guidinforecord: 'GUIDInfoRecord',
};

/** The record a saquery name or alias (NR, pir, PathRecord, ...) means; throws on an unknown one. */
export function saRecordName(text: string): SaRecordName {
  const name = SA_RECORD_ALIASES[text.toLowerCase()];
  if (!name) throw new InvalidArgumentError(`unknown SA record '${text}' (one of ${Object.keys(SA_RECORD_ALIASES).join(', ')})`);
  return name;
}

type Row = [string, string];
const dots = (name: string, width: number) => name.padEnd(width, '.');
const dump = (title: string, rows: Row[], width: number) => `${title}:\n` + rows.map(([k, v]) => `\t\t${dots(k, width)}${v}`).join('\n');
const hexU = (n: number) => '0x' + n.toString(16).toUpperCase();
const hexL = (n: number) => '0x' + n.toString(16);

/** saquery's NodeRecord dump; the name map (node GUID to name) replaces the description. */
export function nodeRecordText(r: NodeRecord, nameMap?: ReadonlyMap<bigint, string>): string {
  const ni = r.nodeInfo;
  return dump(
    'NodeRecord dump',
    [
      ['lid', String(r.lid)],
      ['reserved', '0x0'],
      ['base_version', hexU(ni.baseVersion)],
      ['class_version', hexU(ni.classVersion)],
      ['node_type', ni.nodeType === 'CA' ? 'Channel Adapter' : ni.nodeType],
      ['num_ports', String(ni.numPorts)],
      ['sys_guid', g16(ni.systemImageGuid)],
      ['node_guid', g16(ni.nodeGuid)],
      ['port_guid', g16(ni.portGuid)],
      ['partition_cap', hexU(ni.partitionCap)],
      ['device_id', hexU(ni.deviceId)],
      ['revision', hexU(ni.revision)],
      ['port_num', String(ni.localPort)],
      ['vendor_id', hexU(ni.vendorId)],
      ['NodeDescription', nameMap?.get(ni.nodeGuid) ?? r.nodeDescription],
    ],
    24,
  );
}

/** saquery's PortInfoRecord dump. */
export function portInfoRecordText(x: PortInfoRecord): string {
  return `PortInfoRecord dump:\n\tRID\n\t\tEndPortLid..............${x.lid}\n\t\tPortNum.................${x.portNum}\n\t\tOptions.................0x${x.options.toString(16)}\n\tPortInfo dump:\n` + portInfoLines(x.portInfo);
}

/** saquery's LinkRecord dump. */
export function linkRecordText(r: LinkRecord): string {
  return dump(
    'LinkRecord dump',
    [
      ['FromLID', String(r.fromLid)],
      ['FromPort', String(r.fromPort)],
      ['ToPort', String(r.toPort)],
      ['ToLID', String(r.toLid)],
    ],
    27,
  );
}

/** saquery's SMInfoRecord dump. */
export function smInfoRecordText(r: SmInfoRecord): string {
  return [
    'SMInfoRecord dump:',
    '\t\tRID',
    `\t\t${dots('LID', 22)}${r.lid}`,
    '\t\tSMInfo dump:',
    `\t\t${dots('GUID', 22)}${g16(r.smInfo.guid)}`,
    `\t\t${dots('SM_Key', 22)}${g16(r.smInfo.smKey)}`,
    `\t\t${dots('ActCount', 22)}${r.smInfo.actCount}`,
    `\t\t${dots('Priority', 22)}${r.smInfo.priority}`,
    `\t\t${dots('SMState', 22)}${r.smInfo.stateCode}`,
  ].join('\n');
}

/** saquery's PathRecord dump. */
export function pathRecordText(r: PathRecord): string {
  return dump(
    'PathRecord dump',
    [
      ['service_id', g16(r.serviceId)],
      ['dgid', r.dgid],
      ['sgid', r.sgid],
      ['dlid', String(r.dlid)],
      ['slid', String(r.slid)],
      ['hop_flow_raw', hexU(r.raw.hopFlow)],
      ['tclass', hexU(r.tclass)],
      ['num_path_revers', hexU(r.raw.numPathRevers)],
      ['pkey', hexU(r.pkey)],
      ['qos_class', hexU(r.qosClass)],
      ['sl', hexU(r.sl)],
      ['mtu', hexU(r.raw.mtu)],
      ['rate', hexU(r.raw.rate)],
      ['pkt_life', hexU(r.raw.pktLife)],
      ['preference', hexU(r.preference)],
      ['resv2', '0x' + r.reserved2.toString(16).toUpperCase().padStart(12, '0')],
    ],
    24,
  );
}

/** saquery's GUIDInfoRecord dump. */
export function guidInfoRecordText(r: GuidInfoRecord): string {
  return dump('GUIDInfo Record dump', [['LID', String(r.lid)], ['Block', String(r.blockNum)], ...r.guids.map((g, i): Row => [`GUID ${i}`, g16(g)])], 27);
}

/** saquery's MCMemberRecord dump. */
export function mcMemberRecordText(r: McMemberRecord): string {
  return dump(
    'MCMember Record dump',
    [
      ['MGID', r.mgid],
      ['PortGid', r.portGid],
      ['qkey', hexL(r.qkey)],
      ['mlid', hexL(r.mlid)],
      ['mtu', hexL(r.raw.mtu)],
      ['TClass', hexL(r.tclass)],
      ['pkey', hexL(r.pkey)],
      ['rate', hexL(r.raw.rate)],
      ['pkt_life', hexL(r.raw.pktLife)],
      ['SL', hexL(r.sl)],
      ['FlowLabel', hexL(r.flowLabel)],
      ['HopLimit', hexL(r.hopLimit)],
      ['Scope', hexL(r.scope)],
      ['JoinState', hexL(r.joinState)],
      ['ProxyJoin', hexL(r.proxyJoin ? 1 : 0)],
    ],
    24,
  );
}

/** A record without a saquery layout of its own, field by field. */
export function genericRecordText(name: string, rec: object): string {
  const v = toJsonValue(rec) as Record<string, unknown>;
  return dump(name + ' dump', Object.entries(v).map(([k, x]): Row => [k, typeof x === 'object' ? JSON.stringify(x) : String(x)]), 24);
}

/** saquery's filters; each applies to the records named beside it. */
export interface SaQueryFilter {
  /** NR, PIR, SMIR, GIR: the LID; LR: the from-LID. */
  lid?: number;
  /** NR: the port GUID (falling back to the node GUID when no port has it). */
  guid?: bigint;
  /** NR: the node description. */
  nodeDescription?: string;
  /** PIR: the port number; LR: the from-port. */
  port?: number;
  toLid?: number;
  toPort?: number;
  slid?: number;
  dlid?: number;
  sgid?: string;
  dgid?: string;
  mlid?: number;
  mgid?: string;
  /** GIR: the block number. */
  block?: number;
  /** Node GUID to name (an opensm node name map): replaces NodeRecord descriptions. */
  nameMap?: ReadonlyMap<bigint, string>;
}

export interface SaQueryResult {
  record: SaRecordName;
  /** The SA's reply was cut short (no RMPP on this transport): the records are the complete ones. */
  truncated: boolean;
  /** The records as the query functions return them (raw fields dropped). */
  records: object[];
  /** One saquery text dump per record. */
  text: string[];
}

const noRaw = <T extends object>(v: T) => ({ ...v, raw: undefined });
const pick = <K extends string>(entries: Array<[K, unknown]>) => Object.fromEntries(entries.filter(([, v]) => v !== undefined));

/** Run saquery for one record (name or alias) with its filters: records and saquery's text. */
export async function saQuery(port: Port, record: SaRecordName | string, f: SaQueryFilter = {}, opts: QueryOptions = {}): Promise<SaQueryResult> {
  const name = saRecordName(record);
  const done = <T extends object>(r: { records: T[]; truncated: boolean }, text: (x: T) => string, json: (x: T) => object = (x) => x): SaQueryResult => ({
    record: name,
    truncated: r.truncated,
    records: r.records.map(json),
    text: r.records.map(text),
  });
  switch (name) {
    case 'NodeRecord': {
      let r = await nodeRecords(port, pick([['lid', f.lid], ['nodeDescription', f.nodeDescription], ['portGuid', f.guid]]), opts);
      if (f.guid !== undefined && r.records.length === 0) r = await nodeRecords(port, { nodeGuid: f.guid }, opts);
      return done(r, (x) => nodeRecordText(x, f.nameMap));
    }
    case 'PortInfoRecord':
      return done(await portInfoRecords(port, pick([['lid', f.lid], ['portNum', f.port]]), opts), portInfoRecordText, (x) => ({ ...x, portInfo: noRaw(x.portInfo) }));
    case 'LinkRecord':
      return done(await linkRecords(port, pick([['fromLid', f.lid], ['fromPort', f.port], ['toLid', f.toLid], ['toPort', f.toPort]]), opts), linkRecordText);
    case 'PathRecord':
      return done(await pathRecords(port, pick([['slid', f.slid], ['dlid', f.dlid], ['sgid', f.sgid], ['dgid', f.dgid]]), opts), pathRecordText, noRaw);
    case 'SMInfoRecord':
      return done(await smInfoRecords(port, pick([['lid', f.lid]]), opts), smInfoRecordText);
    case 'MCMemberRecord':
      return done(await mcMemberRecords(port, pick([['mlid', f.mlid], ['mgid', f.mgid]]), opts), mcMemberRecordText, noRaw);
    case 'ServiceRecord':
      return done(await serviceRecords(port, {}, opts), (x) => genericRecordText('ServiceRecord', x));
    case 'GUIDInfoRecord':
      return done(await guidInfoRecords(port, pick([['lid', f.lid], ['blockNum', f.block]]), opts), guidInfoRecordText);
  }
}
