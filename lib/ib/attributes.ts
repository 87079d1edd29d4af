/** Typed views of SMP attributes, built from libibmad's decoded fields. */
import type { FieldRecord } from './fields.js';
import { NODE_TYPES, PHYS_PORT_STATES, PORT_STATES, type NodeType, type PhysPortState, type PortState } from './types.js';

/** The PortInfo fields of a port's state, width and speed, in ibportstate's order. */
export const PORT_STATE_FIELDS = [
  'LinkState',
  'PhysLinkState',
  'Lid',
  'SMLid',
  'LMC',
  'LinkWidthSupported',
  'LinkWidthEnabled',
  'LinkWidthActive',
  'LinkSpeedSupported',
  'LinkSpeedEnabled',
  'LinkSpeedActive',
  'LinkSpeedExtSupported',
  'LinkSpeedExtEnabled',
  'LinkSpeedExtActive',
] as const;

export type LinkWidth = '1X' | '2X' | '4X' | '8X' | '12X';
export type LinkSpeed = 'SDR' | 'DDR' | 'QDR' | 'FDR' | 'EDR' | 'HDR' | 'NDR' | 'XDR';

/** Attribute IDs (IBA 14.2.5, 16.1.3, 15.2.5). */
export const ATTR = {
  NodeDescription: 0x0010,
  NodeInfo: 0x0011,
  SwitchInfo: 0x0012,
  GUIDInfo: 0x0014,
  PortInfo: 0x0015,
  PKeyTable: 0x0016,
  SLtoVLMappingTable: 0x0017,
  VLArbitrationTable: 0x0018,
  LinearForwardingTable: 0x0019,
  MulticastForwardingTable: 0x001b,
  SMInfo: 0x0020,
  ClassPortInfo: 0x0001,
  PortCounters: 0x0012,
  PortCountersExtended: 0x001d,
} as const;

export const MGMT_CLASS = { SMI: 0x01, SMI_DR: 0x81, SA: 0x03, PMA: 0x04 } as const;
export const METHOD = { Get: 0x01, Set: 0x02, GetResp: 0x81, GetTable: 0x12 } as const;

const WIDTH_BITS: Array<[number, LinkWidth]> = [
  [1, '1X'],
  [16, '2X'],
  [2, '4X'],
  [4, '8X'],
  [8, '12X'],
];
const SPEED_BITS: Array<[number, LinkSpeed]> = [
  [1, 'SDR'],
  [2, 'DDR'],
  [4, 'QDR'],
];
const EXT_SPEED_BITS: Array<[number, LinkSpeed]> = [
  [1, 'FDR'],
  [2, 'EDR'],
  [4, 'HDR'],
  [8, 'NDR'],
  [16, 'XDR'],
];

export function widthsOf(mask: number): LinkWidth[] {
  return WIDTH_BITS.filter(([b]) => (mask & b) !== 0).map(([, w]) => w);
}
export function speedsOf(mask: number, ext = false): LinkSpeed[] {
  return (ext ? EXT_SPEED_BITS : SPEED_BITS).filter(([b]) => (mask & b) !== 0).map(([, s]) => s);
}
function one<T>(list: T[]): T | null {
  return list.length === 1 ? list[0]! : null;
}

const num = (r: FieldRecord, k: string): number => {
  const v = r[k];
  return typeof v === 'number' ? v : Number(v ?? 0);
};
const big = (r: FieldRecord, k: string): bigint => {
  const v = r[k];
  return typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? v : 0);
};

export interface NodeInfo {
  baseVersion: number;
  classVersion: number;
  nodeType: NodeType;
  numPorts: number;
  systemImageGuid: bigint;
  nodeGuid: bigint;
  portGuid: bigint;
  partitionCap: number;
  deviceId: number;
  revision: number;
  localPort: number;
  vendorId: number;
}

export function nodeInfoFrom(r: FieldRecord): NodeInfo {
  return {
    baseVersion: num(r, 'BaseVers'),
    classVersion: num(r, 'ClassVers'),
    nodeType: NODE_TYPES[num(r, 'NodeType')] ?? 'Unknown',
    numPorts: num(r, 'NumPorts'),
    systemImageGuid: big(r, 'SystemGuid'),
    nodeGuid: big(r, 'Guid'),
    portGuid: big(r, 'PortGuid'),
    partitionCap: num(r, 'PartCap'),
    deviceId: num(r, 'DevId'),
    revision: num(r, 'Revision'),
    localPort: num(r, 'LocalPort'),
    vendorId: num(r, 'VendorId'),
  };
}

/** NodeDescription: 64 bytes, UTF-8, NUL-padded. */
/** NodeDescription straight from a reply payload (64 bytes of UTF-8 at `at`, ended by a NUL or the field's end), as nodeDescriptionFrom(decodeGroup(...)) reads it. */
export function nodeDescriptionAt(buf: Buffer, at: number): string {
  const end = Math.min(at + 64, buf.length);
  const nul = buf.indexOf(0, at);
  return buf.toString('utf8', at, nul >= at && nul < end ? nul : end);
}

export function nodeDescriptionFrom(r: FieldRecord): string {
  const b = r['NodeDesc'];
  if (!Buffer.isBuffer(b)) return '';
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

export interface PortInfo {
  mkey: bigint;
  gidPrefix: bigint;
  lid: number;
  smLid: number;
  capabilityMask: number;
  capabilityMask2: number;
  diagCode: number;
  mkeyLeasePeriod: number;
  localPort: number;
  linkWidthEnabled: LinkWidth[];
  linkWidthSupported: LinkWidth[];
  linkWidthActive: LinkWidth | null;
  linkSpeedSupported: LinkSpeed[];
  linkSpeedEnabled: LinkSpeed[];
  linkSpeedActive: LinkSpeed | null;
  linkSpeedExtSupported: LinkSpeed[];
  linkSpeedExtEnabled: LinkSpeed[];
  linkSpeedExtActive: LinkSpeed | null;
  /** The speed the link runs at: the extended speed when one is active, else LinkSpeedActive. */
  activeSpeed: LinkSpeed | null;
  portState: PortState;
  physicalState: PhysPortState;
  linkDownDefaultState: PhysPortState;
  mkeyProtectBits: number;
  lmc: number;
  neighborMtu: number;
  mtuCap: number;
  smSl: number;
  vlCap: number;
  operVls: number;
  vlHighLimit: number;
  vlStallCount: number;
  hoqLife: number;
  mkeyViolations: number;
  pkeyViolations: number;
  qkeyViolations: number;
  guidCap: number;
  clientReregister: boolean;
  subnetTimeout: number;
  respTimeValue: number;
  localPhysErrorThreshold: number;
  overrunErrorThreshold: number;
  /** Every libibmad field as decoded (names as smpquery prints them). */
  raw: FieldRecord;
}

export function portInfoFrom(r: FieldRecord): PortInfo {
  const ext = speedsOf(num(r, 'LinkSpeedExtActive'), true);
  const base = speedsOf(num(r, 'LinkSpeedActive'));
  return {
    mkey: big(r, 'Mkey'),
    gidPrefix: big(r, 'GidPrefix'),
    lid: num(r, 'Lid'),
    smLid: num(r, 'SMLid'),
    capabilityMask: num(r, 'CapMask'),
    capabilityMask2: num(r, 'CapabilityMask2'),
    diagCode: num(r, 'DiagCode'),
    mkeyLeasePeriod: num(r, 'MkeyLeasePeriod'),
    localPort: num(r, 'LocalPort'),
    linkWidthEnabled: widthsOf(num(r, 'LinkWidthEnabled')),
    linkWidthSupported: widthsOf(num(r, 'LinkWidthSupported')),
    linkWidthActive: one(widthsOf(num(r, 'LinkWidthActive'))),
    linkSpeedSupported: speedsOf(num(r, 'LinkSpeedSupported')),
    linkSpeedEnabled: speedsOf(num(r, 'LinkSpeedEnabled')),
    linkSpeedActive: one(base),
    linkSpeedExtSupported: speedsOf(num(r, 'LinkSpeedExtSupported'), true),
    linkSpeedExtEnabled: speedsOf(num(r, 'LinkSpeedExtEnabled'), true),
    linkSpeedExtActive: one(ext),
    activeSpeed: one(ext) ?? one(base),
    portState: PORT_STATES[num(r, 'LinkState')] ?? 'Unknown',
    physicalState: PHYS_PORT_STATES[num(r, 'PhysLinkState')] ?? 'Unknown',
    linkDownDefaultState: PHYS_PORT_STATES[num(r, 'LinkDownDefState')] ?? 'Unknown',
    mkeyProtectBits: num(r, 'ProtectBits'),
    lmc: num(r, 'LMC'),
    neighborMtu: num(r, 'NeighborMTU'),
    mtuCap: num(r, 'MtuCap'),
    smSl: num(r, 'SMSL'),
    vlCap: num(r, 'VLCap'),
    operVls: num(r, 'OperVLs'),
    vlHighLimit: num(r, 'VLHighLimit'),
    vlStallCount: num(r, 'VLStallCount'),
    hoqLife: num(r, 'HoqLife'),
    mkeyViolations: num(r, 'MkeyViolations'),
    pkeyViolations: num(r, 'PkeyViolations'),
    qkeyViolations: num(r, 'QkeyViolations'),
    guidCap: num(r, 'GuidCap'),
    clientReregister: num(r, 'ClientReregister') !== 0,
    subnetTimeout: num(r, 'SubnetTimeout'),
    respTimeValue: num(r, 'RespTimeVal'),
    localPhysErrorThreshold: num(r, 'LocalPhysErr'),
    overrunErrorThreshold: num(r, 'OverrunErr'),
    raw: r,
  };
}

export interface SwitchInfo {
  linearFdbCap: number;
  randomFdbCap: number;
  multicastFdbCap: number;
  linearFdbTop: number;
  defaultPort: number;
  defaultMulticastPrimaryPort: number;
  defaultMulticastNotPrimaryPort: number;
  lifeTime: number;
  portStateChange: boolean;
  optimizedSlToVlMapping: number;
  lidsPerPort: number;
  partitionEnforcementCap: number;
  inboundEnforcement: boolean;
  outboundEnforcement: boolean;
  filterRawInbound: boolean;
  filterRawOutbound: boolean;
  enhancedPort0: boolean;
  multicastFdbTop: number;
  raw: FieldRecord;
}

export function switchInfoFrom(r: FieldRecord): SwitchInfo {
  return {
    linearFdbCap: num(r, 'LinearFdbCap'),
    randomFdbCap: num(r, 'RandomFdbCap'),
    multicastFdbCap: num(r, 'McastFdbCap'),
    linearFdbTop: num(r, 'LinearFdbTop'),
    defaultPort: num(r, 'DefPort'),
    defaultMulticastPrimaryPort: num(r, 'DefMcastPrimPort'),
    defaultMulticastNotPrimaryPort: num(r, 'DefMcastNotPrimPort'),
    lifeTime: num(r, 'LifeTime'),
    portStateChange: num(r, 'StateChange') !== 0,
    optimizedSlToVlMapping: num(r, 'OptSLtoVLMapping'),
    lidsPerPort: num(r, 'LidsPerPort'),
    partitionEnforcementCap: num(r, 'PartEnforceCap'),
    inboundEnforcement: num(r, 'InboundPartEnf') !== 0,
    outboundEnforcement: num(r, 'OutboundPartEnf') !== 0,
    filterRawInbound: num(r, 'FilterRawInbound') !== 0,
    filterRawOutbound: num(r, 'FilterRawOutbound') !== 0,
    enhancedPort0: num(r, 'EnhancedPort0') !== 0,
    multicastFdbTop: num(r, 'MulticastFDBTop'),
    raw: r,
  };
}
