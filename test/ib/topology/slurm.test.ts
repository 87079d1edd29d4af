/**
 * Slurm topology.conf (`--format slurm`, toSlurmTopology) on simulated fat
 * trees (ibsim; 2 and 3 levels; single rail, dual-port and two-HCA hosts),
 * checked against what the generator built (every host once, every leaf
 * exactly its hosts, every upper switch exactly the switches below it),
 * with a hostlist expander written here (and Slurm's own `scontrol show
 * hostnames`), and read by a real slurmctld whose `scontrol show topology`
 * must list the same switches, nodes and children.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IbSim } from '../../../lib/sim/ibsim.js';
import { generateFatTree, type FatTreeOptions } from '../../../lib/sim/netfile.js';
import { compressHostlist, readIbnetdiscover, toSlurmTopology, type Fabric } from '../../../lib/ib/topology/index.js';
import * as hpcnet from '../../../lib/index.js';
import { runCli } from '../../helpers/cli.js';
import { tmpDir, tool } from './helpers/fabric-tools.js';
import { SlurmCtld } from './helpers/slurmctld.js';

// ---------------------------------------------------------------------------
// Independent oracles: hostlist expansion and the tree the generator built.

/** Expand a Slurm hostlist (`a,b[01-03,7],c`): the width of a range is the width of its first number. */
function expand(expr: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of expr) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      items.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) items.push(cur);
  const out: string[] = [];
  for (const it of items) {
    const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(it);
    if (!m) {
      out.push(it);
      continue;
    }
    for (const r of m[2]!.split(',')) {
      const [lo, hi = lo] = r.split('-') as [string, string?];
      for (let n = Number(lo); n <= Number(hi); n++) out.push(m[1] + String(n).padStart(lo.length, '0') + m[3]);
    }
  }
  return out;
}

interface Entry {
  nodes?: string;
  switches?: string;
  level?: string;
  linkSpeed?: string;
}

/** `SwitchName=x Key=value ...` lines (topology.conf or `scontrol show topology`) by switch name. */
function parseSwitchLines(text: string): Map<string, Entry> {
  const m = new Map<string, Entry>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('SwitchName=')) continue;
    const kv = Object.fromEntries(line.trim().split(/\s+/).map((t) => t.split('=', 2) as [string, string]));
    assert.ok(!m.has(kv['SwitchName']!), `switch ${kv['SwitchName']} once`);
    m.set(kv['SwitchName']!, {
      ...(kv['Nodes'] ? { nodes: kv['Nodes'] } : {}),
      ...(kv['Switches'] ? { switches: kv['Switches'] } : {}),
      ...(kv['Level'] ? { level: kv['Level'] } : {}),
      ...(kv['LinkSpeed'] ? { linkSpeed: kv['LinkSpeed'] } : {}),
    });
  }
  return m;
}

const sorted = (l: Iterable<string>) => [...l].sort();
const pad = (n: number, total: number) => String(n).padStart(Math.max(2, String(total).length), '0');

/** What a tree of the generator is: leaf -> hosts (by first port), upper switch -> switches below. */
function expectedTree(o: FatTreeOptions): { leaves: Map<string, string[]>; uppers: Map<string, string[]>; hosts: string[] } {
  const nh = o.leaves * o.hostsPerLeaf;
  const pods = o.pods ?? 1;
  const leaves = new Map<string, string[]>();
  const uppers = new Map<string, string[]>();
  const hosts: string[] = [];
  for (let h = 1; h <= nh; h++) {
    const leaf = `leaf${pad(Math.ceil(h / o.hostsPerLeaf), o.leaves)}`;
    hosts.push(`node${pad(h, nh)}`);
    leaves.set(leaf, [...(leaves.get(leaf) ?? []), `node${pad(h, nh)}`]);
  }
  for (let s = 1; s <= o.spines; s++) {
    const pod = Math.floor((s - 1) / (o.spines / pods));
    const below: string[] = [];
    for (let l = 1; l <= o.leaves; l++) if (Math.floor((l - 1) / (o.leaves / pods)) === pod) below.push(`leaf${pad(l, o.leaves)}`);
    uppers.set(`spine${pad(s, o.spines)}`, below);
  }
  for (let c = 1; c <= (o.cores ?? 0); c++) {
    uppers.set(`core${pad(c, o.cores!)}`, Array.from({ length: o.spines }, (_, i) => `spine${pad(i + 1, o.spines)}`));
  }
  return { leaves, uppers, hosts };
}

/** The file lists exactly this tree: each host once, leaves with exactly their hosts, uppers with exactly their children. */
function assertTree(text: string, leaves: Map<string, string[]>, uppers: Map<string, string[]>): Map<string, Entry> {
  const conf = parseSwitchLines(text);
  assert.deepEqual(sorted(conf.keys()), sorted([...leaves.keys(), ...uppers.keys()]), 'the switches written');
  const seen = new Map<string, string>();
  for (const [name, e] of conf) {
    if (leaves.has(name)) {
      assert.equal(e.switches, undefined, `${name} is a leaf`);
      const got = expand(e.nodes ?? '');
      assert.deepEqual(sorted(got), sorted(leaves.get(name)!), `hosts of ${name}`);
      assert.equal(e.nodes, compressHostlist(leaves.get(name)!), `${name}: Nodes= is compressed`);
      for (const h of got) {
        assert.ok(!seen.has(h), `${h} is listed under ${seen.get(h)} and ${name}`);
        seen.set(h, name);
      }
    } else {
      assert.equal(e.nodes, undefined, `${name} is no leaf`);
      assert.deepEqual(sorted(expand(e.switches ?? '')), sorted(uppers.get(name)!), `switches below ${name}`);
    }
  }
  assert.equal(seen.size, [...leaves.values()].flat().length, 'every host exactly once');
  return conf;
}

/** slurmctld reads the file; `scontrol show topology` lists the same switches, nodes (all below) and children, and its levels. */
async function assertSlurmReads(text: string, hosts: string[], levels?: Map<string, number>): Promise<void> {
  await using ctld = await SlurmCtld.start(hosts, text);
  const r = await ctld.scontrol(['show', 'topology']);
  assert.equal(r.code, 0, r.stderr + ctld.log());
  const mine = parseSwitchLines(text);
  const theirs = parseSwitchLines(r.stdout);
  assert.deepEqual(sorted(theirs.keys()), sorted(mine.keys()), `slurmctld's switches\n${r.stdout}`);
  const below = (name: string): string[] => {
    const e = mine.get(name)!;
    return [...expand(e.nodes ?? ''), ...expand(e.switches ?? '').flatMap(below)];
  };
  for (const [name, e] of mine) {
    const t = theirs.get(name)!;
    assert.deepEqual(sorted(expand(t.switches ?? '')), sorted(expand(e.switches ?? '')), `children of ${name} in slurmctld`);
    assert.deepEqual(sorted(new Set(expand(t.nodes ?? ''))), sorted(new Set(below(name))), `nodes below ${name} in slurmctld`);
    if (levels) assert.equal(Number(t.level), levels.get(name)! - 1, `Slurm level of ${name}`);
  }
  // Slurm's own expander agrees with the one above on every list written.
  for (const e of mine.values()) {
    for (const expr of [e.nodes, e.switches]) {
      if (!expr) continue;
      const h = await ctld.scontrol(['show', 'hostnames', expr]);
      assert.equal(h.code, 0, h.stderr);
      assert.deepEqual(h.stdout.trim().split('\n'), expand(expr), `scontrol show hostnames ${expr}`);
    }
  }
}

/** An ibsim net file from nodes and cables (ports numbered in cable order). */
function netOf(nodes: Array<{ name: string; desc: string; kind: 'Hca' | 'Switch' }>, cables: Array<[string, string]>): string {
  const ports = new Map<string, Array<{ peer: string; port: number }>>(nodes.map((n) => [n.name, []]));
  for (const [a, b] of cables) {
    const pa = ports.get(a)!;
    const pb = ports.get(b)!;
    pa.push({ peer: b, port: pb.length + 1 });
    pb.push({ peer: a, port: pa.length });
  }
  const desc = new Map(nodes.map((n) => [n.name, n.desc]));
  return nodes
    .map((n) => {
      const ps = ports.get(n.name)!;
      const head = n.kind === 'Hca' ? `Hca ${ps.length} "${n.name}" # "${n.desc}"` : `Switch ${Math.max(ps.length, 1)} "${n.name}" # "${n.desc}" enhanced port 0 lid 0 lmc 0`;
      return [`vendid=0x2c9`, `devid=${n.kind === 'Hca' ? '0x1017' : '0xd2f0'}`, head, ...ps.map((p, i) => `[${i + 1}] "${p.peer}"[${p.port}] # "${desc.get(p.peer)}" lid 0 4xEDR`), ''].join('\n');
    })
    .join('\n');
}

async function withSim<T>(o: FatTreeOptions | string, fn: (sim: IbSim, topo: string, fabric: Fabric) => Promise<T>, edit = (net: string) => net): Promise<T> {
  const dir = tmpDir('hpcnet-slurm-');
  const net = join(dir, 'fabric.net');
  writeFileSync(net, edit(typeof o === 'string' ? o : generateFatTree(o)));
  await using sim = await IbSim.start({ topology: net, sm: false, name: `slurm-${process.pid}-${Math.floor(Math.random() * 1e6)}` });
  const text = await tool(sim, 'ibnetdiscover');
  const topo = join(dir, 'ibnetdiscover.topo');
  writeFileSync(topo, text);
  return await fn(sim, topo, readIbnetdiscover(text, { file: topo }));
}

// ---------------------------------------------------------------------------

describe('compressed hostlists', () => {
  it('ranges by prefix and padding, and expand back to the same set; exported from the package entry', () => {
    assert.equal(hpcnet.toSlurmTopology, toSlurmTopology);
    assert.equal(hpcnet.compressHostlist, compressHostlist);
    assert.equal(hpcnet.topology.toSlurmTopology, toSlurmTopology);
    const names = [...Array.from({ length: 18 }, (_, i) => `node${String(i + 1).padStart(3, '0')}`), 'node020'];
    assert.equal(compressHostlist(names.reverse()), 'node[001-018,020]');
    assert.equal(compressHostlist(['n9', 'n10', 'n11', 'login', 'n099', 'n100', 'gpu01-ib', '17']), '17,gpu01-ib,login,n[9-11],n[099-100]');
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let t = 0; t < 200; t++) {
      const set = new Set<string>();
      for (let i = 0; i < 1 + rnd() * 40; i++) {
        const p = ['node', 'gpu', 'r1n', 'x'][Math.floor(rnd() * 4)]!;
        const n = Math.floor(rnd() * 130);
        set.add(p + (rnd() < 0.5 ? String(n).padStart(3, '0') : String(n)));
      }
      const expr = compressHostlist(set);
      const back = expand(expr);
      assert.equal(back.length, set.size, `${expr}: no name twice`);
      assert.deepEqual(sorted(back), sorted(set), expr);
    }
  });
});

describe('Slurm topology.conf from simulated fat trees', () => {
  const F2: FatTreeOptions = { leaves: 3, spines: 2, hostsPerLeaf: 3 };
  const F3: FatTreeOptions = { leaves: 4, spines: 4, pods: 2, cores: 2, hostsPerLeaf: 2 };

  it('2 levels: ib discover and ib convert write the same tree; slurmctld reads it', async () => {
    await withSim(F2, async (sim, topo) => {
      const live = await runCli(['--sim-name', sim.name, 'ib', 'discover', '-q', '--format', 'slurm', '--link-speed']);
      assert.equal(live.code, 0, live.stderr);
      assert.doesNotMatch(live.stderr, /slurm:/, 'no warnings on a regular tree');
      const conv = await runCli(['ib', 'convert', topo, '--format', 'slurm', '--link-speed']);
      assert.equal(conv.code, 0, conv.stderr);
      assert.equal(conv.stdout, live.stdout, 'discover and convert agree');
      const x = expectedTree(F2);
      assertTree(live.stdout, x.leaves, x.uppers);
      assert.match(live.stdout, /^SwitchName=leaf01 Nodes=node\[01-03\] LinkSpeed=100$/m);
      assert.match(live.stdout, /^SwitchName=spine02 Switches=leaf\[01-03\] LinkSpeed=100$/m);
      await assertSlurmReads(live.stdout, x.hosts, new Map([...x.leaves.keys()].map((l) => [l, 1] as [string, number]).concat([...x.uppers.keys()].map((s) => [s, 2]))));
    });
  });

  it('3 levels (2 pods, 2 cores): leaves, spines of their pod, cores above all spines; slurmctld levels 0-2', async () => {
    await withSim(F3, async (_sim, _topo, fabric) => {
      const r = toSlurmTopology(fabric);
      assert.deepEqual(r.warnings, []);
      const x = expectedTree(F3);
      assertTree(r.text, x.leaves, x.uppers);
      const levels = new Map(r.switches.map((s) => [s.name, s.level]));
      for (const [n, l] of levels) assert.equal(l, n.startsWith('leaf') ? 1 : n.startsWith('spine') ? 2 : 3, n);
      assert.equal(r.hosts.size, 8);
      await assertSlurmReads(r.text, x.hosts, levels);
    });
  });

  it('dual-port hosts: first port rule by default, a shared -dual leaf under the common parents with --dual-rail parent', async () => {
    const D2: FatTreeOptions = { leaves: 3, spines: 2, hostsPerLeaf: 2, dualRail: 'port' };
    await withSim(D2, async (_sim, topo) => {
      const first = await runCli(['ib', 'convert', topo, '--format', 'slurm']);
      assert.equal(first.code, 0, first.stderr);
      const x = expectedTree(D2);
      assertTree(first.stdout, x.leaves, x.uppers);
      const warned = first.stderr.split('\n').filter((l) => l.startsWith('hpcnet: slurm: host '));
      assert.equal(warned.length, 6, first.stderr);
      assert.match(first.stderr, /host node02 is cabled to 2 leaves \(leaf01, leaf02\): listed under leaf01 \(its first port\)/);
      assert.match(first.stderr, /host node06 is cabled to 2 leaves \(leaf03, leaf01\): listed under leaf03 \(its first port\)/);
      const parent = await runCli(['ib', 'convert', topo, '--format', 'slurm', '--dual-rail', 'parent']);
      assert.equal(parent.code, 0, parent.stderr);
      // Every host is on two leaves below both spines: all leaves are emptied, one extra leaf below both spines.
      assertTree(parent.stdout, new Map([['spine01-dual', x.hosts]]), new Map([['spine01', ['spine01-dual']], ['spine02', ['spine01-dual']]]));
      assert.match(parent.stderr, /host node01 is cabled to 2 leaves \(leaf01, leaf02\): listed under spine01-dual, below spine01, spine02/);
    });
  });

  it('two-HCA hosts on 3 levels: both rules read by slurmctld; the common parent is a spine within a pod, a core across pods', async () => {
    const D3: FatTreeOptions = { ...F3, dualRail: 'hca' };
    await withSim(D3, async (_sim, _topo, fabric) => {
      const x = expectedTree(D3);
      const first = toSlurmTopology(fabric);
      assertTree(first.text, x.leaves, x.uppers);
      assert.deepEqual(
        first.warnings.map((w) => w.kind),
        Array(8).fill('dual-rail'),
      );
      assert.ok(first.warnings.every((w) => w.nodes.length === 2), 'both HCAs named');
      await assertSlurmReads(first.text, x.hosts);
      const parent = toSlurmTopology(fabric, { dualRail: 'parent' });
      assertTree(
        parent.text,
        new Map([
          ['spine01-dual', ['node01', 'node02']],
          ['spine03-dual', ['node05', 'node06']],
          ['core01-dual', ['node03', 'node04', 'node07', 'node08']],
        ]),
        new Map([
          ['spine01', ['spine01-dual']],
          ['spine02', ['spine01-dual']],
          ['spine03', ['spine03-dual']],
          ['spine04', ['spine03-dual']],
          ['core01', ['core01-dual', 'spine01', 'spine02', 'spine03', 'spine04']],
          ['core02', ['core01-dual', 'spine01', 'spine02', 'spine03', 'spine04']],
        ]),
      );
      await assertSlurmReads(parent.text, x.hosts);
    });
  });

  it('names: vendor-default descriptions left out, node-name map and --hostname-pattern, switch names from MF0 descriptions made unique', async () => {
    const edit = (net: string) =>
      net
        .replace(/# "node0([7-9]) HCA-1"/g, '# "MT4123 ConnectX6 Mellanox Technologies"')
        .replace(/# "node0([4-6]) HCA-1"/g, '# "HCA-1 on gpu0$1"')
        .replace(/# "leaf0[12]"/g, '# "MF0;edge:MQM8700/U1"');
    await withSim(
      F2,
      async (_sim, topo, fabric) => {
        const guid = (desc: RegExp) => fabric.nodes.filter((n) => desc.test(n.description)).map((n) => n.guid);
        const dir = tmpDir('hpcnet-slurm-');
        const map = join(dir, 'names.map');
        writeFileSync(map, `0x${guid(/^node01 /)[0]!.toString(16)} "login01"\n0x${guid(/^spine01$/)[0]!.toString(16)} "ib-core-a"\n`);
        const r = await runCli(['ib', 'convert', topo, '--format', 'slurm', '--node-name-map', map, '--hostname-pattern', '(?<host>(?:node|gpu)\\d+)']);
        assert.equal(r.code, 0, r.stderr);
        const edges = guid(/^MF0;edge:/)
          .sort((a, b) => (a < b ? -1 : 1))
          .map((g) => `edge-${g.toString(16).padStart(16, '0')}`);
        assertTree(
          r.stdout,
          new Map([
            [edges[0]!, ['login01', 'node02', 'node03']],
            [edges[1]!, ['gpu04', 'gpu05', 'gpu06']],
          ]),
          new Map([
            ['ib-core-a', edges],
            ['spine02', edges],
          ]),
        );
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.filter((l) => /: the hostname pattern does not match its node description$/.test(l)).length, 3, r.stderr);
        assert.match(r.stderr, /2 switches share the name 'edge'/);
        const lib = toSlurmTopology(fabric, { hostnamePattern: /(?<host>(?:node|gpu)\d+)/g });
        assert.deepEqual(sorted(lib.hosts.keys()), ['gpu04', 'gpu05', 'gpu06', 'node01', 'node02', 'node03'], 'a global pattern matches every CA');
        // Without the pattern the first word is taken: the gpu hosts collapse into one 'HCA-1'; the ConnectX defaults are left out.
        const plain = toSlurmTopology(fabric);
        assert.equal(plain.warnings.filter((w) => w.kind === 'unnamed-host' && /vendor default/.test(w.message)).length, 3);
        assert.equal(plain.hosts.get('HCA-1'), edges[1]);
        assert.ok(!plain.text.includes('leaf03'), 'a leaf without named hosts is omitted');
      },
      edit,
    );
  });

  it('irregular fabric: missing and parallel cables, cross links, a leaf of unnamed CAs and what hangs off it, a spine with an unnamed CA, a leaf with no uplink, a dual-rail host without common parent', async () => {
    const sw = (name: string) => ({ name, desc: name, kind: 'Switch' as const });
    const ca = (name: string, desc = `${name} HCA-1`) => ({ name: `H-${name}`, desc, kind: 'Hca' as const });
    const net = netOf(
      [ca('n01'), ca('n02'), ca('n03'), ca('n04'), ca('n05'), ca('n06'), ca('n07'), ca('x', 'MT4123 ConnectX6 Mellanox Technologies'), ca('y', 'mlx5_0'),
        sw('leafA'), sw('leafB'), sw('leafC'), sw('leafD'), sw('leafE'), sw('spine1'), sw('spine2'), sw('core1'), sw('orphan')],
      [
        ['H-n01', 'leafA'], ['H-n02', 'leafA'], ['H-n03', 'leafB'], ['H-n04', 'leafC'], ['H-n05', 'leafC'], ['H-x', 'leafD'], ['H-n06', 'leafE'], ['H-y', 'spine2'], ['H-n07', 'leafA'], ['H-n07', 'leafE'],
        ['leafA', 'spine1'], ['leafB', 'spine1'], ['leafB', 'spine2'], ['leafC', 'spine2'], ['leafC', 'spine2'],
        ['leafA', 'leafB'], ['spine1', 'spine2'], ['leafD', 'spine2'], ['orphan', 'leafD'], ['leafE', 'leafC'],
        ['spine1', 'core1'], ['spine2', 'core1'],
      ],
    );
    await withSim(net, async (_sim, _topo, fabric) => {
      // n07 (a dual-port HCA) is on leafA and leafE, which share no switch: the first-port rule, also with 'parent'.
      const r = toSlurmTopology(fabric, { dualRail: 'parent' });
      assertTree(
        r.text,
        new Map([['leafA', ['n01', 'n02', 'n07']], ['leafB', ['n03']], ['leafC', ['n04', 'n05']], ['leafE', ['n06']]]),
        new Map([['spine1', ['leafA', 'leafB']], ['spine2', ['leafB', 'leafC']], ['core1', ['spine1', 'spine2']]]),
      );
      assert.deepEqual(r.warnings.map((w) => w.kind).sort(), ['dual-rail', 'separate-trees', 'unnamed-host', 'unnamed-host']);
      assert.match(r.warnings.find((w) => w.kind === 'dual-rail')!.message, /host n07 is cabled to 2 leaves \(leafA, leafE\): listed under leafA \(its first port\), they have no common parent switch/);
      assert.match(r.warnings.find((w) => w.kind === 'separate-trees')!.message, /2 separate trees \(tops: core1, leafE\)/);
      const levels = new Map(r.switches.map((s) => [s.name, s.level]));
      assert.deepEqual(Object.fromEntries(levels), { leafA: 1, leafB: 1, leafC: 1, leafE: 1, spine1: 2, spine2: 2, core1: 3 });
      await assertSlurmReads(r.text, ['n01', 'n02', 'n03', 'n04', 'n05', 'n06', 'n07'], levels);
    });
  });

  it('rejects Slurm flags with another format, an unknown dual-rail rule and a bad pattern, before any output', async () => {
    const topo = join(tmpDir('hpcnet-slurm-'), 'x.topo');
    writeFileSync(topo, '');
    for (const [args, msg] of [
      [['--format', 'json', '--link-speed'], /--link-speed applies to --format slurm only/],
      [['--format', 'slurm', '--dual-rail', 'both'], /--dual-rail: expected one of first, parent, got 'both'/],
      [['--format', 'slurm', '--hostname-pattern', '(x'], /--hostname-pattern: invalid regular expression '\(x'/],
    ] as const) {
      const r = await runCli(['ib', 'convert', topo, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stdout, '');
    }
  });
});
