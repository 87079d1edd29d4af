/** `hpcnet ib exporter` with its default, live native source (discovery + PMA sweep + SMs) on a simulated fabric. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { IbSim } from '../../lib/sim/ibsim.js';
import { cliEntry } from '../../lib/util/paths.js';
import { parsePromText, value } from './exporter/helpers/prom-text.js';

describe('ib exporter on the live native source', () => {
  it('serves the counters perfquery reads, 64-bit data counters, and exits on SIGINT', async () => {
    await using sim = await IbSim.start({ name: 'exp-live' });
    await sim.console('PerformanceSet "S-leaf02"[2] PortCounters.SymbolErrorCounter=7');
    const child = spawn(process.execPath, [cliEntry(), '--sim-name', sim.name, 'ib', 'exporter', '--listen', '127.0.0.1:0', '--interval', '60s'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<[number | null, string | null]>((r) => child.on('close', (c, s) => r([c, s])));
    try {
      let url = '';
      for (let i = 0; i < 300 && !url; i++) {
        url = /listening on (http:\/\/127\.0\.0\.1:\d+)\/metrics \(source: (\w+)/.exec(out)?.[1] ?? '';
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(url, `exporter did not start: ${out}`);
      let health: { status?: string } = {};
      for (let i = 0; i < 300 && health.status !== 'ok'; i++) {
        const r = await fetch(`${url}/healthz`);
        health = (await r.json()) as { status?: string };
        if (health.status !== 'ok') await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(health.status, 'ok', JSON.stringify(health));
      const fams = parsePromText(await (await fetch(`${url}/metrics`)).text());
      assert.equal(value(fams, 'hpcnet_ib_port_symbol_errors_total', { description: 'leaf02', port: '2' }), 7);
      const pq = await sim.exec('perfquery', ['-x', '3', '2']);
      const after = BigInt(/^PortXmitData:\.+(\d+)$/m.exec(pq.stdout)![1]!);
      const served = value(fams, 'hpcnet_ib_port_transmit_bytes_total', { description: 'leaf02', port: '2' });
      assert.ok(served > 0 && BigInt(served) <= after * 4n, `served ${served} bytes, perfquery -x later ${after} x 4`);
      assert.equal(value(fams, 'hpcnet_ib_port_counters_extended', { description: 'leaf02', port: '2' }), 1);
      assert.equal(value(fams, 'hpcnet_ib_fabric_links'), 18);
      assert.equal(value(fams, 'hpcnet_ib_exporter_collection_success'), 1);
      // The same text plain and gzipped (as Prometheus asks for it): two gzip members, read as one stream.
      const plain = await rawGet(`${url}/metrics`, 'identity');
      const zipped = await rawGet(`${url}/metrics`, 'gzip');
      assert.equal(plain.encoding, undefined);
      assert.equal(zipped.encoding, 'gzip');
      assert.ok(zipped.body.length < plain.body.length / 4, `gzip ${zipped.body.length} bytes vs ${plain.body.length}`);
      const fabricPart = (t: string) => t.slice(t.indexOf('# HELP hpcnet_ib_node_info'));
      assert.equal(fabricPart(gunzipSync(zipped.body).toString()), fabricPart(plain.body.toString()));
      assert.equal(plain.length, plain.body.length);
      assert.equal(zipped.length, zipped.body.length);
    } finally {
      child.kill('SIGINT');
    }
    const [code, signal] = await exited;
    assert.equal(signal, null, out);
    assert.equal(code, 0, out);
  });
});

/** GET with a given Accept-Encoding, body as sent (not decoded). */
function rawGet(url: string, encoding: string): Promise<{ body: Buffer; encoding: string | undefined; length: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), encoding: res.headers['content-encoding'], length: Number(res.headers['content-length']) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
