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
  | 'PortCountersExtended'
  | 'PortCountersExtendedErrors'
  | 'PortCountersQP1Drop'
  | 'GUIDInfo'
  | 'LinearForwardingTable'
  | 'MulticastForwardingTable'
  | 'SLtoVLMappingTable'
  | 'VLArbitrationTable'
  | 'NodeRecord'
  | 'PathRecord'
  | 'MCMemberRecord'
  | 'ServiceRecord'
  | 'GUIDInfoRecord'
  | 'SAHeader';

export interface FieldDef {
  id: number;
  name: string;
  bits: number;
}

interface Group {
  defs: FieldDef[];
  ids: number[];
  /** Fields wider than 64 bits (strings, GIDs): decoded as bytes. */
  wide: FieldDef[];
  wideIds: number[];
  /** Reused output of decodeFieldsInto: (low, high) 32-bit words per field. */
  words: Uint32Array;
}

const cache = new Map<string, Group>();

function groupOf(group: FieldGroupName): Group {
  let g = cache.get(group);
  if (!g) {
    const raw = loadIbNative().fieldGroups[group];
    if (!raw) throw new Error(`no libibmad field group ${group}`);
    const defs = raw.map(([id, name, bits]) => ({ id, name, bits }));
    const wide = defs.filter((d) => d.bits > 64);
    g = { defs, ids: defs.map((d) => d.id), wide, wideIds: wide.map((d) => d.id), words: new Uint32Array(defs.length * 2) };
    cache.set(group, g);
  }
  return g;
}

export function fieldGroup(group: FieldGroupName): FieldDef[] {
  return groupOf(group).defs;
}

/** Decode every field of a group from `buf` at `offset` (attribute data start). */
export function decodeGroup(group: FieldGroupName, buf: Buffer, offset = 0): FieldRecord {
  const g = groupOf(group);
  const native = loadIbNative();
  native.decodeFieldsInto(buf, offset, g.ids, g.words);
  const out: FieldRecord = {};
  const w = g.words;
  for (let i = 0; i < g.defs.length; i++) {
    const d = g.defs[i]!;
    if (d.bits <= 32) out[d.name] = w[2 * i]!;
    else if (d.bits <= 64) out[d.name] = (BigInt(w[2 * i + 1]!) << 32n) | BigInt(w[2 * i]!);
  }
  if (g.wide.length > 0) {
    const values = native.decodeFields(buf, offset, g.wideIds);
    g.wide.forEach((d, i) => (out[d.name] = values[i]!));
  }
  return out;
}

/**
 * A decoder for a chosen subset of a group's fields (all at most 64 bits),
 * for hot paths: `decode(buf, offset)` fills and returns a reused word array
 * where field i is (low, high) at words[2i], words[2i+1].
 */
export function subsetDecoder(group: FieldGroupName, names: readonly string[]): (buf: Buffer, offset?: number) => Uint32Array {
  const defs = fieldGroup(group);
  const ids = names.map((n) => {
    const d = defs.find((x) => x.name === n);
    if (!d) throw new Error(`${group} has no field ${n}`);
    if (d.bits > 64) throw new Error(`${group}.${n} is wider than 64 bits`);
    return d.id;
  });
  const words = new Uint32Array(ids.length * 2);
  const native = loadIbNative();
  return (buf: Buffer, offset = 0) => {
    native.decodeFieldsInto(buf, offset, ids, words);
    return words;
  };
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
