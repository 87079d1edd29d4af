/**
 * A scrape never waits for a collection: the exporter CLI (its own process)
 * serves a 3,000-port snapshot file, collecting back to back; then the test
 * points the snapshot at a FIFO, so the next collection is held open in its
 * read (seen from /proc: the exporter blocked in the FIFO's open), and scrapes
 * meanwhile. Each scrape answers with the previous sample while the
 * collection is in progress and none finishes; once the test writes the new
 * sample into the FIFO, it is served. Behaviour only: how fast is measured by
 * `npm run bench`; times here are hang guards.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FabricBuilder, writeSnapshot, type CounterSample, type FabricSnapshot, type PortInput } from '../../../lib/ib/topology/index.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { tmpDir } from '../topology/helpers/fabric-tools.js';
import { parsePromText, value } from './helpers/prom-text.js';

const RUNNER = join(packageRoot(), 'dist', 'test', 'ib', 'exporter', 'helpers', 'cli-runner.js');

/** A two-level fat tree as live discovery would build it, with one counter sample. */
function bigSnapshot(hosts: number, hostsPerLeaf: number, spines: number, bytesPerPort = 1000n): FabricSnapshot {
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
      ports.push({ node: n.id, port: p.portNum, extended: true, counters: { PortXmitData: BigInt(i) * bytesPerPort, PortRcvData: BigInt(i), PortXmitPkts: 7n, PortRcvPkts: 7n } });
      ports.push({ node: n.id, port: p.portNum, counters: { SymbolErrorCounter: BigInt(i % 3), LinkDownedCounter: 0n, PortRcvErrors: 0n, PortXmitWait: 0n } });
    }
  }
  return { fabric, counters: [{ takenAt: new Date().toISOString(), ports }] };
}

/** Is a thread of the process asleep in a FIFO's open, waiting for a writer? */
function blockedInFifoOpen(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).some((t) => {
      try {
        return readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8').includes('wait_for_partner');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `probe` returns a value (every 50 ms); fails after `guardMs` (a hang guard, not a speed goal). */
async function until<T>(what: string, guardMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + guardMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`${what}: not seen within ${guardMs / 1000} s`);
    await sleep(50);
  }
}

describe('ib exporter at scale', () => {
  it('a scrape while a 3,000-port collection is held open answers at once with the previous sample', async () => {
    const dir = tmpDir('hpcnet-exporter-scale-');
    const snapA = bigSnapshot(1000, 20, 10);
    const nPorts = snapA.counters[0]!.ports.length / 2;
    writeFileSync(join(dir, 'a.json'), writeSnapshot(snapA));
    writeFileSync(join(dir, 'b.json'), writeSnapshot(bigSnapshot(1000, 20, 10, 2000n)));
    const mk = spawnSync('mkfifo', [join(dir, 'held.json')]);
    assert.equal(mk.status, 0, mk.stderr?.toString());
    // The exporter reads `current.json`, a symlink the test re-points (atomically, by rename).
    const point = (target: string) => {
      symlinkSync(join(dir, target), join(dir, 'next.json'));
      renameSync(join(dir, 'next.json'), join(dir, 'current.json'));
    };
    point('a.json');
    const child = spawn(process.execPath, [RUNNER, 'ib', 'exporter', '--snapshot', join(dir, 'current.json'), '--listen', '127.0.0.1:0', '--interval', '100ms', '--timeout', '10m'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      point('b.json'); // later collections read b.json; the held one gets the same sample through the FIFO
      // Write only to a waiting reader (a FIFO write with none would block this test).
      if (blockedInFifoOpen(child.pid!)) writeFileSync(join(dir, 'held.json'), readFileSync(join(dir, 'b.json')));
    };
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
      const scrape = async () => {
        const res = await fetch(`${url}/metrics`);
        assert.equal(res.status, 200);
        return parsePromText(await res.text());
      };
      const spine0 = { description: 'spine0', port: '1' };
      // The first sample, checked once with the strict parser.
      const first = await until('a first successful collection', 120_000, async () => {
        const f = await scrape();
        return (f.get('hpcnet_ib_exporter_collections_total')?.samples.find((x) => x.labels['result'] === 'success')?.value ?? 0) > 0 ? f : undefined;
      });
      assert.equal(first.get('hpcnet_ib_port_transmit_bytes_total')!.samples.length, nPorts);
      assert.equal(value(first, 'hpcnet_ib_port_transmit_bytes_total', spine0), 4000);
      // Hold the next collection open: it blocks opening the FIFO until the test writes the new sample.
      point('held.json');
      await until('the exporter blocked reading the held snapshot', 120_000, () => (blockedInFifoOpen(child.pid!) ? true : undefined));
      const successes = value(await scrape(), 'hpcnet_ib_exporter_collections_total', { result: 'success' });
      for (let i = 0; i < 5; i++) {
        const f = await scrape();
        assert.equal(value(f, 'hpcnet_ib_exporter_collection_in_progress'), 1, 'a collection is in progress');
        assert.equal(value(f, 'hpcnet_ib_port_transmit_bytes_total', spine0), 4000, 'the previous sample, not the held one');
        assert.equal(f.get('hpcnet_ib_port_transmit_bytes_total')!.samples.length, nPorts);
        assert.equal(value(f, 'hpcnet_ib_exporter_collections_total', { result: 'success' }), successes, 'no collection finished while one is held');
        await sleep(20);
      }
      assert.equal(blockedInFifoOpen(child.pid!), true, 'the collection is still held');
      release();
      // The held collection finishes with the new sample, and it is served.
      await until('the new sample served', 120_000, async () => (value(await scrape(), 'hpcnet_ib_port_transmit_bytes_total', spine0) === 8000 ? true : undefined));
      const f = await scrape();
      assert.ok(value(f, 'hpcnet_ib_exporter_collections_total', { result: 'success' }) > successes);
      assert.equal(f.get('hpcnet_ib_port_transmit_bytes_total')!.samples.length, nPorts);
    } finally {
      if (!released) release(); // never leave the exporter blocked in the FIFO
      child.kill('SIGTERM');
      assert.equal(await exit, 0, err);
    }
  });
});
