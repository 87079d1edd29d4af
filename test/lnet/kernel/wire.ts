/**
 * Test-side netlink writer, written from shared/reference/lnet.md 2.3 (not
 * from the code under test): attributes, nests, key tables as
 * lnet_genl_send_scalar_list() sends them, whole messages, error replies.
 */
export const F = { MULTI: 0x2, CREATE: 0x400, REPLACE: 0x100, ACK_TLVS: 0x200, CAPPED: 0x100 };

export function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const h = Buffer.alloc(4);
  h.writeUInt16LE(len, 0);
  h.writeUInt16LE(type, 2);
  const pad = Buffer.alloc((4 - (len % 4)) % 4);
  return Buffer.concat([h, data, pad]);
}
export const nest = (type: number, ...children: Buffer[]): Buffer => attr(type | 0x8000, Buffer.concat(children));
export const str = (type: number, s: string): Buffer => attr(type, Buffer.from(s + '\0'));
export const u16 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return attr(type, b);
};
export const u32 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return attr(type, b);
};
export const s32 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return attr(type, b);
};
export const s16 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16LE(v);
  return attr(type, b);
};
export const u64 = (type: number, v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return attr(type, b);
};

/** One key of a key table: [name, NLA type, key format, child keys for NESTED]. */
export type Key = [string, number, number?, Key[]?];

/** LN_SCALAR_ATTR_LIST (1) with nests 1..N: LIST_SIZE (2) in the first, INDEX (3), VALUE (5), KEY_FORMAT (7), NLA_TYPE (4), nested LIST. */
export function keyTable(keys: Key[]): Buffer {
  const children = keys.map(([name, type, fmt, child], i) => {
    const parts: Buffer[] = [];
    if (i === 0) parts.push(u16(2, keys.length));
    parts.push(u16(3, i + 1));
    if (name) parts.push(str(5, name));
    if (fmt) parts.push(u16(7, fmt));
    parts.push(u16(4, type));
    if (child) parts.push(keyTable(child));
    return nest(i + 1, ...parts);
  });
  return nest(1, ...children);
}

export function genlMsg(family: number, flags: number, cmd: number, version: number, attrs: Buffer, seq = 7, pid = 0): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt32LE(20 + attrs.length, 0);
  h.writeUInt16LE(family, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  h.writeUInt32LE(pid, 12);
  h[16] = cmd;
  h[17] = version;
  return Buffer.concat([h, attrs]);
}

/** NLMSG_DONE, optionally carrying an error and an extack message. */
export function done(err = 0, msg?: string, seq = 7): Buffer {
  const tl = msg ? str(1, msg) : Buffer.alloc(0);
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20 + tl.length, 0);
  b.writeUInt16LE(3, 4);
  b.writeUInt16LE(F.MULTI | (msg ? F.ACK_TLVS : 0), 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(err, 16);
  return Buffer.concat([b, tl]);
}

/** NLMSG_ERROR for a request header `req` (capped: header only), with an extack message. */
export function nlError(err: number, req: Buffer, msg?: string, seq = 7): Buffer {
  const tl = msg ? str(1, msg) : Buffer.alloc(0);
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20 + 16 + tl.length, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(F.CAPPED | (msg ? F.ACK_TLVS : 0), 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(err, 16);
  return Buffer.concat([b, req.subarray(0, 16), tl]);
}

/** A tree view of request attributes for comparison with the reference: VALUE -> string, INT_VALUE -> bigint, LIST -> array. */
export type Tree = string | bigint | Tree[];
export function tree(buf: Buffer): Tree[] {
  const out: Tree[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2);
    const data = buf.subarray(off + 4, off + len);
    if (type === 0x8001) out.push(tree(data));
    else if (type === 5) out.push(data.toString('utf8', 0, data.indexOf(0)));
    else if (type === 6) out.push(data.readBigInt64LE(0));
    else throw new Error(`unexpected attribute type ${type}`);
    off += (len + 3) & ~3;
  }
  return out;
}
