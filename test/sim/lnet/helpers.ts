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

// ------------------------------------------------------------------ netlink: the tests' one codec
export { attr, str, s64, list, nlRequest, splitMsgs, attrs, cstr, parseNlError as nlError, parseKeyTable, decodeValues, decodeDump } from '../../lnet/kernel/wire.js';
export type { NlMsg, RawAttr, KeyDef, Decoded } from '../../lnet/kernel/wire.js';

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
