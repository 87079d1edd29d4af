/**
 * The MAD engine against kernel behaviour the simulator does not show (issue
 * 17): the engine runs under ibsim with test/ib/shim/umad-kernel-shim.c in
 * front of umad2sim. The shim reports a lost MAD back with ETIMEDOUT after
 * the timeout the engine gave the kernel, holds replies back (replies after
 * the deadline), makes poll() report spurious readiness, and records how
 * many MADs were outstanding on the wire (the scheduler's limits).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim, umad2simPath } from '../../lib/sim/ibsim.js';
import { generateFatTree } from '../../lib/sim/netfile.js';
import { packageRoot } from '../../lib/util/paths.js';

const client = join(packageRoot(), 'dist', 'test', 'ib', 'clients', 'kernel-client.js');
const shimSource = join(packageRoot(), 'test', 'ib', 'shim', 'umad-kernel-shim.c');

describe('MAD engine under kernel behaviour (shim over umad2sim)', () => {
  let sim: IbSim;
  let dir: string;
  let shim: string;

  const run = async (job: object, shimEnv: Record<string, string>, timeoutMs = 30_000) => {
    const r = await sim.runScript(client, [JSON.stringify(job)], {
      timeoutMs,
      env: { LD_PRELOAD: [process.env['LD_PRELOAD'], shim, umad2simPath()].filter(Boolean).join(' '), ...shimEnv },
    });
    assert.equal(r.signal, null, `client killed by ${r.signal} (hang guard ${timeoutMs} ms): ${r.stderr}`);
    assert.equal(r.code, 0, `client failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hpcnet-kshim-'));
    shim = join(dir, 'umad-kernel-shim.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', shim, shimSource, '-ldl', '-lpthread']);
    const file = join(dir, 'ft.net');
    writeFileSync(file, generateFatTree({ leaves: 2, spines: 1, hostsPerLeaf: 3, speed: 'EDR' }));
    sim = await IbSim.start({ topology: file });
  });
  after(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a lost attempt's late ETIMEDOUT (after the retry was sent) does not end the retry", async () => {
    // Attempt 1 is lost; the kernel reports it 20 ms after the timeout it was
    // given; every reply takes 60 ms. With one transaction id for both
    // attempts and the kernel's timeout equal to the engine's, the status of
    // attempt 1 lands on attempt 2 and ends the request as a timeout while
    // its reply is on the way.
    const r = await run({ op: 'one', lid: 1, timeoutMs: 300, retries: 1 }, { HPCNET_SHIM_DROP: '1', HPCNET_SHIM_DELAY_MS: '60' });
    assert.equal(r['ok'], true, `request failed: ${JSON.stringify(r)}`);
    assert.equal(r['attempts'], 2);
  });

  it("a reply of an earlier attempt that arrives after its deadline is accepted", async () => {
    // Replies take 400 ms, the deadline is 300 ms: attempt 1's reply arrives while attempt 2 is out.
    const r = await run({ op: 'one', lid: 1, timeoutMs: 300, retries: 1 }, { HPCNET_SHIM_DELAY_MS: '400' });
    assert.equal(r['ok'], true, `request failed: ${JSON.stringify(r)}`);
    assert.equal(r['attempts'], 2);
  });

  it('the kernel ETIMEDOUT of the last attempt is a timeout with every attempt counted', async () => {
    const r = await run({ op: 'one', lid: 1, timeoutMs: 100, retries: 2 }, { HPCNET_SHIM_DROP: '3' });
    assert.equal(r['ok'], false);
    assert.equal(r['code'], 'ETIMEDOUT');
    assert.equal(r['attempts'], 3);
  });

  it('spurious readiness does not block the engine: the request times out and close() returns', async () => {
    // The reply is lost with no status (as on a frozen simulator) and poll()
    // says "readable" for nothing: a blocking umad_recv would wait forever.
    const r = await run({ op: 'one', lid: 1, timeoutMs: 200, retries: 0 }, { HPCNET_SHIM_DROP: '1', HPCNET_SHIM_DROP_STATUS: '0', HPCNET_SHIM_SPURIOUS: '1000' }, 20_000);
    assert.equal(r['ok'], false);
    assert.equal(r['code'], 'ETIMEDOUT');
  });

  it('the native scheduler keeps the window and the per-destination limit on the wire', async () => {
    const stats = join(dir, 'limits.txt');
    // Slow replies (5 ms) so requests queue up behind both limits.
    const r = await run({ op: 'limits', lids: [1, 2, 3, 4], count: 240, window: 6, perDestination: 2 }, { HPCNET_SHIM_DELAY_MS: '5', HPCNET_SHIM_STATS: stats });
    assert.equal(r['ok'], 240);
    const [sent, maxOutstanding, maxPerDest] = readFileSync(stats, 'utf8').trim().split(' ').map(Number);
    assert.equal(sent, 240);
    assert.equal(maxOutstanding, 6, 'the window is filled and never exceeded');
    assert.equal(maxPerDest, 2, 'the per-destination limit is reached and never exceeded');
    const r2 = await run({ op: 'limits', lids: [1], count: 60, window: 16, perDestination: 3 }, { HPCNET_SHIM_DELAY_MS: '5', HPCNET_SHIM_STATS: stats });
    assert.equal(r2['ok'], 60);
    const [, max2, perDest2] = readFileSync(stats, 'utf8').trim().split(' ').map(Number);
    assert.equal(perDest2, 3);
    assert.equal(max2, 3, 'one destination: the per-destination limit bounds the window');
  });

  it('every completion is delivered when callbacks throw; the exceptions are reported and the process exits', async () => {
    const r = await run({ op: 'throwing-callbacks', lid: 1, count: 40 }, { HPCNET_SHIM_DELAY_MS: '20' }, 20_000);
    assert.equal(r['called'], 40);
    assert.ok((r['uncaught'] as number) >= 1, 'the first exception of each batch surfaces as an uncaught exception');
    assert.equal(r['outstanding'], 0);
  });

  it('close() calls every outstanding callback even when they throw, then rejects with the first exception', async () => {
    const r = await run({ op: 'throwing-close', lid: 1, count: 10 }, { HPCNET_SHIM_DELAY_MS: '50' }, 20_000);
    assert.equal(r['called'], 10);
    assert.match(String(r['closeError']), /close boom/);
  });
});
