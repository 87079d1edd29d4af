/** Test client run under the simulator: discovery + one counter sweep + SM census; prints JSON. */
import { discover } from '../../../lib/ib/discovery/discover.js';
import { readSubnetManagers, sweepCounters } from '../../../lib/ib/discovery/sweep.js';
import { openPort } from '../../../lib/ib/port.js';
import { toJsonValue } from '../../../lib/util/json.js';

await using port = await openPort();
const { fabric } = await discover(port);
const errors: unknown[] = [];
const sample = await sweepCounters(port, fabric, { onError: (e) => errors.push(e) });
const sms = await readSubnetManagers(port, fabric);
const lidOf = new Map(fabric.nodes.map((n) => [n.id, n.type === 'Switch' ? n.ports.find((p) => p.portNum === 0)?.lid : undefined]));
const entry = (p: (typeof sample.ports)[number]) => {
  const n = fabric.nodes.find((x) => x.id === p.node)!;
  return { description: n.description, lid: lidOf.get(n.id) ?? n.ports.find((x) => x.portNum === p.port)?.lid, port: p.port, counters: p.counters };
};
const ports = sample.ports.filter((p) => !p.extended).map(entry);
const extended = sample.ports.filter((p) => p.extended).map(entry);
process.stdout.write(JSON.stringify(toJsonValue({ ports, extended, errors, sms })) + '\n');
