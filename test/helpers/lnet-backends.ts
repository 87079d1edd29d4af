/**
 * The LNet facade tests on every backend: the mock (the emulator's kernel
 * model in-process) and the native backend (the real hpcnet_lnet addon in a
 * child process on an emulated host of the LNet emulator daemon, through its
 * LD_PRELOAD library), in both release personalities (2.15: ioctls; 2.16:
 * netlink).
 *
 *   for (const { kind, release } of LNET_BACKENDS) describe(`... (${kind} ${release})`, () => {
 *     const bed = lnetBed(kind, release);
 *     it('...', async () => { const n = await bed.node({ interfaces: [...], remotes: [...] }); await n.l.load(); ... });
 *   });
 *
 * A node is the same on both: `l` (the facade), `backend`, `calls` (every
 * backend call the facade made, with its error code), `failNext(op, code)`
 * (the next `op` fails with errno `code`: on the mock before the kernel is
 * asked; on the native backend the emulated kernel refuses the ioctl or
 * netlink request that `op` sends), `startLustre`/`stopLustre`.
 *
 * Native: one emulator daemon per describe block and concurrently live node
 * (most cases need one), reset to a fresh world for every node (`emu.reset`:
 * the node 'node' with the given interfaces, remotes remote1... with LNet up);
 * nodes are closed after each case; daemons and children are stopped after
 * the block, also when a case fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach } from 'node:test';
import { errnoNumber } from '../../lib/errno.js';
import { BackendUnavailableError, HpcnetError, InvalidArgumentError, NativeCallError, SimulatorError } from '../../lib/errors.js';
import type { LnetBackend, LnetFeatureOps } from '../../lib/lnet/backend.js';
import { LnetConfigError, LnetError, LnetRefusedError, LnetSyntaxError } from '../../lib/lnet/errors.js';
import { LNet } from '../../lib/lnet/facade.js';
import { MockLnetBackend, type MockCall, type MockLnetOptions } from '../../lib/lnet/mock-backend.js';
import type { LnetRelease } from '../../lib/lnet/types.js';
import { LnetEmulator } from '../../lib/sim/lnet/index.js';
import type { FaultOp, Release } from '../../lib/sim/lnet/index.js';
import { setCounters, type CounterValues } from '../../lib/sim/lnet/world.js';
import { packageRoot } from '../../lib/util/paths.js';

export type LnetBackendKind = 'mock' | 'native';
export const LNET_BACKENDS: ReadonlyArray<{ kind: LnetBackendKind; release: LnetRelease }> = [
  { kind: 'mock', release: '2.15' },
  { kind: 'mock', release: '2.16' },
  { kind: 'native', release: '2.15' },
  { kind: 'native', release: '2.16' },
];

export type NodeOptions = Omit<MockLnetOptions, 'release'>;

export interface TestNode {
  readonly kind: LnetBackendKind;
  readonly release: LnetRelease;
  readonly backend: LnetBackend;
  readonly l: LNet;
  /** Every backend call, in order (features operations under their own names: faultAdd, udspList, ...). */
  readonly calls: MockCall[];
  /** The next `count` calls of backend method `op` fail with errno `code`. */
  failNext(op: string, code: string, count?: number): Promise<void>;
  /** The next `count` kernel operations of an emulator fault kind fail with errno number `errno` (both backends run the emulator's kernel model). */
  injectFault(op: FaultOp, errno: number, count?: number): Promise<void>;
  startLustre(role: 'client' | 'mgs' | 'mdt' | 'ost'): Promise<void>;
  stopLustre(): Promise<void>;
  /** Simulated traffic: one NI's counters (`nid`) or the node's LNet totals (emulator setCounters). */
  setCounters(values: CounterValues, nid?: string): Promise<void>;
  close(): Promise<void>;
}

/** The kernel request each backend method sends first, per release, as emulator fault kinds. */
function faultKind(op: string, release: LnetRelease): FaultOp {
  const nl = release !== '2.15';
  const kinds: Record<string, FaultOp> = {
    addNi: nl ? 'netlink:NETS:create' : 'ioctl:ADD_LOCAL_NI',
    delNi: nl ? 'netlink:NETS:delete' : 'ioctl:DEL_LOCAL_NI',
    addRoute: nl ? 'netlink:ROUTES:create' : 'ioctl:ADD_ROUTE',
    delRoute: nl ? 'netlink:ROUTES:delete' : 'ioctl:DEL_ROUTE',
    addPeer: nl ? 'netlink:PEERS:create' : 'ioctl:ADD_PEER_NI',
    delPeer: nl ? 'netlink:PEERS:delete' : 'ioctl:DEL_PEER_NI',
    setRouting: 'ioctl:CONFIG_RTR',
    setBuffers: 'ioctl:ADD_BUF',
    writeParam: 'param-write',
    loadModule: 'module-load',
    removeModule: 'module-unload',
  };
  const k = kinds[op];
  if (!k) throw new Error(`lnet-backends: no emulator fault kind for backend method '${op}' (add it to faultKind)`);
  return k;
}

const ERROR_CLASSES: Record<string, new (...a: never[]) => Error> = {
  LnetError,
  LnetRefusedError,
  LnetSyntaxError,
  LnetConfigError,
  InvalidArgumentError,
  NativeCallError,
  BackendUnavailableError,
  SimulatorError,
  HpcnetError,
  RangeError,
  TypeError,
  Error,
};

function reviveError(x: { cls: string; message: string; stack?: string; props: Record<string, unknown> }): Error {
  const C = ERROR_CLASSES[x.cls] ?? Error;
  const e = Object.create(C.prototype as object) as Error;
  Object.defineProperty(e, 'message', { value: x.message, writable: true, configurable: true });
  Object.defineProperty(e, 'stack', { value: x.stack ?? `${x.cls}: ${x.message}`, writable: true, configurable: true });
  return Object.assign(e, x.props);
}

const SERVER = (): string => join(packageRoot(), 'dist', 'test', 'helpers', 'lnet-backend-server.js');

/** A NativeLnetBackend in a child process on host 'node' of `emu`; resolves once it serves. */
async function remoteBackend(emu: LnetEmulator, root: boolean, calls: MockCall[]): Promise<{ backend: LnetBackend; child: ChildProcess }> {
  // Not root: root without capabilities (empty bounding and inheritable sets), as the addon sees a non-root process.
  const [cmd, args] = root ? [process.execPath, [SERVER()]] : ['setpriv', ['--inh-caps=-all', '--bounding-set=-all', process.execPath, SERVER()]];
  const child = spawn(cmd, args, { env: { ...process.env, ...emu.env('node') }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let gone: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { ready?: boolean; id?: number; value?: unknown; error?: Parameters<typeof reviveError>[0] }) => {
      if (m.ready) return resolve();
      const p = pending.get(m.id!);
      pending.delete(m.id!);
      if (m.error) p?.reject(reviveError(m.error));
      else p?.resolve(m.value);
    });
    child.on('error', (e) => {
      gone = new Error(`backend process ${cmd}: ${e.message}`);
      reject(gone);
    });
    child.on('exit', (code, sig) => {
      gone = new Error(`backend process exited (${sig ?? code}): ${stderr}`);
      for (const p of pending.values()) p.reject(gone);
      pending.clear();
      reject(gone);
    });
  });
  await ready;
  const send = (method: string, args: unknown[], features = false): Promise<unknown> => {
    const call: MockCall = { op: method, args };
    calls.push(call);
    if (gone) return Promise.reject(gone);
    return new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, method, args, features });
    }).catch((e: unknown) => {
      call.error = (e as { code?: string }).code ?? String(e);
      throw e;
    });
  };
  const features = new Proxy({} as LnetFeatureOps, { get: (_t, k) => (typeof k === 'string' ? (...a: unknown[]) => send(k, a, true) : undefined) });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000); // hang guard
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.disconnect();
    }));
  const backend = new Proxy({} as LnetBackend, {
    get: (_t, k) => {
      if (k === 'kind') return 'native';
      if (k === 'features') return () => features;
      if (k === 'close') return close;
      if (k === 'then' || typeof k !== 'string') return undefined;
      return (...a: unknown[]) => send(k, a);
    },
  });
  return { backend, child };
}

export interface LnetBed {
  readonly kind: LnetBackendKind;
  readonly release: LnetRelease;
  /** A fresh node (closed after the case). */
  node(opts?: NodeOptions): Promise<TestNode>;
}

/**
 * Register the hooks of one backend in the current describe block and return
 * the factory of its nodes.
 */
export function lnetBed(kind: LnetBackendKind, release: LnetRelease): LnetBed {
  const open = new Set<TestNode>();
  const pool: Array<{ emu: LnetEmulator; busy: boolean }> = [];
  afterEach(async () => {
    await Promise.all([...open].map((n) => n.close()));
  });
  after(async () => {
    await Promise.all([...open].map((n) => n.close()));
    await Promise.all(pool.map((p) => p.emu.stop()));
  });

  async function mockNode(opts: NodeOptions): Promise<TestNode> {
    const m = new MockLnetBackend({ ...opts, release });
    let closed = false;
    const n: TestNode = {
      kind,
      release,
      backend: m,
      l: new LNet(m),
      calls: m.calls,
      failNext: async (op, code, count = 1) => m.failNext(op, code, count),
      injectFault: async (op, errno, count = 1) => void m.world.faults.push({ op, errno, count }),
      startLustre: (role) => m.startLustre(role),
      stopLustre: async () => m.stopLustre(),
      setCounters: async (values, nid) => setCounters(m.host, values, nid),
      close: async () => {
        open.delete(n);
        if (!closed) await m.close();
        closed = true;
      },
    };
    return n;
  }

  async function nativeNode(opts: NodeOptions): Promise<TestNode> {
    let slot = pool.find((p) => !p.busy);
    if (!slot) {
      slot = { emu: await LnetEmulator.start({ release: release as Release, hosts: ['node=eth0:192.168.1.10'] }), busy: false };
      pool.push(slot);
    }
    slot.busy = true;
    const { emu } = slot;
    const s = slot;
    try {
      await emu.reset({
        hosts: [{ name: 'node', ifaces: (opts.interfaces ?? [{ name: 'eth0', ip: '192.168.1.10' }]).map((i) => ({ ...i })), ...(opts.cpts !== undefined ? { cpts: opts.cpts } : {}) }],
        ...(opts.remotes ? { remotes: opts.remotes } : {}),
        ...(opts.missingModules ? { missingModules: opts.missingModules } : {}),
      });
      const calls: MockCall[] = [];
      const { backend } = await remoteBackend(emu, opts.root ?? true, calls);
      const n: TestNode = {
        kind,
        release,
        backend,
        l: new LNet(backend),
        calls,
        failNext: async (op, code, count = 1) => {
          const errno = errnoNumber(code);
          if (errno === undefined) throw new Error(`failNext: unknown errno name ${code}`);
          await emu.injectFault({ op: faultKind(op, release), errno, count, host: 'node' });
        },
        injectFault: async (op, errno, count = 1) => void (await emu.injectFault({ op, errno, count, host: 'node' })),
        startLustre: async (role) => void (await emu.holdByLustre('node', { role, fsname: 'lustre' })),
        stopLustre: async () => void (await emu.releaseLustre('node')),
        setCounters: (values, nid) => emu.setCounters('node', values, nid),
        close: async () => {
          open.delete(n);
          await backend.close();
          await emu.clearFaults();
          s.busy = false;
        },
      };
      return n;
    } catch (e) {
      s.busy = false;
      throw e;
    }
  }

  return {
    kind,
    release,
    async node(opts: NodeOptions = {}): Promise<TestNode> {
      const n = kind === 'mock' ? await mockNode(opts) : await nativeNode(opts);
      open.add(n);
      return n;
    },
  };
}
