/** Foundation: the package without its addon, --version, the bundled fabric, the global CLI options. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extractSimOptions } from '../../lib/cli/sim-options.js';
import { defaultFabric, generateFatTree, summarizeNetFile, ibsimLimitArgs } from '../../lib/sim/netfile.js';
import { defaultTopologyPath } from '../../lib/sim/ibsim.js';
import { packageRoot } from '../../lib/util/paths.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('foundation', () => {
  it('imports and works offline where the addon cannot be loaded; live calls name what is missing', () => {
    const root = packageRoot();
    const copy = tempDir('hpcnet-noaddon-');
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(root, 'lib', 'sim', 'fabrics'), join(copy, 'lib', 'sim', 'fabrics'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    // No build/: the addons are absent, as on a host without rdma-core or a compiler.
    const script = `
      const m = await import(${JSON.stringify(join(copy, 'dist', 'lib', 'index.js'))});
      const lnet = await import(${JSON.stringify(join(copy, 'dist', 'lib', 'lnet', 'index.js'))});
      const out = {};
      try { await m.listCas(); out.live = 'worked?'; } catch (e) { out.live = e.code; out.msg = e.message; out.cls = e.constructor.name; }
      const f = m.topology.parseFabricText(${JSON.stringify(readFileSync(join(root, 'test', 'fixtures', 'small.topo'), 'utf8'))});
      out.nodes = f.fabric.nodes.length;
      out.nid = lnet.Nid.parse('192.0.2.2@tcp1').toNid4().toString(16);
      const be = new m.MockIbBackend();
      out.mock = (await m.listCas({ backend: be }))[0].name;
      console.log(JSON.stringify(out));`;
    const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, string | number>;
    assert.equal(r['live'], 'ERR_BACKEND_UNAVAILABLE');
    assert.equal(r['cls'], 'BackendUnavailableError');
    assert.match(String(r['msg']), /hpcnet_ib\.node.*could not be loaded.*npm run build:native/);
    assert.equal(r['nodes'], 3);
    assert.equal(r['nid'], '20001c0000202');
    assert.equal(r['mock'], 'mlx5_0');
  });

  it('--version prints hpcnet and the library versions the addons were built against', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    const ibumad = execFileSync('pkg-config', ['--modversion', 'libibumad'], { encoding: 'utf8' }).trim();
    const ibmad = execFileSync('pkg-config', ['--modversion', 'libibmad'], { encoding: 'utf8' }).trim();
    assert.match(r.stdout, /^hpcnet \d+\.\d+\.\d+/);
    assert.ok(r.stdout.includes(`libibumad ${ibumad}, libibmad ${ibmad}`), r.stdout);
    assert.match(r.stdout, /LNet addon: libnl \d/);
  });

  it('the bundled fabric is the generator\'s default fat tree with one degraded link', () => {
    const text = readFileSync(defaultTopologyPath(), 'utf8');
    assert.equal(text, defaultFabric());
    const s = summarizeNetFile(text);
    assert.equal(s.cas, 12);
    assert.equal(s.switches, 5);
    assert.equal(text.match(/ 1xEDR/g)?.length, 2, 'both ends of node12\'s link');
  });

  it('generator: both ends of every link agree; ibsim limits grow with the fabric', () => {
    const t = generateFatTree({ leaves: 2, spines: 2, hostsPerLeaf: 3, linksPerSpine: 2, degraded: [{ host: 4, width: '1x', speed: 'SDR' }] });
    assert.match(t, /\[1\] "S-leaf02"\[1\] # lid 0 lmc 0 "leaf02" lid 0 1xSDR/);
    assert.match(t, /\[1\] "H-node04"\[1\] # "node04 HCA-1" lid 0 1xSDR/);
    assert.throws(() => generateFatTree({ leaves: 0, spines: 1, hostsPerLeaf: 1 }), /--leaves must be a whole number from 1/);
    assert.throws(() => generateFatTree({ leaves: 2, spines: 1, hostsPerLeaf: 1, speed: 'FOO' as 'EDR' }), /unknown speed 'FOO'/);
    assert.deepEqual(ibsimLimitArgs(summarizeNetFile(generateFatTree({ leaves: 4, spines: 2, hostsPerLeaf: 4 }))), []);
    const big = ibsimLimitArgs(summarizeNetFile(generateFatTree({ leaves: 128, spines: 64, hostsPerLeaf: 64 })));
    assert.equal(big[0], '-N');
    assert.ok(Number(big[1]) >= 8192 + 192);
  });

  it('global --sim options are taken before the command, and only there', () => {
    assert.deepEqual(extractSimOptions(['--sim', 'ib', 'cas']), { sim: { mode: 'temp' }, rest: ['ib', 'cas'] });
    assert.deepEqual(extractSimOptions(['--sim=f.net', 'ib', 'cas', '--json']), { sim: { mode: 'temp', topology: 'f.net' }, rest: ['ib', 'cas', '--json'] });
    assert.deepEqual(extractSimOptions(['--sim-name', 'x', '--sim-host', 'H-a', 'ib', 'cas']), { sim: { mode: 'attach', name: 'x', host: 'H-a' }, rest: ['ib', 'cas'] });
    assert.deepEqual(extractSimOptions(['ib', 'cas', '--sim']), { rest: ['ib', 'cas', '--sim'] });
    assert.throws(() => extractSimOptions(['--sim-host', 'H-a', 'ib']), /--sim-host needs --sim or --sim-name/);
  });
});
