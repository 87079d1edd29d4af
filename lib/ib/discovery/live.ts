/**
 * The live fabric as the audit and diff commands consume it: discovery,
 * then (when asked) counter samples and SM records.
 */
import type { LiveAuditSource } from '../audit/index.js';
import type { FabricSnapshot } from '../topology/snapshot.js';
import { openPort, type OpenPortOptions } from '../port.js';
import { readRoutes } from '../routing/reader.js';
import { discover, type DiscoverOptions } from './discover.js';
import { sweepCounters, readSubnetManagers } from './sweep.js';

export function liveSource(portOpts: OpenPortOptions = {}, discoverOpts: DiscoverOptions = {}): LiveAuditSource {
  return {
    async snapshot({ samples, intervalMs, routes, extended }): Promise<FabricSnapshot> {
      await using port = await openPort(portOpts);
      const { fabric } = await discover(port, discoverOpts);
      // The subnet's GID prefix names the fabric in audit reports (with the master SM); not needed for anything else.
      fabric.meta.subnetPrefix = await port.portInfo({ path: [] }, port.portNum).then((pi) => pi.gidPrefix, () => undefined);
      const snap: FabricSnapshot = { fabric, counters: [] };
      // The forwarding tables are read alongside the counters (one window for both).
      const tables = routes ? readRoutes(port, fabric) : undefined;
      tables?.catch(() => undefined);
      for (let i = 0; i < samples; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, intervalMs));
        snap.counters.push(await sweepCounters(port, fabric, extended === false ? { extended: false } : {}));
      }
      if (samples > 0) snap.subnetManagers = await readSubnetManagers(port, fabric);
      if (tables) snap.routes = await tables;
      return snap;
    },
  };
}
