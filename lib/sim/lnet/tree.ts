/**
 * Files of an emulated host, as the preload library redirects them:
 *   <hostdir>/root/proc/modules, /sys/module/<m>/..., /dev/lnet,
 *   /lib/modules/<uname -r>/ (module files, modules.dep[.bin] and the other
 *   kmod indexes), /sys/fs/lustre/devices and /proc/fs/lustre/devices;
 *   <hostdir>/ifaddrs (what getifaddrs() returns).
 * The daemon re-renders the dynamic part after every state change; writes are
 * atomic (temporary file + rename) so readers never see half a file.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { dirname, join } from 'node:path';
import type { Host } from './kernel.js';
import { MODULE_MAGIC } from './protocol.js';

export function kernelRelease(): string {
  return osRelease();
}

// ------------------------------------------------------------------ kmod binary index
const INDEX_MAGIC = 0xb007f457;
const INDEX_VERSION = 0x00020001;
const NODE_VALUES = 0x40000000;
const NODE_CHILDS = 0x20000000;

interface TrieNode {
  children: Map<number, TrieNode>;
  values: Array<{ priority: number; value: string }>;
}

/**
 * A kmod index file (libkmod-index.h disk format: big-endian u32s, a trie of
 * single-character arcs, values with priorities at key nodes).
 */
export function buildKmodIndex(entries: Array<{ key: string; value: string; priority: number }>): Buffer {
  const root: TrieNode = { children: new Map(), values: [] };
  for (const e of entries) {
    let n = root;
    for (const ch of Buffer.from(e.key, 'latin1')) {
      if (ch >= 128) throw new Error(`kmod index key must be ASCII: ${e.key}`);
      let c = n.children.get(ch);
      if (!c) {
        c = { children: new Map(), values: [] };
        n.children.set(ch, c);
      }
      n = c;
    }
    n.values.push({ priority: e.priority, value: e.value });
  }
  const parts: Buffer[] = [Buffer.alloc(12)];
  let cursor = 12;
  const write = (node: TrieNode): number => {
    const kids = [...node.children.keys()].sort((a, b) => a - b);
    const offs = new Map<number, number>();
    for (const k of kids) offs.set(k, write(node.children.get(k)!));
    const chunks: Buffer[] = [];
    let flags = 0;
    if (kids.length) {
      flags |= NODE_CHILDS;
      const first = kids[0]!;
      const last = kids[kids.length - 1]!;
      const b = Buffer.alloc(2 + 4 * (last - first + 1));
      b[0] = first;
      b[1] = last;
      for (let c = first; c <= last; c++) b.writeUInt32BE(offs.get(c) ?? 0, 2 + 4 * (c - first));
      chunks.push(b);
    }
    if (node.values.length) {
      flags |= NODE_VALUES;
      const cnt = Buffer.alloc(4);
      cnt.writeUInt32BE(node.values.length);
      chunks.push(cnt);
      for (const v of [...node.values].sort((a, b) => a.priority - b.priority)) {
        const pr = Buffer.alloc(4);
        pr.writeUInt32BE(v.priority >>> 0);
        chunks.push(pr, Buffer.from(v.value + '\0', 'latin1'));
      }
    }
    const off = cursor;
    const body = Buffer.concat(chunks);
    parts.push(body);
    cursor += body.length;
    return (off | flags) >>> 0;
  };
  const rootOff = write(root);
  parts.push(Buffer.alloc(4));
  const out = Buffer.concat(parts);
  out.writeUInt32BE(INDEX_MAGIC, 0);
  out.writeUInt32BE(INDEX_VERSION, 4);
  out.writeUInt32BE(rootOff, 8);
  return out;
}

// ------------------------------------------------------------------ module files
const MOD_DESCR: Record<string, string> = {
  libcfs: 'Lustre helper library',
  lnet: 'Lustre Networking layer',
  ksocklnd: 'TCP Socket LNet Network Driver',
  ko2iblnd: 'OpenIB gen2 LNet Network Driver',
  obdclass: 'Lustre Class Driver',
  ptlrpc: 'Lustre Request Processor and Lock Management',
  lustre: 'Lustre Client File System',
};

/**
 * A minimal ELF64 relocatable object standing for a module: a `.modinfo`
 * section (what modinfo and libkmod read) and `.hpcnet_lnetemu` with the line
 * the preload library uses to recognise the module in init_module/finit_module.
 */
/** The Lustre version the emulated modules report (modinfo, /sys/fs/lustre/version). */
export function lustreVersion(host: Host): string {
  return host.release === '2.15' ? '2.15.6' : '2.16.1';
}

export function moduleElf(host: Host, def: Host['defs'][number]): Buffer {
  const version = lustreVersion(host);
  const info = [
    'license=GPL',
    `version=${version}`,
    `description=${MOD_DESCR[def.name] ?? def.name}`,
    'author=OpenSFS, Inc. <http://www.lustre.org/>',
    ...def.params.flatMap((x) => [`parm=${x.name}:${x.name.replace(/_/g, ' ')}`, `parmtype=${x.name}:${x.kind === 'charp' ? 'charp' : x.kind}`]),
    `srcversion=${createHash('md5').update(def.name + version).digest('hex').slice(0, 23).toUpperCase()}`,
    `depends=${def.deps.join(',')}`, // symbol users: reference 6.2
    'retpoline=Y',
    `name=${def.name}`,
    `vermagic=${kernelRelease()} SMP preempt mod_unload modversions `,
  ];
  const modinfo = Buffer.from(info.map((x) => x + '\0').join(''), 'latin1');
  const marker = Buffer.from(`${MODULE_MAGIC}${def.name}\n`, 'latin1');
  const names = ['', '.modinfo', '.hpcnet_lnetemu', '.shstrtab'];
  const shstr = Buffer.from(names.map((n) => n + '\0').join(''), 'latin1');
  const nameOff = (n: string) => shstr.indexOf(Buffer.from(n + '\0', 'latin1'), n === '' ? 0 : 1);
  const align8 = (n: number) => (n + 7) & ~7;
  const offModinfo = 64;
  const offMarker = align8(offModinfo + modinfo.length);
  const offShstr = offMarker + marker.length;
  const offSh = align8(offShstr + shstr.length);
  const out = Buffer.alloc(offSh + 64 * names.length);
  // Elf64_Ehdr
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  out.writeUInt16LE(1, 16); // ET_REL
  out.writeUInt16LE(62, 18); // EM_X86_64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(offSh), 40);
  out.writeUInt16LE(64, 52); // e_ehsize
  out.writeUInt16LE(64, 58); // e_shentsize
  out.writeUInt16LE(names.length, 60);
  out.writeUInt16LE(names.length - 1, 62); // e_shstrndx
  modinfo.copy(out, offModinfo);
  marker.copy(out, offMarker);
  shstr.copy(out, offShstr);
  const sh = (i: number, name: string, type: number, flags: number, off: number, size: number, align: number) => {
    const o = offSh + i * 64;
    out.writeUInt32LE(nameOff(name), o);
    out.writeUInt32LE(type, o + 4);
    out.writeBigUInt64LE(BigInt(flags), o + 8);
    out.writeBigUInt64LE(BigInt(off), o + 24);
    out.writeBigUInt64LE(BigInt(size), o + 32);
    out.writeBigUInt64LE(BigInt(align), o + 48);
  };
  sh(1, '.modinfo', 1 /* PROGBITS */, 2 /* ALLOC */, offModinfo, modinfo.length, 1);
  sh(2, '.hpcnet_lnetemu', 1, 0, offMarker, marker.length, 1);
  sh(3, '.shstrtab', 3 /* STRTAB */, 0, offShstr, shstr.length, 1);
  return out;
}

// ------------------------------------------------------------------ writers
function atomicWrite(path: string, data: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  if (mode !== undefined) chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Static part: module files and kmod indexes under /lib/modules/<release>. */
export function initHostTree(host: Host, hostDir: string): void {
  const root = join(hostDir, 'root');
  const kdir = join(root, 'lib', 'modules', kernelRelease());
  mkdirSync(kdir, { recursive: true });
  for (const d of ['proc', 'sys/module', 'dev', 'sys/fs', 'proc/fs']) mkdirSync(join(root, d), { recursive: true });
  const depLines: string[] = [];
  const depEntries: Array<{ key: string; value: string; priority: number }> = [];
  host.defs.forEach((def, i) => {
    atomicWrite(join(kdir, def.path), moduleElf(host, def));
    const line = `${def.path}:${def.deps.map((d) => ' ' + host.def(d)!.path).join('')}`;
    depLines.push(line);
    depEntries.push({ key: def.name, value: line, priority: i });
  });
  atomicWrite(join(kdir, 'modules.dep'), depLines.join('\n') + '\n');
  atomicWrite(join(kdir, 'modules.dep.bin'), buildKmodIndex(depEntries));
  const empty = buildKmodIndex([]);
  for (const f of ['modules.alias.bin', 'modules.symbols.bin', 'modules.builtin.bin', 'modules.builtin.alias.bin']) atomicWrite(join(kdir, f), empty);
  for (const f of ['modules.alias', 'modules.symbols', 'modules.builtin', 'modules.builtin.modinfo', 'modules.softdep', 'modules.devname']) {
    atomicWrite(join(kdir, f), f === 'modules.alias' || f === 'modules.symbols' ? '# Aliases extracted from modules themselves.\n' : '');
  }
  atomicWrite(join(kdir, 'modules.order'), host.defs.map((d) => d.path).join('\n') + '\n');
  atomicWrite(join(hostDir, 'ifaddrs'), host.ifaces.map((i) => `${i.name} ${i.ip} ${i.prefix ?? 24}\n`).join(''));
  // /sys/class/net: the same interfaces and indexes the preload library reports (lo 1, then in order)
  ['lo', ...host.ifaces.map((i) => i.name)].forEach((name, i) => {
    const d = join(root, 'sys', 'class', 'net', name);
    const lo = i === 0;
    const mac = lo ? '00:00:00:00:00:00' : `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
    const files: Record<string, string> = {
      ifindex: `${i + 1}`,
      flags: lo ? '0x9' : '0x1003',
      operstate: lo ? 'unknown' : 'up',
      carrier: '1',
      mtu: lo ? '65536' : '1500',
      address: mac,
      broadcast: lo ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff',
      type: lo ? '772' : '1',
      addr_len: '6',
    };
    for (const [f, v] of Object.entries(files)) atomicWrite(join(d, f), v + '\n');
  });
}

/** Renders the dynamic files; `cache` remembers what is on disk (path -> content). */
export class HostTree {
  private readonly cache = new Map<string, string>();
  private readonly root: string;
  private devDirs = new Set<string>();
  constructor(
    private readonly host: Host,
    hostDir: string,
  ) {
    this.root = join(hostDir, 'root');
  }

  private put(rel: string, text: string, mode = 0o444): void {
    const key = `${rel}\0${mode}`;
    if (this.cache.get(rel) === key + text) return;
    atomicWrite(join(this.root, rel), text, mode);
    this.cache.set(rel, key + text);
  }
  private drop(rel: string): void {
    const p = join(this.root, rel);
    if (existsSync(p)) rmSync(p, { recursive: true, force: true });
    for (const k of [...this.cache.keys()]) if (k === rel || k.startsWith(rel + '/')) this.cache.delete(k);
  }

  sync(): void {
    const h = this.host;
    const files = hostFiles(h);
    for (const [rel, f] of files) this.put(rel, f.text, f.mode);
    for (const def of h.defs) {
      const base = `sys/module/${def.name}`;
      if (!h.modules.has(def.name)) {
        this.drop(base);
        continue;
      }
      mkdirSync(join(this.root, base, 'sections'), { recursive: true });
      const hdir = join(this.root, base, 'holders');
      mkdirSync(hdir, { recursive: true });
      const want = new Set(h.holders(def.name));
      const key = `${base}/holders`;
      const cur = this.cache.get(key);
      const next = [...want].sort().join(',');
      if (cur !== next) {
        rmSync(hdir, { recursive: true, force: true });
        mkdirSync(hdir, { recursive: true });
        for (const x of want) symlinkSync(`../../${x}`, join(hdir, x));
        this.cache.set(key, next);
      }
    }
    if (!files.has('dev/lnet')) this.drop('dev/lnet');
    const devDirs = new Set<string>();
    if (h.loaded('obdclass')) {
      for (const rel of files.keys()) if (/^(sys|proc)\/fs\/lustre\/[^/]+\/[^/]+\/uuid$/.test(rel)) devDirs.add(rel.slice(0, -'/uuid'.length));
    } else {
      this.drop('sys/fs/lustre');
      this.drop('proc/fs/lustre');
    }
    for (const d of this.devDirs) if (!devDirs.has(d)) this.drop(d);
    this.devDirs = devDirs;
    if (!h.loaded('libcfs')) this.drop('sys/kernel/debug/lnet');
    else if (!files.has('sys/kernel/debug/lnet/lnet_lnd_timeout')) this.drop('sys/kernel/debug/lnet/lnet_lnd_timeout');
  }
}

/**
 * libcfs's own debugfs parameters (libcfs/libcfs/module.c: `lctl get_param
 * debug`, `subsystem_debug`, `debug_mb`, `printk`, ... as lustre_rmmod -d reads
 * them), with the defaults of a freshly loaded module.
 */
const LIBCFS_PARAMS: Record<string, string> = {
  debug: 'ioctl neterror warning error emerg ha config console lfsck',
  subsystem_debug: 'undefined mdc mds osc ost class log llite rpc mgmt lnet lnd pinger filter libcfs echo ldlm lov lquota osd lfsck snapshot lmv sec gss mgc mgs fid fld',
  debug_mb: '80',
  printk: 'warning error emerg console',
  console_ratelimit: '1',
  console_max_delay_centisecs: '60000',
  console_min_delay_centisecs: '50',
  console_backoff: '2',
  debug_path: '/tmp/lustre-log',
  panic_on_lbug: '1',
  catastrophe: '0',
  fail_loc: '0',
  fail_val: '0',
  fail_err: '0',
};

/**
 * The dynamic files of a host (path relative to its root -> text and mode):
 * what HostTree writes to disk for the preload, and what the in-process
 * handle (inprocess.ts) reads directly.
 */
export function hostFiles(h: Host): Map<string, { text: string; mode: number }> {
  const out = new Map<string, { text: string; mode: number }>();
  const put = (rel: string, text: string, mode = 0o444): void => {
    out.set(rel, { text, mode });
  };
  // /proc/modules: most recently loaded first.
  const mods = [...h.modules.values()].sort((a, b) => b.loadedAt - a.loadedAt);
  put(
    'proc/modules',
    mods
      .map((m) => {
        const holders = h.holders(m.def.name);
        return `${m.def.name} ${m.def.size} ${h.refcnt(m.def.name)} ${holders.length ? holders.map((x) => x + ',').join('') : '-'} Live 0x0000000000000000 (OE)\n`;
      })
      .join(''),
  );
  for (const def of h.defs) {
    const base = `sys/module/${def.name}`;
    const m = h.modules.get(def.name);
    if (!m) continue;
    put(`${base}/initstate`, 'live\n');
    put(`${base}/refcnt`, `${h.refcnt(def.name)}\n`);
    put(`${base}/coresize`, `${def.size}\n`);
    put(`${base}/initsize`, '0\n');
    put(`${base}/taint`, 'OE\n');
    for (const pd of def.params) put(`${base}/parameters/${pd.name}`, `${m.params.get(pd.name) ?? ''}\n`, pd.mode);
  }
  if (h.devExists()) put('dev/lnet', '', 0o600);
  if (h.loaded('obdclass')) {
    const dev = h.devicesText();
    put('sys/fs/lustre/devices', dev);
    put('proc/fs/lustre/devices', dev);
    put('sys/fs/lustre/version', `lustre: ${lustreVersion(h)}\n`);
    // per-device parameters (lctl get_param <type>.<name>.uuid), present while the device is
    for (const line of dev.split('\n')) {
      const m = /^\s*\d+\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s+\d+$/.exec(line);
      if (!m) continue;
      for (const top of ['sys/fs/lustre', 'proc/fs/lustre']) put(`${top}/${m[1]}/${m[2]}/uuid`, `${m[3]}\n`);
    }
  }
  if (h.loaded('libcfs')) for (const [k, v] of Object.entries(LIBCFS_PARAMS)) put(`sys/kernel/debug/lnet/${k}`, `${v}\n`, /^(catastrophe)$/.test(k) ? 0o444 : 0o644);
  if (h.loaded('lnet')) {
    const to = h.loaded('ksocklnd') ? h.paramNum('ksocklnd', 'sock_timeout') : 50;
    put('sys/kernel/debug/lnet/lnet_lnd_timeout', `${to}\n`);
  }
  return out;
}
