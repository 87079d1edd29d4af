/**
 * End to end, issue 14: `hpcnet lnet fault|udsp|health|debug recovery` and
 * `net|peer set --health` run as programs on emulated hosts (facade ->
 * native backend -> kernel layer -> addon -> emulator), in both release
 * personalities: a drop rule between two hosts makes `hpcnet lnet ping` fail
 * and `fault drop reset`... `del` restores it; a UDSP rule changes which local
 * NI a Multi-Rail peer is reached through; health values put NIs on the
 * recovery queues.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { cliRunner } from './cli-runner.js';

for (const release of ['2.15', '2.16'] as const) {
  describe(`LNet fault rules, UDSP and health through the CLI (${release})`, () => {
    let emu: LnetEmulator;
    const { cli, ok } = cliRunner(() => emu);
    const json = async <T>(host: string, ...args: string[]): Promise<T> => JSON.parse(await ok(host, ...args, '--json')) as T;
    const sends = async (host: string): Promise<Record<string, number>> => {
      const nets = await json<Array<{ net: string; nis: Array<{ nid: string; statistics: Record<string, number> }> }>>(host, 'lnet', 'net', 'show', '-v', '1');
      return Object.fromEntries(nets.flatMap((n) => n.nis.map((ni) => [ni.nid, ni.statistics['send_count']!])));
    };

    before(async () => {
      emu = await LnetEmulator.start({ release, hosts: ['a=eth0:10.0.0.1,eth1:10.1.0.1', 'b=eth0:10.0.0.2,eth1:10.1.0.2'] });
      for (const h of ['a', 'b']) {
        await ok(h, 'lnet', 'load', '--networks', 'tcp(eth0),tcp1(eth1)');
        await ok(h, 'lnet', 'configure', '--all');
      }
    });
    after(async () => {
      await emu?.stop();
    });

    it('a drop rule from a to b makes hpcnet lnet ping fail; list shows it with its counters; reset keeps it; del restores the ping', async () => {
      await ok('a', 'lnet', 'ping', '10.0.0.2@tcp');
      assert.equal(await ok('a', 'lnet', 'fault', 'drop', 'add', '-s', '10.0.0.1@tcp', '-d', '10.0.0.2@tcp', '-r', '1'), 'Added drop rule 10.0.0.1@tcp->10.0.0.2@tcp (1/1)\n');
      const failed = await cli('a', 'lnet', 'ping', '10.0.0.2@tcp', '--timeout', '1');
      assert.notEqual(failed.code, 0, 'the ping fails while the rule drops its GET');
      assert.equal(
        await ok('a', 'lnet', 'fault', 'drop', 'list'),
        'LNet drop rules:\n10.0.0.1@tcp->10.0.0.2@tcp (1/1 | 0) ptl 0, msg f, 1/1, PUT 0, ACK 0, GET 1, REP 0\nfound total 1\n',
      );
      await ok('a', 'lnet', 'fault', 'drop', 'reset');
      const rules = await json<Array<{ source: string; stats: { hits: number; matched: number } }>>('a', 'lnet', 'fault', 'drop', 'list');
      assert.deepEqual(rules.map((r) => [r.source, r.stats.hits, r.stats.matched]), [['10.0.0.1@tcp', 0, 0]]);
      assert.notEqual((await cli('a', 'lnet', 'ping', '10.0.0.2@tcp', '--timeout', '1')).code, 0, 'reset zeroes the counters, the rule still drops');
      assert.equal(await ok('a', 'lnet', 'fault', 'drop', 'del', '-a'), 'Removed 1 drop rules\n');
      await ok('a', 'lnet', 'ping', '10.0.0.2@tcp');
    });

    it('bad fault rules are refused before anything is sent, saying why', async () => {
      let r = await cli('a', 'lnet', 'fault', 'drop', 'add', '-s', '10.0.0.1@tcp', '-d', '10.0.0.2@tcp', '-r', '1', '-i', '2');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /either drop rate or interval but not both/);
      r = await cli('a', 'lnet', 'fault', 'delay', 'add', '-s', '*', '-d', '*', '-r', '1', '-l', '0');
      assert.match(r.stderr, /latency cannot be zero/);
      r = await cli('a', 'lnet', 'fault', 'drop', 'add', '-s', '10.0.0.300@tcp', '-d', '*', '-r', '1');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /10\.0\.0\.300/);
      assert.match(await ok('a', 'lnet', 'fault', 'drop', 'list'), /found total 0/);
    });

    it('a delay rule: the ping is slower than its latency allows and fails; a longer timeout succeeds', async () => {
      await ok('b', 'lnet', 'fault', 'delay', 'add', '-s', '*@tcp', '-d', '*', '-r', '1', '-l', '2');
      assert.notEqual((await cli('a', 'lnet', 'ping', '10.0.0.2@tcp', '--timeout', '1')).code, 0);
      await ok('a', 'lnet', 'ping', '10.0.0.2@tcp', '--timeout', '5');
      assert.match(await ok('b', 'lnet', 'fault', 'delay', 'list'), /^LNet delay rules:\n255\.255\.255\.255@tcp-><\?> \(1\/1 \| 0, latency 2\) ptl 0, msg f, 2\/2, /);
      assert.equal(await ok('b', 'lnet', 'fault', 'delay', 'del', '-a'), 'Removed 1 delay rules\n');
    });

    it('UDSP: a src net priority changes the local NI a Multi-Rail peer is reached through; show prints the rules; del restores', async () => {
      await ok('a', 'lnet', 'discover', '10.0.0.2@tcp');
      let before = await sends('a');
      await ok('a', 'lnet', 'ping', '10.0.0.2@tcp');
      let now = await sends('a');
      assert.equal(now['10.0.0.1@tcp']! - before['10.0.0.1@tcp']!, 1);
      assert.equal(now['10.1.0.1@tcp1']! - before['10.1.0.1@tcp1']!, 0);
      await ok('a', 'lnet', 'udsp', 'add', '--src', 'tcp1', '--priority', '0');
      await ok('a', 'lnet', 'udsp', 'add', '--dst', '10.1.0.[1-9]@tcp1', '--priority', '3');
      assert.equal(
        await ok('a', 'lnet', 'udsp', 'show'),
        'udsp:\n    - idx: 0\n      src: tcp1\n      dst: NA\n      rte: NA\n      action:\n          priority: 0\n    - idx: 1\n      src: NA\n      dst: 10.1.0.[1-9]@tcp1\n      rte: NA\n      action:\n          priority: 3\n',
      );
      before = now;
      await ok('a', 'lnet', 'ping', '10.0.0.2@tcp');
      now = await sends('a');
      assert.equal(now['10.1.0.1@tcp1']! - before['10.1.0.1@tcp1']!, 1, 'through tcp1 now');
      assert.equal(now['10.0.0.1@tcp']! - before['10.0.0.1@tcp']!, 0);
      const r = await cli('a', 'lnet', 'udsp', 'add', '--src', 'tcp1', '--rte', '10.0.0.9@tcp');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /src and rte cannot be combined/);
      await ok('a', 'lnet', 'udsp', 'del', '--all');
      assert.equal(await ok('a', 'lnet', 'udsp', 'show'), '');
      before = now;
      await ok('a', 'lnet', 'ping', '10.0.0.2@tcp');
      now = await sends('a');
      assert.equal(now['10.0.0.1@tcp']! - before['10.0.0.1@tcp']!, 1);
    });

    it('health: net set --health puts a local NI on the recovery queue, peer set --health a peer NI; health show and debug recovery report them', async () => {
      await ok('a', 'lnet', 'net', 'set', '--health', '300', '--nid', '10.0.0.1@tcp');
      await ok('a', 'lnet', 'peer', 'set', '--health', '0', '--nid', '10.1.0.2@tcp1');
      assert.deepEqual(await json('a', 'lnet', 'debug', 'recovery', '--local'), { type: 'local', nids: ['10.0.0.1@tcp'] });
      assert.equal(await ok('a', 'lnet', 'debug', 'recovery', '--peer'), 'Peer NI recovery:\n    - nid: 10.1.0.2@tcp1\n');
      const h = await json<{ local: Array<{ nid: string; healthValue: number }>; peer: Array<{ nid: string; healthValue: number }> }>('a', 'lnet', 'health', 'show');
      assert.equal(h.local.find((x) => x.nid === '10.0.0.1@tcp')?.healthValue, 300);
      assert.equal(h.local.find((x) => x.nid === '10.1.0.1@tcp1')?.healthValue, 1000);
      assert.equal(h.peer.find((x) => x.nid === '10.1.0.2@tcp1')?.healthValue, 0);
      const bad = await cli('a', 'lnet', 'net', 'set', '--health', '1001', '--all');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /0-1000/);
      await ok('a', 'lnet', 'net', 'set', '--health', '1000', '--all');
      await ok('a', 'lnet', 'peer', 'set', '--health', '1000', '--all');
      assert.deepEqual(await json('a', 'lnet', 'debug', 'recovery', '--local'), { type: 'local', nids: [] });
      assert.deepEqual(await json('a', 'lnet', 'debug', 'recovery', '--peer'), { type: 'peer', nids: [] });
    });
  });
}
