/**
 * The routing analysis on fabrics built by hand, small enough to check by
 * hand: a ring of 4 switches with tables written out LID by LID, and a
 * two-leaf tree; plus the snapshot encoding of the tables, the `routing`
 * key of the audit configuration and the LFT Set write opt-in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAuditConfig } from '../../../lib/ib/audit/config.js';
import { defaultAuditConfig, runAudit } from '../../../lib/ib/audit/index.js';
import { MockIbBackend } from '../../../lib/ib/mock-backend.js';
import { openPort } from '../../../lib/ib/port.js';
import { analyzeRoutes, compactList, dumpFtsChunks, parseLftChanges, renderRoutes, routesJson, setLftEntries, traceRoutes, type RoutingTables } from '../../../lib/ib/routing/index.js';
import { FabricBuilder, type Fabric } from '../../../lib/ib/topology/model.js';
import { readSnapshot, writeSnapshot } from '../../../lib/ib/topology/snapshot.js';

/**
 * Ring r1..r4 (port 2 to the next switch, port 3 to the previous), host hi on port 1 of ri.
 * LIDs: hi = i, ri = 10 + i.
 */
function ringFabric(): { fabric: Fabric; ids: string[] } {
  const b = new FabricBuilder({ source: 'test' });
  const sw: string[] = [];
  for (let i = 1; i <= 4; i++) {
    sw.push(b.addNode({ type: 'Switch', guid: BigInt(0x200000 + i), numPorts: 3, description: `r${i}`, drPath: [] }));
    b.setPort(sw[i - 1]!, 0, { lid: 10 + i, state: 'Active' });
  }
  for (let i = 1; i <= 4; i++) {
    const h = b.addNode({ type: 'CA', guid: BigInt(0x100000 + i), numPorts: 1, description: `h${i}` });
    b.setPort(h, 1, { lid: i, state: 'Active' });
    b.addLink({ node: h, port: 1 }, { node: sw[i - 1]!, port: 1 });
  }
  for (let i = 0; i < 4; i++) {
    b.setPort(sw[i]!, 2, { state: 'Active' });
    b.setPort(sw[(i + 1) % 4]!, 3, { state: 'Active' });
    b.addLink({ node: sw[i]!, port: 2 }, { node: sw[(i + 1) % 4]!, port: 3 });
  }
  return { fabric: b.build(), ids: sw };
}

/**
 * Tables where each switch sends the opposite switch's traffic clockwise (port 2) when
 * `clockwise`, else host traffic clockwise and switch-LID traffic counter-clockwise.
 * Neighbours: next (port 2), previous (port 3); own host port 1, own LID port 0.
 */
function ringTables(ids: string[], opposite: (i: number, lid: number) => number): RoutingTables {
  const switches = ids.map((node, i) => {
    const lft = new Uint8Array(15).fill(255);
    for (let j = 0; j < 4; j++) {
      const d = (j - i + 4) % 4; // 0 self, 1 next, 2 opposite, 3 previous
      for (const lid of [j + 1, 11 + j]) {
        const own = lid > 10 ? 0 : 1;
        lft[lid] = d === 0 ? own : d === 1 ? 2 : d === 3 ? 3 : opposite(i, lid);
      }
    }
    return { node, guid: BigInt(0x200001 + i), linearFdbTop: 14, lft };
  });
  return { readAt: '2026-01-01T00:00:00.000Z', switches, errors: [] };
}

describe('routing analysis on a ring of 4 (by hand)', () => {
  it('opposite switches reached one way round: the four two-hop routes make a cycle of 4 channel dependencies', () => {
    const { fabric, ids } = ringFabric();
    const a = analyzeRoutes(fabric, ringTables(ids, () => 2));
    // Channels: 8 (4 links x 2 directions). Dependencies, for each switch i and both LIDs
    // of the opposite switch: (ri -> ri+1) then (ri+1 -> ri+2); 4 distinct ones, all clockwise.
    assert.equal(a.channels, 8);
    assert.equal(a.dependencies, 4);
    assert.ok(a.creditLoop);
    assert.deepEqual(
      a.creditLoop.channels.map((c) => `${a.switches[c.sw]!.description}:${c.port}>${a.switches[c.to]!.description}:${c.toPort}`).sort(),
      ['r1:2>r2:3', 'r2:2>r3:3', 'r3:2>r4:3', 'r4:2>r1:3'],
    );
    assert.deepEqual(a.blackHoles, []);
    assert.deepEqual(a.loops, []);
    assert.deepEqual(a.unreachable, []);
    assert.equal(a.diameter, 2);
    assert.deepEqual(a.longRoutes, []);
  });

  it('r1 and r3 send their opposite traffic counter-clockwise: dependencies in both directions but no cycle', () => {
    const { fabric, ids } = ringFabric();
    // r1, r3 counter-clockwise (port 3); r2, r4 clockwise (port 2):
    // r1->r4->r3, r3->r2->r1 (ccw); r2->r3->r4, r4->r1->r2 (cw): deps r1:3>r4:3 ... never closing.
    const a = analyzeRoutes(fabric, ringTables(ids, (i) => (i % 2 === 0 ? 3 : 2)));
    assert.equal(a.dependencies, 4);
    assert.equal(a.creditLoop, undefined);
  });

  it('black holes (255, a port without cable, the wrong host) and a forwarding loop, with the unreachable sources', () => {
    const { fabric, ids } = ringFabric();
    const t = ringTables(ids, () => 2);
    t.switches[0]!.lft[3] = 255; // r1 has no route to h3
    t.switches[1]!.lft[4] = 1; // r2 sends h4's LID to h2
    t.switches[2]!.lft[1] = 3; // r3 -> r2 for h1, and r2 -> r3: a loop
    t.switches[1]!.lft[1] = 2;
    const a = analyzeRoutes(fabric, t);
    const holes = a.blackHoles.map((b) => `${a.switches[b.sw]!.description} ${b.port} ${b.kind} ${b.lids.join(',')}`).sort();
    assert.deepEqual(holes, ['r1 255 no-route 3', 'r2 1 wrong-node 4']);
    assert.equal(a.loops.length, 1);
    assert.deepEqual(a.loops[0]!.lids, [1]);
    assert.deepEqual(a.loops[0]!.hops.map((h) => `${a.switches[h.sw]!.description}:${h.port}`).sort(), ['r2:2', 'r3:3']);
    const un = new Map(a.unreachable.map((u) => [u.lid, u.sources.map((s) => a.switches[s]!.description).sort()]));
    assert.deepEqual(un.get(3), ['r1']);
    assert.deepEqual(un.get(4), ['r2']); // r1 reaches h4 through r4, its previous switch; r3 through r4, its next
    assert.deepEqual(un.get(1), ['r2', 'r3']); // r4 reaches h1 through r1, its next switch
    // The same through the audit rules (routing rules run because the snapshot has tables).
    const rep = runAudit({ snapshot: { fabric, counters: [], routes: t } }, defaultAuditConfig());
    assert.equal(rep.summary.byRule['route-black-hole'], 2);
    assert.equal(rep.summary.byRule['route-loop'], 1);
    assert.match(rep.findings.find((f) => f.rule === 'route-loop')!.message, /forwarding loop for LID\(s\) 1: "r[23]" port [23] -> "r[23]" port [23] -> back to "r[23]"/);
    assert.match(rep.findings.find((f) => f.rule === 'route-black-hole' && f.port === 1)!.message, /to port 1, but port 1 leads to "h2", which does not own the LID/);
  });

  it('route-hops: a route around the long way is longer than the diameter', () => {
    const { fabric, ids } = ringFabric();
    const t = ringTables(ids, () => 2);
    t.switches[0]!.lft[2] = 3; // r1 reaches h2 (next switch) by going backwards: r1 -> r4 -> r3 -> r2
    t.switches[3]!.lft[2] = 3;
    const a = analyzeRoutes(fabric, t);
    assert.equal(a.diameter, 2);
    assert.deepEqual(a.longRoutes.map((l) => [a.switches[l.sw]!.description, l.count, l.worst.hops]), [['r1', 1, 3]]);
    assert.equal(analyzeRoutes(fabric, t, { maxHops: 3 }).longRoutes.length, 0);
  });

  it('trace over the model follows the tables hop by hop', () => {
    const { fabric, ids } = ringFabric();
    const tr = traceRoutes(fabric, ringTables(ids, () => 2), 1, 3);
    assert.deepEqual(tr.hops.map((h) => `${h.outPort}->${h.node.nodeDescription}[${h.inPort}]`), ['1->r1[1]', '2->r2[3]', '2->r3[3]', '1->h3[1]']);
    assert.deepEqual([tr.from.portNum, tr.to.portNum, tr.to.lidBase], [1, 1, 3]);
    // To a switch LID: the trace ends at the switch whose entry is port 0.
    assert.deepEqual(traceRoutes(fabric, ringTables(ids, () => 2), 2, 13).to.nodeDescription, 'r3');
    // Failures name the switch: no route, a port without cable, a loop, a missing table, the wrong CA.
    const t = ringTables(ids, () => 2);
    t.switches[1]!.lft[3] = 255;
    assert.throws(() => traceRoutes(fabric, t, 1, 3), /trace 1 -> 3: no route in the LFT of switch 0x0000000000200002 \(r2\)/);
    t.switches[1]!.lft[3] = 4;
    assert.throws(() => traceRoutes(fabric, t, 1, 3), /trace 1 -> 3: port 4 of switch 0x0000000000200002 \(r2\) has no cable/);
    t.switches[1]!.lft[3] = 3;
    assert.throws(() => traceRoutes(fabric, t, 1, 3), /trace 1 -> 3: more than 63 hops \(routing loop\?\)/);
    t.switches[1]!.lft[3] = 1;
    assert.throws(() => traceRoutes(fabric, t, 1, 3), /trace 1 -> 3: the route ends at CA LID 2/);
    assert.throws(() => traceRoutes(fabric, { ...t, switches: t.switches.slice(1) }, 1, 3), /no forwarding table for switch 0x0000000000200001 \(r1\)/);
    assert.throws(() => traceRoutes(fabric, t, 99, 3), /LID 99: no port of the fabric has this LID/);
  });
});

describe('routing: balance on a two-level tree', () => {
  it('up-link counts as check_lft_balance counts them (max > min + 1); a ratio can loosen it', () => {
    const b = new FabricBuilder({ source: 'test' });
    const leaf = [1, 2].map((i) => b.addNode({ type: 'Switch', guid: BigInt(0x200000 + i), numPorts: 8, description: `leaf${i}` }));
    const spine = b.addNode({ type: 'Switch', guid: 0x200010n, numPorts: 4, description: 'spine' });
    b.setPort(spine, 0, { lid: 100 });
    leaf.forEach((l, i) => b.setPort(l, 0, { lid: 90 + i }));
    let lid = 1;
    for (let i = 0; i < 2; i++) {
      for (let h = 1; h <= 4; h++) {
        const ca = b.addNode({ type: 'CA', guid: BigInt(0x100000 + lid), numPorts: 1, description: `n${lid}` });
        b.setPort(ca, 1, { lid: lid++ });
        b.addLink({ node: ca, port: 1 }, { node: leaf[i]!, port: h });
      }
      b.addLink({ node: leaf[i]!, port: 5 }, { node: spine, port: 2 * i + 1 });
      b.addLink({ node: leaf[i]!, port: 6 }, { node: spine, port: 2 * i + 2 });
    }
    const fabric = b.build();
    const lftOf = (f: (lid: number) => number) => {
      const l = new Uint8Array(101).fill(255);
      for (let x = 1; x <= 100; x++) l[x] = f(x);
      return l;
    };
    const tables = (skew: boolean): RoutingTables => ({
      readAt: 'now',
      errors: [],
      switches: [
        ...leaf.map((node, i) => ({
          node,
          guid: BigInt(0x200001 + i),
          linearFdbTop: 100,
          lft: lftOf((x) => (x === 90 + i ? 0 : x <= 8 && Math.ceil(x / 4) === i + 1 ? ((x - 1) % 4) + 1 : skew && i === 0 ? (x === 8 ? 6 : 5) : 5 + (x % 2))),
        })),
        { node: spine, guid: 0x200010n, linearFdbTop: 100, lft: lftOf((x) => (x === 100 ? 0 : x === 90 ? 1 : x === 91 ? 3 : x <= 4 ? 1 + (x % 2) : 3 + (x % 2))) },
      ],
    });
    assert.deepEqual(analyzeRoutes(fabric, tables(false)).imbalances, []);
    const bad = analyzeRoutes(fabric, tables(true)).imbalances;
    assert.equal(bad.length, 1);
    assert.deepEqual(bad[0]!.counts, [{ port: 5, lids: 3 }, { port: 6, lids: 1 }]);
    assert.equal(analyzeRoutes(fabric, tables(true), { balanceRatio: 4 }).imbalances.length, 0);
  });
});

describe('routing: formats, snapshot, configuration, writes', () => {
  it('tables survive a snapshot round trip; a bad table is an error naming the JSON path', () => {
    const { fabric, ids } = ringFabric();
    const routes = ringTables(ids, () => 2);
    routes.switches[0]!.mft = [{ mlid: 0xc001, ports: [1, 2] }];
    const text = writeSnapshot({ fabric, counters: [], routes });
    const back = readSnapshot(text, 'snap.json');
    assert.deepEqual(back.routes!.switches.map((s) => [s.node, s.guid, s.linearFdbTop, Array.from(s.lft), s.mft]), routes.switches.map((s) => [s.node, s.guid, s.linearFdbTop, Array.from(s.lft), s.mft]));
    const doc = JSON.parse(text) as { routes: { switches: Array<{ lft: string; node: string }> } };
    doc.routes.switches[1]!.lft = Buffer.from([1, 2, 3]).toString('base64');
    assert.throws(() => readSnapshot(JSON.stringify(doc), 'snap.json'), /snap\.json: \$\.routes\.switches\[1\]\.lft: expected 15 entries \(LinearFDBTop \+ 1\), got 3/);
    doc.routes.switches[1]!.lft = doc.routes.switches[0]!.lft;
    doc.routes.switches[1]!.node = 'nope';
    assert.throws(() => readSnapshot(JSON.stringify(doc), 'snap.json'), /\$\.routes\.switches\[1\]\.node: no node with id "nope"/);
  });

  it('dump_fts text: holes skipped, LMC paths, three port digits, switches in reverse order; JSON as one document', () => {
    const { fabric, ids } = ringFabric();
    const h4 = fabric.nodes.find((n) => n.description === 'h4')!;
    h4.ports.find((p) => p.portNum === 1)!.lmc = 1;
    const routes = ringTables(ids, () => 2);
    const r1 = routes.switches[0]!.lft;
    r1[5] = 3;
    r1[12] = 137;
    const text = renderRoutes(fabric, routes, 'dump_fts');
    const blocks = text.split(/(?=^Unicast lids)/m);
    assert.deepEqual(
      blocks.map((b) => /\((r\d)\):\n/.exec(b)![1]),
      ['r4', 'r3', 'r2', 'r1'],
    );
    assert.equal(
      blocks[3],
      [
        'Unicast lids [0x0-0xe] of switch DR path slid 0; dlid 0; 0 guid 0x0000000000200001 (r1):',
        '  Lid  Out   Destination',
        '       Port     Info ',
        "0x0001 001 : (Channel Adapter portguid 0x0000000000100001: 'h1')",
        "0x0002 002 : (Channel Adapter portguid 0x0000000000100002: 'h2')",
        "0x0003 002 : (Channel Adapter portguid 0x0000000000100003: 'h3')",
        '0x0004 003 : (path #0 out of 2: portguid 0x0000000000100004)',
        '0x0005 003 : (path #1 out of 2: portguid 0x0000000000100004)',
        "0x000b 000 : (Switch portguid 0x0000000000200001: 'r1')",
        "0x000c 137 : (Switch portguid 0x0000000000200002: 'r2')",
        "0x000d 002 : (Switch portguid 0x0000000000200003: 'r3')",
        "0x000e 003 : (Switch portguid 0x0000000000200004: 'r4')",
        '9 valid lids dumped ',
        '',
      ].join('\n'),
    );
    // Chunks written into shared memory give the same text when each is consumed before the next.
    const copies = [...(function* () {
      for (const c of dumpFtsChunks(fabric, routes, { reuse: true })) yield Buffer.from(c);
    })()];
    assert.equal(Buffer.concat(copies).toString(), text);
    assert.equal(renderRoutes(fabric, routes, 'json'), JSON.stringify(routesJson(fabric, routes)) + '\n');
    assert.equal(renderRoutes(fabric, { ...routes, switches: [] }, 'dump_fts'), '');
  });

  it('routing in the audit configuration: true, limits, and clear errors', () => {
    assert.deepEqual(parseAuditConfig('routing: true\n').routing, { enabled: true });
    assert.deepEqual(parseAuditConfig('routing:\n  maxHops: 4\n  balanceRatio: 1.5\n').routing, { enabled: true, maxHops: 4, balanceRatio: 1.5 });
    assert.throws(() => parseAuditConfig('routing:\n  maxhops: 4\n', 'a.yaml'), /a\.yaml:2: routing: unknown key 'maxhops' \(expected enabled, maxHops, balanceRatio\)/);
    assert.throws(() => parseAuditConfig('routing:\n  balanceRatio: 0.5\n', 'a.yaml'), /a\.yaml:2: routing\.balanceRatio: expected a number >= 1/);
    // Asked for, but the snapshot has no tables: the rules say why they did not run.
    const { fabric } = ringFabric();
    const rep = runAudit({ snapshot: { fabric, counters: [] } }, parseAuditConfig('routing: true\n'));
    assert.ok(rep.notRun.some((n) => n.rule === 'route-credit-loop' && /--routing/.test(n.reason)));
    assert.ok(!runAudit({ snapshot: { fabric, counters: [] } }).notRun.some((n) => n.rule.startsWith('route-')));
  });

  it('LFT Set is refused without allowWrites, before anything is sent; LID:PORT arguments are checked', async () => {
    const backend = new MockIbBackend({ responder: () => ({ data: Buffer.alloc(64) }) });
    await using port = await openPort({ backend, timeoutMs: 20, retries: 0 });
    await assert.rejects(setLftEntries(port, { lid: 2 }, [{ lid: 5, port: 1 }]), (e: Error & { code?: string }) => e.code === 'ERR_WRITE_NOT_ALLOWED');
    assert.equal(backend.transports[0]!.stats().sent, 0);
    assert.deepEqual(parseLftChanges(['5:1', '0x10:255']), [{ lid: 5, port: 1 }, { lid: 16, port: 255 }]);
    assert.throws(() => parseLftChanges(['5']), /'5': expected LID:PORT/);
    assert.throws(() => parseLftChanges(['0:1']), /unicast LID/);
    assert.equal(compactList([1, 2, 3, 5, 7, 8]), '1-3,5,7-8');
    assert.equal(compactList([1, 3, 5, 7], 2), '1,3 (+2 more)');
  });
});
