/**
 * Files of an emulated host, as the preload library redirects them:
 *   <hostdir>/root/proc/modules, /sys/module/<m>/..., /dev/lnet,
 *   /lib/modules/<uname -r>/ (module files, modules.dep[.bin] and the other
 *   kmod indexes), /sys/fs/lustre/devices and /proc/fs/lustre/devices;
 *   <hostdir>/ifaddrs (what getifaddrs() returns).
 * The daemon re-renders the dynamic part after every state change; writes are
 * atomic (temporary file + rename) so readers never see half a file.
 */
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
    const body =
      `${MODULE_MAGIC}${def.name}\n` +
      `hpcnet LNet emulator module file (not a kernel object); release ${host.release}\n` +
      def.params.map((x) => `parm=${x.name}\n`).join('');
    atomicWrite(join(kdir, def.path), body.padEnd(4096, '\0'));
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
}

/** Renders the dynamic files; `cache` remembers what is on disk (path -> content). */
export class HostTree {
  private readonly cache = new Map<string, string>();
  private readonly root: string;
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
    // /proc/modules: most recently loaded first.
    const mods = [...h.modules.values()].sort((a, b) => b.loadedAt - a.loadedAt);
    this.put(
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
      if (!m) {
        this.drop(base);
        continue;
      }
      this.put(`${base}/initstate`, 'live\n');
      this.put(`${base}/refcnt`, `${h.refcnt(def.name)}\n`);
      this.put(`${base}/coresize`, `${def.size}\n`);
      this.put(`${base}/initsize`, '0\n');
      this.put(`${base}/taint`, 'OE\n');
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
      for (const pd of def.params) this.put(`${base}/parameters/${pd.name}`, `${m.params.get(pd.name) ?? ''}\n`, pd.mode);
    }
    if (h.devExists()) this.put('dev/lnet', '', 0o600);
    else this.drop('dev/lnet');
    if (h.loaded('obdclass')) {
      const dev = h.devicesText();
      this.put('sys/fs/lustre/devices', dev);
      this.put('proc/fs/lustre/devices', dev);
      this.put('sys/fs/lustre/version', 'lustre: 2.16.0\n');
    } else {
      this.drop('sys/fs/lustre');
      this.drop('proc/fs/lustre');
    }
    if (h.loaded('lnet')) {
      const to = h.loaded('ksocklnd') ? h.paramNum('ksocklnd', 'sock_timeout') : 50;
      this.put('sys/kernel/debug/lnet/lnet_lnd_timeout', `${to}\n`);
    } else this.drop('sys/kernel/debug/lnet');
  }
}
