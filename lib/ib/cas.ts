/** Local CAs and their ports (the equivalent of ibstat / ibstatus). */
import { formatGid, formatGuid } from '../util/format.js';
import type { IbBackend } from './backend.js';
import { defaultIbBackend } from './backend.js';
import { NODE_TYPES, PHYS_PORT_STATES, PORT_STATES, type CaInfo, type RawCa } from './types.js';

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

/** All local CAs, or the one named. */
export async function listCas(opts: { ca?: string; backend?: IbBackend } = {}): Promise<CaInfo[]> {
  const backend = opts.backend ?? defaultIbBackend();
  return opts.ca === undefined ? backend.listCas() : [await backend.getCa(opts.ca)];
}

/** JSON form: GUIDs as 0x-prefixed hex strings, everything else as is. */
export function caToJson(ca: CaInfo): Record<string, unknown> {
  return {
    ...ca,
    nodeGuid: formatGuid(ca.nodeGuid),
    systemImageGuid: formatGuid(ca.systemImageGuid),
    ports: ca.ports.map((p) => ({ ...p, portGuid: formatGuid(p.portGuid), gidPrefix: formatGuid(p.gidPrefix) })),
  };
}

/** Human form, laid out like ibstat. */
export function caToText(ca: CaInfo): string {
  const lines = [
    `CA '${ca.name}'`,
    `\tCA type: ${ca.caType}`,
    `\tNode type: ${ca.nodeType}`,
    `\tNumber of ports: ${ca.numPorts}`,
    `\tFirmware version: ${ca.firmwareVersion}`,
    `\tHardware version: ${ca.hardwareVersion}`,
    `\tNode GUID: ${formatGuid(ca.nodeGuid)}`,
    `\tSystem image GUID: ${formatGuid(ca.systemImageGuid)}`,
  ];
  for (const p of ca.ports) {
    lines.push(
      `\tPort ${p.portNum}:`,
      `\t\tState: ${p.state}`,
      `\t\tPhysical state: ${p.physicalState}`,
      `\t\tRate: ${p.rate}`,
      `\t\tBase lid: ${p.baseLid}`,
      `\t\tLMC: ${p.lmc}`,
      `\t\tSM lid: ${p.smLid}`,
      `\t\tCapability mask: 0x${p.capabilityMask.toString(16).padStart(8, '0')}`,
      `\t\tPort GUID: ${formatGuid(p.portGuid)}`,
      `\t\tDefault GID: ${p.defaultGid}`,
      `\t\tLink layer: ${p.linkLayer}`,
    );
  }
  return lines.join('\n');
}
