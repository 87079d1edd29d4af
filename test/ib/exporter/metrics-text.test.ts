/**
 * The exporter's fabric metrics text (renderFabricMetrics, written directly
 * for speed) against prom-client's registry built from the same snapshot
 * and report (helpers/prom-client-oracle.ts): the same bytes, on fabrics
 * with the cases that change the text: duplicate GUIDs, label values that
 * need escaping, saturated and 64-bit counters, down ports, node names,
 * subnet managers, audit findings on ports and nodes, and a baseline.
 * Also the gzip body the exporter serves, and Accept-Encoding parsing.
 */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { compareWithBaseline, prepareAudit, runAudit } from '../../../lib/ib/audit/index.js';
import { acceptsGzip } from '../../../lib/ib/exporter/exporter.js';
import { renderFabricMetrics } from '../../../lib/ib/exporter/metrics.js';
import { collectionSummary, renderCollection, transferables } from '../../../lib/ib/exporter/render.js';
import { FabricBuilder, type FabricSnapshot } from '../../../lib/ib/topology/index.js';
import { fatTreeModel } from '../audit/helpers/fabric-models.js';
import { promClientRegistry } from './helpers/prom-client-oracle.js';

/** A small fat tree with every case that changes the text. */
function trickySnapshot(): FabricSnapshot {
  const { snapshot, hostId, leafId } = fatTreeModel({ leaves: 3, spines: 2, hostsPerLeaf: 3 });
  const f = snapshot.fabric;
  const node = (id: string) => f.nodes.find((n) => n.id === id)!;
  node(hostId(1)).description = 'node1 "quoted" HCA-1';
  node(hostId(2)).description = 'back\\slash\nnew line';
  node(hostId(3)).name = 'compute-3';
  // A degraded link (an audit finding on a port) and a down port.
  const h4 = node(hostId(4)).ports.find((p) => p.portNum === 1)!;
  h4.width = { ...h4.width, active: '1X' };
  const leaf = node(leafId(2));
  leaf.ports.find((p) => p.portNum === 1)!.width = { ...h4.width, active: '1X' };
  const h5 = node(hostId(5)).ports.find((p) => p.portNum === 1)!;
  h5.state = 'Down';
  h5.physState = 'Polling';
  // A second node with the first host's GUID (its id gets "#2").
  const b = new FabricBuilder({ source: 'discovery' });
  for (const n of f.nodes) b.addNode({ type: n.type, guid: n.guid, numPorts: n.numPorts, description: n.description, ...(n.portGuid !== undefined ? { portGuid: n.portGuid } : {}) });
  const dupId = b.addNode({ type: 'CA', guid: node(hostId(1)).guid, numPorts: 1, description: 'twin HCA-1' });
  const dup = b.build().nodes.find((n) => n.id === dupId)!;
  assert.match(dup.id, /#2$/);
  dup.ports = [{ portNum: 1, state: 'Active', physState: 'LinkUp', width: { supported: [], enabled: [], active: '4X' }, speed: { supported: [], enabled: [], active: 'EDR' } }] as typeof dup.ports;
  f.nodes.push(dup);
  f.errors.push({ kind: 'timeout', message: 'NodeInfo timed out', drPath: [1, 2] });
  // Counters: a saturated 16-bit error counter, 64-bit data counters, a big value.
  const sample = snapshot.counters[0]!;
  const first = sample.ports[0]!;
  first.counters.PortRcvErrors = 65535n;
  first.counters.PortXmitData = 0xffffffffn;
  sample.ports.push({ node: first.node, port: first.port, counters: { PortXmitData: 123456789012345n, PortRcvData: 5n, PortXmitPkts: 7n }, extended: true });
  sample.ports.push({ node: dup.id, port: 1, counters: { SymbolErrorCounter: 3n } });
  snapshot.subnetManagers!.push({ guid: 0x1234n, state: 'standby' });
  return snapshot;
}

describe('exporter metrics text', () => {
  it('equals prom-client\'s rendering of the same metrics, with and without an audit report and a baseline', async () => {
    const snap = trickySnapshot();
    const config = prepareAudit({ expectWidth: '4X' }).config;
    const report = runAudit({ snapshot: snap }, config);
    assert.ok(report.findings.some((f) => f.port !== null) && report.findings.some((f) => f.port === null), 'findings on ports and on whole nodes');
    const baseline = runAudit({ snapshot: fatTreeModel({ leaves: 3, spines: 2, hostsPerLeaf: 3 }).snapshot }, config);
    const compared = compareWithBaseline(report, baseline);
    for (const input of [{ snapshot: snap }, { snapshot: snap, report }, { snapshot: snap, report: compared }]) {
      const mine = renderFabricMetrics(input).toString('utf8');
      const oracle = await promClientRegistry(input).metrics();
      if (mine !== oracle) {
        const a = mine.split('\n');
        const o = oracle.split('\n');
        const i = a.findIndex((l, k) => l !== o[k]);
        assert.fail(`line ${i + 1} differs:\n  mine:   ${a[i]}\n  oracle: ${o[i]}`);
      }
    }
    assert.match(renderFabricMetrics({ snapshot: snap }).toString(), /description="node1 \\"quoted\\" HCA-1"/);
    assert.match(renderFabricMetrics({ snapshot: snap }).toString(), /description="back\\\\slash\\nnew line"/);
  });

  it('equals prom-client on a fabric of 1,000 hosts', async () => {
    const { snapshot } = fatTreeModel({ leaves: 40, spines: 20, hostsPerLeaf: 25 });
    const report = runAudit({ snapshot }, prepareAudit({}).config);
    assert.equal(renderFabricMetrics({ snapshot, report }).toString('utf8'), await promClientRegistry({ snapshot, report }).metrics());
  });

  it('renders a collection as text and as one gzip member of the same text, with its summary', async () => {
    const snap = trickySnapshot();
    const r = await renderCollection({ snapshot: snap, audit: { config: prepareAudit({ expectWidth: '4X' }).config } });
    assert.equal(gunzipSync(r.gzip).toString('utf8'), Buffer.from(r.body).toString('utf8'));
    assert.equal(Buffer.from(r.body).toString('utf8'), renderFabricMetrics({ snapshot: snap, report: r.report! }).toString('utf8'));
    const s = collectionSummary(snap, r.report);
    assert.equal(s.nodes, snap.fabric.nodes.length);
    assert.equal(s.ports, snap.fabric.nodes.reduce((k, n) => k + n.ports.filter((p) => p.portNum > 0).length, 0));
    assert.equal(s.readErrors, 1);
    assert.equal(s.findings, r.report!.findings.length);
    // The text's memory moves to the exporter's thread (no copy there), and arrives whole.
    const text = Buffer.from(r.body).toString('utf8');
    const moved = transferables(r);
    assert.ok(moved.includes(r.body.buffer as ArrayBuffer), 'the text is transferred, not copied');
    const got = structuredClone({ body: r.body, gzip: r.gzip }, { transfer: moved });
    assert.equal(r.body.byteLength, 0, 'detached in the sending thread');
    assert.equal(Buffer.from(got.body.buffer, got.body.byteOffset, got.body.byteLength).toString('utf8'), text);
    assert.equal(gunzipSync(got.gzip).toString('utf8'), text);
    // Small buffers (possibly views of Node's shared pool) are never moved.
    assert.deepEqual(transferables({ body: Buffer.from('abc'), gzip: Buffer.from('de') }), []);
  });

  it('reads Accept-Encoding as HTTP does', () => {
    assert.equal(acceptsGzip('gzip'), true);
    assert.equal(acceptsGzip('deflate, gzip;q=1.0, *;q=0.5'), true);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('br, *'), true);
    assert.equal(acceptsGzip(['br', 'GZIP']), true);
  });
});
