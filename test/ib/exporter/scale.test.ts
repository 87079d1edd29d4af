/**
 * Scrapes stay fast while a large collection is audited and rendered: the
 * exporter CLI (its own process) serves a 3,000-port snapshot file,
 * collecting back to back, while the test scrapes continuously. Scrapes
 * taken during a collection must each take a small fraction of that
 * collection's duration, both measured in this run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FabricBuilder, writeSnapshot, type CounterSample, type FabricSnapshot, type PortInput } from '../../../lib/ib/topology/index.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { tmpDir } from '../topology/helpers/fabric-tools.js';
import { parsePromText, value } from './helpers/prom-text.js';

const RUNNER = join(packageRoot(), 'dist', 'test', 'ib', 'exporter', 'helpers', 'cli-runner.js');

/** A two-level fat tree as live discovery would build it, with one counter sample. */
function bigSnapshot(hosts: number, hostsPerLeaf: number, spines: number): FabricSnapshot {
  const b = new FabricBuilder({ source: 'discovery' });
  const act: PortInput = { state: 'Active', physState: 'LinkUp', width: { enabled: ['4X'], active: '4X' }, speed: { enabled: ['HDR'], active: 'HDR' } };
  const leaves = Math.ceil(hosts / hostsPerLeaf);
  let lid = 1;
  const spineIds: string[] = [];
  for (let s = 0; s < spines; s++) {
    const id = b.addNode({ type: 'Switch', guid: 0x200000n + BigInt(s), numPorts: leaves, description: `spine${s}` });
    b.setPort(id, 0, { lid: lid++ });
    spineIds.push(id);
  }
  const leafIds: string[] = [];
  for (let l = 0; l < leaves; l++) {
    const id = b.addNode({ type: 'Switch', guid: 0x300000n + BigInt(l), numPorts: hostsPerLeaf + spines, description: `leaf${l}` });
    b.setPort(id, 0, { lid: lid++ });
    leafIds.push(id);
    for (let s = 0; s < spines; s++) {
      b.setPort(id, hostsPerLeaf + s + 1, act);
      b.setPort(spineIds[s]!, l + 1, act);
      b.addLink({ node: id, port: hostsPerLeaf + s + 1 }, { node: spineIds[s]!, port: l + 1 });
    }
  }
  for (let h = 0; h < hosts; h++) {
    const id = b.addNode({ type: 'CA', guid: 0x100000n + BigInt(2 * h), numPorts: 1, description: `node${h} HCA-1` });
    b.setPort(id, 1, { ...act, lid: lid++, lmc: 0 });
    const leaf = leafIds[Math.floor(h / hostsPerLeaf)]!;
    b.setPort(leaf, (h % hostsPerLeaf) + 1, act);
    b.addLink({ node: id, port: 1 }, { node: leaf, port: (h % hostsPerLeaf) + 1 });
  }
  const fabric = b.build();
  const ports: CounterSample['ports'] = [];
  let i = 0;
  for (const n of fabric.nodes) {
    for (const p of n.ports) {
      if (p.portNum === 0) continue;
      i++;
      ports.push({ node: n.id, port: p.portNum, extended: true, counters: { PortXmitData: BigInt(i) * 1000n, PortRcvData: BigInt(i), PortXmitPkts: 7n, PortRcvPkts: 7n } });
      ports.push({ node: n.id, port: p.portNum, counters: { SymbolErrorCounter: BigInt(i % 3), LinkDownedCounter: 0n, PortRcvErrors: 0n, PortXmitWait: 0n } });
    }
  }
  return { fabric, counters: [{ takenAt: new Date().toISOString(), ports }] };
}

describe('ib exporter at scale', () => {
  it('scrapes during the audit and rendering of a 3,000-port collection take a fraction of the collection time', async (t) => {
    const dir = tmpDir('hpcnet-exporter-scale-');
    const file = join(dir, 'big.json');
    const snap = bigSnapshot(1000, 20, 10);
    const nPorts = snap.counters[0]!.ports.length / 2;
    writeFileSync(file, writeSnapshot(snap));
    const child = spawn(process.execPath, [RUNNER, 'ib', 'exporter', '--snapshot', file, '--listen', '127.0.0.1:0', '--interval', '100ms', '--timeout', '60s'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/[0-9.]+:\d+)\/metrics/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (c) => reject(new Error(`exporter exited (${c}): ${err}`)));
      });
      // Wait for the first sample, check it once with the strict parser.
      let first: string;
      for (;;) {
        first = await (await fetch(`${url}/metrics`)).text();
        if (/^hpcnet_ib_exporter_collections_total\{result="success"\} [1-9]/m.test(first)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const fams = parsePromText(first);
      assert.equal(fams.get('hpcnet_ib_port_transmit_bytes_total')!.samples.length, nPorts);
      assert.equal(value(fams, 'hpcnet_ib_port_transmit_bytes_total', { description: 'spine0', port: '1' }), 4000);
      // Scrape back to back while collections run back to back.
      const all: number[] = [];
      let during = 0;
      const durations = new Set<number>();
      const deadline = performance.now() + 6000;
      while (performance.now() < deadline || during < 3) {
        const t0 = performance.now();
        const text = await (await fetch(`${url}/metrics`)).text();
        const ms = performance.now() - t0;
        const inProgress = /^hpcnet_ib_exporter_collection_in_progress 1$/m.test(text);
        const d = /^hpcnet_ib_exporter_collection_duration_seconds (\S+)$/m.exec(text);
        if (d) durations.add(Number(d[1]) * 1000);
        all.push(ms);
        if (inProgress) during++;
        assert.ok(performance.now() < deadline + 60_000, 'no scrape landed during a collection');
      }
      const shortest = Math.min(...durations);
      const sorted = [...all].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const slowest = sorted.at(-1)!;
      const msg = `${all.length} scrapes (${during} answered during a collection): median ${median.toFixed(1)} ms, slowest ${slowest.toFixed(0)} ms; shortest collection ${shortest.toFixed(0)} ms (${nPorts} ports)`;
      t.diagnostic(msg);
      // A scrape never waits for a collection: typical scrapes take a small fraction of one, and
      // even the slowest (one that met the snapshot file being parsed on the main thread) less than one.
      assert.ok(median * 10 < shortest, msg);
      assert.ok(slowest < shortest, msg);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exit, 0, err);
    }
  });
});
