/**
 * The LNet emulator daemon: one process per emulator, one emulated kernel per
 * host. Started by LnetEmulator.start() as
 *   node daemon.js <state dir>
 * reads <state dir>/config.json, renders every host's tree, listens on
 * <state dir>/daemon.sock and writes <state dir>/ready when serving.
 * Clients are the preload library (one connection per process) and the
 * API/CLI (JSON control requests).
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { IOC, lnetIoctl } from './ioctl.js';
import { E, Host, KErr, World, type FaultRule, type HostSpec, type LustreHold, type Release } from './kernel.js';
import { LNET_CMD, netlinkSend } from './netlink.js';
import { nid2str, str2nid, net2str } from './nid.js';
import { CAP, FrameReader, OP, encodeResponse, parseRequest } from './protocol.js';
import { HostTree, initHostTree } from './tree.js';
import { populateWorld, setCounters, type CounterValues, type WorldSpec } from './world.js';

export interface DaemonConfig {
  release: Release;
  hosts: HostSpec[];
}

/** What `status` returns per host. */
export interface HostStatus {
  name: string;
  ifaces: HostSpec['ifaces'];
  modules: Array<{ name: string; refcnt: number; holders: string[] }>;
  lnet: 'unloaded' | 'down' | 'up';
  refcount: number;
  selfConfigured: boolean;
  nids: string[];
  routes: Array<{ net: string; gateway: string; hops: number; priority: number; alive: boolean }>;
  peers: Array<{ primary: string; nids: string[]; multiRail: boolean; configured: boolean }>;
  routing: boolean;
  holds: LustreHold[];
  unreachable: boolean;
  devOpen: number;
  clients: number;
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: daemon.js <state dir>\n');
  process.exit(2);
}
const logFile = join(dir, 'daemon.log');
const log = (msg: string) => {
  try {
    appendFileSync(logFile, `${new Date().toISOString()} ${msg}\n`);
  } catch {
    /* state dir removed: nothing to log to */
  }
};

const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as DaemonConfig;
let world = new World(config.release);
const trees = new Map<string, HostTree>();
/** Render the trees of the world's hosts (the hosts' /proc, /sys, /dev and /lib/modules). */
function renderTrees(): void {
  for (const h of world.hosts.values()) {
    const hdir = join(dir!, 'hosts', h.name);
    initHostTree(h, hdir);
    const t = new HostTree(h, hdir);
    t.sync();
    trees.set(h.name, t);
  }
}
populateWorld(world, { hosts: config.hosts });
renderTrees();
const syncAll = () => {
  for (const t of trees.values()) t.sync();
};

interface Conn {
  sock: Socket;
  host?: Host;
  pid?: number;
  devs: Set<number>;
}
const conns = new Set<Conn>();
let nextHandle = 1;

function hostStatus(h: Host): HostStatus {
  return {
    name: h.name,
    ifaces: h.ifaces,
    modules: [...h.modules.values()].map((m) => ({ name: m.def.name, refcnt: h.refcnt(m.def.name), holders: h.holders(m.def.name) })),
    lnet: !h.loaded('lnet') ? 'unloaded' : h.running() ? 'up' : 'down',
    refcount: h.lnet?.refcount ?? 0,
    selfConfigured: h.lnet?.niinitSelf ?? false,
    nids: h.running() ? h.nidList().map(nid2str) : [],
    routes: (h.lnet?.routes ?? []).map((r) => ({ net: net2str(r.net), gateway: nid2str(r.gw), hops: r.hops, priority: r.priority, alive: h.routeAlive(r) })),
    peers: (h.lnet?.peers ?? []).map((p) => ({ primary: nid2str(p.primary), nids: p.nis.map(nid2str), multiRail: p.mr, configured: p.configured })),
    routing: h.lnet?.routing ?? false,
    holds: h.holds,
    unreachable: h.unreachable,
    devOpen: [...conns].filter((c) => c.host === h).reduce((n, c) => n + c.devs.size, 0),
    clients: [...conns].filter((c) => c.host === h).length,
  };
}

function hostOf(name: unknown): Host {
  const h = typeof name === 'string' ? world.hosts.get(name) : [...world.hosts.values()][0];
  if (!h) throw new Error(`no emulated host '${String(name)}' (hosts: ${[...world.hosts.keys()].join(', ')})`);
  return h;
}

function validFaultOp(op: string): boolean {
  if (['ioctl', 'netlink', 'ping', 'open', 'module-load', 'module-unload', 'param-write'].includes(op)) return true;
  const m = /^(ioctl|netlink):(.+)$/.exec(op);
  if (!m) return false;
  if (m[1] === 'ioctl') return m[2]! in IOC || (/^\d+$/.test(m[2]!) && Number(m[2]) >= 30 && Number(m[2]) <= 112);
  const [cmd, kind] = m[2]!.split(':');
  return cmd! in LNET_CMD && (kind === undefined || ['dump', 'create', 'delete'].includes(kind));
}

/** JSON control requests from the API and CLI. */
async function control(req: Record<string, unknown>): Promise<unknown> {
  switch (req['cmd']) {
    case 'status':
      return { release: world.release, pid: process.pid, hosts: [...world.hosts.values()].map(hostStatus), faults: world.faults };
    case 'hold': {
      const h = hostOf(req['host']);
      const hold = h.hold((req['role'] as LustreHold['role']) ?? 'client', (req['fsname'] as string) ?? 'lustre', req['devices'] as string[] | undefined);
      return hold;
    }
    case 'release':
      return { released: hostOf(req['host']).releaseHold(req['id'] as number | undefined) };
    case 'fault': {
      const f: FaultRule & { host?: string } = { op: String(req['op']), count: Number(req['count'] ?? 1), errno: Number(req['errno']) };
      if (req['host'] !== undefined) f.host = hostOf(req['host']).name;
      if (!f.op || !Number.isInteger(f.count) || f.count < 1 || !Number.isInteger(f.errno) || f.errno <= 0) throw new Error('fault: need op, count >= 1 and a positive errno');
      if (!validFaultOp(f.op)) {
        throw new Error(
          `fault: unknown operation kind '${f.op}' (ioctl, ioctl:<NAME> such as ioctl:${Object.keys(IOC)[2]}, ioctl:<nr>, netlink, netlink:<CMD>[:dump|:create|:delete] such as netlink:NETS, ping, open, module-load, module-unload, param-write)`,
        );
      }
      world.faults.push(f);
      return f;
    }
    case 'clear-faults':
      world.faults = [];
      return {};
    case 'unreachable': {
      const h = hostOf(req['host']);
      h.unreachable = req['value'] !== false;
      return { host: h.name, unreachable: h.unreachable };
    }
    case 'modprobe': {
      const h = hostOf(req['host']);
      h.probeModule(String(req['module']));
      return {};
    }
    case 'rmmod': {
      const h = hostOf(req['host']);
      h.unloadModule(String(req['module']));
      return {};
    }
    case 'owner': {
      const nid = str2nid(String(req['nid']));
      return { host: nid === undefined ? null : (world.owner(nid)?.name ?? null) };
    }
    case 'clients':
      return { clients: [...conns].map((c) => c.pid).filter((x): x is number => x !== undefined) };
    case 'reset': {
      // A new world in the same release: the declared hosts (fresh kernels) and remotes with LNet up.
      // Processes attached to the old world lose their connection (their descriptors went with it).
      const spec = req['world'] as WorldSpec;
      if (!Array.isArray(spec?.hosts) || spec.hosts.length === 0) throw new Error('reset: need world.hosts (at least one host)');
      const next = new World(config.release);
      populateWorld(next, spec);
      for (const c of conns) if (c.host) c.sock.destroy();
      world = next;
      trees.clear();
      rmSync(join(dir!, 'hosts'), { recursive: true, force: true });
      renderTrees();
      log(`reset: ${[...world.hosts.keys()].join(', ')}`);
      return { hosts: [...world.hosts.keys()] };
    }
    case 'counters': {
      setCounters(hostOf(req['host']), req['values'] as CounterValues, req['nid'] as string | undefined);
      return {};
    }
    case 'stop':
      setImmediate(shutdown);
      return {};
  }
  throw new Error(`unknown control command '${String(req['cmd'])}'`);
}

function ctrlError(e: unknown): string {
  if (e instanceof KErr) return `${e.extack ?? 'kernel error'} (errno ${e.errno})`;
  return e instanceof Error ? e.message : String(e);
}

async function handle(c: Conn, op: number, caps: number, p: Buffer): Promise<Buffer> {
  if (op === OP.CTRL) {
    try {
      const result = await control(JSON.parse(p.toString('utf8') || '{}') as Record<string, unknown>);
      syncAll();
      return encodeResponse(0, Buffer.from(JSON.stringify({ result })));
    } catch (e) {
      syncAll();
      return encodeResponse(-E.EINVAL, Buffer.from(JSON.stringify({ error: ctrlError(e) })));
    }
  }
  if (op === OP.HELLO) {
    if (p.length < 4) return encodeResponse(-E.EPROTO);
    const name = p.subarray(4).toString('utf8');
    const h = world.hosts.get(name);
    if (!h) return encodeResponse(-E.ENOENT);
    c.host = h;
    c.pid = p.readUInt32LE(0);
    return encodeResponse(0);
  }
  const h = c.host;
  if (!h) return encodeResponse(-E.EPROTO);
  const tree = trees.get(h.name)!;
  try {
    switch (op) {
      case OP.OPEN_DEV: {
        const handle = nextHandle++;
        h.openDev(String(handle));
        c.devs.add(handle);
        tree.sync();
        return encodeResponse(handle);
      }
      case OP.CLOSE_DEV: {
        // the descriptor may be closed by another thread (another connection) of the process
        const handle = p.readUInt32LE(0);
        const owner = [...conns].find((x) => x.devs.has(handle) && x.host === h && x.pid === c.pid);
        if (owner) {
          owner.devs.delete(handle);
          h.closeDev(String(handle));
        }
        tree.sync();
        return encodeResponse(0);
      }
      case OP.IOCTL: {
        const cmd = p.readUInt32LE(0);
        const r = await lnetIoctl(h, cmd, p.subarray(4), caps);
        syncAll();
        const parts: Buffer[] = [];
        const cb = Buffer.alloc(4);
        cb.writeUInt32LE(r.data?.length ?? 0);
        parts.push(cb);
        if (r.data) parts.push(r.data);
        const nw = Buffer.alloc(4);
        nw.writeUInt32LE(r.writes.length);
        parts.push(nw);
        for (const w of r.writes) {
          const hd = Buffer.alloc(8);
          hd.writeUInt32LE(w.ptrOffset, 0);
          hd.writeUInt32LE(w.bytes.length, 4);
          parts.push(hd, w.bytes);
        }
        return encodeResponse(r.rc, Buffer.concat(parts));
      }
      case OP.NL_SEND: {
        const portid = p.readUInt32LE(0);
        const nlflags = p.readUInt32LE(4);
        const data = p.subarray(8);
        const dgrams = await netlinkSend({ host: h, caps, portid, nlflags }, data);
        syncAll();
        const parts: Buffer[] = [];
        for (const d of dgrams) {
          const l = Buffer.alloc(4);
          l.writeUInt32LE(d.length);
          parts.push(l, d);
        }
        return encodeResponse(data.length, Buffer.concat(parts));
      }
      case OP.PARAM_WRITE: {
        const pl = p.readUInt32LE(0);
        const path = p.subarray(4, 4 + pl).toString('latin1');
        const data = p.subarray(4 + pl);
        const m = /^\/sys\/module\/([^/]+)\/parameters\/([^/]+)$/.exec(path);
        if (!m) return encodeResponse(-E.EACCES);
        h.world.fault(h, 'param-write');
        const n = h.writeParam(m[1]!, m[2]!, data);
        tree.sync();
        return encodeResponse(n);
      }
      case OP.MOD_INIT: {
        if (!(caps & CAP.SYS_MODULE)) return encodeResponse(-E.EPERM);
        const nl = p.readUInt32LE(0);
        const name = p.subarray(4, 4 + nl).toString('latin1');
        const params = p.subarray(4 + nl).toString('latin1');
        h.loadModule(name, params);
        tree.sync();
        log(`${h.name}: loaded ${name} ${params}`);
        return encodeResponse(0);
      }
      case OP.MOD_DELETE: {
        if (!(caps & CAP.SYS_MODULE)) return encodeResponse(-E.EPERM);
        const name = p.subarray(4).toString('latin1');
        h.unloadModule(name);
        tree.sync();
        log(`${h.name}: unloaded ${name}`);
        return encodeResponse(0);
      }
    }
    return encodeResponse(-E.ENOSYS);
  } catch (e) {
    tree.sync();
    if (e instanceof KErr) return encodeResponse(-e.errno);
    log(`internal error in op ${op}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return encodeResponse(-E.EIO);
  }
}

/**
 * A connection closed (thread or process exit). Open /dev/lnet descriptors
 * belong to the process: they pass to another connection of the same process
 * (another thread) and are released with the last one.
 */
function releaseConn(c: Conn): void {
  if (!conns.delete(c)) return;
  if (!c.host) return;
  const heir = [...conns].find((x) => x.pid === c.pid && x.host === c.host);
  for (const d of c.devs) {
    if (heir) heir.devs.add(d);
    else c.host.closeDev(String(d));
  }
  c.devs.clear();
  trees.get(c.host.name)?.sync();
}

const server = createServer((sock) => {
  const c: Conn = { sock, devs: new Set() };
  conns.add(c);
  const fr = new FrameReader();
  let chain = Promise.resolve();
  sock.on('data', (chunk: Buffer) => {
    try {
      fr.push(chunk);
      let f: Buffer | undefined;
      while ((f = fr.next())) {
        const req = parseRequest(f);
        chain = chain.then(async () => {
          const resp = await handle(c, req.op, req.caps, req.payload);
          if (!sock.destroyed) sock.write(resp);
        });
      }
    } catch (e) {
      log(`protocol error from pid ${c.pid ?? '?'}: ${String(e)}`);
      sock.destroy();
    }
  });
  // A client that dies mid-operation: its references go with it.
  sock.on('close', () => releaseConn(c));
  sock.on('error', () => releaseConn(c));
});

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  for (const c of conns) c.sock.destroy();
  server.close();
  // Everything this emulator made lives under its state folder.
  rmSync(dir!, { recursive: true, force: true });
  process.exit(0);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, shutdown);

const sockPath = join(dir, 'daemon.sock');
rmSync(sockPath, { force: true });
server.listen(sockPath, () => {
  writeFileSync(join(dir, 'ready'), `${process.pid}\n`);
  log(`serving ${config.hosts.length} host(s), release ${config.release}, pid ${process.pid}`);
});
server.on('error', (e) => {
  log(`server error: ${e.message}`);
  process.exit(1);
});
