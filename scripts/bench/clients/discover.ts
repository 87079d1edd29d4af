/** Benchmark client (under the simulator): discovery, best of N runs; optionally followed by a counter sweep. */
import { discover } from '../../../lib/ib/discovery/discover.js';
import { sweepCounters } from '../../../lib/ib/discovery/sweep.js';
import { openPort } from '../../../lib/ib/port.js';

const [runs, withSweep] = process.argv.slice(2).map(Number) as [number, number];
const port = await openPort();
const out: Array<{ ms: number; mads: number; nodes: number; links: number; errors: number; sweepMs?: number; ports?: number; sweepMads?: number }> = [];
for (let i = 0; i < runs; i++) {
  const r = await discover(port);
  const row: (typeof out)[number] = { ms: r.stats.ms, mads: r.stats.madsSent, nodes: r.fabric.nodes.length, links: r.fabric.links.length, errors: r.fabric.errors.length };
  if (withSweep) {
    const s0 = port.stats().sent;
    const t0 = performance.now();
    const sample = await sweepCounters(port, r.fabric);
    row.sweepMs = performance.now() - t0;
    row.ports = sample.ports.length;
    row.sweepMads = port.stats().sent - s0;
  }
  out.push(row);
}
await port.close();
process.stdout.write(JSON.stringify(out) + '\n');
