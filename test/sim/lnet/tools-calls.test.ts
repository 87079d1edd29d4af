/**
 * Issue 14 on the emulator, driven by tools-client.c, which makes the calls
 * lctl and lnetctl make (same ioctl numbers, struct layouts checked against
 * the release headers at compile time, the same parameter-path globbing and
 * interface checks): LNet fault rules (IOC_LIBCFS_LNET_FAULT, and
 * LNET_CMD_FAULT on 2.16) with their effect on pings between emulated hosts,
 * health values and recovery queues, the libcfs parameter paths
 * (lnet_lnd_timeout, Lustre `devices` and `version`), and the emulated
 * host's network (SIOCGIF*, getifaddrs, NETLINK_ROUTE dumps, /sys/class/net).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { configNi, decodeDump, ioctl, v2, list, nid, nl, nlRequest, pingData, resolveFamily, s64, str, toolsClientPath, v1 } from './helpers.js';

const ETIMEDOUT = 110, ENOENT = 2, EPERM = 1;
const NR = { CONFIGURE: 59, PING: 62 };

for (const release of ['2.15', '2.16'] as const) {
  describe(`LNet emulator: what lctl/lnetctl call, ${release} personality`, () => {
    let emu: LnetEmulator;
    const tools = async (host: string, args: string[]) => {
      const r = await emu.exec(host, toolsClientPath(), args, { timeoutMs: 30_000 });
      return { code: r.code, out: r.stdout, err: r.stderr };
    };
    const ping = async (from: string, to: bigint, timeoutMs: number) => (await ioctl(emu, from, NR.PING, pingData(to, timeoutMs, 16), 16 * 16)).errno;
    const A = nid('10.0.0.1'), B = nid('10.0.0.2');

    before(async () => {
      toolsClientPath();
      emu = await LnetEmulator.start({ release, hosts: ['a=eth0:10.0.0.1,eth1:10.1.0.1/16', 'b=eth0:10.0.0.2,eth1:10.1.0.2/16'] });
      for (const h of ['a', 'b']) {
        await emu.modprobe(h, 'lnet');
        assert.equal((await ioctl(emu, h, NR.CONFIGURE, v1({ flags: 0 }))).errno, 0);
      }
    });
    after(async () => {
      await emu?.stop();
    });

    test('a drop rule (lctl net_drop_add) makes pings from a to b time out; list counts it; reset clears the counts; del restores', async () => {
      assert.equal(await ping('a', B, 2000), 0, 'ping works before the rule');
      let r = await tools('a', ['fault', 'drop', 'add', '10.0.0.1@tcp', '10.0.0.2@tcp', '-r', '1']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'Added drop rule 10.0.0.1@tcp->10.0.0.2@tcp (1/1)\n');
      r = await tools('a', ['fault', 'drop', 'list']);
      assert.equal(r.code, 0, 'the list ends (ENOENT after the last rule)');
      assert.equal(r.out, 'LNet drop rules:\n10.0.0.1@tcp->10.0.0.2@tcp (1/0) ptl 0, msg f, 0/0, PUT 0, ACK 0, GET 0, REP 0\nfound total 1\nend errno=2\n'.replace('(1/0)', '(1/1 | 0)').replace('(1/1 | 0)', '(1/1 | 0)').replace('1/1 | 0', '1 | 0').replace('(1 | 0)', '(1/1 | 0)'));
      assert.equal(await ping('a', B, 300), ETIMEDOUT, 'the GET is dropped');
      r = await tools('a', ['fault', 'drop', 'list']);
      assert.match(r.out, /10\.0\.0\.1@tcp->10\.0\.0\.2@tcp \(1\/1 \| 0\) ptl 0, msg f, 1\/1, PUT 0, ACK 0, GET 1, REP 0\n/);
      assert.equal((await tools('a', ['fault', 'drop', 'reset'])).code, 0);
      assert.match((await tools('a', ['fault', 'drop', 'list'])).out, /msg f, 0\/0, PUT 0, ACK 0, GET 0, REP 0\nfound total 1\n/, 'reset keeps the rule, zeroes its counters');
      assert.equal(await ping('b', A, 300), ETIMEDOUT, 'the REPLY from a to b matches nothing, but the GET b->a... is 10.0.0.2->10.0.0.1: not matched; a sends the REPLY a->b which matches');
      r = await tools('a', ['fault', 'drop', 'del', '10.0.0.1@tcp', '10.0.0.2@tcp']);
      assert.equal(r.out, 'Removed 1 drop rules\n');
      assert.equal(await ping('a', B, 2000), 0, 'ping works again');
      assert.match((await tools('a', ['fault', 'drop', 'list'])).out, /^LNet drop rules:\nfound total 0\nend errno=2\n$/);
    });

    test('rule validation as the kernel: rate xor interval, delay needs a latency; wildcard net rules; del -a', async () => {
      assert.match((await tools('a', ['fault', 'drop', 'add', '*', '*'])).err, /add drop rule <\?>-><\?> failed: Invalid argument/);
      assert.match((await tools('a', ['fault', 'drop', 'add', '*', '*', '-r', '1', '-i', '1'])).err, /Invalid argument/);
      assert.match((await tools('a', ['fault', 'delay', 'add', '*', '*', '-r', '1'])).err, /add delay rule .* failed: Invalid argument/);
      assert.equal((await tools('b', ['fault', 'drop', 'add', '*@tcp', '*', '-r', '1', '-m', 'reply'])).code, 0);
      assert.match((await tools('b', ['fault', 'drop', 'list'])).out, /^LNet drop rules:\n255\.255\.255\.255@tcp-><\?> \(1\/1 \| 0\) ptl 0, msg 8, /);
      assert.equal(await ping('a', B, 300), ETIMEDOUT, 'b drops its REPLY to a');
      assert.equal((await tools('b', ['fault', 'drop', 'del', '-a'])).out, 'Removed 1 drop rules\n');
      assert.equal(await ping('a', B, 2000), 0);
    });

    test('a delay rule slows pings: a latency beyond the timeout fails the ping, a longer timeout succeeds', async () => {
      assert.equal((await tools('b', ['fault', 'delay', 'add', '10.0.0.1@tcp', '10.0.0.2@tcp', '-r', '1', '-l', '1'])).code, 0);
      assert.equal(await ping('a', B, 300), ETIMEDOUT, 'delayed by 1 s, timeout 0.3 s');
      assert.equal(await ping('a', B, 5000), 0, 'delayed by 1 s, timeout 5 s');
      const r = await tools('b', ['fault', 'delay', 'list']);
      assert.match(r.out, /^LNet delay rules:\n10\.0\.0\.1@tcp->10\.0\.0\.2@tcp \(1\/1 \| 0, latency 1\) ptl 0, msg f, 2\/2, PUT 0, ACK 0, GET 2, REP 0\nfound total 1\n/);
      assert.equal((await tools('b', ['fault', 'delay', 'del', '-a'])).out, 'Removed 1 delay rules\n');
    });

    if (release === '2.16') {
      test('LNET_CMD_FAULT: a dump lists the ioctl-added rules with the fault key table; a doit deletes them', async () => {
        assert.equal((await tools('a', ['fault', 'drop', 'add', '10.0.0.1@tcp', '10.0.0.2@tcp', '-r', '3'])).code, 0);
        const { family } = await resolveFamily(emu, 'a');
        const show = nlRequest(family, 0x300 | 0x5, 12, 5, [str(5, 'rule_type'), s64(6, 3)]);
        const d = decodeDump((await nl(emu, 'a', show)).dgrams);
        assert.equal(d.error, undefined);
        assert.equal(d.objects.length, 1);
        const o = d.objects[0] as Record<string, unknown>;
        assert.equal(o['fa_src'], '10.0.0.1@tcp');
        assert.equal(o['fa_dst'], '10.0.0.2@tcp');
        assert.equal(Number(o['da_rate']), 3);
        const del = nlRequest(family, 0x5, 12, 5, [list(list(str(5, 'rule_type'), s64(6, 1), str(5, 'fa_src'), str(5, '10.0.0.1@tcp'), str(5, 'fa_dst'), str(5, '10.0.0.2@tcp')))]);
        await nl(emu, 'a', del);
        assert.match((await tools('a', ['fault', 'drop', 'list'])).out, /found total 0/);
      });
    }

    test('UDSP (lnetctl udsp add/show/del over ioctls 105-108): a src net priority moves a Multi-Rail peer onto the other local NI', async () => {
      for (const [h, ip] of [['a', '10.1.0.1'], ['b', '10.1.0.2']] as const) assert.equal((await ioctl(emu, h, 95, configNi(nid(ip, 2, 1), 'eth1'))).errno, 0);
      assert.equal((await ioctl(emu, 'a', 77, pingData(B, 0, 16), 256)).errno, 0, 'discovery: b is a Multi-Rail peer with two NIDs');
      const tun = release === '2.15' ? 52 : 168;
      const sends = async () => {
        const out: number[] = [];
        for (const idx of [1, 2]) {
          const b = v2(808 + 12 + tun);
          b.writeUInt32LE(idx, 792);
          out.push((await ioctl(emu, 'a', 97, b)).data!.readUInt32LE(804));
        }
        return out; // [tcp NI, tcp1 NI]
      };
      let before = await sends();
      assert.equal(await ping('a', B, 2000), 0);
      let now = await sends();
      assert.deepEqual([now[0]! - before[0]!, now[1]! - before[1]!], [1, 0], 'without rules the asked NID\'s net (tcp) is used');
      let r = await tools('a', ['udsp', 'add', '--src', 'tcp1', '--priority', '0']);
      assert.equal(r.out, 'rc=0\n');
      assert.equal((await tools('a', ['udsp', 'add', '--dst', '10.0.0.[1-9]@tcp', '--priority', '5'])).out, 'rc=0\n');
      r = await tools('a', ['udsp', 'show']);
      assert.equal(
        r.out,
        'udsp:\n    - idx: 0\n      src: type 2 net [1-1/1]\n      dst: NA\n      rte: NA\n      action:\n          priority: 0\n' +
          '    - idx: 1\n      src: NA\n      dst: type 2 net [0-0/1] addr [10-10/1].[0-0/1].[0-0/1].[1-9/1]\n      rte: NA\n      action:\n          priority: 5\n' +
          'end errno=2\n',
      );
      before = now;
      assert.equal(await ping('a', B, 2000), 0);
      now = await sends();
      assert.deepEqual([now[0]! - before[0]!, now[1]! - before[1]!], [0, 1], 'the tcp1 NI (priority 0) reaches b through its tcp1 NID');
      assert.equal((await tools('a', ['udsp', 'del', '0'])).out, 'rc=0\n');
      assert.match((await tools('a', ['udsp', 'show'])).out, /^udsp:\n    - idx: 0\n      src: NA\n      dst: type 2/, 'the indexes close up');
      assert.equal((await tools('a', ['udsp', 'del', '7'])).out, `rc=-${ENOENT}\n`);
      assert.equal((await tools('a', ['udsp', 'del', '-1'])).out, 'rc=0\n', '-1 deletes every rule');
      before = now;
      assert.equal(await ping('a', B, 2000), 0);
      now = await sends();
      assert.deepEqual([now[0]! - before[0]!, now[1]! - before[1]!], [1, 0]);
    });

    test('health values: IOC_LIBCFS_SET_HEALHV puts an NI or a peer NI on the recovery queue; 1000 takes it off', async () => {
      assert.match((await tools('a', ['recovery', 'local'])).out, /^rc=0 count=0\n$/);
      assert.equal((await tools('a', ['health', 'set', 'local', '10.0.0.1@tcp', '500'])).code, 0);
      assert.match((await tools('a', ['recovery', 'local'])).out, /^rc=0 count=1\nnid: 10\.0\.0\.1@tcp\n$/);
      assert.match((await tools('a', ['health', 'set', 'local', '10.9.9.9@tcp', '500'])).out, new RegExp(`rc=-${ENOENT}`));
      assert.equal((await tools('a', ['health', 'set', 'local', 'all', '1000'])).code, 0);
      assert.match((await tools('a', ['recovery', 'local'])).out, /count=0/);
      assert.equal(await ping('a', B, 2000), 0, 'a ping creates the peer');
      assert.equal((await tools('a', ['health', 'set', 'peer', '10.0.0.2@tcp', '0'])).code, 0);
      assert.match((await tools('a', ['recovery', 'peer'])).out, /^rc=0 count=1\nnid: 10\.0\.0\.2@tcp\n$/);
      assert.equal((await tools('a', ['health', 'set', 'peer', 'all', '1000'])).code, 0);
      assert.match((await tools('a', ['recovery', 'peer'])).out, /count=0/);
    });

    test('parameters through the libcfs paths: lnet_lnd_timeout found by the brace glob, debugfs never mounted on the real machine', async () => {
      for (const style of ['2.15', '2.16']) {
        const r = await tools('a', ['param', style, 'lnet_lnd_timeout']);
        assert.equal(r.code, 0, r.out + r.err);
        assert.doesNotMatch(r.out, /mounting/, 'statfs(/sys/kernel/debug) reports debugfs');
        assert.match(r.out, /^glob=0\npath=\/sys\/kernel\/debug\/lnet\/lnet_lnd_timeout\n\| \d+\n$/);
      }
      assert.match((await tools('a', ['param', release, 'devices'])).out, /^glob=3\n/, 'no Lustre devices without a Lustre hold (GLOB_NOMATCH)');
      assert.match((await tools('a', ['param', release, 'debug_mb'])).out, /^glob=0\npath=\/sys\/kernel\/debug\/lnet\/debug_mb\n\| 80\n$/, "libcfs's own parameters (lustre_rmmod -d reads debug and debug_mb)");
      assert.match((await tools('a', ['param', release, '{debug,printk}'])).out, /^glob=0\npath=\/sys\/kernel\/debug\/lnet\/debug\npath=\/sys\/kernel\/debug\/lnet\/printk\n\| ioctl neterror /, 'nested braces in the pattern');
    });

    test('Lustre devices and version exist through the parameter paths while a Lustre role holds LNet, and go when released', async () => {
      await emu.holdByLustre('b', { role: 'mgs' });
      let r = await tools('b', ['param', release, 'devices']);
      assert.match(r.out, /^glob=0\n/);
      assert.deepEqual(r.out.split('\n').filter((l) => l.startsWith('path=')).sort(), ['path=/proc/fs/lustre/devices', 'path=/sys/fs/lustre/devices']);
      assert.match(r.out, /\n\|\s+\d+ UP mgs MGS MGS \d+\n/, 'the lctl dl lines');
      r = await tools('b', ['param', release, 'version']);
      assert.match(r.out, new RegExp(`path=/sys/fs/lustre/version\\n\\| lustre: ${release.replace('.', '\\.')}\\.\\d+\\n`));
      r = await tools('b', ['param', release, 'mgs/*/uuid']);
      assert.match(r.out, /^glob=0\n(path=\/(proc|sys)\/fs\/lustre\/mgs\/MGS\/uuid\n){2}\| MGS\n$/, 'a device parameter, found by a wildcard');
      await emu.releaseLustre('b');
      r = await tools('b', ['param', release, 'devices']);
      assert.match(r.out, /^glob=0\n(path=\S+\n){2}$/, 'obdclass stays loaded: the devices file is there, empty');
      assert.match((await tools('b', ['param', release, 'mgs/*/uuid'])).out, /^glob=3\n$/, 'the device parameters are gone');
    });

    test('the emulated host network: SIOCGIF* (2.15 liblnetconfig check), getifaddrs, SIOCGIFCONF, NETLINK_ROUTE dumps, /sys/class/net agree', async () => {
      let r = await tools('a', ['intf', 'eth1']);
      assert.match(r.out, /^intf eth1 flags=0x1043 up=1 addr=10\.1\.0\.1\nnetmask=255\.255\.0\.0\nindex=3\nnametoindex=3\n/);
      assert.match(r.out, new RegExp(`setflags=-1 errno=${EPERM}\\n`), 'no interface is ever changed');
      r = await tools('b', ['intf', 'eth2']);
      assert.match(r.out, /^couldn't query intf eth2 errno=19\n/, 'b has no eth2, whatever the real machine has');
      assert.equal((await tools('a', ['ifaddrs'])).out, 'ifaddr lo 127.0.0.1\nifaddr eth0 10.0.0.1\nifaddr eth1 10.1.0.1\n');
      assert.equal((await tools('a', ['ifconf'])).out, 'ifconf lo 127.0.0.1\nifconf eth0 10.0.0.1\nifconf eth1 10.1.0.1\n');
      r = await tools('a', ['rtnl']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^link 1 lo flags=0x10049\nlink 2 eth0 flags=0x11043\nlink 3 eth1 flags=0x11043\naddr 1 lo 127\.0\.0\.1\/8\naddr 2 eth0 10\.0\.0\.1\/24\naddr 3 eth1 10\.1\.0\.1\/16\nnewlink error=-1\n$/);
      const s = (await tools('a', ['sysnet'])).out.split('\n').filter(Boolean).sort();
      assert.deepEqual(s, ['sysnet eth0 2', 'sysnet eth1 3', 'sysnet lo 1']);
    });
  });
}
