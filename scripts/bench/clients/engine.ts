/** Benchmark client (runs under the simulator): N NodeInfo queries with a given window. */
import { openPort } from '../../../lib/ib/port.js';

const [n, window, maxLid] = process.argv.slice(2).map(Number) as [number, number, number];
const port = await openPort({ window, perDestination: 2 });
// Warm-up: open, resolve, first MADs.
await Promise.all(Array.from({ length: 100 }, (_, i) => port.nodeInfo({ lid: 1 + (i % maxLid) })));
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: n }, (_, i) => port.nodeInfo({ lid: 1 + ((i * 7919) % maxLid) })));
const ns = Number(process.hrtime.bigint() - t0);
const stats = port.stats();
await port.close();
process.stdout.write(JSON.stringify({ n, window, ms: ns / 1e6, stats }) + '\n');
