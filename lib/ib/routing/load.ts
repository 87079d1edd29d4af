/** Forwarding tables from a saved snapshot file. */
import { InvalidArgumentError } from '../../errors.js';
import { loadFabricFile, type Fabric, type NodeNameMap } from '../topology/index.js';
import type { RoutingTables } from './model.js';

/** The fabric and forwarding tables of a saved snapshot (an error naming the file when it has none). */
export function loadRoutesSnapshot(file: string, map?: NodeNameMap): { fabric: Fabric; routes: RoutingTables } {
  const snap = loadFabricFile(file, map);
  if (!snap.routes) throw new InvalidArgumentError(`${file}: the snapshot has no forwarding tables (save one with hpcnet ib routes --save FILE)`);
  return { fabric: snap.fabric, routes: snap.routes };
}
