/**
 * LNet kernel emulator: library API. One daemon per emulator (dist/lib/sim/lnet/daemon.js)
 * holds one emulated kernel per host; programs run "on" a host through the
 * LD_PRELOAD library build/Release/hpcnet_lnetemu_preload.so (see env()).
 * Lifecycle shared with ibsim (lib/sim/registry.ts): state under stateRoot()/lnet/<name>,
 * temporary emulators are cleaned up at exit and on SIGINT/SIGTERM/SIGHUP.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatorError } from '../../errors.js';
import { packageRoot } from '../../util/paths.js';
import { collect, killGroup, type ExecOptions, type ExecResult, pidAlive, registerTemporary, sleep, tail, unregisterTemporary } from '../process.js';
import { SimRegistry } from '../registry.js';
import type { DaemonConfig, HostStatus } from './daemon.js';
import { RELEASES, type FaultRule, type HostSpec, type IfaceSpec, type LustreHold, type Release } from './kernel.js';
import { ip2num } from './nid.js';
import { ctrlRequest } from './protocol.js';
import type { CounterValues, WorldSpec } from './world.js';

export type { HostSpec, IfaceSpec, LustreHold, Release, HostStatus, WorldSpec };

export interface LnetEmulatorOptions {
  /** Lustre release personality: '2.15' (ioctl only, /dev/lnet from libcfs) or '2.16' (netlink family "lnet"). Default '2.16'. */
  release?: Release;
  /** Hosts and their interfaces; strings use the CLI syntax "NAME=IF:IP[/PREFIX][,IF:IP...]". Default: one host "node1" with eth0 10.0.0.1. */
  hosts?: Array<HostSpec | string>;
  /** Emulator name (letters, digits, '-', '_'); default a fresh temporary name. */
  name?: string;
  /** Keep running after this process exits (`hpcnet sim lnet start`). Default false. */
  persistent?: boolean;
  /** How long to wait for the daemon (default 20 s). */
  readyTimeoutMs?: number;
}

export interface LnetEmuState {
  name: string;
  dir: string;
  release: Release;
  hosts: HostSpec[];
  pid: number;
  persistent: boolean;
  startedAt: string;
}

export interface EmuStatus {
  release: Release;
  pid: number;
  hosts: HostStatus[];
  faults: FaultRule[];
}

export type { ExecOptions, ExecResult };

/** Operation kinds for injectFault(): each matching operation consumes one count. */
export type FaultOp =
  | 'ioctl' // every /dev/lnet ioctl
  | `ioctl:${string}` // one ioctl, by name (ioctl:PING_PEER, ioctl:ADD_LOCAL_NI, ...) or number (ioctl:62)
  | 'netlink' // every request to the "lnet" family
  | `netlink:${string}` // one LNET_CMD_* by name (netlink:NETS), or one kind of it (netlink:NETS:dump|create|delete)
  | 'ping' // ping/discover on either path
  | 'open' // open("/dev/lnet")
  | 'module-load'
  | 'module-unload'
  | 'param-write';

const HOST_RE = /^[A-Za-z0-9_.-]{1,40}$/;
export const DEFAULT_HOST: HostSpec = { name: 'node1', ifaces: [{ name: 'eth0', ip: '10.0.0.1', prefix: 24 }] };

const registry = new SimRegistry<LnetEmuState>({
  kind: 'lnet',
  what: 'an LNet emulator',
  command: 'hpcnet sim lnet',
  alive: (s) => pidAlive(s.pid) && existsSync(join(s.dir, 'daemon.sock')),
});

/** Parse "NAME=IF:IP[/PREFIX][,IF:IP...]" (the --host syntax). */
export function parseHostSpec(text: string): HostSpec {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (!HOST_RE.test(name)) throw new SimulatorError(`--host ${text}: bad host name '${name}' (letters, digits, '.', '-', '_')`);
  if (eq < 0) throw new SimulatorError(`--host ${text}: expected NAME=IF:IP[,IF:IP...]`);
  const ifaces: IfaceSpec[] = text
    .slice(eq + 1)
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const m = /^([A-Za-z0-9_.-]{1,15}):(\d+\.\d+\.\d+\.\d+)(?:\/(\d{1,2}))?$/.exec(part);
      if (!m || ip2num(m[2]!) === undefined) throw new SimulatorError(`--host ${text}: bad interface '${part}' (expected IF:IPv4[/PREFIX], e.g. eth0:10.0.0.1)`);
      const prefix = m[3] ? Number(m[3]) : 24;
      if (prefix < 1 || prefix > 32) throw new SimulatorError(`--host ${text}: bad prefix length in '${part}'`);
      return { name: m[1]!, ip: m[2]!, prefix };
    });
  if (ifaces.length === 0) throw new SimulatorError(`--host ${text}: no interface given`);
  return { name, ifaces };
}

function validateHosts(hosts: HostSpec[]): void {
  const names = new Set<string>();
  const ips = new Map<string, string>();
  for (const h of hosts) {
    if (!HOST_RE.test(h.name)) throw new SimulatorError(`bad host name '${h.name}'`);
    if (names.has(h.name)) throw new SimulatorError(`host '${h.name}' declared twice`);
    names.add(h.name);
    const ifn = new Set<string>();
    for (const i of h.ifaces) {
      if (ifn.has(i.name)) throw new SimulatorError(`host '${h.name}': interface '${i.name}' declared twice`);
      ifn.add(i.name);
      if (ip2num(i.ip) === undefined) throw new SimulatorError(`host '${h.name}': bad IPv4 address '${i.ip}'`);
      const other = ips.get(i.ip);
      if (other) throw new SimulatorError(`address ${i.ip} is declared on both '${other}' and '${h.name}'`);
      ips.set(i.ip, h.name);
    }
  }
}

/** Absolute path of the preload library (HPCNET_LNETEMU_PRELOAD overrides). */
export function preloadPath(): string {
  const p = process.env['HPCNET_LNETEMU_PRELOAD'] ?? join(packageRoot(), 'build', 'Release', 'hpcnet_lnetemu_preload.so');
  if (!existsSync(p)) throw new SimulatorError(`LNet emulator preload library not found at ${p} (build it: node-gyp rebuild, or ./scripts/setup)`);
  return p;
}

function daemonEntry(): string {
  const p = join(packageRoot(), 'dist', 'lib', 'sim', 'lnet', 'daemon.js');
  if (!existsSync(p)) throw new SimulatorError(`LNet emulator daemon not built: ${p} missing (run tsc -p .)`);
  return p;
}

export class LnetEmulator {
  private stopped = false;
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly state: LnetEmuState) {}

  get name(): string {
    return this.state.name;
  }
  get dir(): string {
    return this.state.dir;
  }
  get release(): Release {
    return this.state.release;
  }
  get socketPath(): string {
    return join(this.state.dir, 'daemon.sock');
  }
  /** Host names, in declaration order (the first is the default). */
  get hosts(): string[] {
    return this.state.hosts.map((h) => h.name);
  }
  /** Folder whose files stand for the host's /proc, /sys, /dev and /lib/modules. */
  hostRoot(host?: string): string {
    return join(this.state.dir, 'hosts', this.hostName(host), 'root');
  }

  /** Start an emulator daemon and wait until it serves. */
  static async start(opts: LnetEmulatorOptions = {}): Promise<LnetEmulator> {
    const release = opts.release ?? '2.16';
    if (!RELEASES.includes(release)) throw new SimulatorError(`unsupported release '${String(release)}' (use ${RELEASES.join(' or ')})`);
    const hosts = (opts.hosts?.length ? opts.hosts : [DEFAULT_HOST]).map((h) => (typeof h === 'string' ? parseHostSpec(h) : h));
    validateHosts(hosts);
    preloadPath(); // fail early when the library is not built
    const entry = daemonEntry();
    const { name, dir } = registry.create(opts.name);
    const cfg: DaemonConfig = { release, hosts };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
    const outFd = openSync(join(dir, 'daemon.out'), 'a');
    const child = spawn(process.execPath, [entry, dir], { cwd: dir, stdio: ['ignore', outFd, outFd], detached: true, env: { ...process.env, LD_PRELOAD: '' } });
    closeSync(outFd);
    const state: LnetEmuState = { name, dir, release, hosts, pid: child.pid!, persistent: opts.persistent ?? false, startedAt: new Date().toISOString() };
    registry.save(state);
    const emu = new LnetEmulator(state);
    if (state.persistent) child.unref();
    else {
      registerTemporary(emu);
      child.unref();
    }
    const timeout = opts.readyTimeoutMs ?? 20_000;
    const deadline = Date.now() + timeout;
    while (!existsSync(join(dir, 'ready'))) {
      if (!pidAlive(child.pid)) {
        const why = tail(join(dir, 'daemon.out'));
        await emu.stop();
        throw new SimulatorError(`LNet emulator daemon exited during start:\n${why}`);
      }
      if (Date.now() > deadline) {
        const why = tail(join(dir, 'daemon.out'));
        await emu.stop();
        throw new SimulatorError(`LNet emulator daemon did not start within ${timeout} ms:\n${why}`);
      }
      await sleep(20);
    }
    return emu;
  }

  /** Attach to a running emulator by name; throws when none runs under that name. */
  static attach(name: string): LnetEmulator {
    return new LnetEmulator(registry.get(name));
  }

  /** Running emulators; folders of dead ones are removed. */
  static list(): LnetEmuState[] {
    return registry.list();
  }

  isAlive(): boolean {
    return !this.stopped && pidAlive(this.state.pid) && existsSync(this.socketPath);
  }
  assertAlive(): void {
    if (!this.isAlive()) throw new SimulatorError(`LNet emulator '${this.name}' is not running (see ${join(this.dir, 'daemon.log')})`);
  }

  private hostName(host?: string): string {
    if (host === undefined) return this.state.hosts[0]!.name;
    if (!this.state.hosts.some((h) => h.name === host)) throw new SimulatorError(`no emulated host '${host}' (hosts: ${this.hosts.join(', ')})`);
    return host;
  }

  /** Environment that makes a process run on `host` (default: the first host). */
  env(host?: string): Record<string, string> {
    const name = this.hostName(host);
    const prior = process.env['LD_PRELOAD'];
    const pre = preloadPath();
    return {
      LD_PRELOAD: prior && !prior.includes(pre) ? `${prior} ${pre}` : pre, // a sanitizer runtime (scripts/sanitize) stays first
      HPCNET_LNETEMU_SOCK: this.socketPath,
      HPCNET_LNETEMU_HOST: name,
      HPCNET_LNETEMU_ROOT: this.hostRoot(name),
      HPCNET_LNETEMU_NAME: this.name,
    };
  }

  /** Spawn a program on an emulated host. */
  spawn(command: string, args: string[] = [], opts: { host?: string; env?: Record<string, string>; cwd?: string; stdio?: StdioOptions } = {}): ChildProcess {
    this.assertAlive();
    const child = spawn(command, args, {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, ...this.env(opts.host), ...opts.env },
      stdio: opts.stdio ?? 'pipe',
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Run a program on `host` to completion and collect its output. */
  exec(host: string | undefined, command: string, args: string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    const child = this.spawn(command, args, { ...(host !== undefined ? { host } : {}), ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    return collect(child, command, opts);
  }

  private ctrl<T>(body: Record<string, unknown>): Promise<T> {
    this.assertAlive();
    return ctrlRequest<T>(this.socketPath, body);
  }

  status(): Promise<EmuStatus> {
    return this.ctrl<EmuStatus>({ cmd: 'status' });
  }
  /** Make LNet held by Lustre on a host (loads the Lustre stack, lists devices where `lctl dl` reads them). */
  holdByLustre(host: string | undefined, opts: { role?: LustreHold['role']; fsname?: string; devices?: string[] } = {}): Promise<LustreHold> {
    return this.ctrl<LustreHold>({ cmd: 'hold', host: this.hostName(host), ...opts });
  }
  /** Undo holdByLustre (one hold by id, or all of the host's). Returns how many were released. */
  async releaseLustre(host: string | undefined, id?: number): Promise<number> {
    return (await this.ctrl<{ released: number }>({ cmd: 'release', host: this.hostName(host), ...(id !== undefined ? { id } : {}) })).released;
  }
  /** The next `count` operations of kind `op` (on `host`, or any host) fail with `errno`. */
  injectFault(f: { op: FaultOp; errno: number; count?: number; host?: string }): Promise<FaultRule> {
    return this.ctrl<FaultRule>({ cmd: 'fault', op: f.op, errno: f.errno, count: f.count ?? 1, ...(f.host !== undefined ? { host: this.hostName(f.host) } : {}) });
  }
  async clearFaults(): Promise<void> {
    await this.ctrl({ cmd: 'clear-faults' });
  }
  /** A host that nobody can reach (pings to and from it time out). */
  async setUnreachable(host: string, value = true): Promise<void> {
    await this.ctrl({ cmd: 'unreachable', host: this.hostName(host), value });
  }
  /** Simulated traffic: set one NI's message counters (`nid`: send, recv, drop) or the host's LNet totals (msgsMax, send, recv, sendLength, ...). */
  async setCounters(host: string | undefined, values: CounterValues, nid?: string): Promise<void> {
    await this.ctrl({ cmd: 'counters', host: this.hostName(host), values, ...(nid !== undefined ? { nid } : {}) });
  }
  /** Load a module with its dependencies, as the kernel's request_module would. */
  async modprobe(host: string | undefined, module: string): Promise<void> {
    await this.ctrl({ cmd: 'modprobe', host: this.hostName(host), module });
  }

  /**
   * Replace the emulated world by a fresh one in the same release (test isolation
   * without a new daemon): `world.hosts` with fresh kernels, `world.remotes` as
   * hosts remote1, remote2, ... with LNet up on their NIDs. Processes running on
   * the old hosts lose their connection to the daemon.
   */
  async reset(world: WorldSpec): Promise<void> {
    validateHosts(world.hosts);
    await this.ctrl({ cmd: 'reset', world });
    this.state.hosts = [...world.hosts, ...(world.remotes ?? []).map((_, i) => ({ name: `remote${i + 1}`, ifaces: [] }))];
  }

  /** Stop the daemon and every process started through this object, then remove every file. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    let clients: number[] = [];
    if (this.isAlive()) {
      try {
        clients = await this.clientPids();
      } catch {
        /* daemon not answering: killed below */
      }
    }
    this.stopped = true;
    unregisterTemporary(this);
    for (const c of this.children) c.kill('SIGKILL');
    for (const pid of clients) if (pid !== process.pid) kill(pid, 'SIGKILL');
    killGroup(this.state.pid, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (pidAlive(this.state.pid) && Date.now() < deadline) await sleep(20);
    if (pidAlive(this.state.pid)) killGroup(this.state.pid, 'SIGKILL');
    const d2 = Date.now() + 3000;
    while (pidAlive(this.state.pid) && Date.now() < d2) await sleep(20);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async clientPids(): Promise<number[]> {
    const s = await ctrlRequest<{ clients: number[] }>(this.socketPath, { cmd: 'clients' }, 3000).catch(() => ({ clients: [] }));
    return s.clients ?? [];
  }

  /** Synchronous last-resort cleanup (process exit, signals). */
  killSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    unregisterTemporary(this);
    for (const c of this.children) c.kill('SIGKILL');
    killGroup(this.state.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function kill(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
