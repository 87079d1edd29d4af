/**
 * End to end: the `hpcnet lnet` / `hpcnet lctl` CLI (facade -> native
 * backend -> kernel layer -> addon) run as programs on hosts of the LNet
 * emulator, in both release personalities (2.15: ioctl only, 2.16: netlink).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { cliEntry } from '../../../lib/util/paths.js';
import { cliRunner } from './cli-runner.js';
import * as ref from '../fixtures/reference-examples.js';

/** The layout of a YAML text with the values blanked: keys, indentation and list markers only. */
function skeleton(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^(\s*(?:-\s+)?[^:]+:)\s.*$/, '$1 _'))
    .join('\n');
}

for (const release of ['2.15', '2.16'] as const) {
  describe(`LNet CLI on the emulator (${release})`, () => {
    let emu: LnetEmulator;
    let dir: string;
    const { cli, ok } = cliRunner(() => emu);
    const file = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hpcnet-lnet-e2e-'));
      emu = await LnetEmulator.start({
        release,
        hosts: [
          'n1=eth0:10.0.0.1,ib0:10.1.0.1',
          'gw=eth0:10.0.0.2,eth1:10.2.0.2',
          'n3=eth1:10.2.0.3',
          'fresh=eth0:10.0.0.4,ib0:10.1.0.4',
        ],
      });
    });
    // Each test starts from hosts with nothing loaded, whatever the previous test left.
    beforeEach(async () => {
      await emu.clearFaults();
      for (const h of ['n1', 'gw', 'n3', 'fresh']) {
        await emu.releaseLustre(h);
        await cli(h, 'lnet', 'unload', '--unconfigure');
      }
    });
    after(async () => {
      await emu?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('wiki: modprobe lnet, lctl network up, list_nids, refused unload, lctl network down, unload', async () => {
      const load = await ok('n1', 'lnet', 'load', '--networks', 'tcp0(eth0)');
      assert.match(load, /^insmod \S+\/libcfs\.ko \ninsmod \S+\/lnet\.ko networks="tcp0\(eth0\)" \n$/);
      assert.equal(await ok('n1', 'lctl', 'network', 'up'), 'LNET configured\n');
      assert.equal(await ok('n1', 'lctl', 'list_nids'), '10.0.0.1@tcp\n');
      assert.equal(await ok('n1', 'lctl', 'list_nids', 'all'), '0@lo\n10.0.0.1@tcp\n');
      const st = JSON.parse(await ok('n1', 'lnet', 'status', '--json')) as { state: string; configuredBy: string; release: string; transport: string };
      assert.equal(st.state, 'up');
      assert.equal(st.configuredBy, 'standalone');
      assert.equal(st.release, release);
      assert.equal(st.transport, release === '2.15' ? 'ioctl' : 'netlink');
      const refused = await cli('n1', 'lnet', 'unload');
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /configured standalone/);
      assert.match(refused.stderr, /Modules still loaded: .*lnet/);
      assert.equal(await ok('n1', 'lctl', 'network', 'down'), 'LNET ready to unload\n');
      assert.match(await ok('n1', 'lnet', 'unload'), /^unloaded ksocklnd lnet libcfs\n$/);
      assert.equal(JSON.parse(await ok('n1', 'lnet', 'status', '--json')).state, 'not-loaded');
      const notLoaded = await cli('n1', 'lctl', 'list_nids');
      assert.equal(notLoaded.code, 1);
      assert.match(notLoaded.stderr, /hint: the kernel modules may not be loaded/);
    });

    it('LNet brought up by Lustre: network down says LNET busy, unload removes the whole stack', async () => {
      await ok('n1', 'lnet', 'load', '--networks', 'tcp0(eth0)');
      await ok('n1', 'lnet', 'load', '--module', 'lustre');
      assert.equal(await ok('n1', 'lctl', 'list_nids'), '10.0.0.1@tcp\n');
      const st = JSON.parse(await ok('n1', 'lnet', 'status', '--json')) as { configuredBy: string };
      assert.equal(st.configuredBy, 'lustre');
      const down = await cli('n1', 'lctl', 'network', 'down');
      assert.equal(down.code, 1);
      assert.equal(down.stderr, 'LNET busy\n');
      const r = JSON.parse(await ok('n1', 'lnet', 'unload', '--json')) as { removed: string[] };
      assert.ok(r.removed.indexOf('lustre') < r.removed.indexOf('ptlrpc') && r.removed.indexOf('ptlrpc') < r.removed.indexOf('lnet'));
      assert.equal(r.removed.at(-1), 'libcfs');
      assert.equal(JSON.parse(await ok('n1', 'lnet', 'status', '--json')).state, 'not-loaded');
    });

    it('a mounted MGS makes unload refuse and list the devices', async () => {
      await ok('n1', 'lnet', 'load', '--networks', 'tcp0(eth0)');
      const hold = await emu.holdByLustre('n1', { role: 'mgs' });
      const r = await cli('n1', 'lnet', 'unload', '--unconfigure');
      assert.equal(r.code, 2);
      for (const d of hold.devices) assert.ok(r.stderr.includes(d), `device '${d}' listed:\n${r.stderr}`);
      assert.match(r.stderr, /Modules still loaded: .*lnet/);
      assert.ok(JSON.parse(await ok('n1', 'lnet', 'status', '--json')).modules.lnet, 'nothing removed');
      await emu.releaseLustre('n1');
      await ok('n1', 'lnet', 'unload', '--unconfigure');
      assert.equal(JSON.parse(await ok('n1', 'lnet', 'status', '--json')).state, 'not-loaded');
    });

    it('o2ib on IPoIB and tcp, with the right LND each; output layouts as the reference', async () => {
      await ok('n1', 'lnet', 'load');
      await ok('n1', 'lnet', 'configure');
      await ok('n1', 'lnet', 'net', 'add', '--net', 'tcp', '--if', 'eth0');
      await ok('n1', 'lnet', 'net', 'add', '--net', 'o2ib', '--if', 'ib0');
      assert.equal(await ok('n1', 'lnet', 'list-nids'), '10.0.0.1@tcp\n10.1.0.1@o2ib\n');
      const st = JSON.parse(await ok('n1', 'lnet', 'status', '--json')) as { modules: { lnds: string[] } };
      assert.deepEqual([...st.modules.lnds].sort(), ['ko2iblnd', 'ksocklnd']);
      await ok('n1', 'lnet', 'net', 'del', '--net', 'o2ib');
      const show = await ok('n1', 'lnet', 'net', 'show');
      assert.equal(skeleton(show), skeleton(release === '2.15' ? ref.netShowCyaml : ref.netShowNetlink));
      assert.match(show, /10\.0\.0\.1@tcp/);
      const stats = await ok('n1', 'lnet', 'stats', 'show');
      assert.equal(skeleton(stats), skeleton(ref.statsShow.replace(/ {4}(failed|successful)_resends: 0\n/g, '')));
      const g = await ok('n1', 'lnet', 'global', 'show');
      const wantG = g.includes('lnd_timeout') ? ref.globalShow : ref.globalShow.replace(/ {4}lnd_timeout: \d+\n/, '');
      assert.equal(skeleton(g), skeleton(wantG));
      await ok('n1', 'lnet', 'unload', '--unconfigure');
    });

    it('net show at each verbosity: the reference keys, in the reference order', async () => {
      await ok('n1', 'lnet', 'load', '--networks', 'tcp0(eth0)');
      await ok('n1', 'lctl', 'network', 'up');
      // Keys of an NI from the reference (4.2): -v adds the -v fragment's keys after interfaces,
      // -v 2 and 3 insert the -v 2 fragment's blocks after statistics, -v 4 adds udsp info after statistics.
      const keysOf = (frag: string): string[] => frag.split('\n').filter((l) => /^ {10}\S/.test(l)).map((l) => l.trim().replace(/:.*$/, ''));
      const v1 = keysOf(ref.netShowV1Fragment);
      const v2 = keysOf(ref.netShowV2Fragment);
      const want: Record<number, string[]> = {
        0: ['nid', 'status', 'interfaces'],
        1: ['nid', 'status', 'interfaces', ...v1],
        2: ['nid', 'status', 'interfaces', 'statistics', ...v2, ...v1.slice(1)],
        3: ['nid', 'status', 'interfaces', 'statistics', ...v2, ...v1.slice(1)],
        4: ['nid', 'status', 'interfaces', 'statistics', 'udsp info', ...v2, ...v1.slice(1)],
      };
      for (const v of [0, 1, 2, 3, 4]) {
        const doc = parseYaml(await ok('n1', 'lnet', 'net', 'show', '--net', 'tcp', '-v', String(v))) as { net: { 'local NI(s)': Record<string, unknown>[] }[] };
        assert.deepEqual(Object.keys(doc.net[0]!['local NI(s)'][0]!), want[v], `-v ${v}`);
      }
    });

    it('ping and a route across emulated hosts', async () => {
      for (const [h, nets] of [['n1', 'tcp0(eth0)'], ['gw', 'tcp0(eth0),tcp1(eth1)'], ['n3', 'tcp1(eth1)']] as const) {
        await ok(h, 'lnet', 'load', '--networks', nets);
        await ok(h, 'lctl', 'network', 'up');
      }
      await ok('gw', 'lnet', 'set', 'routing', '1');
      const ping = await ok('n1', 'lnet', 'ping', '10.0.0.2@tcp');
      assert.match(ping, /primary nid: 10\.0\.0\.2@tcp/);
      assert.match(ping, /nid: 10\.2\.0\.2@tcp1/);
      assert.equal(await ok('n1', 'lctl', 'ping', '10.0.0.2@tcp'), '12345-0@lo\n12345-10.0.0.2@tcp\n12345-10.2.0.2@tcp1\n');
      await ok('n1', 'lnet', 'route', 'add', '--net', 'tcp1', '--gateway', '10.0.0.2@tcp');
      await ok('n3', 'lnet', 'route', 'add', '--net', 'tcp', '--gateway', '10.2.0.2@tcp1');
      const routes = await ok('n1', 'lnet', 'route', 'show', '-v');
      assert.equal(skeleton(routes), skeleton(release === '2.15' ? ref.routeShow.split('---- with -v:\n')[1]! : emit6(ref.routeShow.split('---- with -v:\n')[1]!)));
      assert.match(await ok('n1', 'lnet', 'ping', '10.2.0.3@tcp1'), /primary nid: 10\.2\.0\.3@tcp1/);
      for (const h of ['n1', 'gw', 'n3']) await ok(h, 'lnet', 'unload', '--unconfigure');
    });

    it('a NID nobody owns: ping fails after its timeout', async () => {
      await ok('n1', 'lnet', 'load', '--networks', 'tcp0(eth0)');
      await ok('n1', 'lctl', 'network', 'up');
      const r = await emu.exec('n1', process.execPath, [cliEntry(), 'lctl', 'ping', '10.0.0.99@tcp', '1'], { timeoutMs: 10_000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^failed to ping 10\.0\.0\.99@tcp: Connection timed out\n$/);
    });

    it('export then import into a fresh host gives the same export; apply twice changes nothing the second time', async () => {
      await ok('n1', 'lnet', 'load');
      await ok('n1', 'lnet', 'configure');
      const conf = file(
        `site-${release}.yaml`,
        [
          'net:',
          '    - net type: tcp',
          '      local NI(s):',
          '        - interfaces:',
          '              0: eth0',
          '          tunables:',
          '              peer_credits: 16',
          '    - net type: o2ib',
          '      local NI(s):',
          '        - interfaces:',
          '              0: ib0',
          'route:',
          '    - net: tcp1',
          '      gateway: 10.0.0.2@tcp',
          '      priority: 1',
          'peer:',
          '    - primary nid: 10.0.0.7@tcp',
          '      Multi-Rail: True',
          '      peer ni:',
          '        - nid: 10.1.0.7@o2ib',
          'global:',
          '    retry_count: 3',
          '    transaction_timeout: 120',
          '',
        ].join('\n'),
      );
      const first = JSON.parse(await ok('n1', 'lnet', 'apply', conf)) as { changed: boolean; failed: boolean; msg: string; applied: unknown[] };
      assert.equal(first.failed, false, first.msg);
      assert.equal(first.changed, true);
      const peers = await ok('n1', 'lnet', 'peer', 'show', '--nid', '10.0.0.7@tcp');
      const peerExample = ref.peerShow.split('---- -v per peer ni:\n')[0]!;
      assert.deepEqual(shape(peers), shape(peerExample), 'peer show has the example layout');
      if (release === '2.15') assert.equal(skeleton(peers), skeleton(peerExample));
      const second = JSON.parse(await ok('n1', 'lnet', 'apply', conf)) as { changed: boolean; changes: unknown[] };
      assert.equal(second.changed, false);
      assert.deepEqual(second.changes, []);
      const exported = await ok('n1', 'lnet', 'export', '--backup');
      const exportFile = file(`export-${release}.yaml`, exported);
      await ok('fresh', 'lnet', 'load');
      await ok('fresh', 'lnet', 'configure');
      await ok('fresh', 'lnet', 'import', exportFile);
      assert.equal(await ok('fresh', 'lnet', 'export', '--backup'), exported);
      for (const h of ['n1', 'fresh']) await ok(h, 'lnet', 'unload', '--unconfigure');
    });

    it('a document with one bad item applies nothing and names it; an injected failure midway is rolled back and reported', async () => {
      await ok('n1', 'lnet', 'load');
      await ok('n1', 'lnet', 'configure');
      const before = await ok('n1', 'lnet', 'export', '--backup');
      const bad = file('bad.yaml', 'net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\nroute:\n    - net: tcp1\n      gateway: 10.0.0.300@tcp\n');
      const r = await cli('n1', 'lnet', 'apply', bad);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /line 8: route\[0\]\.gateway: /);
      const refusal = JSON.parse(r.stdout) as { changed: boolean; failed: boolean; msg: string; problems: { line: number; key: string }[] };
      assert.equal(refusal.failed, true);
      assert.equal(refusal.changed, false);
      assert.deepEqual(refusal.problems.map((p) => [p.line, p.key]), [[8, 'route[0].gateway']]);
      assert.equal(await ok('n1', 'lnet', 'export', '--backup'), before, 'nothing applied');
      const good = file('good.yaml', 'net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\nrouting:\n    enable: 1\n');
      await emu.injectFault({ op: 'ioctl:CONFIG_RTR', errno: 12, host: 'n1' });
      const f = await cli('n1', 'lnet', 'apply', good);
      assert.equal(f.code, 2);
      const res = JSON.parse(f.stdout) as { failed: boolean; changed: boolean; failures: { section: string; code: string; line: number }[]; rolledBack: { item: string }[]; applied: unknown[] };
      assert.equal(res.failed, true);
      assert.equal(res.failures[0]!.section, 'routing');
      assert.equal(res.failures[0]!.code, 'ENOMEM');
      assert.equal(res.failures[0]!.line, 7);
      assert.deepEqual(res.rolledBack.map((x) => x.item), ['net tcp NI eth0']);
      assert.deepEqual(res.applied, []);
      assert.equal(await ok('n1', 'lnet', 'export', '--backup'), before, 'the node is exactly as reported: nothing in effect');
      await emu.clearFaults();
      await ok('n1', 'lnet', 'unload', '--unconfigure');
    });
  });
}

/** The structure of a YAML text with every scalar blanked (compares cYAML and netlink layouts alike). */
function shape(text: string): unknown {
  const blank = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(blank) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, blank(x)])) : '_';
  return blank(parseYaml(text));
}

/** The cYAML route example in the netlink (libyaml indent 6) layout. */
function emit6(cyaml: string): string {
  return cyaml.replace(/^ {4}- /gm, '-     ');
}
