/** Shared InfiniBand types: enums as string unions, GUIDs as bigint. */
import { formatGid } from '../util/format.js';

export type NodeType = 'CA' | 'Switch' | 'Router' | 'RNIC' | 'Unknown';
export type PortState = 'NoChange' | 'Down' | 'Init' | 'Armed' | 'Active' | 'Unknown';
export type PhysPortState =
  | 'NoChange'
  | 'Sleep'
  | 'Polling'
  | 'Disabled'
  | 'PortConfigurationTraining'
  | 'LinkUp'
  | 'LinkErrorRecovery'
  | 'PhyTest'
  | 'Unknown';

/** Numeric codes (IBA spec and sysfs) to names. */
export const NODE_TYPES: Record<number, NodeType> = { 1: 'CA', 2: 'Switch', 3: 'Router', 4: 'RNIC' };
export const PORT_STATES: Record<number, PortState> = { 0: 'NoChange', 1: 'Down', 2: 'Init', 3: 'Armed', 4: 'Active' };
export const PHYS_PORT_STATES: Record<number, PhysPortState> = {
  0: 'NoChange',
  1: 'Sleep',
  2: 'Polling',
  3: 'Disabled',
  4: 'PortConfigurationTraining',
  5: 'LinkUp',
  6: 'LinkErrorRecovery',
  7: 'PhyTest',
};

/** A CA as libibumad reports it (what ibstat prints). */
export interface CaInfo {
  name: string;
  caType: string;
  nodeType: NodeType;
  numPorts: number;
  firmwareVersion: string;
  hardwareVersion: string;
  nodeGuid: bigint;
  systemImageGuid: bigint;
  ports: CaPort[];
}

export interface CaPort {
  portNum: number;
  state: PortState;
  physicalState: PhysPortState;
  /** Rate in Gb/s as the kernel reports it (sysfs `rate`). */
  rate: number;
  baseLid: number;
  lmc: number;
  smLid: number;
  smSl: number;
  capabilityMask: number;
  portGuid: bigint;
  gidPrefix: bigint;
  /** GID index 0 in IPv6 notation (prefix + port GUID). */
  defaultGid: string;
  linkLayer: string;
}

/** The addon's raw record for one CA (numbers, not names). */
export interface RawCa {
  name: string;
  caType: string;
  nodeType: number;
  numPorts: number;
  fwVer: string;
  hwVer: string;
  nodeGuid: bigint;
  systemGuid: bigint;
  ports: Array<{
    portNum: number;
    baseLid: number;
    lmc: number;
    smLid: number;
    smSl: number;
    state: number;
    physState: number;
    rate: number;
    capMask: number;
    gidPrefix: bigint;
    portGuid: bigint;
    linkLayer: string;
  }>;
}

/** Convert the addon's raw record to the typed model. */
export function caFromRaw(raw: RawCa): CaInfo {
  return {
    name: raw.name,
    caType: raw.caType,
    nodeType: NODE_TYPES[raw.nodeType] ?? 'Unknown',
    numPorts: raw.numPorts,
    firmwareVersion: raw.fwVer,
    hardwareVersion: raw.hwVer,
    nodeGuid: raw.nodeGuid,
    systemImageGuid: raw.systemGuid,
    ports: raw.ports.map((p) => ({
      portNum: p.portNum,
      state: PORT_STATES[p.state] ?? 'Unknown',
      physicalState: PHYS_PORT_STATES[p.physState] ?? 'Unknown',
      rate: p.rate,
      baseLid: p.baseLid,
      lmc: p.lmc,
      smLid: p.smLid,
      smSl: p.smSl,
      capabilityMask: p.capMask,
      portGuid: p.portGuid,
      gidPrefix: p.gidPrefix,
      defaultGid: formatGid(p.gidPrefix, p.portGuid),
      linkLayer: p.linkLayer,
    })),
  };
}
