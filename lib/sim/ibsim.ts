/**
 * Simulated InfiniBand fabrics: ibsim (the fabric) plus OpenSM (the subnet
 * manager), and a way to run any program, hpcnet itself included, as a client
 * of that fabric. Product code: `hpcnet sim ...`, `hpcnet --sim` and the tests
 * all use this module.
 *
 * Facts this relies on (../shared/reference/infiniband.md section 5):
 * - every simulator gets a private IBSIM_SOCKNAME; ibsim listens on the
 *   abstract unix socket "@<name>:ctl", which is how liveness is checked
 *   (a client started with no simulator waits forever inside umad2sim);
 * - ibsim's console reads a FIFO opened read-write, so it never sees EOF
 *   (at EOF its select loop spins at 100% CPU) and anyone can send commands;
 * - OpenSM runs under LD_PRELOAD=libumad2sim with -d2, and "SUBNET UP" in its
 *   log means LIDs are assigned;
 * - a client needs a writable working directory (umad2sim makes ./sys-<pid>);
 * - at most 10 client processes per simulator, OpenSM included.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants as fsc,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { SimulatorError } from '../errors.js';
import { packageRoot } from '../util/paths.js';
import { ibsimLimitArgs, summarizeNetFile, type NetSummary } from './netfile.js';
import { collect, killGroup, type ExecOptions as BaseExecOptions, type ExecResult, pidAlive, registerTemporary, sleep, tail, unregisterTemporary, waitFor } from './process.js';
import { SimRegistry, stateRoot } from './registry.js';

export { stateRoot };

export interface IbSimOptions {
  /** Path of an ibsim net file; default: the bundled fabric (lib/sim/fabrics/default.net). */
  topology?: string;
  /** Name of the simulator (letters, digits, '-', '_'); default: a fresh temporary name. */
  name?: string;
  /** Start OpenSM as subnet manager (default true). Without it, only directed-route SMPs work. */
  sm?: boolean;
  /** Extra OpenSM arguments, e.g. ['-s', '0'] to stop periodic sweeps. */
  smArgs?: string[];
  /** OpenSM routing engine(s) (`-R`), e.g. 'minhop', 'updn', 'ftree'. Default: OpenSM's (minhop). */
  routingEngine?: string;
  /** Root switch GUIDs for updn/ftree (written to a file given to OpenSM with `-a`). */
  rootGuids?: bigint[];
  /** Extra ibsim arguments. -N/-S/-P are derived from the net file's size. */
  ibsimArgs?: string[];
  /** How long to wait for ibsim and for OpenSM's "SUBNET UP" (default 60 s). */
  readyTimeoutMs?: number;
  /** Keep running after this process exits (`hpcnet sim start`). Default false. */
  persistent?: boolean;
}

export interface IbSimState {
  name: string;
  sockName: string;
  dir: string;
  topology: string;
  defaultHost: string;
  persistent: boolean;
  pids: { ibsim: number; opensm?: number };
  startedAt: string;
}

export type { ExecResult };

export interface ExecOptions extends BaseExecOptions {
  /** Node the client attaches to (node ID or NodeDescription); default: the first CA of the fabric. */
  host?: string;
  /** Working directory; must be writable (default: the simulator's client folder). */
  cwd?: string;
}

const UMAD2SIM_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so',
  '/usr/lib/aarch64-linux-gnu/umad2sim/libumad2sim.so',
  '/usr/lib64/umad2sim/libumad2sim.so',
  '/usr/lib/umad2sim/libumad2sim.so',
];


/** Absolute path of libumad2sim.so (HPCNET_UMAD2SIM overrides). */
export function umad2simPath(): string {
  const env = process.env['HPCNET_UMAD2SIM'];
  const found = env ? [env] : UMAD2SIM_CANDIDATES.filter((p) => existsSync(p));
  if (found.length === 0 || !existsSync(found[0]!)) {
    throw new SimulatorError(
      'libumad2sim.so not found (Debian: apt-get install libumad2sim0; or set HPCNET_UMAD2SIM to its path)',
    );
  }
  return found[0]!;
}

function findProgram(name: string, pkg: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new SimulatorError(`${name} not found in PATH (Debian: apt-get install ${pkg})`);
}

/** The bundled default fabric. */
export function defaultTopologyPath(): string {
  return join(packageRoot(), 'lib', 'sim', 'fabrics', 'default.net');
}

/** Is an ibsim listening on this socket name? (abstract socket "@<name>:ctl" in /proc/net/unix) */
export function ibsimListening(sockName: string): boolean {
  let text: string;
  try {
    text = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return false;
  }
  // The bound address includes a trailing NUL, which the kernel shows as '@'.
  const want = new RegExp(` @${sockName}:ctl@*$`);
  return text.split('\n').some((line) => want.test(line));
}


const registry = new SimRegistry<IbSimState>({
  kind: 'ibsim',
  what: 'a simulator',
  command: 'hpcnet sim',
  alive: (s) => pidAlive(s.pids.ibsim) && ibsimListening(s.sockName),
});

export class IbSim {
  readonly state: IbSimState;
  private summaryCache: NetSummary | undefined;
  private children: ChildProcess[] = [];
  private stopped = false;

  private constructor(state: IbSimState) {
    this.state = state;
  }

  /**
   * The net file's nodes, read when first needed: `stop` and `status` work
   * even after the net file was deleted (ibsim read it at start).
   */
  get summary(): NetSummary {
    if (!this.summaryCache) {
      let text: string;
      try {
        text = readFileSync(this.state.topology, 'utf8');
      } catch (e) {
        throw new SimulatorError(`simulator '${this.state.name}': cannot read its net file ${this.state.topology}: ${(e as Error).message}`);
      }
      this.summaryCache = summarizeNetFile(text);
    }
    return this.summaryCache;
  }

  get name(): string {
    return this.state.name;
  }
  get dir(): string {
    return this.state.dir;
  }
  get sockName(): string {
    return this.state.sockName;
  }
  /** Node IDs of the fabric's CAs, in file order (valid SIM_HOST values). */
  get hosts(): string[] {
    return this.summary.nodes.filter((n) => n.kind !== 'Switch').map((n) => n.id);
  }
  /** Working folder for client processes (umad2sim writes ./sys-<pid> there). */
  get clientDir(): string {
    return join(this.state.dir, 'clients');
  }

  /** The caller's working directory when it is writable (umad2sim needs that), else clientDir. */
  callerCwd(): string {
    try {
      accessSync(process.cwd(), fsc.W_OK);
      return process.cwd();
    } catch {
      return this.clientDir;
    }
  }

  /** Start a simulator (and OpenSM) and wait until the subnet is up. */
  static async start(opts: IbSimOptions = {}): Promise<IbSim> {
    const ibsimBin = findProgram('ibsim', 'ibsim-utils');
    const preload = umad2simPath();
    const opensmBin = opts.sm === false ? undefined : findProgram('opensm', 'opensm');
    const topology = resolve(opts.topology ?? defaultTopologyPath());
    if (!existsSync(topology) || !statSync(topology).isFile()) {
      throw new SimulatorError(`topology file not found: ${topology}`);
    }
    const summary = summarizeNetFile(readFileSync(topology, 'utf8'));
    if (summary.nodes.length === 0) throw new SimulatorError(`${topology}: no Switch or Hca nodes in this net file`);
    const firstCa = summary.nodes.find((n) => n.kind !== 'Switch');
    if (!firstCa) throw new SimulatorError(`${topology}: the fabric has no CA for clients to attach to`);

    const { name, dir } = registry.create(opts.name);
    mkdirSync(join(dir, 'clients'), { recursive: true });
    mkdirSync(join(dir, 'osm'), { recursive: true });
    const state: IbSimState = {
      name,
      sockName: `hpcnet-${randomBytes(6).toString('hex')}`,
      dir,
      topology,
      defaultHost: firstCa.id,
      persistent: opts.persistent ?? false,
      pids: { ibsim: 0 },
      startedAt: new Date().toISOString(),
    };
    const sim = new IbSim(state);
    if (!state.persistent) registerTemporary(sim);
    try {
      await sim.launch(ibsimBin, preload, opensmBin, opts);
    } catch (e) {
      await sim.stop();
      throw e;
    }
    return sim;
  }

  private async launch(ibsimBin: string, preload: string, opensmBin: string | undefined, opts: IbSimOptions) {
    const { dir, sockName } = this.state;
    const timeout = opts.readyTimeoutMs ?? 60_000;
    const fifo = join(dir, 'console');
    const mk = spawnSync('mkfifo', ['-m', '600', fifo]);
    if (mk.status !== 0) throw new SimulatorError(`mkfifo ${fifo} failed: ${mk.stderr.toString().trim()}`);
    // Read-write open: ibsim holds a writer itself, so its console never reaches EOF.
    const consoleFd = openSync(fifo, fsc.O_RDWR);
    const ibsimLog = join(dir, 'ibsim.log');
    const logFd = openSync(ibsimLog, 'a');
    const env = { ...process.env, IBSIM_SOCKNAME: sockName };
    const ibsim = spawn(ibsimBin, ['-s', ...ibsimLimitArgs(this.summary), ...(opts.ibsimArgs ?? []), this.state.topology], {
      cwd: dir,
      env,
      stdio: [consoleFd, logFd, logFd],
      detached: true,
    });
    closeSync(consoleFd);
    closeSync(logFd);
    this.track(ibsim);
    this.state.pids.ibsim = ibsim.pid!;
    this.save();
    await waitFor(
      () => ibsimListening(sockName) || !pidAlive(ibsim.pid),
      timeout,
      () => `ibsim did not start within ${timeout} ms:\n${tail(ibsimLog)}`,
    );
    if (!ibsimListening(sockName)) throw new SimulatorError(`ibsim exited during start:\n${tail(ibsimLog)}`);
    if (!opensmBin) return;

    const osmLog = join(dir, 'osm', 'osm.log');
    const routing: string[] = [];
    if (opts.routingEngine !== undefined) {
      if (!/^[a-z_0-9,-]+$/.test(opts.routingEngine)) throw new SimulatorError(`invalid OpenSM routing engine '${opts.routingEngine}'`);
      routing.push('-R', opts.routingEngine);
    }
    if (opts.rootGuids?.length) {
      const file = join(dir, 'osm', 'root_guids');
      writeFileSync(file, opts.rootGuids.map((g) => '0x' + g.toString(16).padStart(16, '0') + '\n').join(''));
      routing.push('-a', file);
    }
    const outFd = openSync(join(dir, 'osm', 'opensm.out'), 'a');
    const opensm = spawn(opensmBin, ['-d2', '-f', osmLog, ...routing, ...(opts.smArgs ?? [])], {
      cwd: join(dir, 'osm'),
      env: {
        ...env,
        LD_PRELOAD: preload,
        OSM_CACHE_DIR: join(dir, 'osm'),
        OSM_TMP_DIR: join(dir, 'osm'),
        SIM_HOST: this.state.defaultHost,
      },
      stdio: ['ignore', outFd, outFd],
      detached: true,
    });
    closeSync(outFd);
    this.track(opensm);
    this.state.pids.opensm = opensm.pid!;
    this.save();
    const subnetUp = () => existsSync(osmLog) && readFileSync(osmLog, 'utf8').includes('SUBNET UP');
    await waitFor(
      () => subnetUp() || !pidAlive(opensm.pid),
      timeout,
      () => `OpenSM did not report SUBNET UP within ${timeout} ms:\n${tail(osmLog)}`,
    );
    if (!subnetUp()) throw new SimulatorError(`OpenSM exited during start:\n${tail(join(dir, 'osm', 'opensm.out'))}`);
  }

  private track(child: ChildProcess): void {
    // Never keep the event loop alive for the simulator: a script that ends
    // without stop() still exits, and the exit hooks end a temporary
    // simulator's processes.
    this.children.push(child);
    child.unref();
  }

  private save(): void {
    registry.save(this.state);
  }

  /** Attach to a running simulator by name; throws when none is running under that name. */
  static attach(name: string): IbSim {
    return new IbSim(registry.get(name));
  }

  /** Names of running simulators. Stale folders (processes gone) are removed. */
  static list(): IbSimState[] {
    return registry.list();
  }

  /** Is the simulator (and OpenSM, when started) still running? */
  isAlive(): boolean {
    if (this.stopped) return false;
    if (!pidAlive(this.state.pids.ibsim) || !ibsimListening(this.state.sockName)) return false;
    return this.state.pids.opensm === undefined || pidAlive(this.state.pids.opensm);
  }

  /** Throws a clear error when the simulator is gone (so clients never wait forever). */
  assertAlive(): void {
    if (this.isAlive()) return;
    if (this.stopped) throw new SimulatorError(`simulator '${this.name}' was stopped`);
    // Say which process is gone and what it last logged: the folder is removed when the simulator is stopped.
    const { ibsim, opensm } = this.state.pids;
    const ibsimUp = pidAlive(ibsim) && ibsimListening(this.state.sockName);
    const gone = !ibsimUp ? `ibsim (pid ${ibsim}) ${pidAlive(ibsim) ? 'no longer listens' : 'exited'}` : `OpenSM (pid ${opensm}) exited`;
    const log = !ibsimUp ? join(this.dir, 'ibsim.log') : join(this.dir, 'osm', 'osm.log');
    throw new SimulatorError(`simulator '${this.name}' is not running: ${gone}; last lines of ${log}:\n${tail(log, 12)}`);
  }

  /** Environment for a client process of this fabric. */
  env(host?: string): Record<string, string> {
    if (host !== undefined && !this.summary.nodes.some((n) => n.id === host || n.description === host)) {
      throw new SimulatorError(`no node '${host}' in ${this.state.topology}`);
    }
    const prior = process.env['LD_PRELOAD'];
    return {
      IBSIM_SOCKNAME: this.state.sockName,
      SIM_HOST: host ?? this.state.defaultHost,
      // A preloaded sanitizer runtime (scripts/sanitize) must stay first.
      LD_PRELOAD: prior ? `${prior} ${umad2simPath()}` : umad2simPath(),
      HPCNET_SIM: this.name,
    };
  }

  /** Spawn a client program attached to the fabric (stdio as given). */
  spawn(command: string, args: string[], opts: Omit<ExecOptions, 'input' | 'timeoutMs'> & { stdio?: StdioOptions } = {}): ChildProcess {
    this.assertAlive();
    return spawn(command, args, {
      cwd: opts.cwd ?? this.clientDir,
      env: { ...process.env, ...this.env(opts.host), ...opts.env },
      stdio: opts.stdio ?? 'pipe',
    });
  }

  /** Run a client program to completion and collect its output. */
  async exec(command: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return collect(this.spawn(command, args, opts), command, opts);
  }

  /** Run a Node.js script as a client of the fabric (the addon works there). */
  runScript(script: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(process.execPath, [script, ...args], opts);
  }

  /**
   * Send one console command to ibsim (Error, PerformanceSet, Guid, Unlink,
   * ReLink, Baselid, ...) and return what it printed. Rejects when ibsim
   * reports the command unknown or does not answer.
   */
  async console(command: string, timeoutMs = 10_000): Promise<string> {
    this.assertAlive();
    if (/[\r\n]/.test(command)) throw new SimulatorError('console command must be a single line');
    const log = join(this.dir, 'ibsim.log');
    const start = statSync(log).size;
    appendFileSync(join(this.dir, 'console'), command + '\n');
    let out = '';
    await waitFor(
      () => {
        const buf = readFileSync(log);
        out = buf.subarray(start).toString('utf8');
        return out.includes('sim> ');
      },
      timeoutMs,
      () => `ibsim did not answer console command '${command}' within ${timeoutMs} ms`,
    );
    out = out.slice(0, out.indexOf('sim> ')).trim();
    if (/unknown - skipped/.test(out)) {
      throw new SimulatorError(`ibsim rejected '${command}': ${out}`);
    }
    return out;
  }

  /**
   * Stop OpenSM and leave ibsim running: the switches keep the forwarding
   * tables OpenSM last wrote, and nothing reprograms them after a console
   * change (Unlink, ...). Directed-route and LID-routed SMPs still work;
   * SA queries do not.
   */
  async stopSm(): Promise<void> {
    const pid = this.state.pids.opensm;
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(25);
    if (pidAlive(pid)) killGroup(pid, 'SIGKILL');
    await waitFor(() => !pidAlive(pid), 5000, () => `OpenSM (pid ${pid}) did not exit`);
    delete this.state.pids.opensm;
    this.save();
  }

  /** Stop OpenSM and ibsim, then remove every file this simulator made. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    unregisterTemporary(this);
    const pids = [this.state.pids.opensm, this.state.pids.ibsim].filter((p): p is number => !!p);
    for (const pid of pids) killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (pids.some(pidAlive) && Date.now() < deadline) await sleep(25);
    for (const pid of pids) if (pidAlive(pid)) killGroup(pid, 'SIGKILL');
    await waitFor(() => !pids.some(pidAlive), 5000, () => `simulator processes ${pids.join(', ')} did not exit`);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last-resort cleanup (process exit, signals). */
  killSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    unregisterTemporary(this);
    for (const pid of [this.state.pids.opensm, this.state.pids.ibsim]) if (pid) killGroup(pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
