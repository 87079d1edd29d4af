/**
 * Issue 4 queries against ibsim + OpenSM, with infiniband-diags on the same
 * fabric as the oracle: every `hpcnet ib ...` command's text is compared
 * with what smpquery, saquery, perfquery, sminfo, ibaddr, ibroute,
 * ibtracert, ibportstate and smpdump print. Fabric: 3 leaves, 2 spines,
 * 12 hosts (LIDs are assigned by OpenSM: the test reads them from
 * ibnetdiscover-independent SA NodeRecords of the real saquery).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim, type ExecResult } from '../../../lib/sim/ibsim.js';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { cliEntry, packageRoot } from '../../../lib/util/paths.js';
import { parseSaReply, nodeRecordFrom } from '../../../lib/ib/queries/sa.js';
import { tempDir } from '../../helpers/tmp.js';

const rawClient = join(packageRoot(), 'dist', 'test', 'ib', 'queries', 'clients', 'raw-sa.js');

describe('hpcnet ib queries vs infiniband-diags (3 leaves, 2 spines, 12 hosts)', () => {
  let sim: IbSim;
  const nodes: Array<{ lid: number; type: string; desc: string; ports: number; guid: string }> = [];
  const hostLids: number[] = [];
  const switchLids: number[] = [];

  /** Run a program under the simulator, retrying while ibsim's 10 client slots are busy. */
  const run = async (cmd: string, args: string[]): Promise<ExecResult> => {
    let r = await sim.exec(cmd, args, { timeoutMs: 60_000 });
    for (let k = 0; k < 8 && r.code !== 0 && /connect failed/.test(r.stderr); k++) {
      await new Promise((res) => setTimeout(res, 250));
      r = await sim.exec(cmd, args, { timeoutMs: 60_000 });
    }
    return r;
  };
  const tool = async (cmd: string, args: string[]) => {
    const r = await run(cmd, args);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const hp = async (args: string[], expectCode = 0) => {
    const r = await run(process.execPath, [cliEntry(), 'ib', ...args]);
    assert.equal(r.code, expectCode, `hpcnet ib ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  /** Pairs of (ours, theirs) with limited parallelism (ibsim: at most 10 clients, OpenSM holds one). */
  const pairs = async (list: Array<[string[], string, string[]]>) => {
    const out: Array<[string, string]> = new Array(list.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        while (next < list.length) {
          const i = next++;
          const [ours, cmd, theirs] = list[i]!;
          out[i] = [(await hp(ours)).stdout, await tool(cmd, theirs)];
        }
      }),
    );
    return out;
  };

  before(async () => {
    const dir = tempDir('hpcnet-q-');
    const file = join(dir, 'ft12.net');
    writeFileSync(file, generateFatTree({ leaves: 3, spines: 2, hostsPerLeaf: 4, speed: 'EDR', degraded: [{ host: 12, width: '1x' }] }));
    sim = await IbSim.start({ topology: file });
    // The oracle's view of the fabric: one saquery NodeRecord per LID (single-record queries work without RMPP).
    for (let lid = 1; lid <= 17; lid++) {
      const t = await tool('saquery', ['NR', String(lid)]);
      const get = (k: string) => new RegExp(`${k}\\.+(.*)`).exec(t)?.[1]?.trim() ?? '';
      const type = get('node_type');
      nodes.push({ lid, type, desc: get('NodeDescription'), ports: Number(get('num_ports')), guid: get('port_guid') });
      (type === 'Switch' ? switchLids : hostLids).push(lid);
    }
    assert.equal(switchLids.length, 5);
    assert.equal(hostLids.length, 12);
  });
  after(async () => {
    await sim?.stop();
  });

  it('query pkeys, sl2vl, vlarb, guids, nodeinfo, portinfo, switchinfo: text equal to smpquery (by LID and -D)', async () => {
    const list: Array<[string[], string, string[]]> = [];
    for (const n of nodes.slice(0, 17)) {
      const p = '1';
      for (const [ours, theirs] of [
        ['pkeys', 'pkeys'],
        ['sl2vl', 'sl2vl'],
        ['vlarb', 'vlarb'],
        ['guids', 'guidinfo'],
      ] as const) {
        list.push([['query', ours, String(n.lid), p], 'smpquery', [theirs, String(n.lid), p]]);
      }
    }
    const sw = switchLids[0]!;
    list.push([['query', 'pkeys', String(sw), '0'], 'smpquery', ['pkeys', String(sw), '0']]);
    list.push([['query', 'sl2vl', String(sw), '3'], 'smpquery', ['sl2vl', String(sw), '3']]);
    list.push([['query', 'switchinfo', String(sw)], 'smpquery', ['switchinfo', String(sw)]]);
    list.push([['query', 'nodeinfo', '-D', '0,1'], 'smpquery', ['-D', 'nodeinfo', '0,1']]);
    list.push([['query', 'vlarb', '-D', '0,1', '2'], 'smpquery', ['-D', 'vlarb', '0,1', '2']]);
    list.push([['query', 'pkeys', '-D', '0,1,5', '1'], 'smpquery', ['-D', 'pkeys', '0,1,5', '1']]);
    const res = await pairs(list);
    res.forEach(([a, b], i) => assert.equal(a, b, `${list[i]![0].join(' ')}`));
    // -G resolves a port GUID through the SA.
    const h = nodes.find((n) => n.type !== 'Switch' && n.lid > 1)!;
    const [g] = await pairs([[['query', 'nodeinfo', '-G', h.guid], 'smpquery', ['nodeinfo', String(h.lid)]]]);
    assert.equal(g![0].replace(/^# Node info: .*\n/, ''), g![1].replace(/^# Node info: .*\n/, ''));
    // JSON: GUIDs as 0x + 16 hex digits.
    const j = JSON.parse((await hp(['query', 'guids', String(h.lid), '--json'])).stdout) as { capacity: number; guids: string[] };
    assert.equal(j.guids[0], h.guid);
    assert.match(j.guids[1]!, /^0x[0-9a-f]{16}$/);
  });

  it('LFT: route equals ibroute for every switch; lft block and trace equal ibtracert; dump equals smpdump', async () => {
    const list: Array<[string[], string, string[]]> = switchLids.map((l) => [['route', String(l)], 'ibroute', [String(l)]]);
    list.push([['route', '-D', '0,1'], 'ibroute', ['-D', '0,1']]);
    const pairsList: Array<[number, number]> = [];
    for (const s of hostLids.slice(0, 4)) for (const d of [...hostLids.slice(-3), ...switchLids.slice(0, 2)]) if (s !== d) pairsList.push([s, d]);
    pairsList.push([hostLids[0]!, hostLids[0]!]);
    for (const [s, d] of pairsList) list.push([['trace', String(s), String(d)], 'ibtracert', [String(s), String(d)]]);
    list.push([['dump', '0x11', '-D', '0,1'], 'smpdump', ['-D', '0,1', '0x11']]);
    list.push([['dump', '0x15', '-D', '0,1', '3'], 'smpdump', ['-D', '0,1', '0x15', '3']]);
    const res = await pairs(list);
    res.forEach(([a, b], i) => assert.equal(a, b, `${list[i]![0].join(' ')}`));
    // Every valid LID of the first switch's LFT appears in the JSON, with ports equal to ibroute's column.
    const j = JSON.parse((await hp(['route', String(switchLids[0]), '--json'])).stdout) as { entries: Array<{ lid: number; port: number; destination: { portGuid: string } }> };
    const text = res[0]![1];
    for (const e of j.entries) assert.ok(text.includes(`0x${e.lid.toString(16).padStart(4, '0')} ${String(e.port).padStart(3, '0')} : `), `LID ${e.lid}`);
    assert.equal(j.entries.length, Number(/(\d+) valid lids dumped/.exec(text)![1]));
  });

  it('MFT: entries written to a switch read back equal ibroute -M; query mft block masks', async () => {
    const sw = switchLids[3]!;
    const setter = join(packageRoot(), 'dist', 'test', 'ib', 'queries', 'clients', 'set-mft.js');
    const w = await run(process.execPath, [setter, JSON.stringify({ lid: sw, block: 1, masks: { 0: 0b1010, 7: 0b1001 } })]);
    assert.equal(w.code, 0, w.stderr);
    const [[a, b]] = (await pairs([[['route', '-M', String(sw)], 'ibroute', ['-M', String(sw)]]])) as Array<[string, string]>;
    assert.equal(a, b);
    assert.match(b!, /2 valid mlids dumped/);
    const j = JSON.parse((await hp(['route', '-M', String(sw), '--json'])).stdout) as { entries: Array<{ mlid: number; ports: number[] }> };
    assert.deepEqual(j.entries, [
      { mlid: 0xc020, ports: [1, 3] },
      { mlid: 0xc027, ports: [0, 3] },
    ]);
    const blk = JSON.parse((await hp(['query', 'mft', String(sw), '1', '--json'])).stdout) as { portMasks: number[] };
    assert.equal(blk.portMasks[0], 0b1010);
    assert.equal(blk.portMasks[7], 0b1001);
  });

  it('sminfo and addr equal sminfo and ibaddr', async () => {
    const strip = (s: string) => s.replace(/activity count \d+/, 'activity count N');
    const [[a, b]] = (await pairs([[['sminfo'], 'sminfo', []]])) as Array<[string, string]>;
    assert.equal(strip(a!), strip(b!));
    const list: Array<[string[], string, string[]]> = [[['addr'], 'ibaddr', []]];
    for (const n of nodes.slice(0, 8)) {
      list.push([['addr', String(n.lid)], 'ibaddr', [String(n.lid)]]);
      list.push([['addr', '-l', String(n.lid)], 'ibaddr', ['-l', String(n.lid)]]);
    }
    list.push([['addr', '-D', '0,1'], 'ibaddr', ['-D', '0,1']]);
    list.push([['addr', '-G', nodes[4]!.guid], 'ibaddr', ['-G', nodes[4]!.guid]]);
    const res = await pairs(list);
    res.forEach(([x, y], i) => assert.equal(x, y, `${list[i]![0].join(' ')}`));
  });

  it('SA single-record queries equal saquery (NodeRecord, PathRecord, LinkRecord, SMInfoRecord); filters by GUID and node description', async () => {
    const list: Array<[string[], string, string[]]> = [];
    for (const n of nodes) list.push([['sa', 'NR', String(n.lid)], 'saquery', ['NR', String(n.lid)]]);
    list.push([['sa', 'PR', '--slid', String(hostLids[0]), '--dlid', String(hostLids[5])], 'saquery', ['--src-to-dst', `${hostLids[0]}:${hostLids[5]}`]]);
    list.push([['sa', 'PR', '--slid', String(hostLids[2]), '--dlid', String(switchLids[1])], 'saquery', ['--src-to-dst', `${hostLids[2]}:${switchLids[1]}`]]);
    const sw = nodes.find((n) => n.type === 'Switch')!;
    for (let p = 1; p <= sw.ports; p++) list.push([['sa', 'LR', '--lid', String(sw.lid), '--port', String(p)], 'saquery', ['LR', `${sw.lid}/${p}`]]);
    for (const n of nodes.filter((x) => x.type !== 'Switch').slice(0, 4)) {
      list.push([['sa', 'PIR', String(n.lid)], 'saquery', ['PIR', String(n.lid)]]);
      list.push([['sa', 'GIR', String(n.lid)], 'saquery', ['GIR', String(n.lid)]]);
    }
    list.push([['sa', 'MCMR'], 'saquery', ['MCMR']]);
    const res = await pairs(list);
    res.forEach(([x, y], i) => assert.equal(x, y, `${list[i]![0].join(' ')}`));
    const strip = (s: string) => s.replace(/ActCount\.+\d+/, 'ActCount');
    const [[a, b]] = (await pairs([[['sa', 'SMIR'], 'saquery', ['SMIR']]])) as Array<[string, string]>;
    assert.equal(strip(a!), strip(b!));
    // By node description and by GUID: the same record as by LID.
    const h = nodes.find((n) => n.type !== 'Switch' && n.lid > 3)!;
    const byDesc = JSON.parse((await hp(['sa', 'NR', '--desc', h.desc, '--json'])).stdout) as { records: Array<{ lid: number }> };
    assert.deepEqual(byDesc.records.map((r) => r.lid), [h.lid]);
    const byGuid = JSON.parse((await hp(['sa', 'NR', '--guid', h.guid, '--json'])).stdout) as { records: Array<{ lid: number; nodeInfo: { portGuid: string } }> };
    assert.equal(byGuid.records[0]!.lid, h.lid);
    assert.equal(byGuid.records[0]!.nodeInfo.portGuid, h.guid);
    // PortInfoRecord of a CA: the PortInfo fields equal smpquery's.
    const pir = JSON.parse((await hp(['sa', 'PIR', '--lid', String(h.lid), '--json'])).stdout) as { records: Array<{ portNum: number; portInfo: { lid: number; linkWidthActive: string } }> };
    assert.equal(pir.records.length, 1);
    assert.equal(pir.records[0]!.portInfo.lid, h.lid);
    const pi = await tool('smpquery', ['portinfo', String(h.lid), '1']);
    assert.equal(pir.records[0]!.portInfo.linkWidthActive, /LinkWidthActive:\.+(\S+)/.exec(pi)![1]);
    // GUIDInfoRecord: block 0 starts with the port GUID.
    const gir = JSON.parse((await hp(['sa', 'GIR', '--lid', String(h.lid), '--block', '0', '--json'])).stdout) as { records: Array<{ guids: string[] }> };
    assert.equal(gir.records[0]!.guids[0], h.guid);
    // An unfiltered table is cut to one MAD by the simulator: reported as truncated.
    const all = await hp(['sa', 'NR']);
    assert.match(all.stderr, /cut short/);
  });

  it('the multi-record parser: a GetTable reply reassembled from recorded single-record replies yields every record', async () => {
    const r = await run(process.execPath, [rawClient, JSON.stringify(nodes.map((n) => n.lid))]);
    assert.equal(r.code, 0, r.stderr);
    const replies = (JSON.parse(r.stdout) as string[]).map((h) => Buffer.from(h, 'hex'));
    const singles = replies.map((m) => parseSaReply(m));
    for (const s of singles) assert.equal(s.records.length, 1);
    const size = singles[0]!.recordSize;
    // What the kernel hands over after RMPP reassembly: the first segment's
    // headers, then every segment's data back to back (RMPP PayloadLength = SA header + data).
    const head = Buffer.from(replies[0]!.subarray(0, 56));
    head[3] = 0x92; // method: GetTableResp
    // RMPP header (IBA 13.6.2.1, bytes 24..35): version 1, type DATA, flags active|first|last, segment 1.
    head[24] = 1;
    head[25] = 1;
    head[26] = (0x1f << 3) | 0x07;
    head.writeUInt32BE(1, 28);
    const data = Buffer.concat(singles.map((s) => s.records[0]!));
    head.writeUInt32BE(20 + data.length, 32); // PayloadLength: SA header + records
    const table = parseSaReply(Buffer.concat([head, data]));
    assert.equal(table.truncated, false);
    assert.equal(table.recordSize, size);
    assert.equal(table.records.length, nodes.length);
    table.records.map(nodeRecordFrom).forEach((rec, i) => {
      assert.equal(rec.lid, nodes[i]!.lid);
      assert.equal(rec.nodeDescription, nodes[i]!.desc);
      assert.equal('0x' + rec.nodeInfo.portGuid.toString(16).padStart(16, '0'), nodes[i]!.guid);
    });
    // The same buffer cut to one MAD (what umad2sim delivers) is flagged as truncated, with only whole records.
    const cut = parseSaReply(Buffer.concat([head, data]).subarray(0, 256));
    assert.equal(cut.truncated, true);
    assert.equal(cut.records.length, Math.floor(200 / size));
  });

  it('perf equals perfquery after PerformanceSet (PortCounters, -x, -a with and without AllPortSelect)', async () => {
    const sw = switchLids[1]!;
    const swNode = nodes.find((n) => n.lid === sw)!;
    // ibsim console takes the node ID of the net file: S-leafNN / S-spineNN.
    const id = `S-${swNode.desc}`;
    await sim.console(`PerformanceSet "${id}"[2] PortCounters.SymbolErrorCounter=42`);
    await sim.console(`PerformanceSet "${id}"[2] PortCounters.LinkDownedCounter=3`);
    await sim.console(`PerformanceSet "${id}"[2] PortCounters.PortRcvErrors=7`);
    // Data counters move with every MAD: compare everything else exactly.
    const stable = (s: string) => s.split('\n').filter((l) => !/Data|Pkts/.test(l)).join('\n');
    const list: Array<[string[], string, string[]]> = [
      [['perf', String(sw), '2'], 'perfquery', [String(sw), '2']],
      [['perf', '-x', String(sw), '2'], 'perfquery', ['-x', String(sw), '2']],
      [['perf', '-a', String(sw)], 'perfquery', ['-a', String(sw)]],
      [['perf', '-a', String(hostLids[3])], 'perfquery', ['-a', String(hostLids[3])]],
      [['perf', '-a', '-x', String(hostLids[3])], 'perfquery', ['-a', '-x', String(hostLids[3])]],
      [['perf'], 'perfquery', []],
    ];
    const res = await pairs(list);
    res.forEach(([a, b], i) => assert.equal(stable(a), stable(b), `${list[i]![0].join(' ')}`));
    assert.match(res[0]![0], /SymbolErrorCounter:\.+42/);
    assert.match(res[2]![0], /SymbolErrorCounter:\.+42/); // AllPortSelect sums the switch's ports
    const j = JSON.parse((await hp(['perf', '-a', String(hostLids[3]), '--json'])).stdout) as { allPortSelect: boolean; capabilityMask: number };
    assert.equal(j.allPortSelect, false, 'CAs in ibsim do not advertise AllPortSelect (CapMask 0x1200)');
    const js = JSON.parse((await hp(['perf', '-a', '-x', String(sw), '--json'])).stdout) as { allPortSelect: boolean; counters: { portXmitData: string } };
    assert.equal(js.allPortSelect, true);
    assert.match(js.counters.portXmitData, /^\d+$/, '64-bit counters as decimal strings');
  });

  it('writes: refused without --write; counter reset zeroes what was set; disable shows in PortInfo and enable restores it as ibportstate does', async () => {
    const sw = switchLids[2]!;
    const swNode = nodes.find((n) => n.lid === sw)!;
    const id = `S-${swNode.desc}`;
    await sim.console(`PerformanceSet "${id}"[1] PortCounters.SymbolErrorCounter=9`);
    // Refusals: nothing sent, exit 2, the message names the opt-in.
    const r1 = await hp(['perf', String(sw), '1', '--reset'], 2);
    assert.match(r1.stderr, /--write/);
    assert.match(await tool('perfquery', [String(sw), '1']), /SymbolErrorCounter:\.+9/);
    const r2 = await hp(['portstate', String(sw), '1', 'disable'], 2);
    assert.match(r2.stderr, /refused without an explicit opt-in.*--write/);
    assert.match(await tool('smpquery', ['portinfo', String(sw), '1']), /PhysLinkState:\.+LinkUp/);
    // Counter reset with the opt-in.
    await hp(['perf', String(sw), '1', '--reset', '--write']);
    assert.match(await tool('perfquery', [String(sw), '1']), /SymbolErrorCounter:\.+0\n/);
    // A reset with a mask clears only the selected counter.
    await sim.console(`PerformanceSet "${id}"[1] PortCounters.SymbolErrorCounter=5`);
    await sim.console(`PerformanceSet "${id}"[1] PortCounters.LinkDownedCounter=4`);
    await hp(['perf', String(sw), '1', '--reset', '--mask', '0x1', '--write']);
    const after = await tool('perfquery', [String(sw), '1']);
    assert.match(after, /SymbolErrorCounter:\.+0\n/);
    assert.match(after, /LinkDownedCounter:\.+4\n/);
    // Port disable / enable on the last host's switch port (not on any path the test still uses).
    const host = hostLids[hostLids.length - 1]!;
    const t = JSON.parse((await hp(['trace', String(hostLids[0]), String(host), '--json'])).stdout) as { hops: Array<{ outPort: number; node: { lidBase: number } }> };
    const last = t.hops[t.hops.length - 1]!;
    const leaf = t.hops[t.hops.length - 2]!.node.lidBase;
    const p = String(last.outPort);
    await hp(['portstate', String(leaf), p, 'disable', '--write']);
    assert.match(await tool('smpquery', ['portinfo', String(leaf), p]), /PhysLinkState:\.+Disabled/);
    const en = await hp(['portstate', String(leaf), p, 'enable', '--write', '--json']);
    const after2 = JSON.parse(en.stdout) as { after: { physicalState: string } };
    assert.notEqual(after2.after.physicalState, 'Disabled');
    // The oracle: ibportstate's own disable + enable on a sibling port leaves the same states.
    const sib = String(Number(p) - 1);
    await tool('ibportstate', [String(leaf), sib, 'disable']);
    await tool('ibportstate', [String(leaf), sib, 'enable']);
    const st = (s: string) => /PhysLinkState:\.+(\S+)/.exec(s)![1];
    assert.equal(st(await tool('smpquery', ['portinfo', String(leaf), p])), st(await tool('smpquery', ['portinfo', String(leaf), sib])));
    assert.equal(st(await tool('smpquery', ['portinfo', String(leaf), p])), after2.after.physicalState === 'Polling' ? 'Polling' : after2.after.physicalState);
    // Width and extended speed enabled: the link retrains to them (ibsim applies both ends), as with ibportstate.
    const t2 = JSON.parse((await hp(['trace', String(hostLids[0]), String(hostLids[7]), '--json'])).stdout) as { hops: Array<{ outPort: number; node: { lidBase: number } }> };
    const leaf2 = String(t2.hops[t2.hops.length - 2]!.node.lidBase);
    const p2 = String(t2.hops[t2.hops.length - 1]!.outPort);
    const sib2 = p2 === '1' ? '2' : String(Number(p2) - 1); // another host port of the same leaf
    const fields = (s: string) => s.split('\n').filter((l) => /^(LinkWidth|LinkSpeedExt)(Enabled|Active)/.test(l)).join('\n');
    await hp(['portstate', leaf2, p2, '--width', '1', '--espeed', '1', '--write']);
    await tool('ibportstate', [leaf2, sib2, 'width', '1', 'espeed', '1']);
    const mine = await tool('smpquery', ['portinfo', leaf2, p2]);
    assert.match(mine, /LinkWidthActive:\.+1X/);
    assert.match(mine, /LinkSpeedExtEnabled:\.+14\.0625 Gbps\n/);
    assert.equal(fields(mine), fields(await tool('smpquery', ['portinfo', leaf2, sib2])));
    // portstate query equals ibportstate's first block for a port.
    const q = (await hp(['portstate', String(sw), '2'])).stdout;
    // (ibportstate exits 255 after its peer check under ibsim, but prints the port first.)
    const o = (await run('ibportstate', [String(sw), '2'])).stdout;
    assert.match(o, /# Port info: /);
    assert.equal(q.trimEnd(), o.split('\n').slice(1, 16).join('\n').trimEnd());
  });
});
