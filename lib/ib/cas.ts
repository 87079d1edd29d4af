/** Local CAs and their ports (the equivalent of ibstat / ibstatus). */
import { formatGuid } from '../util/format.js';
import type { IbBackend } from './backend.js';
import { defaultIbBackend } from './backend.js';
import type { CaInfo } from './types.js';

export { caFromRaw } from './types.js';

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
