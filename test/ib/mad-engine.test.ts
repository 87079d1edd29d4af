/**
 * The MAD engine against ibsim + OpenSM, with smpquery (infiniband-diags) on
 * the same simulated fabric as the oracle: a generated fat tree of 104 hosts.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim } from '../../lib/sim/ibsim.js';
import { generateFatTree } from '../../lib/sim/netfile.js';
import { packageRoot } from '../../lib/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

const LEAVES = 8;
const SPINES = 4;
const HPL = 13; // hosts per leaf: 104 hosts
const HOSTS = LEAVES * HPL;
const client = join(packageRoot(), 'dist', 'test', 'ib', 'clients', 'engine-client.js');

/** Directed routes from node001 (attached to leaf01 port 1), from the generator's wiring. */
function pathToLeaf(l: number): number[] {
  return l === 1 ? [1] : [1, HPL + 1, l];
}
function pathToHost(h: number): number[] {
  const l = Math.ceil(h / HPL);
  return [...pathToLeaf(l), ((h - 1) % HPL) + 1];
}
function pathToSpine(s: number): number[] {
  return [1, HPL + s];
}

/** smpquery's "Name:....value" lines (first occurrence of each name). */
function parseDump(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const x = /^([^#:][^:]*):\.+(.*)$/.exec(line);
    if (x && !m.has(x[1]!)) m.set(x[1]!, x[2]!);
  }
  return m;
}

describe('MAD engine on a 104-host fat tree', () => {
  let sim: IbSim;
  const run = async (job: object) => {
    const r = await sim.runScript(client, [JSON.stringify(job)], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `client failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as unknown;
  };
  /** Run smpquery with limited parallelism (ibsim takes at most 10 clients, OpenSM holds one). */
  const smpquery = async (argsList: string[][]) => {
    const out: string[] = new Array(argsList.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < argsList.length) {
          const i = next++;
          let r = await sim.exec('smpquery', argsList[i]!);
          // ibsim frees a client slot only after it sees the previous client go:
          // a fast start can find all 10 slots taken for a moment.
          for (let k = 0; k < 5 && r.code !== 0 && /connect failed/.test(r.stderr); k++) {
            await new Promise((res) => setTimeout(res, 200));
            r = await sim.exec('smpquery', argsList[i]!);
          }
          assert.equal(r.code, 0, `smpquery ${argsList[i]!.join(' ')}: ${r.stderr}`);
          out[i] = r.stdout;
        }
      }),
    );
    return out;
  };

  before(async () => {
    const dir = tempDir('hpcnet-ft-');
    const file = join(dir, 'ft104.net');
    writeFileSync(file, generateFatTree({ leaves: LEAVES, spines: SPINES, hostsPerLeaf: HPL, speed: 'EDR', degraded: [{ host: 7, width: '1x' }] }));
    sim = await IbSim.start({ topology: file });
  });
  after(async () => {
    await sim?.stop();
  });

  it('NodeInfo, NodeDescription, PortInfo, SwitchInfo by LID equal smpquery for every node', async () => {
    const nodes = HOSTS + LEAVES + SPINES;
    const items: Array<{ attr: string; addr: object; port?: number }> = [];
    const oracle: string[][] = [];
    for (let lid = 1; lid <= nodes; lid++) {
      items.push({ attr: 'nodeinfo', addr: { lid } }, { attr: 'nodedesc', addr: { lid } }, { attr: 'portinfo', addr: { lid }, port: 1 });
      oracle.push(['nodeinfo', `${lid}`], ['nodedesc', `${lid}`], ['portinfo', `${lid}`, '1']);
    }
    const ours = (await run({ op: 'query', items })) as Array<{ typed: Record<string, unknown> | string; text?: string }>;
    const theirs = await smpquery(oracle);
    let switches = 0;
    for (let i = 0; i < items.length; i++) {
      const o = ours[i]!;
      const t = theirs[i]!;
      const what = `${oracle[i]!.join(' ')}`;
      if (items[i]!.attr === 'nodedesc') {
        assert.equal(o.typed, parseDump(t).get('Node Description'), what);
        continue;
      }
      const a = parseDump(o.text!);
      const b = parseDump(t);
      assert.ok(b.size >= 12, `${what}: oracle parsed`);
      for (const [k, v] of b) if (k !== 'Mkey') assert.equal(a.get(k), v, `${what}: field ${k}`);
      const typed = o.typed as Record<string, string | number | string[]>;
      if (items[i]!.attr === 'nodeinfo') {
        assert.equal(typed['nodeGuid'], b.get('Guid'), what);
        assert.equal(typed['numPorts'], Number(b.get('NumPorts')), what);
        assert.equal(typed['nodeType'], b.get('NodeType') === 'Switch' ? 'Switch' : 'CA', what);
        if (typed['nodeType'] === 'Switch') switches++;
      } else {
        assert.equal(typed['linkWidthActive'], b.get('LinkWidthActive'), what);
        assert.equal(typed['portState'], b.get('LinkState'), what);
        assert.equal(typed['physicalState'], b.get('PhysLinkState'), what);
        assert.equal(typed['lid'], Number(b.get('Lid')), what);
      }
    }
    assert.equal(switches, LEAVES + SPINES);
    // The degraded host link (node007, 1x) is visible in PortInfo.
    const h7 = ours.find((o, i) => items[i]!.attr === 'nodedesc' && o.typed === 'node007 HCA-1');
    assert.ok(h7, 'node007 found');
  });

  it('every switch port and SwitchInfo by LID equal smpquery', async () => {
    const sw: Array<{ lid: number; ports: number }> = [];
    const probe = (await run({
      op: 'query',
      items: Array.from({ length: HOSTS + LEAVES + SPINES }, (_, i) => ({ attr: 'nodeinfo', addr: { lid: i + 1 } })),
    })) as Array<{ typed: { nodeType: string; numPorts: number } }>;
    probe.forEach((p, i) => p.typed.nodeType === 'Switch' && sw.push({ lid: i + 1, ports: p.typed.numPorts }));
    assert.equal(sw.length, LEAVES + SPINES);
    const items: Array<{ attr: string; addr: object; port?: number }> = [];
    const oracle: string[][] = [];
    for (const s of sw) {
      items.push({ attr: 'switchinfo', addr: { lid: s.lid } });
      oracle.push(['switchinfo', `${s.lid}`]);
      for (let p = 0; p <= s.ports; p++) {
        items.push({ attr: 'portinfo', addr: { lid: s.lid }, port: p });
        oracle.push(['portinfo', `${s.lid}`, `${p}`]);
      }
    }
    const ours = (await run({ op: 'query', items })) as Array<{ text: string }>;
    const theirs = await smpquery(oracle);
    for (let i = 0; i < items.length; i++) {
      const a = parseDump(ours[i]!.text);
      const b = parseDump(theirs[i]!);
      for (const [k, v] of b) if (k !== 'Mkey') assert.equal(a.get(k), v, `${oracle[i]!.join(' ')}: field ${k}`);
    }
  });

  it('by directed route: every node, all four attributes, equal smpquery -D', async () => {
    const targets: number[][] = [[]];
    for (let l = 1; l <= LEAVES; l++) targets.push(pathToLeaf(l));
    for (let s = 1; s <= SPINES; s++) targets.push(pathToSpine(s));
    for (let h = 1; h <= HOSTS; h++) targets.push(pathToHost(h));
    const items: Array<{ attr: string; addr: object; port?: number }> = [];
    const oracle: string[][] = [];
    for (const path of targets) {
      const dr = ['0', ...path.map(String)].join(',');
      items.push({ attr: 'nodeinfo', addr: { path } }, { attr: 'nodedesc', addr: { path } }, { attr: 'portinfo', addr: { path }, port: 1 });
      oracle.push(['-D', 'nodeinfo', dr], ['-D', 'nodedesc', dr], ['-D', 'portinfo', dr, '1']);
      if (path.length === 1 || path.length === 2 && path[1]! > HPL || path.length === 3) {
        items.push({ attr: 'switchinfo', addr: { path } });
        oracle.push(['-D', 'switchinfo', dr]);
      }
    }
    const ours = (await run({ op: 'query', items })) as Array<{ typed: unknown; text?: string }>;
    const theirs = await smpquery(oracle);
    const descs = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      const what = oracle[i]!.join(' ');
      if (items[i]!.attr === 'nodedesc') {
        assert.equal(ours[i]!.typed, parseDump(theirs[i]!).get('Node Description'), what);
        descs.add(ours[i]!.typed as string);
        continue;
      }
      const a = parseDump(ours[i]!.text!);
      const b = parseDump(theirs[i]!);
      assert.ok(b.size > 5, what);
      for (const [k, v] of b) if (k !== 'Mkey') assert.equal(a.get(k), v, `${what}: field ${k}`);
    }
    // The routes reach every node of the fabric exactly once (plus node001 itself at []).
    assert.equal(descs.size, HOSTS + LEAVES + SPINES);
    // The 1x link of node007 as both ends report it.
    const i7 = items.findIndex((it, i) => it.attr === 'portinfo' && JSON.stringify((it.addr as { path: number[] }).path) === JSON.stringify(pathToHost(7)) && i >= 0);
    assert.equal((ours[i7]!.typed as { linkWidthActive: string }).linkWidthActive, '1X');
  });

  it('pipelines many queries with every reply matched to its request', async () => {
    const r = (await run({ op: 'burst', addr: { path: pathToSpine(2) }, count: 500 })) as { ok: number; guids: string[]; stats: { sent: number } };
    assert.equal(r.ok, 500);
    assert.equal(r.guids.length, 1, 'all replies carry the same node');
    assert.equal(r.stats.sent, 500);
  });

  it('30% SMP drops: queries succeed through retries', async () => {
    await sim.console(`Error "S-leaf03" 30`);
    try {
      // A node-wide error rate applies at every port of the node the SMP crosses (ibsim answers a
      // drop at once, with status 110): measured, 50% of the attempts to leaf03 fail (2,017 of 4,017).
      // With 10 retries a query fails all 11 attempts with probability 0.5^11, so 200 queries failed
      // the test about one run in 11. With 60 retries: 200 x 0.5^61, below 1e-16.
      const r = (await run({ op: 'burst', addr: { path: pathToLeaf(3) }, count: 200, retries: 60 })) as {
        ok: number;
        errors: unknown[];
        stats: { retries: number; sent: number };
      };
      assert.equal(r.ok, 200, JSON.stringify(r.errors.slice(0, 3)));
      assert.ok(r.stats.retries > 10, `retries happened: ${r.stats.retries}`);
      assert.equal(r.stats.sent, 200 + r.stats.retries);
    } finally {
      await sim.console(`Error "S-leaf03" 0`);
    }
  });

  it('100% drops: a timeout error naming the address, after exactly retries + 1 attempts', async () => {
    await sim.console(`Error "S-leaf04" 100`);
    try {
      const timeoutMs = 300;
      const retries = 2;
      const r = (await run({ op: 'timeout', addr: { path: pathToLeaf(4) }, timeoutMs, retries })) as {
        ok: boolean;
        ms: number;
        error: { code: string; message: string; attempts: number };
      };
      assert.equal(r.ok, false);
      assert.equal(r.error.code, 'ETIMEDOUT');
      assert.match(r.error.message, /NodeInfo \(0x0011\) to DR path 0,1,14,4/);
      assert.equal(r.error.attempts, retries + 1);
      assert.ok(r.ms < 60_000, `took ${r.ms} ms (hang guard)`);
    } finally {
      await sim.console(`Error "S-leaf04" 0`);
    }
  });

  it('a frozen fabric: the engine\'s own deadline ends the request after timeout × (retries + 1)', async () => {
    const timeoutMs = 250;
    const retries = 2;
    const child = sim.spawn(process.execPath, [client, JSON.stringify({ op: 'deadline', addr: { lid: 1 }, timeoutMs, retries })]);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const waitLine = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => stdout.split('\n').length > n && resolve();
        child.stdout!.on('data', (d: Buffer) => {
          stdout += d;
          check();
        });
        child.on('close', () => reject(new Error(`client exited: ${stderr}`)));
        check();
      });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      await waitLine(1); // "ready"
      process.kill(sim.state.pids.ibsim, 'SIGSTOP');
      child.stdin!.write('go\n');
      await waitLine(2);
    } finally {
      process.kill(sim.state.pids.ibsim, 'SIGCONT');
    }
    child.stdin!.end('done\n');
    assert.equal(await exited, 0, stderr);
    const r = JSON.parse(stdout.split('\n')[1]!) as { ok: boolean; ms: number; error: { code: string; message: string; attempts: number }; stats: { sent: number } };
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'ETIMEDOUT');
    assert.match(r.error.message, /NodeInfo \(0x0011\) to LID 1: no reply after 3 attempt/);
    assert.equal(r.error.attempts, retries + 1);
    assert.equal(r.stats.sent, 1 + retries + 1, 'the warm-up query plus one send per attempt');
    assert.ok(r.ms >= timeoutMs * (retries + 1) - 50, `took ${r.ms} ms: every attempt waited its timeout`);
    assert.ok(r.ms < 60_000, `took ${r.ms} ms (hang guard)`);
  });

  it('bad addresses are rejected before anything is sent', async () => {
    const r = (await run({ op: 'bad-address' })) as { errors: Array<{ code: string; message: string } | null>; sent: number };
    assert.equal(r.sent, 0);
    for (const e of r.errors) assert.equal(e?.code, 'ERR_BAD_ADDRESS');
    assert.match(r.errors[0]!.message, /LID 0 is reserved/);
    assert.match(r.errors[1]!.message, /multicast/);
    assert.match(r.errors[4]!.message, /at most 63 hops/);
    assert.match(r.errors[5]!.message, /hop 2: port number must be 0\.\.255/);
  });

  it('close() with queries in flight rejects them all at once, and the process exits', async () => {
    const r = (await run({ op: 'close-in-flight', addr: { lid: 1 }, count: 40 })) as {
      outstandingBeforeClose: number;
      closeMs: number;
      errors: Array<{ code: string }>;
    };
    assert.equal(r.outstandingBeforeClose, 40);
    assert.equal(r.errors.length, 40);
    for (const e of r.errors) assert.equal(e.code, 'ERR_PORT_CLOSED');
  });

  it('close() leaves no fd and no thread behind', async () => {
    const r = (await run({ op: 'resources' })) as { fds0: number; tasks0: number; tasksOpen: number; fds1: number; tasks1: number };
    assert.equal(r.tasksOpen, r.tasks0 + 1, 'one engine thread per open port');
    assert.equal(r.tasks1, r.tasks0);
    assert.equal(r.fds1, r.fds0);
  });

  it('works inside worker threads, and survives terminating a worker with MADs in flight', async () => {
    const r = (await run({ op: 'worker' })) as { guid: string; terminated: number };
    assert.equal(r.guid, '100000');
    assert.equal(r.terminated, 1);
  });

  it('an idle process with an open port exits on its own', async () => {
    const r = await sim.runScript(client, [JSON.stringify({ op: 'idle' })], { timeoutMs: 20_000 });
    assert.equal(r.signal, null, 'not killed by the timeout');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"guid"/);
  });
});
