/**
 * The LNet ioctl ABI as the addon was compiled (native/lnet/structs.h):
 * ioctl numbers, header versions and struct layouts, and a small packer that
 * reads and writes fields by those offsets. Nothing here hard-codes an
 * offset: a field that is not in the compiled layout throws.
 */
import { loadLnetNative, type LnetLayouts, type LnetStructLayout } from '../../native/loader.js';

/** Which ioctl layout family a kernel speaks (reference 1.5). */
export type AbiRelease = 'master' | '2.16' | '2.15';

export function layouts(): LnetLayouts {
  return loadLnetNative().layouts;
}

/** The layout of a struct: common structs by name, release-specific ones (tunables, lnet_stats) for `release`. */
export function struct(name: string, release?: AbiRelease): LnetStructLayout {
  const l = layouts();
  const s = (release ? l.releases[release][name] : undefined) ?? l.structs[name];
  if (!s) throw new Error(`no compiled layout for struct ${name}${release ? ` (${release})` : ''}`);
  return s;
}

export function ioctlNumber(name: string): number {
  const v = layouts().ioctl[name];
  if (v === undefined) throw new Error(`no ioctl ${name}`);
  return v;
}

/** A byte buffer with typed accessors at a struct's field offsets (little-endian, x86_64). */
export class StructBuf {
  readonly buf: Buffer;
  constructor(
    readonly layout: LnetStructLayout,
    readonly base = 0,
    buf?: Buffer,
  ) {
    this.buf = buf ?? Buffer.alloc(layout.size);
  }
  off(field: string): number {
    const o = this.layout.fields[field];
    if (o === undefined) throw new Error(`no field ${field} in compiled layout`);
    return this.base + o;
  }
  u32(f: string, v?: number): number {
    const o = this.off(f);
    if (v !== undefined) this.buf.writeUInt32LE(v >>> 0, o);
    return this.buf.readUInt32LE(o);
  }
  s32(f: string, v?: number): number {
    const o = this.off(f);
    if (v !== undefined) this.buf.writeInt32LE(v | 0, o);
    return this.buf.readInt32LE(o);
  }
  u16(f: string, v?: number): number {
    const o = this.off(f);
    if (v !== undefined) this.buf.writeUInt16LE(v & 0xffff, o);
    return this.buf.readUInt16LE(o);
  }
  s16(f: string, v?: number): number {
    const o = this.off(f);
    if (v !== undefined) this.buf.writeInt16LE(v, o);
    return this.buf.readInt16LE(o);
  }
  u64(f: string, v?: bigint): bigint {
    const o = this.off(f);
    if (v !== undefined) this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), o);
    return this.buf.readBigUInt64LE(o);
  }
  /** A fixed char[len] field: write NUL-padded (throws if it does not fit with its NUL), read up to the first NUL. */
  str(f: string, len: number, v?: string): string {
    const o = this.off(f);
    if (v !== undefined) {
      const b = Buffer.from(v, 'utf8');
      if (b.length >= len) throw new RangeError(`'${v}' does not fit in ${f} (${len - 1} bytes max)`);
      this.buf.fill(0, o, o + len);
      b.copy(this.buf, o);
    }
    const end = this.buf.indexOf(0, o);
    return this.buf.toString('utf8', o, end < 0 || end > o + len ? o + len : end);
  }
}

/** A V2 (DLC) ioctl argument: the struct zeroed with `ioc_len` and `ioc_version` = V2, plus `extra` bulk bytes. */
export function dlc(name: string, release?: AbiRelease, extra = 0): StructBuf {
  const l = struct(name, release);
  const sb = new StructBuf(l, 0, Buffer.alloc(l.size + extra));
  sb.buf.writeUInt32LE(l.size + extra, 0);
  sb.buf.writeUInt32LE(layouts().version2, 4);
  return sb;
}

const round8 = (n: number): number => (n + 7) & ~7;

/**
 * A V1 `struct libcfs_ioctl_data` with inline buffers packed as
 * `libcfs_ioctl_pack()` does and the kernel checks (reference 1.4): bulk =
 * inlbuf1 padded to 8, then inlbuf2; ioc_len = 128 + round8(l1) + round8(l2);
 * each inline buffer given as a string carries its NUL. Returns the buffer
 * and the pointer patches for ioc_inlbuf1/2 (they point into the bulk).
 */
export function packV1(
  fields: { nid?: bigint; u64?: bigint; flags?: number; count?: number; net?: number; u32?: number[] },
  inl1?: Buffer | string,
  inl2?: Buffer | string,
): { arg: StructBuf; patches: [number, number, number][] } {
  const l = struct('libcfs_ioctl_data');
  const b1 = typeof inl1 === 'string' ? Buffer.from(inl1 + '\0') : inl1;
  const b2 = typeof inl2 === 'string' ? Buffer.from(inl2 + '\0') : inl2;
  if (b1 && b1.length > 0 && b1[b1.length - 1] !== 0) throw new RangeError('inline buffer 1 must end with a NUL byte (the kernel rejects it otherwise)');
  const len1 = b1?.length ?? 0;
  const len2 = b2?.length ?? 0;
  const total = l.size + round8(len1) + round8(len2);
  const sb = new StructBuf(l, 0, Buffer.alloc(total));
  sb.u32('ioc_hdr', total);
  sb.buf.writeUInt32LE(layouts().version1, 4);
  if (fields.nid !== undefined) sb.u64('ioc_nid', fields.nid);
  if (fields.u64 !== undefined) sb.u64('ioc_u64', fields.u64);
  if (fields.flags !== undefined) sb.u32('ioc_flags', fields.flags);
  if (fields.count !== undefined) sb.u32('ioc_count', fields.count);
  if (fields.net !== undefined) sb.u32('ioc_net', fields.net);
  (fields.u32 ?? []).slice(0, 7).forEach((v, i) => sb.buf.writeUInt32LE(v >>> 0, sb.off('ioc_u32') + 4 * i));
  const patches: [number, number, number][] = [];
  const bulk = sb.off('ioc_bulk');
  if (b1 && len1 > 0) {
    sb.u32('ioc_inllen1', len1);
    b1.copy(sb.buf, bulk);
    patches.push([sb.off('ioc_inlbuf1'), 0, bulk]);
  }
  if (b2 && len2 > 0) {
    sb.u32('ioc_inllen2', len2);
    b2.copy(sb.buf, bulk + round8(len1));
    patches.push([sb.off('ioc_inlbuf2'), 0, bulk + round8(len1)]);
  }
  return { arg: sb, patches };
}
