/**
 * hpcnet benchmarks (`npm run bench`). Every goal is a ratio against the
 * reference tool measured in the same run on the same simulated fabric;
 * nothing here is a pass/fail test. Prints the machine, fabric and versions.
 *
 *   npm run bench [-- --only engine] [-- --quick]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { IbSim } from '../../lib/sim/ibsim.js';
import { generateFatTree, type FatTreeOptions } from '../../lib/sim/netfile.js';
import { packageRoot, packageVersion } from '../../lib/util/paths.js';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const quick = args.includes('--quick');

function pkgVersion(name: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
}

function header(): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log('# hpcnet benchmarks');
  console.log(`machine:  ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  console.log(
    `versions: hpcnet ${packageVersion()}, node ${process.version}, ibsim ${pkgVersion('ibsim-utils')}, ` +
      `opensm ${pkgVersion('opensm')}, infiniband-diags ${pkgVersion('infiniband-diags')}, libibumad ${pkgVersion('libibumad3')}`,
  );
  console.log('');
}

async function withFabric<T>(o: FatTreeOptions, fn: (sim: IbSim, maxLid: number) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'hpcnet-bench-'));
  const file = join(dir, 'fabric.net');
  writeFileSync(file, generateFatTree(o));
  const hosts = o.leaves * o.hostsPerLeaf;
  console.log(`fabric:   fat tree, ${o.leaves} leaves, ${o.spines} spines, ${hosts} hosts (${hosts + o.leaves + o.spines} nodes)`);
  const t0 = Date.now();
  const sim = await IbSim.start({ topology: file, readyTimeoutMs: 300_000 });
  console.log(`          simulator and OpenSM ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  try {
    return await fn(sim, hosts + o.leaves + o.spines);
  } finally {
    await sim.stop();
  }
}

function client(name: string): string {
  return join(packageRoot(), 'dist', 'scripts', 'bench', 'clients', `${name}.js`);
}

async function runJson<T>(sim: IbSim, script: string, argv: (string | number)[]): Promise<T> {
  const r = await sim.runScript(script, argv.map(String), { timeoutMs: 1_800_000 });
  if (r.code !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** Issue 3: in-process NodeInfo vs one smpquery process per query; window 16 vs 1. */
async function benchEngine(): Promise<void> {
  console.log('## MAD engine: NodeInfo queries');
  const o = quick ? { leaves: 16, spines: 8, hostsPerLeaf: 16 } : { leaves: 64, spines: 32, hostsPerLeaf: 32 };
  await withFabric(o, async (sim, maxLid) => {
    const n = quick ? 2000 : 10_000;
    type R = { ms: number; stats: { sent: number; retries: number } };
    const w16 = await runJson<R>(sim, client('engine'), [n, 16, maxLid]);
    const w1 = await runJson<R>(sim, client('engine'), [n, 1, maxLid]);
    const smpN = quick ? 100 : 300;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < smpN; i++) {
      const r = await sim.exec('smpquery', ['nodeinfo', String(1 + ((i * 7919) % maxLid))]);
      if (r.code !== 0) throw new Error(`smpquery failed: ${r.stderr}`);
    }
    const smpMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const perHp = w16.ms / n;
    const perSmp = smpMs / smpN;
    console.log(`hpcnet, window 16: ${n} queries in ${w16.ms.toFixed(0)} ms = ${(perHp * 1000).toFixed(1)} µs/query (${w16.stats.sent} MADs sent)`);
    console.log(`hpcnet, window 1:  ${n} queries in ${w1.ms.toFixed(0)} ms = ${((w1.ms / n) * 1000).toFixed(1)} µs/query`);
    console.log(`smpquery (one process per query): ${smpN} queries in ${smpMs.toFixed(0)} ms = ${(perSmp * 1000).toFixed(0)} µs/query`);
    console.log(`RATIO per-query cost, smpquery / hpcnet:  ${(perSmp / perHp).toFixed(0)}x   (goal: >= 50x)`);
    console.log(`RATIO wall time, window 1 / window 16:   ${(w1.ms / w16.ms).toFixed(2)}x`);
  });
  console.log('');
}

/** Time a tool run under the simulator, best of `n`. */
async function timeTool(sim: IbSim, cmd: string, argv: string[], n: number): Promise<{ ms: number; stdout: string }> {
  let best = Infinity;
  let stdout = '';
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = await sim.exec(cmd, argv, { timeoutMs: 1_800_000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.code !== 0 && !(cmd === 'ibqueryerrors' && r.code === 1)) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
    if (ms < best) {
      best = ms;
      stdout = r.stdout;
    }
  }
  return { ms: best, stdout };
}

type DiscRow = { ms: number; mads: number; nodes: number; links: number; errors: number; sweepMs?: number; ports?: number; sweepMads?: number };

/** Issue 5: discovery vs ibnetdiscover (default and -o 8) on a large fat tree. */
async function benchDiscovery(): Promise<void> {
  console.log('## Discovery');
  const o = quick ? { leaves: 32, spines: 16, hostsPerLeaf: 32 } : { leaves: 128, spines: 64, hostsPerLeaf: 64 };
  await withFabric({ ...o, speed: 'HDR' }, async (sim) => {
    const runs = 3;
    const ours = await runJson<DiscRow[]>(sim, client('discover'), [runs, 0]);
    const best = ours.reduce((a, b) => (b.ms < a.ms ? b : a));
    const def = await timeTool(sim, 'ibnetdiscover', ['-m'], runs);
    const o8 = await timeTool(sim, 'ibnetdiscover', ['-m', '-o', '8'], runs);
    const toolMads = Number(/Total MADs used: (\d+)/.exec(def.stdout)?.[1]);
    console.log(`hpcnet discover (window 16, 2 per destination): ${best.ms.toFixed(0)} ms, ${best.mads} MADs, ${best.nodes} nodes, ${best.links} links, ${best.errors} errors (best of ${runs}; process start excluded)`);
    console.log(`ibnetdiscover (-o 2, default):                   ${def.ms.toFixed(0)} ms, ${toolMads} MADs (best of ${runs}; whole process)`);
    console.log(`ibnetdiscover -o 8:                              ${o8.ms.toFixed(0)} ms`);
    console.log(`RATIO wall time hpcnet / ibnetdiscover default: ${(best.ms / def.ms).toFixed(2)}   (goal: <= 0.5)`);
    console.log(`RATIO wall time hpcnet / ibnetdiscover -o 8:    ${(best.ms / o8.ms).toFixed(2)}   (goal: <= 1.0)`);
    console.log(`RATIO MADs hpcnet / ibnetdiscover:              ${(best.mads / toolMads).toFixed(3)}   (goal: <= 1.0)`);
  });
  console.log('');
}

/** Issue 6: counter sweep vs ibqueryerrors. */
async function benchSweep(): Promise<void> {
  console.log('## Counter sweep');
  const o = quick ? { leaves: 16, spines: 8, hostsPerLeaf: 16 } : { leaves: 64, spines: 32, hostsPerLeaf: 32 };
  await withFabric(o, async (sim) => {
    const runs = 3;
    const ours = await runJson<DiscRow[]>(sim, client('discover'), [runs, 1]);
    const best = ours.reduce((a, b) => (b.sweepMs! < a.sweepMs! ? b : a));
    const bestTotal = Math.min(...ours.map((r) => r.ms + r.sweepMs!));
    const iqe = await timeTool(sim, 'ibqueryerrors', [], runs);
    console.log(`hpcnet counter sweep: ${best.sweepMs!.toFixed(0)} ms for ${best.ports} ports (${best.sweepMads} PMA MADs; ClassPortInfo, PortCounters, PortCountersExtended)`);
    console.log(`hpcnet discovery + sweep: ${bestTotal.toFixed(0)} ms`);
    console.log(`ibqueryerrors (discovery + PMA queries): ${iqe.ms.toFixed(0)} ms`);
    console.log(`RATIO wall time, hpcnet sweep / ibqueryerrors:             ${(best.sweepMs! / iqe.ms).toFixed(2)}   (goal: <= 0.33)`);
    console.log(`RATIO wall time, hpcnet discovery + sweep / ibqueryerrors: ${(bestTotal / iqe.ms).toFixed(2)}`);
  });
  console.log('');
}

const benches: Record<string, () => Promise<void>> = { engine: benchEngine, discovery: benchDiscovery, sweep: benchSweep };

header();
for (const [name, fn] of Object.entries(benches)) {
  if (only && only !== name) continue;
  await fn();
}
void readFileSync;
