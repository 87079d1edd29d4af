/**
 * Topology model, formats and diff (public entry). `loadFabricFile` reads
 * either format hpcnet knows (JSON snapshot or ibnetdiscover text);
 * `writeFabric` writes any output format by name.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';
import { readIbnetdiscover, writeIbnetdiscover } from './ibnetdiscover.js';
import { writeDot, writeLinkTable } from './links.js';
import type { FabricFormat } from './formats.js';
import type { Fabric } from './model.js';
import { applyNodeNameMap, parseNodeNameMap, type NodeNameMap } from './nodenamemap.js';
import { readSnapshot, writeSnapshot, type FabricSnapshot } from './snapshot.js';
import { toSlurmTopology, type SlurmTopologyOptions } from './slurm.js';

export * from './model.js';
export * from './snapshot.js';
export * from './ibnetdiscover.js';
export * from './nodenamemap.js';
export * from './links.js';
export * from './diff.js';
export * from './import.js';
export * from './slurm.js';
export { compressHostlist, compareHostnames } from './hostlist.js';

export { FABRIC_FORMATS, type FabricFormat } from './formats.js';

/** Parse a fabric from text: a JSON snapshot when it starts with '{', else the ibnetdiscover format. */
export function parseFabricText(text: string, file?: string, nodeNameMap?: NodeNameMap): FabricSnapshot {
  if (/^\s*\{/.test(text)) {
    const s = readSnapshot(text, file);
    if (nodeNameMap) applyNodeNameMap(s.fabric, nodeNameMap);
    return s;
  }
  return { fabric: readIbnetdiscover(text, { ...(file ? { file } : {}), ...(nodeNameMap ? { nodeNameMap } : {}) }), counters: [] };
}

export function loadFabricFile(path: string, nodeNameMap?: NodeNameMap): FabricSnapshot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseFabricText(text, path, nodeNameMap);
}

export function loadNodeNameMap(path: string): NodeNameMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read node-name map ${path}: ${(e as Error).message}`);
  }
  return parseNodeNameMap(text, path);
}

/** Write a fabric in a format; `slurm` options apply to the Slurm format (its warnings: call toSlurmTopology). */
export function writeFabric(f: Fabric | FabricSnapshot, format: FabricFormat, slurm: SlurmTopologyOptions = {}): string {
  const fabric = 'fabric' in f ? f.fabric : f;
  switch (format) {
    case 'json':
      return writeSnapshot(f);
    case 'ibnetdiscover':
      return writeIbnetdiscover(fabric);
    case 'links':
      return writeLinkTable(fabric);
    case 'dot':
      return writeDot(fabric);
    case 'slurm':
      return toSlurmTopology(fabric, slurm).text;
  }
}
