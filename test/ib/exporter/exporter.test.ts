/**
 * The Prometheus exporter against ibsim + OpenSM, with the real
 * infiniband-diags tools as oracles: the exposition is parsed strictly,
 * counter values equal what `perfquery` prints for the same port after
 * `PerformanceSet`, link state/width/speed equal iblinkinfo, audit counts
 * equal the audit engine on a tool-built snapshot, a scrape during a held-open
 * collection returns the last sample, and the CLI serves, exits
 * cleanly on SIGINT/SIGTERM and fails with exit 2 on bad input.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ERROR_COUNTERS, PORT_COUNTER_BITS, RULE_IDS, prepareAudit, runAudit } from '../../../lib/ib/audit/index.js';
import {
  COUNTER_METRICS,
  DiagToolsSource,
  IbExporter,
  SnapshotFileSource,
  parseDuration,
  parseListen,
  type ExporterSource,
  type SnapshotRequest,
} from '../../../lib/ib/exporter/index.js';
import { SPEED_GBPS, WIDTH_LANES, countersFromPerfquery, parseLinkTable, type Fabric, type FabricSnapshot } from '../../../lib/ib/topology/index.js';
import type { IbSim } from '../../../lib/sim/ibsim.js';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { ibnetdiscover, startSim, tmpDir, tool, toolSnapshot } from '../topology/helpers/fabric-tools.js';
import { parsePromText, samples, value, type PromFamily } from './helpers/prom-text.js';

const RUNNER = join(packageRoot(), 'dist', 'test', 'ib', 'exporter', 'helpers', 'cli-runner.js');

/** 2 leaves, 1 spine, 4 hosts; node02's cable degraded to 1x; leaf02 has a 4th, unlinked port. */
const NET = generateFatTree({ leaves: 2, spines: 1, hostsPerLeaf: 2, degraded: [{ host: 2, width: '1x' }] }).replace('Switch 3 "S-leaf02"', 'Switch 4 "S-leaf02"');

/** The operator expects 4X links (else the degraded cable's 1X, enabled on both ends, is what is expected). */
function auditConfig() {
  return prepareAudit({ expectWidth: '4X' }).config;
}

/** The real tools source, slowed on demand: it can hold a finished collection until the test releases it. */
class GatedSource implements ExporterSource {
  readonly kind = 'tools';
  calls = 0;
  gate: Promise<void> | undefined;
  onInnerDone: (() => void) | undefined;
  constructor(readonly inner: DiagToolsSource) {}
  async snapshot(req: SnapshotRequest): Promise<FabricSnapshot> {
    this.calls++;
    const s = await this.inner.snapshot(req);
    this.onInnerDone?.();
    if (this.gate) await this.gate;
    return s;
  }
}

async function scrape(url: string): Promise<{ fams: Map<string, PromFamily>; type: string | null; text: string }> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200);
  return { fams: parsePromText(text), type: res.headers.get('content-type'), text };
}

interface OraclePort {
  node: string; // node id (GUID) as the exporter labels it
  description: string;
  port: number;
  base: Record<string, bigint>;
  ext: Record<string, bigint>;
}

/** perfquery (PortCounters) and perfquery -x (PortCountersExtended) of every port the exporter reads: all switch ports, linked CA ports. */
async function oracleCounters(sim: IbSim, f: Fabric): Promise<OraclePort[]> {
  const out: OraclePort[] = [];
  for (const n of f.nodes) {
    const lid0 = n.ports.find((p) => p.portNum === 0)?.lid;
    const ports = n.type === 'Switch' ? Array.from({ length: n.numPorts }, (_, i) => ({ portNum: i + 1, lid: lid0 })) : n.ports.filter((p) => p.remote && p.lid);
    for (const p of ports) {
      const lid = String(p.lid);
      const base = countersFromPerfquery(await tool(sim, 'perfquery', [lid, String(p.portNum)]));
      const ext = countersFromPerfquery(await tool(sim, 'perfquery', ['-x', lid, String(p.portNum)]));
      assert.equal(base.port, p.portNum);
      assert.equal(ext.extended, true);
      out.push({ node: n.id, description: n.description, port: p.portNum, base: base.counters, ext: ext.counters });
    }
  }
  return out;
}

function waitForLine(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before printing ${re}: ${out}`)));
  });
}

function collectOutput(child: ChildProcess): { stderr: () => string; exit: Promise<number | null> } {
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { stderr: () => err, exit };
}

async function waitHealthy(url: string): Promise<void> {
  const guard = Date.now() + 120_000; // hang guard only
  for (;;) {
    if (Date.now() > guard) throw new Error(`exporter at ${url} not healthy within 120 s`);
    const r = await fetch(`${url}/healthz`);
    const h = (await r.json()) as { healthy: boolean; status: string };
    if (r.status === 200 && h.healthy) return;
    if (h.status === 'failing') throw new Error(`exporter failing: ${JSON.stringify(h)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Diag tools still running as children of this process. */
function toolChildren(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /^(ibnetdiscover|iblinkinfo|perfquery|sminfo)$/.test(comm)) out.push(`${pid} ${comm}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('ib exporter (ibsim + OpenSM)', () => {
  let sim: IbSim;
  let fabric: Fabric;
  let source: GatedSource;
  let exporter: IbExporter;
  let dir: string;

  before(async () => {
    dir = tmpDir('hpcnet-exporter-');
    // No periodic sweeps: only the tools' own MADs move the data counters.
    sim = await startSim(NET, { smArgs: ['-s', '0'] });
    fabric = (await ibnetdiscover(sim)).fabric;
    await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.SymbolErrorCounter=5');
    await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.PortRcvErrors=3');
    await sim.console('PerformanceSet "S-leaf02"[4] PortCounters.LinkDownedCounter=255');
    await sim.console('PerformanceSet "S-leaf02"[4] PortCountersExtended.PortXmitData=1099511627776');
    await sim.console('PerformanceSet "S-leaf02"[4] PortCountersExtended.PortRcvData=123456789');
    await sim.console('PerformanceSet "S-spine01"[1] PortCounters.PortXmitWait=4294967295');
    await sim.console('PerformanceSet "H-node03"[1] PortCounters.VL15Dropped=2');
    source = new GatedSource(new DiagToolsSource({ env: sim.env(), cwd: sim.clientDir, concurrency: 2 }));
    exporter = await IbExporter.start({ source, listen: { host: '127.0.0.1', port: 0 }, intervalMs: 3_600_000, audit: { config: auditConfig() } });
    const first = await exporter.nextCollection();
    assert.equal(first.ok, true, first.error);
  });

  after(async () => {
    await exporter?.close();
    await sim?.stop();
  });

  it('binds to 127.0.0.1 on an ephemeral port and serves valid Prometheus text', async () => {
    assert.equal(exporter.address.host, '127.0.0.1');
    assert.ok(exporter.address.port > 0);
    const { fams, type, text } = await scrape(exporter.url);
    assert.equal(type, 'text/plain; version=0.0.4; charset=utf-8');
    for (const f of fams.values()) {
      assert.ok(f.help && f.help.length > 0, `${f.name} has HELP`);
      assert.notEqual(f.type, 'untyped', `${f.name} has a TYPE`);
      if (f.type === 'counter') assert.match(f.name, /_total$/);
    }
    assert.ok(text.length > 0);
    assert.equal(value(fams, 'hpcnet_ib_exporter_collection_success'), 1);
    assert.equal(value(fams, 'hpcnet_ib_exporter_collections_total', { result: 'success' }), 1);
    assert.equal(value(fams, 'hpcnet_ib_fabric_nodes', { type: 'Switch' }), fabric.nodes.filter((n) => n.type === 'Switch').length);
    assert.equal(value(fams, 'hpcnet_ib_fabric_nodes', { type: 'CA' }), fabric.nodes.filter((n) => n.type === 'CA').length);
    assert.equal(value(fams, 'hpcnet_ib_fabric_links'), fabric.links.length);
    // HEAD, 404 and 405
    assert.equal((await fetch(`${exporter.url}/metrics`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${exporter.url}/nope`)).status, 404);
    assert.equal((await fetch(`${exporter.url}/metrics`, { method: 'POST' })).status, 405);
  });

  it('port counters equal what perfquery reports for the same port (bytes = 4 x PortXmitData/PortRcvData)', async () => {
    const { fams } = await scrape(exporter.url);
    const oracle = await oracleCounters(sim, fabric);
    const planted = oracle.find((o) => o.description === 'leaf01' && o.port === 1)!;
    assert.equal(planted.base['SymbolErrorCounter'], 5n);
    const errorMetrics = COUNTER_METRICS.filter((c) => !/Data|Pkts/.test(c.counter));
    let compared = 0;
    for (const o of oracle) {
      const labels = { guid: o.node, description: o.description, port: String(o.port) };
      // Error counters do not move with management traffic: exact equality.
      for (const cm of errorMetrics) {
        const want = o.base[cm.counter];
        assert.notEqual(want, undefined, `perfquery printed ${cm.counter}`);
        assert.equal(value(fams, `hpcnet_ib_${cm.metric}`, labels), Number(want), `${cm.counter} of ${o.description}[${o.port}]`);
        compared++;
      }
      // Data counters only grow with the tools' own MADs: the exporter's earlier reading is <= perfquery's later one.
      const tx = value(fams, 'hpcnet_ib_port_transmit_bytes_total', labels);
      assert.ok(tx <= Number(o.ext['PortXmitData']!) * 4, `${o.description}[${o.port}] transmit bytes ${tx} <= 4 x ${o.ext['PortXmitData']}`);
      assert.equal(tx % 4, 0);
      assert.equal(value(fams, 'hpcnet_ib_port_counters_extended', labels), 1);
    }
    assert.equal(compared, oracle.length * errorMetrics.length);
    // The unlinked port carries no traffic: its 64-bit data counters are exact, in bytes.
    const down = oracle.find((o) => o.description === 'leaf02' && o.port === 4)!;
    const dl = { guid: down.node, description: 'leaf02', port: '4' };
    assert.equal(down.ext['PortXmitData'], 1099511627776n);
    assert.equal(value(fams, 'hpcnet_ib_port_transmit_bytes_total', dl), Number(down.ext['PortXmitData']! * 4n));
    assert.equal(value(fams, 'hpcnet_ib_port_receive_bytes_total', dl), Number(down.ext['PortRcvData']! * 4n));
    assert.equal(value(fams, 'hpcnet_ib_port_transmit_packets_total', dl), Number(down.ext['PortXmitPkts']!));
    assert.equal(value(fams, 'hpcnet_ib_port_multicast_transmit_packets_total', dl), Number(down.ext['PortMulticastXmitPkts']!));
    assert.equal(fams.get('hpcnet_ib_port_transmit_bytes_total')!.type, 'counter');
  });

  it('flags exactly the counters perfquery shows at their maximum (2^bits - 1)', async () => {
    const { fams } = await scrape(exporter.url);
    const oracle = await oracleCounters(sim, fabric);
    const want = new Set<string>();
    for (const o of oracle) {
      for (const [k, v] of Object.entries(o.base)) if (v === (1n << BigInt(PORT_COUNTER_BITS[k] ?? 64)) - 1n) want.add(`${o.description}[${o.port}] ${k}`);
      for (const [k, v] of Object.entries(o.ext)) if (v === (1n << 64n) - 1n) want.add(`${o.description}[${o.port}] ${k}`);
    }
    assert.ok(want.has('leaf02[4] LinkDownedCounter') && want.has('spine01[1] PortXmitWait'), 'the planted saturated counters');
    const got = new Set(samples(fams, 'hpcnet_ib_port_counter_saturated').filter((s) => s.value === 1).map((s) => `${s.labels['description']}[${s.labels['port']}] ${s.labels['counter']}`));
    assert.deepEqual([...got].sort(), [...want].sort());
    const ld = samples(fams, 'hpcnet_ib_port_counter_saturated', { description: 'leaf02', port: '4', counter: 'LinkDownedCounter' });
    assert.equal(ld[0]!.labels['bits'], '8');
    assert.equal(value(fams, 'hpcnet_ib_port_saturated_counters', { description: 'leaf02', port: '4' }), 1);
    assert.equal(value(fams, 'hpcnet_ib_port_saturated_counters', { description: 'leaf01', port: '1' }), 0);
  });

  it('link state, physical state, width and speed equal iblinkinfo', async () => {
    const { fams } = await scrape(exporter.url);
    const rows = parseLinkTable(await tool(sim, 'iblinkinfo'));
    const stateNum: Record<string, number> = { Down: 1, Initialize: 2, Init: 2, Armed: 3, Active: 4 };
    const physNum: Record<string, number> = { Sleep: 1, Polling: 2, Disabled: 3, PortConfigurationTraining: 4, LinkUp: 5, LinkErrorRecovery: 6, PhyTest: 7 };
    assert.ok(rows.length >= 12);
    for (const r of rows) {
      const labels = { description: r.nodeName, port: String(r.port) };
      assert.equal(value(fams, 'hpcnet_ib_port_state', labels), stateNum[r.state], `${r.nodeName}[${r.port}] state`);
      assert.equal(value(fams, 'hpcnet_ib_port_physical_state', labels), physNum[r.physState], `${r.nodeName}[${r.port}] phys`);
      if (r.width) assert.equal(value(fams, 'hpcnet_ib_port_link_width_lanes', labels), WIDTH_LANES[r.width]);
      else assert.equal(samples(fams, 'hpcnet_ib_port_link_width_lanes', labels).length, 0);
      if (r.speed) assert.equal(value(fams, 'hpcnet_ib_port_link_speed_gbps', labels), SPEED_GBPS[r.speed]);
      if (r.remote) {
        const li = samples(fams, 'hpcnet_ib_port_link_info', labels);
        assert.equal(li.length, 1);
        assert.equal(li[0]!.labels['remote_description'], r.remote.name);
        assert.equal(li[0]!.labels['remote_port'], String(r.remote.port));
        assert.equal(li[0]!.labels['width'], r.width);
      }
    }
    // the degraded cable of the net file
    assert.equal(value(fams, 'hpcnet_ib_port_link_width_lanes', { description: 'node02 HCA-1', port: '1' }), 1);
    assert.equal(value(fams, 'hpcnet_ib_port_state', { description: 'leaf02', port: '4' }), 1);
  });

  it('audit finding counts per rule equal the audit engine on a tool-built snapshot; counter findings match perfquery', async () => {
    const { fams } = await scrape(exporter.url);
    const snap = await toolSnapshot(sim);
    const report = runAudit({ snapshot: snap }, auditConfig());
    for (const rule of ['link-degraded-width', 'link-degraded-speed', 'link-mismatch', 'port-not-active', 'duplicate-guid', 'duplicate-lid', 'lid-invalid', 'sm-master', 'duplicate-description'] as const) {
      assert.equal(value(fams, 'hpcnet_ib_audit_findings', { rule }), report.summary.byRule[rule] ?? 0, rule);
    }
    assert.equal(value(fams, 'hpcnet_ib_audit_findings', { rule: 'link-degraded-width' }), 1);
    // counter rules over every port the exporter reads (down switch ports included): derived from perfquery
    const oracle = await oracleCounters(sim, fabric);
    const over = oracle.flatMap((o) => ERROR_COUNTERS.filter((c) => (o.base[c] ?? 0n) > 0n).map((c) => `${o.description}[${o.port}] ${c}`));
    assert.ok(over.includes('leaf01[1] SymbolErrorCounter') && over.includes('node03 HCA-1[1] VL15Dropped'));
    assert.equal(value(fams, 'hpcnet_ib_audit_findings', { rule: 'counter-threshold' }), over.length);
    assert.equal(value(fams, 'hpcnet_ib_audit_port_findings', { description: 'leaf01', port: '1', rule: 'counter-threshold', severity: 'error' }), 2);
    // one sample so far: counter-rate did not run
    assert.equal(value(fams, 'hpcnet_ib_audit_rule_ran', { rule: 'counter-rate' }), 0);
    assert.equal(samples(fams, 'hpcnet_ib_audit_findings', { rule: 'counter-rate' }).length, 0);
    assert.equal(samples(fams, 'hpcnet_ib_audit_rule_ran').length, RULE_IDS.length);
    const total = ['error', 'warning', 'info'].reduce((s, sev) => s + value(fams, 'hpcnet_ib_audit_findings_by_severity', { severity: sev }), 0);
    assert.equal(total, samples(fams, 'hpcnet_ib_audit_findings').reduce((s, x) => s + x.value, 0));
  });

  it('counter-rate: an error counter raised between two collections is reported, unchanged ones are not', async () => {
    await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.SymbolErrorCounter=9');
    const r = await exporter.collectNow();
    assert.equal(r.ok, true, r.error);
    const { fams } = await scrape(exporter.url);
    const pq = countersFromPerfquery(await tool(sim, 'perfquery', [String(fabric.nodes.find((n) => n.description === 'leaf01')!.ports[0]!.lid), '1']));
    assert.equal(value(fams, 'hpcnet_ib_port_symbol_errors_total', { description: 'leaf01', port: '1' }), Number(pq.counters['SymbolErrorCounter']));
    assert.equal(value(fams, 'hpcnet_ib_audit_rule_ran', { rule: 'counter-rate' }), 1);
    assert.equal(value(fams, 'hpcnet_ib_audit_findings', { rule: 'counter-rate' }), 1);
    assert.equal(value(fams, 'hpcnet_ib_audit_port_findings', { description: 'leaf01', port: '1', rule: 'counter-rate' }), 1);
    assert.equal(value(fams, 'hpcnet_ib_exporter_collections_total', { result: 'success' }), 2);
  });

  it('a scrape during a held-open collection returns the last sample and triggers no collection', async () => {
    await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.SymbolErrorCounter=11');
    let release!: () => void;
    source.gate = new Promise((r) => (release = r));
    const innerDone = new Promise<void>((r) => (source.onInnerDone = r));
    const calls = source.calls;
    const collecting = exporter.collectNow();
    await innerDone; // the fabric has been read (with the new value) but the collection is held open
    for (let i = 0; i < 5; i++) {
      const s = await scrape(exporter.url);
      assert.equal(value(s.fams, 'hpcnet_ib_port_symbol_errors_total', { description: 'leaf01', port: '1' }), 9, 'the last sample, not the one being collected');
      assert.equal(value(s.fams, 'hpcnet_ib_exporter_collection_in_progress'), 1);
    }
    const h = (await (await fetch(`${exporter.url}/healthz`)).json()) as { inProgress: boolean; status: string };
    assert.equal(h.inProgress, true);
    assert.equal(h.status, 'ok');
    assert.equal(source.calls, calls + 1, 'scrapes never start a collection');
    source.gate = undefined;
    source.onInnerDone = undefined;
    release();
    const r = await collecting;
    assert.equal(r.ok, true, r.error);
    const after = await scrape(exporter.url);
    assert.equal(value(after.fams, 'hpcnet_ib_port_symbol_errors_total', { description: 'leaf01', port: '1' }), 11);
    assert.ok(Math.abs(value(after.fams, 'hpcnet_ib_exporter_collection_duration_seconds') - r.durationMs / 1000) < 1e-6);
  });

  it('a failed collection keeps the last sample; /healthz reports its age and the last error; stale samples answer 503', async () => {
    const file = join(dir, 'fabric.topo');
    writeFileSync(file, await tool(sim, 'ibnetdiscover'));
    const ex = await IbExporter.start({ source: new SnapshotFileSource(file), listen: '127.0.0.1:0', intervalMs: 3_600_000 });
    const t0 = Date.now();
    // An age is a real number no older than this test's own wait for the collection.
    const sane = (age: number) => Number.isFinite(age) && age >= 0 && age <= (Date.now() - t0) / 1000 + 0.001;
    try {
      assert.equal((await ex.nextCollection()).ok, true);
      let res = await fetch(`${ex.url}/healthz`);
      let h = (await res.json()) as { status: string; ageSeconds: number; lastError: { message: string } | null; collections: { success: number; error: number } };
      assert.equal(res.status, 200);
      assert.equal(h.status, 'ok');
      assert.ok(sane(h.ageSeconds), `ageSeconds ${h.ageSeconds}`);
      assert.equal(h.lastError, null);
      writeFileSync(file, 'Switch 4 "S-1" # broken\n[9] "nowhere"\n');
      const r = await ex.collectNow();
      assert.equal(r.ok, false);
      res = await fetch(`${ex.url}/healthz`);
      h = (await res.json()) as typeof h;
      assert.equal(res.status, 200, 'a recent successful sample is still served');
      assert.equal(h.status, 'degraded');
      assert.match(h.lastError!.message, /fabric\.topo/);
      assert.deepEqual(h.collections, { success: 1, error: 1 });
      const { fams } = await scrape(ex.url);
      assert.equal(value(fams, 'hpcnet_ib_exporter_collection_success'), 0);
      assert.equal(value(fams, 'hpcnet_ib_exporter_collections_total', { result: 'error' }), 1);
      assert.equal(value(fams, 'hpcnet_ib_fabric_nodes', { type: 'CA' }), 4, 'the last successful sample');
      assert.ok(sane(value(fams, 'hpcnet_ib_exporter_sample_age_seconds')), 'sample age');
    } finally {
      await ex.close();
    }
    // A source that never answers: the collection times out, /healthz says failing with 503.
    const hang: ExporterSource = { kind: 'hang', snapshot: () => new Promise<FabricSnapshot>(() => {}) };
    const ex2 = await IbExporter.start({ source: hang, listen: '127.0.0.1:0', intervalMs: 3_600_000, timeoutMs: 100 });
    try {
      const r = await ex2.nextCollection();
      assert.equal(r.ok, false);
      assert.match(r.error!, /timed out after 100 ms/);
      const res = await fetch(`${ex2.url}/healthz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { status: string }).status, 'failing');
      const { fams } = await scrape(ex2.url);
      assert.equal(samples(fams, 'hpcnet_ib_exporter_sample_age_seconds').length, 0);
      assert.equal(samples(fams, 'hpcnet_ib_node_info').length, 0);
    } finally {
      await ex2.close();
    }
    // Stale: the last success is older than staleAfterMs.
    const ex3 = await IbExporter.start({ source: new SnapshotFileSource(join(dir, 'none.topo')), listen: '127.0.0.1:0', intervalMs: 3_600_000, staleAfterMs: 1 });
    try {
      writeFileSync(join(dir, 'none.topo'), await tool(sim, 'ibnetdiscover'));
      assert.equal((await ex3.collectNow()).ok, true);
      await new Promise((r) => setTimeout(r, 20));
      const res = await fetch(`${ex3.url}/healthz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { status: string }).status, 'stale');
    } finally {
      await ex3.close();
    }
  });

  it('close() aborts a running tools collection and kills its processes', async () => {
    const src = new DiagToolsSource({ env: sim.env(), cwd: sim.clientDir });
    const ex = await IbExporter.start({ source: src, listen: '127.0.0.1:0', intervalMs: 3_600_000 });
    const url = ex.url;
    const running = ex.nextCollection();
    await ex.close();
    const r = await running;
    assert.equal(r.ok, false);
    assert.match(r.error!, /closing/);
    await assert.rejects(fetch(`${url}/metrics`));
    await assert.rejects(ex.collectNow(), /closed/);
    assert.deepEqual(toolChildren(), [], 'no diag tool left running');
  });

  it('CLI: --snapshot serves /metrics on loopback and exits 0 on SIGTERM', async () => {
    const file = join(dir, 'cli.topo');
    writeFileSync(file, await tool(sim, 'ibnetdiscover'));
    const child = spawn(process.execPath, [RUNNER, 'ib', 'exporter', '--snapshot', file, '--listen', '127.0.0.1:0', '--interval', '1h'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collectOutput(child);
    const m = await waitForLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics \(source: snapshot/);
    await waitHealthy(m[1]!);
    const { fams } = await scrape(m[1]!);
    assert.equal(samples(fams, 'hpcnet_ib_node_info').length, fabric.nodes.length);
    assert.equal(value(fams, 'hpcnet_ib_port_link_width_lanes', { description: 'node02 HCA-1', port: '1' }), 1);
    child.kill('SIGTERM');
    assert.equal(await out.exit, 0, out.stderr());
    assert.match(out.stderr(), /SIGTERM, closing/);
  });

  it('CLI: --source tools (interim collector) on the simulator; exits 0 on SIGINT', async () => {
    const child = sim.spawn(process.execPath, [RUNNER, 'ib', 'exporter', '--source', 'tools', '--listen', '127.0.0.1:0', '--interval', '1h', '--expect-width', '4X'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collectOutput(child);
    const m = await waitForLine(child, /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics \(source: tools, interim/);
    await waitHealthy(m[1]!);
    const { fams } = await scrape(m[1]!);
    const lid = String(fabric.nodes.find((n) => n.description === 'leaf02')!.ports[0]!.lid);
    const pq = countersFromPerfquery(await tool(sim, 'perfquery', [lid, '4']));
    assert.equal(value(fams, 'hpcnet_ib_port_link_downed_total', { description: 'leaf02', port: '4' }), Number(pq.counters['LinkDownedCounter']));
    assert.equal(value(fams, 'hpcnet_ib_audit_findings', { rule: 'link-degraded-width' }), 1);
    child.kill('SIGINT');
    assert.equal(await out.exit, 0, out.stderr());
  });

  it('CLI: exit 2 with a bad --port, a bad --listen, and when the address is in use', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [RUNNER, 'ib', 'exporter', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        const o = collectOutput(c);
        void o.exit.then((code) => resolve({ code, stderr: o.stderr() }));
      });
    let r = await run(['--port', 'x', '--listen', '127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port: expected a whole number/);
    r = await run(['--snapshot', 'x', '--listen', 'localhost:http']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen/);
    const busy = createServer();
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', () => res()));
    const port = (busy.address() as { port: number }).port;
    try {
      r = await run(['--snapshot', join(dir, 'cli.topo'), '--listen', `127.0.0.1:${port}`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /address already in use/);
    } finally {
      busy.close();
    }
  });
});

describe('ib exporter option parsing and the test parser', () => {
  it('the strict exposition parser rejects malformed text', () => {
    const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{l="v\\"q"} 1\n';
    assert.equal(parsePromText(ok).get('a_total')!.samples[0]!.labels['l'], 'v"q');
    for (const bad of [
      'a 1',
      'a{l="v"} x\n',
      'a{l="v} 1\n',
      'a{l="v",l="w"} 1\n',
      'a{1l="v"} 1\n',
      'a{l="\\q"} 1\n',
      '1a 1\n',
      'a 1\na 2\n',
      'a 1\nb 1\na{x="1"} 1\n',
      'a 1\n# TYPE a gauge\n',
      '# TYPE a nonsense\n',
      '# TYPE a counter\na -1\n',
    ]) {
      assert.throws(() => parsePromText(bad), JSON.stringify(bad));
    }
  });

  it('--listen defaults to loopback; all interfaces only when asked', () => {
    assert.deepEqual(parseListen('9315'), { host: '127.0.0.1', port: 9315 });
    assert.deepEqual(parseListen(':9315'), { host: '127.0.0.1', port: 9315 });
    assert.deepEqual(parseListen('0.0.0.0:1'), { host: '0.0.0.0', port: 1 });
    assert.deepEqual(parseListen('[::1]:9315'), { host: '::1', port: 9315 });
    assert.throws(() => parseListen('127.0.0.1:70000'), /0\.\.65535/);
    assert.throws(() => parseListen('a b:1'), /HOST:PORT/);
  });
  it('--interval durations', () => {
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2'), 2000);
    assert.throws(() => parseDuration('0s'), /more than 0/);
    assert.throws(() => parseDuration('soon'), /duration/);
  });
});
