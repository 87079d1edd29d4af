/**
 * Test helpers for the LNet emulator: the C test client (compiled once with
 * cc), struct builders with the reference's layouts (reference 1.4/1.5), and
 * an independent netlink/key-table decoder (reference 2.3) used to read the
 * emulator's replies.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../lib/util/paths.js';
import type { LnetEmulator } from '../../../lib/sim/lnet/index.js';

export const V1 = 0x0001000a;
export const V2 = 0x0001000b;

/** Path of the compiled test client (test/sim/lnet/client.c). */
export function clientPath(): string {
  return compiled('client.c', ['libnl-genl-3.0', 'libkmod']);
}
/** Path of the compiled tool-call client (test/sim/lnet/tools-client.c: the calls lctl/lnetctl make). */
export function toolsClientPath(): string {
  return compiled('tools-client.c', []);
}

function compiled(file: string, pkgs: string[]): string {
  const src = join(packageRoot(), 'test', 'sim', 'lnet', file);
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  // under the test run's state folder when there is one (scripts/test removes it)
  const dir = join(process.env['HPCNET_STATE_DIR'] ?? tmpdir(), `hpcnet-lnetemu-client-${process.getuid?.() ?? 0}`);
  const out = join(dir, `${file.replace(/\.c$/, '')}-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  let libs: string[] = [];
  if (pkgs.length) {
    const flags = spawnSync('pkg-config', ['--cflags', '--libs', ...pkgs], { encoding: 'utf8' });
    if (flags.status !== 0) throw new Error(`pkg-config ${pkgs.join(' ')} failed: ${flags.stderr}`);
    libs = flags.stdout.trim().split(/\s+/);
  }
  const tmp = `${out}.${process.pid}`;
  const cc = spawnSync('cc', ['-O1', '-Wall', '-o', tmp, src, ...libs], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cannot build ${file}: ${cc.stderr}`);
  renameSync(tmp, out);
  return out;
}

export interface ClientResult {
  code: number | null;
  stdout: string;
  stderr: string;
  rc?: number;
  errno?: number;
  data?: Buffer;
  bulk?: Buffer;
  dgrams: Buffer[];
}

export async function client(emu: LnetEmulator, host: string | undefined, args: string[], timeoutMs = 30_000): Promise<ClientResult> {
  const r = await emu.exec(host, clientPath(), args, { timeoutMs });
  const out: ClientResult = { code: r.code, stdout: r.stdout, stderr: r.stderr, dgrams: [] };
  const m = /rc=(-?\d+) errno=(\d+)/.exec(r.stdout);
  if (m) {
    out.rc = Number(m[1]);
    out.errno = Number(m[2]);
  }
  const oe = /^open errno=(\d+)/m.exec(r.stdout);
  if (oe) out.errno = Number(oe[1]);
  const d = /^data=([0-9a-f]*)$/m.exec(r.stdout);
  if (d) out.data = Buffer.from(d[1]!, 'hex');
  const b = /^bulk=([0-9a-f]*)$/m.exec(r.stdout);
  if (b) out.bulk = Buffer.from(b[1]!, 'hex');
  for (const g of r.stdout.matchAll(/^dgram=([0-9a-f]*)$/gm)) out.dgrams.push(Buffer.from(g[1]!, 'hex'));
  return out;
}

/** ioctl by number (the client builds the command value from the reference's rules). */
export function ioctl(emu: LnetEmulator, host: string | undefined, nr: number, struct: Buffer, bulk = 0): Promise<ClientResult> {
  return client(emu, host, ['ioctl', String(nr), struct.toString('hex'), ...(bulk ? [String(bulk)] : [])]);
}

// ------------------------------------------------------------------ structs
export function v1(fields: { count?: number; flags?: number; nid?: bigint; net?: number } = {}): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt32LE(128, 0);
  b.writeUInt32LE(V1, 4);
  if (fields.nid !== undefined) b.writeBigUInt64LE(fields.nid, 8);
  if (fields.flags !== undefined) b.writeUInt32LE(fields.flags, 24);
  if (fields.count !== undefined) b.writeUInt32LE(fields.count, 28);
  if (fields.net !== undefined) b.writeUInt32LE(fields.net, 32);
  return b;
}
export function v2(size: number, len = size): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(len, 0);
  b.writeUInt32LE(V2, 4);
  return b;
}
export function configNi(nid: bigint, intf: string, extra = 0): Buffer {
  const b = v2(808 + extra);
  b.writeBigUInt64LE(nid, 8);
  b.write(intf, 16, 'latin1');
  return b;
}
export function configData(fields: { net?: number; count?: number; nid?: bigint; hop?: number; prio?: number; enable?: number }, extra = 0): Buffer {
  const b = v2(184 + extra);
  if (fields.net !== undefined) b.writeUInt32LE(fields.net, 8);
  if (fields.count !== undefined) b.writeUInt32LE(fields.count, 12);
  if (fields.nid !== undefined) b.writeBigUInt64LE(fields.nid, 16);
  if (fields.hop !== undefined) b.writeInt32LE(fields.hop, 28);
  if (fields.enable !== undefined) b.writeUInt32LE(fields.enable, 28);
  if (fields.prio !== undefined) b.writeUInt32LE(fields.prio, 32);
  b.writeUInt32LE(1, 40);
  return b;
}
export function pingData(nid: bigint, timeoutMs: number, cap: number): Buffer {
  const b = v2(56);
  b.writeUInt32LE(timeoutMs, 8);
  b.writeUInt32LE(cap, 12);
  b.writeBigUInt64LE(nid, 24);
  b.writeUInt32LE(0xffffffff, 32);
  b.writeBigUInt64LE(0xffffffffffffffffn, 48);
  return b;
}
export function peerCfg(prim: bigint, nid: bigint, fields: { count?: number; mr?: number; size?: number } = {}): Buffer {
  const b = v2(48);
  b.writeBigUInt64LE(prim, 8);
  b.writeBigUInt64LE(nid, 16);
  b.writeUInt32LE(fields.count ?? 0, 24);
  b.writeUInt32LE(fields.mr ?? 1, 28);
  b.writeUInt32LE(fields.size ?? 0, 36);
  return b;
}

/** NIDs per reference 3.1 (host-order IPv4 in the low 32 bits). */
export function nid(ip: string, type = 2, num = 0): bigint {
  const a = ip.split('.').reduce((acc, x) => ((acc << 8) | Number(x)) >>> 0, 0);
  return (BigInt(((type << 16) | num) >>> 0) << 32n) | BigInt(a);
}
export const NID_LO = 0x0009_0000_0000_0000n;

// ------------------------------------------------------------------ netlink
const a4 = (n: number) => (n + 3) & ~3;
export function attr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(a4(4 + payload.length));
  b.writeUInt16LE(4 + payload.length, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
export const str = (type: number, s: string) => attr(type, Buffer.from(s + '\0', 'latin1'));
export const s64 = (type: number, v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return attr(type, b);
};
/** Userspace LIST nest as lnetctl writes it (type 0x8001). */
export const list = (...children: Buffer[]) => attr(0x8001, Buffer.concat(children));
export function nlRequest(type: number, flags: number, cmd: number, version: number, attrs: Buffer[] = [], seq = 1): Buffer {
  const payload = Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
  const b = Buffer.alloc(16 + payload.length);
  b.writeUInt32LE(16 + payload.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  payload.copy(b, 16);
  return b;
}

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Buffer;
}
export function splitMsgs(dgram: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + 16 <= dgram.length) {
    const len = dgram.readUInt32LE(off);
    if (len < 16 || off + len > dgram.length) throw new Error(`malformed netlink message at ${off}`);
    out.push({ type: dgram.readUInt16LE(off + 4), flags: dgram.readUInt16LE(off + 6), seq: dgram.readUInt32LE(off + 8), pid: dgram.readUInt32LE(off + 12), body: dgram.subarray(off + 16, off + len) });
    off += a4(len);
  }
  return out;
}
export interface RawAttr {
  type: number;
  nested: boolean;
  data: Buffer;
}
export function attrs(b: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off + 4 <= b.length) {
    const len = b.readUInt16LE(off);
    const t = b.readUInt16LE(off + 2);
    if (len < 4 || off + len > b.length) throw new Error('malformed attribute');
    out.push({ type: t & 0x3fff, nested: (t & 0x8000) !== 0, data: b.subarray(off + 4, off + len) });
    off += a4(len);
  }
  return out;
}
export const cstr = (d: Buffer) => d.subarray(0, d.indexOf(0) < 0 ? d.length : d.indexOf(0)).toString('latin1');

/** NLMSG_ERROR payload: errno, and the extack message if any. */
export function nlError(m: NlMsg): { errno: number; extack?: string } {
  const err = -m.body.readInt32LE(0) || 0;
  const origLen = m.flags & 0x100 ? 16 : m.body.readUInt32LE(4);
  const tlv = m.body.subarray(4 + a4(origLen));
  const msg = attrs(tlv).find((a) => a.type === 1);
  return { errno: err, ...(msg ? { extack: cstr(msg.data) } : {}) };
}

// ------------------------------------------------------------------ key tables (reference 2.3)
export interface KeyDef {
  name: string;
  type: number;
  format: number;
  children?: Map<number, KeyDef>;
}
/** A key table: LIST of nests 1..N, each {LIST_SIZE (first), INDEX, VALUE, KEY_FORMAT, NLA_TYPE, [LIST]}. */
export function parseKeyTable(listAttr: RawAttr): Map<number, KeyDef> {
  const table = new Map<number, KeyDef>();
  for (const key of attrs(listAttr.data)) {
    let index = 0;
    const def: KeyDef = { name: '', type: 0, format: 0 };
    for (const f of attrs(key.data)) {
      if (f.type === 3) index = f.data.readUInt16LE(0);
      else if (f.type === 5) def.name = cstr(f.data);
      else if (f.type === 7) def.format = f.data.readUInt16LE(0);
      else if (f.type === 4) def.type = f.data.readUInt16LE(0);
      else if (f.type === 1) def.children = parseKeyTable(f);
    }
    table.set(index, def);
  }
  return table;
}
export type Decoded = Record<string, unknown>;
export function decodeValues(as: RawAttr[], table: Map<number, KeyDef>): Decoded {
  const o: Decoded = {};
  for (const a of as) {
    const def = table.get(a.type);
    if (!def) throw new Error(`attribute ${a.type} not in the key table`);
    switch (def.type) {
      case 5:
      case 10:
        o[def.name] = cstr(a.data);
        break;
      case 2:
        o[def.name] = a.data.readUInt16LE(0);
        break;
      case 3:
        o[def.name] = a.data.readUInt32LE(0);
        break;
      case 4:
        o[def.name] = a.data.readBigUInt64LE(0);
        break;
      case 13:
        o[def.name] = a.data.readInt16LE(0);
        break;
      case 14:
        o[def.name] = a.data.readInt32LE(0);
        break;
      case 15:
        o[def.name] = a.data.readBigInt64LE(0);
        break;
      case 6:
        o[def.name] = true;
        break;
      case 8:
        o[def.name] = attrs(a.data).map((item) => decodeValues(attrs(item.data), def.children ?? new Map()));
        break;
      default:
        throw new Error(`unexpected NLA type ${def.type} for ${def.name}`);
    }
  }
  return o;
}

/** Decode a dump (all datagrams): key tables (with NLM_F_REPLACE updates) and value messages. */
export function decodeDump(dgrams: Buffer[]): { objects: Decoded[]; tables: number; replaced: number; done?: { errno: number; extack?: string }; error?: { errno: number; extack?: string } } {
  let table: Map<number, KeyDef> | undefined;
  const objects: Decoded[] = [];
  let tables = 0;
  let replaced = 0;
  const res: ReturnType<typeof decodeDump> = { objects, tables, replaced };
  for (const m of dgrams.flatMap(splitMsgs)) {
    if (m.type === 3) {
      const errno = m.body.length >= 4 ? -m.body.readInt32LE(0) || 0 : 0;
      const msg = attrs(m.body.subarray(4)).find((a) => a.type === 1);
      res.done = { errno, ...(msg ? { extack: cstr(msg.data) } : {}) };
      continue;
    }
    if (m.type === 2) {
      res.error = nlError(m);
      continue;
    }
    const as = attrs(m.body.subarray(4));
    if (m.flags & 0x400) {
      tables++;
      if (m.flags & 0x100) replaced++;
      table = parseKeyTable(as[0]!);
      continue;
    }
    if (!table) throw new Error('values before a key table');
    objects.push(decodeValues(as, table));
  }
  res.tables = tables;
  res.replaced = replaced;
  return res;
}

/** Run one netlink request on a host; returns the reply datagrams. */
export async function nl(emu: LnetEmulator, host: string | undefined, msg: Buffer): Promise<{ dgrams: Buffer[]; port: number; out: string }> {
  const r = await client(emu, host, ['nl', msg.toString('hex')]);
  const port = Number(/port=(\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { dgrams: r.dgrams, port, out: r.stdout + r.stderr };
}

/** Family id by genl_ctrl_resolve() (libnl-genl), or a negative libnl error. */
export async function resolveFamily(emu: LnetEmulator, host?: string, group?: string): Promise<{ family: number; group?: number }> {
  const r = await client(emu, host, ['nl-resolve', 'lnet', ...(group ? [group] : [])]);
  const f = Number(/family=(-?\d+)/.exec(r.stdout)?.[1]);
  const g = /group=(-?\d+)/.exec(r.stdout);
  return { family: f, ...(g ? { group: Number(g[1]) } : {}) };
}
