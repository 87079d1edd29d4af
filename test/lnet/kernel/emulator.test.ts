/**
 * The kernel layer against hpcnet's LNet kernel emulator, in both
 * personalities: 2.15 (ioctl only, /dev/lnet from libcfs) and 2.16 (generic
 * netlink family "lnet" plus ioctls). Each phase runs emu-driver.js as a
 * process on an emulated host (through the emulator's LD_PRELOAD library),
 * so every byte goes through the addon's real open/ioctl, libnl socket,
 * libkmod and sysfs calls. Expected errnos are the kernel rules of
 * shared/reference/lnet.md 1.6, 1.7, 2.3, 3.4 and 6.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';

const DRIVER = fileURLToPath(new URL('./emu-driver.js', import.meta.url));

interface StepResult {
  id: string;
  ok: boolean;
  value?: unknown;
  transport?: 'netlink' | 'ioctl';
  error?: { name: string; code: string; errno?: number; op: string; kernelMessage?: string; transport: string; syscall?: string; message: string; isLnetError: boolean };
}
type Plan = { id: string; call: string; args?: unknown[] }[];

async function run(emu: LnetEmulator, host: string, plan: Plan): Promise<Record<string, StepResult>> {
  const r = await emu.exec(host, process.execPath, [DRIVER, JSON.stringify(plan)], { timeoutMs: 60_000 });
  const list = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as StepResult);
  const next = plan[list.length];
  assert.equal(r.code, 0, `driver on ${host} failed (${r.signal ?? r.code}) at step ${next?.id ?? '(end)'}: ${r.stderr}`);
  return Object.fromEntries(list.map((x) => [x.id, x]));
}

function ok(r: Record<string, StepResult>, id: string): unknown {
  const s = r[id];
  assert.ok(s, `step ${id} ran`);
  assert.ok(s.ok, `step ${id} should succeed, got ${JSON.stringify(s.error)}`);
  return s.value;
}

function fails(r: Record<string, StepResult>, id: string, codes: string | string[]): NonNullable<StepResult['error']> {
  const s = r[id];
  assert.ok(s, `step ${id} ran`);
  assert.ok(!s.ok, `step ${id} should fail with ${String(codes)}, got ${JSON.stringify(s.value)}`);
  const e = s.error!;
  assert.ok(e.isLnetError, `step ${id}: an LnetError (${e.name})`);
  assert.ok((Array.isArray(codes) ? codes : [codes]).includes(e.code), `step ${id}: expected ${String(codes)}, got ${e.code}: ${e.message}`);
  if (e.code.startsWith('E')) assert.equal(typeof e.errno, 'number', `step ${id}: errno set`);
  return e;
}

const HOSTS = ['node1=eth0:10.0.0.1/24,eth1:10.1.0.1/24', 'node2=eth0:10.0.0.2/24', 'node3=eth0:10.1.0.3/24'];

for (const release of ['2.15', '2.16'] as const) {
  describe(`kernel layer on the emulated ${release} kernel`, { timeout: 180_000 }, () => {
    let emu: LnetEmulator;
    let addedNi: { tunables: Record<string, number> } | undefined;
    const nl = release === '2.16';
    before(async () => {
      emu = await LnetEmulator.start({ release, hosts: HOSTS });
    });
    after(async () => {
      await emu?.stop();
    });

    test('modules, detection, configure, NIDs, local NIs, routes, peers, ping, routing, numa, stats, parameters', async () => {
      // node2 comes up first so node1 can ping and discover it.
      const n2 = await run(emu, 'node2', [
        { id: 'load', call: 'modules.load', args: ['lnet', { networks: 'tcp0(eth0)' }] },
        { id: 'conf', call: 'configure', args: [{ all: true }] },
        { id: 'nids', call: 'listNids' },
      ]);
      ok(n2, 'load');
      ok(n2, 'conf');
      assert.deepEqual(ok(n2, 'nids'), ['0@lo', '10.0.0.2@tcp']);

      const r = await run(emu, 'node1', [
        { id: 'info0', call: 'info' },
        { id: 'nids-nomod', call: 'listNids' },
        { id: 'load-missing', call: 'modules.load', args: ['nosuchmodule'] },
        { id: 'load', call: 'modules.load', args: ['lnet', { networks: 'tcp0(eth0)' }] },
        { id: 'load-again', call: 'modules.load', args: ['lnet'] },
        { id: 'mods', call: 'modules.list' },
        { id: 'info', call: 'info' },
        { id: 'nids-down', call: 'listNids' },
        { id: 'stats-down', call: 'ioctl.getStats' },
        { id: 'conf', call: 'configure', args: [{ all: true }] },
        { id: 'conf-again', call: 'configure', args: [{ all: true }] },
        { id: 'nids', call: 'listNids' },
        { id: 'nids-ioctl', call: 'ioctl.listNids' },
        { id: 'getni-end', call: 'ioctl.getNi', args: [2] },
        { id: 'add-ni', call: 'ioctl.addLocalNi', args: [{ nid: '10.1.0.1@tcp1', interface: 'eth1', tunables: { peer_credits: 16 } }] },
        { id: 'add-ni-again', call: 'ioctl.addLocalNi', args: [{ nid: '10.1.0.1@tcp1', interface: 'eth1' }] },
        { id: 'local-nis', call: 'ioctl.listLocalNis' },
        { id: 'msg-stats', call: 'ioctl.getLocalNiMsgStats', args: [1] },
        { id: 'hstats', call: 'ioctl.getLocalNiHealthStats', args: ['10.0.0.1@tcp'] },
        { id: 'addnet', call: 'addNet', args: [{ net: 'tcp2', interfaces: ['eth1'], tunables: { peer_credits: 32 } }] },
        { id: 'addnet-again', call: 'addNet', args: [{ net: 'tcp2', interfaces: ['eth1'] }] },
        { id: 'addnet-noif', call: 'ioctl.addLocalNi', args: [{ nid: '10.7.0.1@tcp3', interface: 'eth7' }] },
        { id: 'nis-tcp2', call: 'ioctl.listLocalNis' },
        { id: 'delnet-if', call: 'delNet', args: [{ net: 'tcp2', interfaces: ['eth1'] }] },
        { id: 'delnet-missing', call: 'delNet', args: [{ net: 'tcp9' }] },
        { id: 'addnet-nid', call: 'addNet', args: [{ net: 'tcp4', nids: ['10.1.0.1@tcp4'] }] },
        { id: 'nids-tcp4', call: 'ioctl.listNids' },
        { id: 'delnet-nid', call: 'delNet', args: [{ net: 'tcp4', nids: ['10.1.0.1@tcp4'] }] },
        { id: 'delnet-nid-unknown', call: 'delNet', args: [{ net: 'tcp', nids: ['10.0.0.77@tcp'] }] },
        { id: 'nis-after-del', call: 'ioctl.listNids' },
        { id: 'route-add', call: 'addRoute', args: [{ net: 'tcp5', gateway: '10.0.0.2@tcp', hop: 1, priority: 2 }] },
        { id: 'route-add-again', call: 'addRoute', args: [{ net: 'tcp5', gateway: '10.0.0.2@tcp', hop: 1, priority: 2 }] },
        { id: 'route-unreach', call: 'addRoute', args: [{ net: 'tcp6', gateway: '10.9.0.2@tcp9' }] },
        { id: 'route-local', call: 'ioctl.addRoute', args: [{ net: 'tcp1', gateway: '10.0.0.2@tcp' }] },
        { id: 'route-samenet', call: 'ioctl.addRoute', args: [{ net: 'tcp', gateway: '10.0.0.2@tcp' }] },
        { id: 'routes', call: 'ioctl.listRoutes' },
        { id: 'route-end', call: 'ioctl.getRoute', args: [1] },
        { id: 'route-del-unknown', call: 'ioctl.delRoute', args: [{ net: 'tcp7', gateway: '10.0.0.2@tcp' }] },
        ...(nl ? [{ id: 'nl-routes', call: 'netlink.routesShow', args: [{ verbosity: 1 }] }, { id: 'nl-nets', call: 'netlink.netsShow', args: [{ verbosity: 1 }] }] : []),
        { id: 'route-del', call: 'delRoute', args: [{ net: 'tcp5', gateway: '10.0.0.2@tcp' }] },
        { id: 'routes-after', call: 'ioctl.listRoutes' },
        ...(nl ? [{ id: 'nl-routes-empty', call: 'netlink.routesShow' }] : []),
        { id: 'peer-add', call: 'addPeer', args: [{ primaryNid: '10.0.0.50@tcp', nids: Array.from({ length: 10 }, (_, i) => `10.0.0.${60 + i}@tcp`) }] },
        { id: 'peer-add-again', call: 'ioctl.addPeerNi', args: [{ primary: '10.0.0.50@tcp' }] },
        { id: 'peer-ni', call: 'ioctl.getPeerNi', args: ['10.0.0.50@tcp'] },
        { id: 'peer-ni-unknown', call: 'ioctl.getPeerNi', args: ['10.0.0.51@tcp'] },
        { id: 'peer-list', call: 'ioctl.getPeerList' },
        ...(nl ? [{ id: 'nl-peers', call: 'netlink.peersShow', args: [{ verbosity: 1 }] }] : []),
        { id: 'peer-del-unknown', call: 'delPeer', args: [{ primaryNid: '10.0.0.51@tcp' }] },
        { id: 'peer-del', call: 'delPeer', args: [{ primaryNid: '10.0.0.50@tcp' }] },
        { id: 'ping', call: 'ping', args: ['10.0.0.2@tcp'] },
        { id: 'ping-ioctl', call: 'ioctl.ping', args: [{ nid: '10.0.0.2@tcp' }] },
        { id: 'ping-nobody', call: 'ioctl.ping', args: [{ nid: '10.0.0.99@tcp', timeoutMs: 300 }] },
        { id: 'ping-nobody-auto', call: 'ping', args: ['10.0.0.99@tcp', { timeoutMs: 300 }] },
        { id: 'discover', call: 'discover', args: ['10.0.0.2@tcp'] },
        { id: 'rtr-on', call: 'ioctl.configRouting', args: [true] },
        { id: 'buf-add', call: 'ioctl.addBuffers', args: [{ tiny: 1024 }] },
        { id: 'buf-get', call: 'ioctl.getBuffers', args: [0] },
        { id: 'buf-end', call: 'ioctl.getBuffers', args: [4096] },
        { id: 'rtr-off', call: 'ioctl.configRouting', args: [false] },
        { id: 'numa-set', call: 'ioctl.setNumaRange', args: [5] },
        { id: 'numa-get', call: 'ioctl.getNumaRange' },
        { id: 'stats', call: 'ioctl.getStats' },
        { id: 'stats-reset', call: 'ioctl.resetStats' },
        { id: 'param', call: 'modules.readParam', args: ['lnet', 'lnet_interfaces_max'] },
        { id: 'param-networks', call: 'modules.readParamRaw', args: ['lnet', 'networks'] },
        { id: 'param-bad', call: 'modules.writeParam', args: ['lnet', 'lnet_interfaces_max', '8'] },
        { id: 'param-set', call: 'modules.writeParam', args: ['lnet', 'lnet_transaction_timeout', '200'] },
        { id: 'param-get', call: 'modules.readParam', args: ['lnet', 'lnet_transaction_timeout'] },
        { id: 'param-missing', call: 'modules.readParam', args: ['lnet', 'no_such_param'] },
        { id: 'params', call: 'modules.listParams', args: ['lnet'] },
        { id: 'del-ni', call: 'delNet', args: [{ net: 'tcp1' }] },
        { id: 'del-ni-again', call: 'ioctl.delLocalNi', args: [{ net: 'tcp1' }] },
        { id: 'unconf', call: 'unconfigure' },
        { id: 'nids-after', call: 'listNids' },
      ]);

      // --- modules and detection
      const info0 = ok(r, 'info0') as { netlink?: unknown; release: string };
      assert.equal(info0.netlink, undefined, 'no lnet family before lnet.ko is loaded');
      const e0 = fails(r, 'nids-nomod', 'ENOENT');
      if (!nl) assert.equal(e0.syscall, 'open', '2.15 without modules: /dev/lnet missing');
      fails(r, 'load-missing', 'ENOENT');
      const ins = ok(r, 'load') as { name: string; path: string; options: string }[];
      assert.deepEqual(ins.map((i) => i.name), ['libcfs', 'lnet'], 'modprobe -v order: dependency first');
      assert.equal(ins[1]!.options, 'networks="tcp0(eth0)"');
      assert.match(ins[1]!.path, /lnet\.ko/);
      assert.deepEqual(ok(r, 'load-again'), [], 'already loaded: nothing inserted');
      const mods = ok(r, 'mods') as { name: string; holders: string[]; refcount: number }[];
      assert.deepEqual(mods.find((m) => m.name === 'libcfs')?.holders, ['lnet']);
      const info = ok(r, 'info') as { netlink?: { name: string; groups: Record<string, number> }; release: string; transports: Record<string, string> };
      assert.equal(info.release, release);
      if (nl) {
        assert.equal(info.netlink?.name, 'lnet');
        assert.ok('net' in info.netlink!.groups && 'route' in info.netlink!.groups);
        assert.equal(info.transports['configure'], 'netlink');
      } else {
        assert.equal(info.netlink, undefined);
        assert.equal(info.transports['configure'], 'ioctl');
      }

      // --- LNet down, configure
      const down = fails(r, 'nids-down', 'ENETDOWN');
      assert.equal(down.transport, nl ? 'netlink' : 'ioctl');
      if (nl) assert.equal(down.kernelMessage, 'LNet stack down', 'the extack text of lnet_net_show_start()');
      else assert.equal(down.op, 'IOC_LIBCFS_GET_NI');
      fails(r, 'stats-down', 'ENETDOWN');
      ok(r, 'conf');
      assert.equal(r['conf']!.transport, nl ? 'netlink' : 'ioctl');
      ok(r, 'conf-again');
      assert.deepEqual(ok(r, 'nids'), ['0@lo', '10.0.0.1@tcp']);
      assert.deepEqual(ok(r, 'nids-ioctl'), ['0@lo', '10.0.0.1@tcp']);
      fails(r, 'getni-end', 'ENOENT');

      // --- local NIs
      ok(r, 'add-ni');
      fails(r, 'add-ni-again', 'EEXIST');
      const nis = ok(r, 'local-nis') as { nid: string; status: string; interface: string; tunables: Record<string, number>; lndTunables: Record<string, number> }[];
      assert.deepEqual(nis.map((n) => n.nid), ['0@lo', '10.0.0.1@tcp', '10.1.0.1@tcp1']);
      assert.ok(nis.every((n) => n.status === 'up'));
      assert.equal(nis[2]!.interface, 'eth1');
      addedNi = nis[2];
      assert.equal(nis[1]!.tunables['peer_timeout'], 180, 'kernel default for peer_timeout -1');
      assert.equal(nis[1]!.tunables['credits'], 256, 'kernel default for credits');
      assert.ok('conns_per_peer' in nis[1]!.lndTunables);
      const ms = ok(r, 'msg-stats') as { sent: Record<string, number> };
      assert.equal(typeof ms.sent['put'], 'number');
      const hs = ok(r, 'hstats') as Record<string, number>;
      assert.equal(typeof hs['health_value'], 'number');
      ok(r, 'addnet');
      assert.equal(r['addnet']!.transport, nl ? 'netlink' : 'ioctl');
      fails(r, 'addnet-again', 'EEXIST');
      fails(r, 'addnet-noif', ['ENODEV', 'EINVAL', 'ENOENT']);
      const n2nis = ok(r, 'nis-tcp2') as { nid: string; interface: string; tunables: Record<string, number> }[];
      const tcp2 = n2nis.find((n) => n.nid === '10.1.0.1@tcp2');
      assert.ok(tcp2, 'NID from eth1\'s address (getifaddrs on the ioctl path, the kernel on netlink)');
      assert.equal(tcp2.interface, 'eth1');
      assert.equal(tcp2.tunables['peer_credits'], 32);
      ok(r, 'delnet-if');
      fails(r, 'delnet-missing', nl ? ['EINVAL', 'ENOENT'] : 'ENOENT');
      ok(r, 'addnet-nid');
      assert.ok((ok(r, 'nids-tcp4') as string[]).includes('10.1.0.1@tcp4'), 'NI added by NID (interface found by address)');
      ok(r, 'delnet-nid');
      fails(r, 'delnet-nid-unknown', 'ENOENT');
      assert.deepEqual(ok(r, 'nis-after-del'), ['0@lo', '10.0.0.1@tcp', '10.1.0.1@tcp1'], 'only the named NIs were deleted');

      // --- routes
      ok(r, 'route-add');
      fails(r, 'route-add-again', 'EEXIST');
      fails(r, 'route-unreach', 'EHOSTUNREACH');
      fails(r, 'route-local', 'EEXIST');
      fails(r, 'route-samenet', 'EINVAL');
      assert.deepEqual(
        (ok(r, 'routes') as { net: string; gateway: string; hops: number; priority: number }[]).map((x) => [x.net, x.gateway, x.hops, x.priority]),
        [['tcp5', '10.0.0.2@tcp', 1, 2]],
      );
      fails(r, 'route-end', 'ENOENT');
      fails(r, 'route-del-unknown', 'ENOENT');
      if (nl) {
        const nr = ok(r, 'nl-routes') as Record<string, unknown>[];
        assert.deepEqual(nr.map((x) => [x['net'], x['gateway'], x['hop'], x['priority']]), [['tcp5', '10.0.0.2@tcp', 1, 2]]);
        const nn = ok(r, 'nl-nets') as Record<string, unknown>[];
        assert.deepEqual(nn.map((x) => x['net type']), ['lo', 'tcp', 'tcp1']);
      }
      ok(r, 'route-del');
      assert.deepEqual(ok(r, 'routes-after'), []);
      if (nl) assert.deepEqual(ok(r, 'nl-routes-empty'), [], '"No routes found" is an empty list, as lnetctl stays silent');

      // --- peers (11 NIs: more than the first GET_PEER_NI buffer holds, so E2BIG is retried)
      ok(r, 'peer-add');
      fails(r, 'peer-add-again', ['EEXIST', 'EALREADY']);
      const peer = ok(r, 'peer-ni') as { primaryNid: string; multiRail: boolean; nis: { nid: string }[] };
      assert.equal(peer.primaryNid, '10.0.0.50@tcp');
      assert.equal(peer.multiRail, true);
      assert.equal(peer.nis.length, 11);
      assert.deepEqual(peer.nis.map((n) => n.nid).sort(), ['10.0.0.50@tcp', ...Array.from({ length: 10 }, (_, i) => `10.0.0.${60 + i}@tcp`)].sort());
      fails(r, 'peer-ni-unknown', 'ENOENT');
      assert.ok((ok(r, 'peer-list') as { nid: string }[]).some((p) => p.nid === '10.0.0.50@tcp'));
      if (nl) {
        const np = ok(r, 'nl-peers') as Record<string, unknown>[];
        assert.ok(np.some((p) => p['primary nid'] === '10.0.0.50@tcp'));
      }
      fails(r, 'peer-del-unknown', 'ENOENT');
      ok(r, 'peer-del');

      // --- ping and discovery
      const ping = ok(r, 'ping') as { primaryNid: string; nids: string[]; transport: string };
      assert.equal(ping.primaryNid, '10.0.0.2@tcp');
      assert.ok(ping.nids.includes('10.0.0.2@tcp'));
      assert.equal(ping.transport, nl ? 'netlink' : 'ioctl');
      const pi = ok(r, 'ping-ioctl') as { ids: { nid: string; pid: number }[] };
      assert.deepEqual(pi.ids[0], { nid: '0@lo', pid: 12345 }, 'entry 0 is 12345-0@lo');
      assert.ok(pi.ids.some((x) => x.nid === '10.0.0.2@tcp'));
      fails(r, 'ping-nobody', ['ETIMEDOUT', 'EHOSTUNREACH']);
      const pn = fails(r, 'ping-nobody-auto', ['ETIMEDOUT', 'EHOSTUNREACH']);
      assert.equal(pn.transport, nl ? 'netlink' : 'ioctl');
      assert.equal((ok(r, 'discover') as { primaryNid: string }).primaryNid, '10.0.0.2@tcp');

      // --- routing, buffers, numa, stats
      ok(r, 'rtr-on');
      ok(r, 'buf-add');
      const buf = ok(r, 'buf-get') as { routing: boolean; pools: { nbuffers: number }[] };
      assert.equal(buf.routing, true);
      assert.equal(buf.pools.length, 3);
      fails(r, 'buf-end', 'ENOENT');
      ok(r, 'rtr-off');
      ok(r, 'numa-set');
      assert.equal(ok(r, 'numa-get'), 5);
      const st = ok(r, 'stats') as Record<string, number>;
      assert.equal(typeof st['msgs_alloc'], 'number');
      assert.equal(typeof st['network_timeout_count'], 'number');
      assert.equal('failed_resends' in st, false, `${release} has the 13-counter health block`);
      ok(r, 'stats-reset');

      // --- module parameters
      assert.equal(ok(r, 'param'), '4096');
      assert.equal(ok(r, 'param-networks'), 'tcp0(eth0)\n');
      fails(r, 'param-bad', 'EINVAL');
      ok(r, 'param-set');
      assert.equal(ok(r, 'param-get'), '200');
      fails(r, 'param-missing', 'ENOENT');
      assert.ok((ok(r, 'params') as string[]).includes('lnet_peer_discovery_disabled'));

      // --- delete net, unconfigure
      ok(r, 'del-ni');
      fails(r, 'del-ni-again', 'ENOENT');
      ok(r, 'unconf');
      fails(r, 'nids-after', 'ENETDOWN');
    });

    test('ADD_LOCAL_NI tunables (in lic_bulk at offset 804) reach the kernel: peer_credits 16 comes back from GET_LOCAL_NI', () => {
      assert.ok(addedNi, 'the NI was added and listed by the previous test');
      assert.equal(addedNi.tunables['peer_credits'], 16);
    });

    test('Lustre holding LNet: EBUSY on unconfigure and rmmod, EINVAL for add/del when not self-configured; dependency-ordered removal', async () => {
      await emu.holdByLustre('node1', { role: 'client', fsname: 'testfs' });
      const r = await run(emu, 'node1', [
        { id: 'add-ni', call: 'ioctl.addLocalNi', args: [{ nid: '10.1.0.1@tcp1', interface: 'eth1' }] },
        { id: 'del-ni', call: 'ioctl.delLocalNi', args: [{ net: 'tcp' }] },
        { id: 'conf', call: 'configure', args: [{ all: false }] },
        { id: 'unconf', call: 'unconfigure' },
        { id: 'rmmod', call: 'modules.remove', args: ['lnet'] },
        { id: 'nids', call: 'ioctl.listNids' },
      ]);
      fails(r, 'add-ni', 'EINVAL');
      fails(r, 'del-ni', 'EINVAL');
      ok(r, 'conf');
      fails(r, 'unconf', 'EBUSY');
      fails(r, 'rmmod', 'EBUSY');
      assert.ok((ok(r, 'nids') as string[]).includes('10.0.0.1@tcp'), 'LNet stays up');
      await emu.releaseLustre('node1');
      // As lustre_rmmod: everything on top of ptlrpc first (ptlrpc's own LNet
      // reference goes with it), then LNet's self reference, then the rest.
      const r2 = await run(emu, 'node1', [
        { id: 'rm-ptlrpc', call: 'modules.removeWithDependents', args: ['ptlrpc'] },
        { id: 'unconf', call: 'unconfigure' },
        { id: 'unconf-again', call: 'unconfigure' },
        { id: 'remove', call: 'modules.removeWithDependents', args: ['libcfs'] },
        { id: 'mods', call: 'modules.list' },
        { id: 'remove-gone', call: 'modules.remove', args: ['lnet'] },
        { id: 'load-libcfs', call: 'modules.load', args: ['libcfs'] },
        { id: 'getni-libcfs', call: 'ioctl.getNi', args: [0] },
        { id: 'info-libcfs', call: 'info' },
        { id: 'rm-libcfs', call: 'modules.remove', args: ['libcfs'] },
      ]);
      const rmp = ok(r2, 'rm-ptlrpc') as string[];
      assert.equal(rmp[rmp.length - 1], 'ptlrpc');
      assert.ok(rmp.indexOf('lustre') >= 0 && rmp.indexOf('lustre') < rmp.indexOf('ptlrpc'), 'lustre (a holder of ptlrpc) goes first');
      ok(r2, 'unconf');
      ok(r2, 'unconf-again');
      const removed = ok(r2, 'remove') as string[];
      assert.equal(removed[removed.length - 1], 'libcfs', 'libcfs last');
      assert.ok(removed.indexOf('lnet') >= 0 && removed.indexOf('lnet') < removed.indexOf('libcfs'));
      if (removed.includes('ksocklnd')) assert.ok(removed.indexOf('ksocklnd') < removed.indexOf('lnet'), 'the LND before lnet');
      const left = (ok(r2, 'mods') as { name: string }[]).map((m) => m.name);
      for (const m of ['libcfs', 'lnet', 'ksocklnd', 'lustre', 'ptlrpc', 'obdclass']) assert.ok(!left.includes(m), `${m} unloaded`);
      fails(r2, 'remove-gone', 'ENOENT');
      // /dev/lnet comes from libcfs on 2.15 (LNet ioctls then EINVAL), from lnet on 2.16 (absent: open fails).
      ok(r2, 'load-libcfs');
      const g = fails(r2, 'getni-libcfs', nl ? 'ENOENT' : 'EINVAL');
      if (nl) assert.equal(g.syscall, 'open');
      else assert.equal(g.syscall, undefined, 'the kernel refused the ioctl itself');
      assert.equal((ok(r2, 'info-libcfs') as { netlink?: unknown }).netlink, undefined, 'no lnet family without lnet.ko');
      ok(r2, 'rm-libcfs');
    });

    test('injected kernel errors reach the caller with errno and op', async () => {
      await emu.injectFault({ op: 'ioctl:GET_LNET_STATS', errno: 5, count: 1, host: 'node2' });
      const r = await run(emu, 'node2', [
        { id: 'stats-eio', call: 'ioctl.getStats' },
        { id: 'stats-ok', call: 'ioctl.getStats' },
      ]);
      const e = fails(r, 'stats-eio', 'EIO');
      assert.equal(e.errno, 5);
      assert.equal(e.op, 'IOC_LIBCFS_GET_LNET_STATS');
      assert.equal(e.transport, 'ioctl');
      ok(r, 'stats-ok');
    });
  });
}
