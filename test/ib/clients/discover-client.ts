/** Test client run under the simulator: discovery with options from argv[2]; prints a JSON snapshot and stats. */
import { discover, type DiscoverOptions } from '../../../lib/ib/discovery/discover.js';
import { openPort, type OpenPortOptions } from '../../../lib/ib/port.js';
import { writeFabric } from '../../../lib/ib/topology/index.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { port?: OpenPortOptions; discover?: DiscoverOptions; repeat?: number };
await using port = await openPort(o.port ?? {});
const runs = [];
for (let i = 0; i < (o.repeat ?? 1); i++) {
  const r = await discover(port, o.discover ?? {});
  runs.push({ snapshot: JSON.parse(writeFabric(r.fabric, 'json')) as unknown, stats: r.stats });
}
process.stdout.write(JSON.stringify(runs) + '\n');
