/**
 * A real Slurm controller for tests: munged with a generated key and
 * slurmctld in the foreground (-D), both with every path in one temporary
 * folder, on a free loopback port, with a generated slurm.conf declaring
 * the given hosts (NodeAddr=127.0.0.1) and `TopologyPlugin=topology/tree`
 * next to the topology.conf under test. Authentication is auth/munge
 * through the private socket (`AuthInfo=socket=...`). `stop()` (or
 * `await using`) ends both daemons and removes the folder; a process exit
 * kills them too.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function daemon(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  live.add(child);
  child.once('exit', () => live.delete(child));
  return { child, log: () => out };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

export class SlurmCtld {
  readonly dir: string;
  readonly conf: string;
  private readonly daemons: Array<{ child: ChildProcess; log: () => string }> = [];

  private constructor(dir: string) {
    this.dir = dir;
    this.conf = join(dir, 'slurm.conf');
  }

  /** Start munged and slurmctld reading `topology` as topology.conf; `hosts` are declared as nodes. */
  static async start(hosts: string[], topology: string): Promise<SlurmCtld> {
    const dir = mkdtempSync(join(tmpdir(), 'hpcnet-slurm-'));
    dirs.add(dir);
    const s = new SlurmCtld(dir);
    try {
      // munged wants the socket's folder searchable by everyone and the key private.
      chmodSync(dir, 0o711);
      writeFileSync(join(dir, 'munge.key'), randomBytes(128), { mode: 0o600 });
      const sock = join(dir, 'munge.sock');
      const munge = daemon(
        'munged',
        ['-F', '-f', `--key-file=${join(dir, 'munge.key')}`, `--socket=${sock}`, `--pid-file=${join(dir, 'munged.pid')}`, `--seed-file=${join(dir, 'munged.seed')}`, `--log-file=${join(dir, 'munged.log')}`],
        process.env,
      );
      s.daemons.push(munge);
      for (const deadline = Date.now() + 30_000; !existsSync(sock); ) {
        if (munge.child.exitCode !== null || Date.now() > deadline) throw new Error(`munged did not start: ${munge.log()}`);
        await sleep(50);
      }
      const port = await freePort();
      mkdirSync(join(dir, 'state'));
      mkdirSync(join(dir, 'spool'));
      writeFileSync(
        s.conf,
        [
          'ClusterName=hpcnettest',
          'SlurmctldHost=localhost',
          `SlurmctldPort=${port}`,
          `SlurmdPort=${port + 1}`,
          'AuthType=auth/munge',
          `AuthInfo=socket=${sock}`,
          'CredType=cred/munge',
          'SlurmUser=root',
          `StateSaveLocation=${join(dir, 'state')}`,
          `SlurmdSpoolDir=${join(dir, 'spool')}`,
          `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
          'MpiDefault=none',
          'ProctrackType=proctrack/linuxproc',
          'TaskPlugin=task/none',
          'SchedulerType=sched/builtin',
          'SelectType=select/linear',
          'TopologyPlugin=topology/tree',
          'MailProg=/bin/true',
          ...hosts.map((h) => `NodeName=${h} NodeAddr=127.0.0.1 State=UNKNOWN`),
          'PartitionName=all Nodes=ALL Default=YES State=UP',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'topology.conf'), topology);
      const ctld = daemon('slurmctld', ['-D', '-i', '-f', s.conf], { ...process.env, SLURM_CONF: s.conf });
      s.daemons.push(ctld);
      // A generous hang guard: the machine may be busy.
      for (const deadline = Date.now() + 90_000; ; ) {
        if (ctld.child.exitCode !== null || ctld.child.signalCode !== null) throw new Error(`slurmctld exited (${ctld.child.exitCode ?? ctld.child.signalCode}): ${ctld.log()}`);
        const r = await s.scontrol(['ping']);
        if (r.code === 0 && /is UP/.test(r.stdout)) break;
        if (Date.now() > deadline) throw new Error(`slurmctld did not answer within 90 s: ${r.stdout}${r.stderr}\n${ctld.log()}`);
        await sleep(250);
      }
      return s;
    } catch (e) {
      await s.stop();
      throw e;
    }
  }

  /** slurmctld's own output so far (for failure messages). */
  log(): string {
    return this.daemons[1]?.log() ?? '';
  }

  scontrol(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile('scontrol', args, { env: { ...process.env, SLURM_CONF: this.conf }, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  }

  async stop(): Promise<void> {
    for (const d of [...this.daemons].reverse()) await stopChild(d.child);
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
