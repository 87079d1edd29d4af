/**
 * The emulated kernel of one host, reached in-process: an implementation of
 * the addon's handle interface (LnetNativeHandle) that hands the same bytes
 * the addon would hand to the kernel (ioctl structs, netlink requests, sysfs
 * text, module calls) straight to the emulator's front ends (ioctl.ts,
 * netlink.ts, tree.ts) on a World in this process: no daemon, no LD_PRELOAD.
 * MockLnetBackend runs the native backend and the kernel layer over it, so
 * the emulator's model is the only model of the LNet kernel.
 */
import type { LnetNativeHandle, LnetNativeInsertion, LnetNativeModule, LnetNlExchange } from '../../native/loader.js';
import { lnetIoctl } from './ioctl.js';
import { errnoName } from '../../errno.js';
import { E, KErr, type Host } from './kernel.js';
import { netlinkSend, nlmsg, NLM_F, NLMSG_DONE, NLMSG_ERROR } from './netlink.js';
import { CAP, NLFLAG } from './protocol.js';
import { hostFiles, kernelRelease } from './tree.js';

const STRERROR: Record<number, string> = {
  [E.EPERM]: 'Operation not permitted',
  [E.ENOENT]: 'No such file or directory',
  [E.EACCES]: 'Permission denied',
  [E.EBUSY]: 'Device or resource busy',
  [E.EINVAL]: 'Invalid argument',
};

/** An error shaped as the addon rejects ({ code, errno, op, message }). */
function nativeError(errno: number, op: string, what: string, message?: string): Error {
  const code = errnoName(errno);
  return Object.assign(new Error(message ?? `${op}${what ? ' ' + what : ''}: ${STRERROR[errno] ?? `errno ${errno}`}`), { code, errno, op });
}

let nextPort = 0x4000;

export class InProcessLnetHandle implements LnetNativeHandle {
  private closed = false;
  private seq = 1;
  private readonly port = nextPort++;
  private static nextDev = 1;

  constructor(
    readonly host: Host,
    /** Capabilities of the calling "process" (CAP bits); root has them all. */
    private readonly caps: number = CAP.ALL,
  ) {}

  private async enter(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r)); // settle on a later tick, as the addon's thread does
    if (this.closed) throw Object.assign(new Error('the LNet kernel handle is closed'), { code: 'ERR_CLOSED' });
  }

  async ioctl(op: string, cmd: number, arg: Buffer, patches: [number, number, number][] = [], aux: Buffer[] = []): Promise<{ errno: number; arg: Buffer; aux: Buffer[] }> {
    await this.enter();
    const a = Buffer.from(arg);
    const x = aux.map((b) => Buffer.from(b));
    const dev = String(InProcessLnetHandle.nextDev++);
    try {
      this.host.openDev(dev);
    } catch (e) {
      if (!(e instanceof KErr)) throw e;
      throw nativeError(e.errno, 'open', '', `${op}: opening /dev/lnet failed: ${STRERROR[e.errno] ?? `errno ${e.errno}`}`);
    }
    try {
      const r = await lnetIoctl(this.host, cmd, a, this.caps);
      if (r.data) r.data.copy(a, 0, 0, Math.min(r.data.length, a.length));
      for (const w of r.writes) {
        const p = patches.find(([at]) => at === w.ptrOffset);
        if (!p) continue;
        if (p[1] === 0) w.bytes.copy(a, p[2], 0, Math.max(0, Math.min(w.bytes.length, a.length - p[2])));
        else w.bytes.copy(x[p[2]]!, 0, 0, Math.min(w.bytes.length, x[p[2]]!.length));
      }
      return { errno: r.rc < 0 ? -r.rc : 0, arg: a, aux: x };
    } finally {
      this.host.closeDev(dev);
    }
  }

  async nlRequest(family: number, cmd: number, version: number, flags: number, payload: Buffer, _opts?: { group?: number; timeoutMs?: number }): Promise<LnetNlExchange> {
    await this.enter();
    const seq = this.seq++;
    const request = nlmsg(family, flags | NLM_F.REQUEST | NLM_F.ACK, seq, this.port, Buffer.concat([Buffer.from([cmd, version, 0, 0]), payload]));
    const dgrams = await netlinkSend({ host: this.host, caps: this.caps, portid: this.port, nlflags: NLFLAG.EXT_ACK }, request);
    const replies: Buffer[] = [];
    for (const d of dgrams) {
      for (let off = 0; off + 16 <= d.length; ) {
        const len = d.readUInt32LE(off);
        if (len < 16 || off + len > d.length) break;
        const m = d.subarray(off, off + len);
        off += (len + 3) & ~3;
        if (m.readUInt32LE(8) !== seq) continue;
        replies.push(Buffer.from(m));
        const type = m.readUInt16LE(4);
        if (type === NLMSG_DONE || type === NLMSG_ERROR) return { request, replies };
      }
    }
    return { request, replies };
  }

  async nlPort(): Promise<number> {
    await this.enter();
    return this.port;
  }

  private file(path: string): { text: string; mode: number } | undefined {
    return hostFiles(this.host).get(path.replace(/^\/+/, ''));
  }

  async readFile(path: string): Promise<string> {
    await this.enter();
    const f = this.file(path);
    if (!f) throw nativeError(E.ENOENT, 'open', path);
    return f.text;
  }

  async writeFile(path: string, text: string): Promise<void> {
    await this.enter();
    const f = this.file(path);
    if (!f) throw nativeError(E.ENOENT, 'open', path);
    if (!(f.mode & 0o200) || !(this.caps & CAP.SYS_ADMIN)) throw nativeError(E.EACCES, 'open', path);
    const m = /^\/sys\/module\/([^/]+)\/parameters\/([^/]+)$/.exec(path);
    if (!m) throw nativeError(E.EACCES, 'open', path);
    try {
      this.host.world.fault(this.host, 'param-write');
      this.host.writeParam(m[1]!, m[2]!, Buffer.from(text + '\0', 'latin1'));
    } catch (e) {
      if (e instanceof KErr) throw nativeError(e.errno, 'write', path);
      throw e;
    }
  }

  async listDir(path: string): Promise<string[]> {
    await this.enter();
    const dir = path.replace(/^\/+/, '').replace(/\/+$/, '') + '/';
    const names = new Set<string>();
    for (const rel of hostFiles(this.host).keys()) if (rel.startsWith(dir)) names.add(rel.slice(dir.length).split('/')[0]!);
    if (names.size === 0) throw nativeError(E.ENOENT, 'opendir', path);
    return [...names];
  }

  /** As libkmod's probe: dependencies first (from modules.dep), options on the named module only. */
  async modLoad(name: string, options = '', opts: { dryRun?: boolean } = {}): Promise<LnetNativeInsertion[]> {
    await this.enter();
    const h = this.host;
    if (!h.def(name)) throw nativeError(E.ENOENT, 'kmod_module_new_from_lookup', '', `module ${name} not found in directory /lib/modules/<release>`);
    const order: string[] = [];
    const visit = (n: string): void => {
      for (const d of [...h.def(n)!.deps].reverse()) visit(d);
      if (!order.includes(n)) order.push(n);
    };
    visit(name);
    const out: LnetNativeInsertion[] = [];
    for (const n of order) {
      if (h.loaded(n)) continue;
      const o = n === name ? options : '';
      out.push({ name: n, path: `/lib/modules/${kernelRelease()}/${h.def(n)!.path}`, options: o, install: false });
      if (opts.dryRun) continue;
      try {
        if (!(this.caps & CAP.SYS_MODULE)) throw new KErr(E.EPERM);
        h.loadModule(n, o);
      } catch (e) {
        if (e instanceof KErr) throw nativeError(e.errno, 'kmod_module_probe_insert_module', `(${n})`);
        throw e;
      }
    }
    return out;
  }

  async modList(): Promise<LnetNativeModule[]> {
    await this.enter();
    const h = this.host;
    return [...h.modules.values()]
      .sort((a, b) => b.loadedAt - a.loadedAt)
      .map((m) => ({ name: m.def.name, refcnt: h.refcnt(m.def.name), size: m.def.size, initstate: 1, holders: h.holders(m.def.name) }));
  }

  /** As kmod's rmmod: not loaded ENOENT, holders or references EBUSY, then delete_module. */
  async modRemove(name: string): Promise<void> {
    await this.enter();
    const h = this.host;
    if (!h.loaded(name)) throw nativeError(E.ENOENT, 'kmod_module_get_initstate', '', `Module ${name} is not currently loaded`);
    const holders = h.holders(name);
    if (holders.length) throw nativeError(E.EBUSY, 'kmod_module_get_holders', '', `Module ${name} is in use by: ${holders.join(' ')}`);
    if (h.refcnt(name) > 0) throw nativeError(E.EBUSY, 'kmod_module_get_refcnt', '', `Module ${name} is in use`);
    try {
      if (!(this.caps & CAP.SYS_MODULE)) throw new KErr(E.EPERM);
      h.unloadModule(name);
    } catch (e) {
      if (e instanceof KErr) throw nativeError(e.errno, 'kmod_module_remove_module', `(${name})`);
      throw e;
    }
  }

  close(): void {
    this.closed = true;
  }
}
