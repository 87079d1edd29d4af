/**
 * Attribute decoding through libibmad's field tables. The addon exposes, per
 * attribute, the list of libibmad fields (enum value, libibmad's name, bit
 * width); decoding calls mad_decode_field for each. Names are the ones the
 * diag tools print (smpquery's "LinkWidthActive:....4X").
 */
import { loadIbNative } from '../native/loader.js';

export type FieldValue = number | bigint | Buffer;
export type FieldRecord = Record<string, FieldValue>;
export type FieldGroupName =
  | 'NodeInfo'
  | 'NodeDescription'
  | 'PortInfo'
  | 'SwitchInfo'
  | 'SMInfo'
  | 'ClassPortInfo'
  | 'PortCounters'
  | 'PortCountersExtended';

export interface FieldDef {
  id: number;
  name: string;
  bits: number;
}

const cache = new Map<string, { defs: FieldDef[]; ids: number[] }>();

function groupOf(group: FieldGroupName): { defs: FieldDef[]; ids: number[] } {
  let g = cache.get(group);
  if (!g) {
    const raw = loadIbNative().fieldGroups[group];
    if (!raw) throw new Error(`no libibmad field group ${group}`);
    const defs = raw.map(([id, name, bits]) => ({ id, name, bits }));
    g = { defs, ids: defs.map((d) => d.id) };
    cache.set(group, g);
  }
  return g;
}

export function fieldGroup(group: FieldGroupName): FieldDef[] {
  return groupOf(group).defs;
}

/** Decode every field of a group from `buf` at `offset` (attribute data start). */
export function decodeGroup(group: FieldGroupName, buf: Buffer, offset = 0): FieldRecord {
  const { defs, ids } = groupOf(group);
  const values = loadIbNative().decodeFields(buf, offset, ids);
  const out: FieldRecord = {};
  for (let i = 0; i < defs.length; i++) out[defs[i]!.name] = values[i]!;
  return out;
}

/** Encode named fields of a group into `buf` at `offset` (for Set methods). */
export function encodeGroup(group: FieldGroupName, buf: Buffer, offset: number, values: Record<string, number | bigint>): void {
  const defs = fieldGroup(group);
  const ids: number[] = [];
  const vals: Array<number | bigint> = [];
  for (const [name, v] of Object.entries(values)) {
    const d = defs.find((x) => x.name === name);
    if (!d) throw new Error(`${group} has no field ${name}`);
    ids.push(d.id);
    vals.push(v);
  }
  loadIbNative().encodeFields(buf, offset, ids, vals);
}

/** A field value formatted the way libibmad's dumpers (and so the diag tools) print it. */
export function dumpField(group: FieldGroupName, name: string, value: FieldValue): string {
  const d = fieldGroup(group).find((x) => x.name === name);
  if (!d) throw new Error(`${group} has no field ${name}`);
  return loadIbNative().dumpField(d.id, value);
}

/** smpquery-style text: "Name:.....value" lines, dots padded to a fixed column. */
export function dumpGroup(group: FieldGroupName, rec: FieldRecord): string {
  return fieldGroup(group)
    .filter((d) => d.name in rec)
    .map((d) => `${d.name}:`.padEnd(33, '.') + (d.name === 'Mkey' ? '<not displayed>' : loadIbNative().dumpField(d.id, rec[d.name]!)))
    .join('\n');
}
