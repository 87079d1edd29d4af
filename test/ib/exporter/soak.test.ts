/**
 * Soak (issue 12): the exporter, as a process, on a small simulated fabric
 * with an interval shorter than its collections, while the test drops SMPs,
 * unlinks and relinks a cable, restarts OpenSM and freezes the simulator.
 * The process never exits, every scrape answers 200, failed collections are
 * counted, successful ones resume, and its fds and threads return to their
 * starting count. Then a library loop opens and closes a port 1,000 times
 * with MADs in flight. About a minute in all.
 */
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim, umad2simPath } from '../../../lib/sim/ibsim.js';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { packageRoot } from '../../../lib/util/paths.js';

const MAIN = join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');
const LOOP = join(packageRoot(), 'dist', 'test', 'ib', 'clients', 'port-loop-client.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scrape(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
  });
}

function collections(body: string): { success: number; error: number } {
  const n = (r: string) => Number(new RegExp(`^hpcnet_ib_exporter_collections_total\\{result="${r}"\\} (\\d+)`, 'm').exec(body)?.[1] ?? NaN);
  return { success: n('success'), error: n('error') };
}

const count = (pid: number, what: 'fd' | 'task') => readdirSync(`/proc/${pid}/${what}`).length;

/** Wait (bounded) until `f` holds. */
async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('soak: exporter and port lifecycle under faults', () => {
  let sim: IbSim;
  let dir: string;
  let extraSm: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hpcnet-soak-'));
    const file = join(dir, 'ft.net');
    writeFileSync(file, generateFatTree({ leaves: 2, spines: 2, hostsPerLeaf: 4, speed: 'EDR' }));
    sim = await IbSim.start({ topology: file });
  });
  after(async () => {
    if (extraSm && extraSm.exitCode === null && extraSm.signalCode === null) {
      const gone = new Promise((r) => extraSm!.once('exit', r));
      extraSm.kill('SIGKILL');
      await gone;
    }
    if (sim) {
      try {
        process.kill(sim.state.pids.ibsim, 'SIGCONT');
      } catch {
        /* already gone */
      }
      await sim.stop();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the exporter keeps serving through drops, an unlinked cable, an OpenSM restart and a frozen simulator', async () => {
    const child = sim.spawn(process.execPath, [MAIN, 'ib', 'exporter', '--listen', '127.0.0.1:0', '--interval', '100ms', '--timeout', '1500ms', '--no-audit'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let stop = false;
    const statuses: number[] = [];
    let scraper: Promise<void> | undefined;
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /listening on (http:\/\/\S+)\/metrics/.exec(out);
          if (m) resolve(m[1]! + '/metrics');
        });
        void exited.then((code) => reject(new Error(`exporter exited (${code}) before listening: ${stderr}`)));
      });
      let last = { success: 0, error: 0 };
      scraper = (async () => {
        while (!stop) {
          const r = await scrape(url);
          statuses.push(r.status);
          if (r.status === 200) last = collections(r.body);
          await sleep(40);
        }
      })();
      const pid = child.pid!;
      await until('two successful collections', () => last.success >= 2);
      await sleep(300);
      const fds0 = count(pid, 'fd');
      const tasks0 = count(pid, 'task');

      // SMP drops on a leaf and a host port.
      await sim.console('Error "S-leaf02" 60');
      await sim.console('Error "H-node01"[1] 60');
      await sleep(2000);
      await sim.console('Error "S-leaf02" 0');
      await sim.console('Error "H-node01"[1] 0');
      // A cable unlinked, then relinked.
      await sim.console('Unlink "S-spine01"[1]');
      await sleep(1500);
      await sim.console('ReLink "S-spine01"[1]');
      // OpenSM restarted.
      await sim.stopSm();
      await sleep(500);
      const osmLog = join(dir, 'osm2.log');
      // Only umad2sim preloaded (as IbSim starts OpenSM): not a sanitizer runtime of the test's own process.
      extraSm = sim.spawn('opensm', ['-d2', '-f', osmLog], { stdio: 'ignore', env: { OSM_CACHE_DIR: dir, OSM_TMP_DIR: dir, LD_PRELOAD: umad2simPath() } });
      await until('OpenSM up again', () => {
        try {
          return readFileSync(osmLog, 'utf8').includes('SUBNET UP');
        } catch {
          return false;
        }
      }, 60_000);
      // The simulator frozen for longer than the collection timeout.
      const errorsBefore = last.error;
      process.kill(sim.state.pids.ibsim, 'SIGSTOP');
      await sleep(2500);
      process.kill(sim.state.pids.ibsim, 'SIGCONT');
      await until('the freeze counted as a failed collection', () => last.error > errorsBefore);
      const afterFaults = last.success;
      await until('successful collections again', () => last.success >= afterFaults + 3, 60_000);

      assert.equal(child.exitCode, null, `the exporter exited: ${stderr}`);
      await until('fds and threads back to their starting count', () => count(pid, 'fd') === fds0 && count(pid, 'task') === tasks0, 15_000).catch(() => {
        assert.deepEqual({ fds: count(pid, 'fd'), tasks: count(pid, 'task') }, { fds: fds0, tasks: tasks0 }, 'fds and threads');
      });
      assert.match(stderr, /collection failed after/, 'failed collections are logged');
    } finally {
      stop = true;
      await scraper;
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `exporter exit code: ${stderr}`);
    assert.ok(statuses.length > 50, `${statuses.length} scrapes`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every scrape answered 200',
    );
  });

  it('a library loop opens and closes a port 1,000 times with MADs in flight', async () => {
    const r = await sim.runScript(LOOP, ['1000'], { timeoutMs: 300_000 });
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim()) as { fds0: number; tasks0: number; fds1: number; tasks1: number; outcomes: Record<string, number> };
    const total = Object.values(o.outcomes).reduce((a, b) => a + b, 0);
    assert.equal(total, 4000, `every request ended: ${JSON.stringify(o.outcomes)}`);
    assert.ok((o.outcomes['ERR_PORT_CLOSED'] ?? 0) > 0, `requests were outstanding at close: ${JSON.stringify(o.outcomes)}`);
    assert.ok((o.outcomes['ok'] ?? 0) >= 1000, `one reply before each close: ${JSON.stringify(o.outcomes)}`);
    assert.equal(o.fds1, o.fds0, 'open fds back to the starting count');
    assert.equal(o.tasks1, o.tasks0, 'threads back to the starting count');
  });
});
