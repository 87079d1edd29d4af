/** Simulator lifecycle: clean start/stop, side-by-side simulators, clear errors instead of hangs. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SimulatorError } from '../../lib/errors.js';
import { IbSim, ibsimListening } from '../../lib/sim/ibsim.js';
import { generateFatTree } from '../../lib/sim/netfile.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** PIDs of live processes whose environment names this simulator socket (ibsim, OpenSM, clients). */
function processesOf(sockName: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`IBSIM_SOCKNAME=${sockName}`)) out.push(Number(d));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

function smallFabric(hosts: number): string {
  const dir = tempDir('hpcnet-net-');
  const file = join(dir, 'fabric.net');
  writeFileSync(file, generateFatTree({ leaves: 1, spines: 1, hostsPerLeaf: hosts }));
  return file;
}

describe('IbSim lifecycle', () => {
  it('starts with OpenSM master and stops leaving no process or file behind', async () => {
    const sim = await IbSim.start({ name: 'life' });
    const { sockName, dir } = sim;
    assert.ok(sim.isAlive());
    assert.ok(ibsimListening(sockName));
    assert.match(readFileSync(join(dir, 'osm', 'osm.log'), 'utf8'), /SUBNET UP/);
    const running = processesOf(sockName);
    assert.ok(running.includes(sim.state.pids.ibsim) && running.includes(sim.state.pids.opensm!), `found ${running}`);
    // A client run leaves its umad2sim ./sys-<pid> folder in the client folder until it exits.
    const r = await sim.exec('ibstat', ['-l']);
    assert.equal(r.stdout.trim(), 'ibsim0');
    await sim.stop();
    assert.deepEqual(processesOf(sockName), []);
    assert.equal(ibsimListening(sockName), false);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(IbSim.list(), []);
  });

  it('runs two simulators side by side, each with its own fabric', async () => {
    await using a = await IbSim.start({ topology: smallFabric(2) });
    await using b = await IbSim.start({ topology: smallFabric(5) });
    assert.notEqual(a.sockName, b.sockName);
    const na = await a.exec('ibnetdiscover', ['-H']);
    const nb = await b.exec('ibnetdiscover', ['-H']);
    assert.equal(na.stdout.trim().split('\n').length, 2, na.stdout);
    assert.equal(nb.stdout.trim().split('\n').length, 5, nb.stdout);
    assert.equal(IbSim.list().length, 2);
  });

  it('fails fast with a clear error when no simulator runs (no hang)', async () => {
    assert.throws(() => IbSim.attach('nobody'), (e: unknown) => e instanceof SimulatorError && /no simulator named 'nobody'/.test(e.message));
    const r = await runCli(['--sim-name', 'nobody', 'ib', 'cas'], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, 'exited by itself with the error (the 60 s hang guard kills with a signal)');
    assert.match(r.stderr, /no simulator named 'nobody' is running/);
  });

  it('refuses to start a client once the simulator died underneath', async () => {
    const sim = await IbSim.start({ sm: false });
    process.kill(sim.state.pids.ibsim, 'SIGKILL');
    for (let i = 0; i < 100 && sim.isAlive(); i++) await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(sim.exec('ibstat'), new RegExp(`is not running: ibsim \\(pid ${sim.state.pids.ibsim}\\) exited; last lines of .*ibsim\\.log`));
    await sim.stop();
    assert.deepEqual(processesOf(sim.sockName), []);
  });

  it('names OpenSM and shows the end of its log when OpenSM died underneath', async () => {
    const sim = await IbSim.start({ topology: smallFabric(2) });
    try {
      process.kill(sim.state.pids.opensm!, 'SIGKILL');
      for (let i = 0; i < 100 && sim.isAlive(); i++) await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(sim.exec('ibstat'), (e: unknown) => {
        const m = (e as Error).message;
        return new RegExp(`is not running: OpenSM \\(pid ${sim.state.pids.opensm}\\) exited; last lines of .*osm\\.log`).test(m) && /osm\.log:\n(?!\(no output\))\S/.test(m);
      });
    } finally {
      await sim.stop();
    }
    assert.deepEqual(processesOf(sim.sockName), []);
  });

  it('reports a broken net file with ibsim\'s own message, and cleans up', async () => {
    const dir = tempDir('hpcnet-net-');
    const file = join(dir, 'bad.net');
    // The two ends of a link disagree on the peer port: ibsim refuses the file and exits.
    writeFileSync(file, 'Switch 2 "S-a"\n[1] "H-b"[1]\n\nHca 1 "H-b"\n[1] "S-a"[2]\n');
    await assert.rejects(IbSim.start({ topology: file, readyTimeoutMs: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof SimulatorError);
      assert.match(e.message, /ibsim exited during start/);
      assert.match(e.message, /bad\.net/);
      return true;
    });
    assert.deepEqual(IbSim.list(), []);
  });

  it('console commands reach ibsim: Error drops SMPs, unknown commands are rejected', async () => {
    await using sim = await IbSim.start({ topology: smallFabric(2) });
    await assert.rejects(sim.console('NoSuchCommand'), /rejected/);
    await sim.console('Error "H-node02"[1] 100');
    const r = await sim.exec('smpquery', ['-D', 'nodedesc', '0,1,2']);
    assert.notEqual(r.code, 0, 'a 100% drop rate makes the query fail');
    await sim.console('Error "H-node02"[1] 0');
    const ok = await sim.exec('smpquery', ['-D', 'nodedesc', '0,1,2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /node02 HCA-1/);
  });

  it('hpcnet sim start/status/exec/stop through the CLI', async () => {
    const start = await runCli(['sim', 'start', '--name', 'clitest']);
    assert.equal(start.code, 0, start.stderr);
    try {
      const st = await runCli(['sim', 'status', '--json']);
      const list = JSON.parse(st.stdout) as Array<{ name: string; pids: { ibsim: number } }>;
      assert.deepEqual(list.map((s) => s.name), ['clitest']);
      const ex = await runCli(['sim', 'exec', '--name', 'clitest', '--host', 'node05 HCA-1', '--', 'smpquery', '-D', 'nodedesc', '0']);
      assert.equal(ex.code, 0, ex.stderr);
      assert.match(ex.stdout, /node05 HCA-1/);
    } finally {
      const stop = await runCli(['sim', 'stop', '--name', 'clitest']);
      assert.equal(stop.code, 0, stop.stderr);
    }
    assert.deepEqual(IbSim.list(), []);
  });

  it('`hpcnet sim stop` works after the net file was deleted; exec then says which file is missing', async () => {
    const net = smallFabric(2);
    const start = await runCli(['sim', 'start', '--name', 'gone-net', net]);
    assert.equal(start.code, 0, start.stderr);
    try {
      rmSync(net);
      const ex = await runCli(['sim', 'exec', '--name', 'gone-net', '--host', 'node01 HCA-1', '--', 'true']);
      assert.notEqual(ex.code, 0);
      assert.match(ex.stderr, /cannot read its net file .*fabric\.net/);
    } finally {
      const stop = await runCli(['sim', 'stop', '--name', 'gone-net']);
      assert.equal(stop.code, 0, stop.stderr);
    }
    assert.deepEqual(IbSim.list(), []);
  });

  it('`hpcnet --sim <command>`: a SIGINT to hpcnet reaches the command, then the simulator is removed', async () => {
    const { spawn } = await import('node:child_process');
    const { cliEntry } = await import('../../lib/util/paths.js');
    const child = spawn(process.execPath, [cliEntry(), '--sim', 'ib', 'exporter', '--listen', '127.0.0.1:0', '--interval', '60s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<[number | null, string | null]>((r) => child.on('close', (c, s) => r([c, s])));
    for (let i = 0; i < 600 && !/collection ok/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /collection ok/);
    const [sim] = IbSim.list();
    assert.ok(sim, 'the temporary simulator runs');
    child.kill('SIGINT');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null], out);
    assert.match(out, /SIGINT, closing/);
    assert.deepEqual(processesOf(sim.sockName), []);
    assert.deepEqual(IbSim.list(), []);
  });

  it('SIGINT to a process with a temporary simulator stops the simulator and removes its files', async () => {
    const { spawn } = await import('node:child_process');
    const { pathToFileURL } = await import('node:url');
    const { packageRoot } = await import('../../lib/util/paths.js');
    const mod = pathToFileURL(join(packageRoot(), 'dist', 'lib', 'sim', 'ibsim.js')).href;
    const script = `import { IbSim } from '${mod}';
      const sim = await IbSim.start();
      process.stdout.write(JSON.stringify({ sock: sim.sockName, dir: sim.dir }) + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await new Promise<{ sock: string; dir: string }>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(JSON.parse(buf) as { sock: string; dir: string });
      });
      child.on('close', () => reject(new Error('child exited before the simulator was ready')));
    });
    assert.ok(processesOf(info.sock).length >= 2, 'ibsim and OpenSM run');
    child.kill('SIGINT');
    const [, signal] = await new Promise<[number | null, string | null]>((r) => child.on('close', (c, s) => r([c, s])));
    assert.equal(signal, 'SIGINT', 'the process still dies of SIGINT');
    for (let i = 0; i < 100 && processesOf(info.sock).length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(processesOf(info.sock), []);
    assert.equal(existsSync(info.dir), false);
  });
});
